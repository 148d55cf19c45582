//! A Lambda Runtime API on 127.0.0.1: `/next` hands out queued events,
//! `/response`, `/error` and `/init/error` are recorded with timings.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// What the function posted back.
#[derive(Debug)]
pub enum Kind {
    /// `/invocation/{id}/response`, the body as JSON (a string if it is not).
    Response(serde_json::Value),
    /// `/invocation/{id}/error`.
    Error(String),
    /// `/init/error`.
    InitError(String),
}

#[derive(Debug)]
pub struct Outcome {
    pub request_id: String,
    pub kind: Kind,
    /// From handing the event out (`/next` answered) to the posted result.
    pub latency: Option<Duration>,
}

/// Request id, event, and the time it has once handed out (`None`: no
/// deadline to speak of).
type Queued = (String, String, Option<Duration>);
type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Queued>>>;

/// The deadline of an invocation queued without one: far in the future.
const NO_DEADLINE_MS: u64 = 4_102_444_800_000;

#[derive(Debug, Default)]
struct Clock {
    first_next: Option<Instant>,
    delivered: Vec<(String, Instant)>,
}

#[derive(Debug)]
pub struct RuntimeApi {
    pub addr: SocketAddr,
    events: mpsc::UnboundedSender<Queued>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    clock: Arc<StdMutex<Clock>>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let queue: Queue = Arc::new(Mutex::new(events_rx));
        let clock = Arc::new(StdMutex::new(Clock::default()));
        let server_clock = Arc::clone(&clock);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (queue, outcomes, clock) =
                    (Arc::clone(&queue), outcomes_tx.clone(), Arc::clone(&server_clock));
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (queue, outcomes, clock) =
                            (Arc::clone(&queue), outcomes.clone(), Arc::clone(&clock));
                        async move { Ok::<_, Infallible>(route(request, &queue, &outcomes, &clock).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            events: events_tx,
            outcomes: outcomes_rx,
            clock,
        })
    }

    /// Queues one invocation.
    pub fn invoke(&self, request_id: &str, event: impl Into<String>) {
        let _ = self.events.send((request_id.to_owned(), event.into(), None));
    }

    /// Queues one invocation whose deadline is `budget` after it is handed out.
    pub fn invoke_due(&self, request_id: &str, event: impl Into<String>, budget: Duration) {
        let _ = self
            .events
            .send((request_id.to_owned(), event.into(), Some(budget)));
    }

    /// The next thing the function posted back, or `None` after `wait`.
    pub async fn outcome(&mut self, wait: Duration) -> Option<Outcome> {
        tokio::time::timeout(wait, self.outcomes.recv())
            .await
            .ok()
            .flatten()
    }

    /// When the function first asked for an event (its init was over).
    pub fn first_next(&self) -> Option<Instant> {
        self.clock.lock().map(|c| c.first_next).unwrap_or(None)
    }

    /// Waits until the function first asks for an event.
    pub async fn wait_first_next(&self, wait: Duration) -> Option<Instant> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(at) = self.first_next() {
                return Some(at);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
}

async fn route(
    request: hyper::Request<hyper::body::Incoming>,
    queue: &Queue,
    outcomes: &mpsc::UnboundedSender<Outcome>,
    clock: &StdMutex<Clock>,
) -> hyper::Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let body = match request.into_body().collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let accepted = || reply(202, Vec::new(), Bytes::new());
    match parts.as_slice() {
        ["2018-06-01", "runtime", "invocation", "next"] => {
            if let Ok(mut c) = clock.lock() {
                c.first_next.get_or_insert_with(Instant::now);
            }
            let next = queue.lock().await.recv().await;
            let Some((id, event, budget)) = next else {
                // No more events: park the runtime, as Lambda does between invocations.
                return std::future::pending().await;
            };
            if let Ok(mut c) = clock.lock() {
                c.delivered.push((id.clone(), Instant::now()));
            }
            let headers = vec![
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline(budget).to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:token-vendor".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:0".to_owned(),
                ),
            ];
            reply(200, headers, Bytes::from(event))
        }
        [
            "2018-06-01",
            "runtime",
            "invocation",
            id,
            outcome @ ("response" | "error"),
        ] => {
            let finished = Instant::now();
            let latency = clock.lock().ok().and_then(|c| {
                c.delivered
                    .iter()
                    .rev()
                    .find(|(d, _)| d == id)
                    .map(|(_, at)| finished - *at)
            });
            let kind = if *outcome == "response" {
                Kind::Response(serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)))
            } else {
                Kind::Error(body)
            };
            let _ = outcomes.send(Outcome {
                request_id: (*id).to_owned(),
                kind,
                latency,
            });
            accepted()
        }
        ["2018-06-01", "runtime", "init", "error"] => {
            let _ = outcomes.send(Outcome {
                request_id: String::new(),
                kind: Kind::InitError(body),
                latency: None,
            });
            accepted()
        }
        _ => reply(404, Vec::new(), Bytes::new()),
    }
}

/// An invocation's deadline (ms since the epoch): `budget` from now.
fn deadline(budget: Option<Duration>) -> u64 {
    let Some(budget) = budget else {
        return NO_DEADLINE_MS;
    };
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, ms);
    now.saturating_add(ms(budget))
}

fn reply(status: u16, headers: Vec<(&'static str, String)>, body: Bytes) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    for (name, value) in headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

//! Nothing secret at any log level: the binary runs at TRACE — set through
//! `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL`, in text and JSON, in local and Lambda
//! mode — through every route (CAS with a key rotation, AIPIX, rooms created,
//! raced for, joined and read, LiveKit), against moto (Secrets Manager,
//! DynamoDB) and local upstreams. Its whole output (the metrics records
//! included) is then scanned for every key, secret, AIPIX token, issued
//! token, room name, LiveKit identity and participant field and the
//! caller's bearer token; then a ban, its refusal and a room ended through
//! the admin routes (`ADMIN_TOKEN` locally, an IAM principal under Lambda),
//! whose token, principal, identity, rooms and reason are scanned for too.

use std::time::Duration;

use crate::support::*;
use bench::runtime_api::{Kind, RuntimeApi};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OLD_KEY: &str = "old-key-0b7c31";
const OLD_SECRET: &str = "old-secret-a94e2d";
const NEW_KEY: &str = "new-key-6fd018";
const NEW_SECRET: &str = "new-secret-3c85b7";
const AIPIX_KEY: &str = "aipix-api-token-e2a9c4";
const AIPIX_ISSUED: &str = "aipix-issued-stream-token-71d3f0";
const ROOM: &str = "party-7d2f91c4e0";
const BEARER: &str = "caller-id-token-9a41be";
const AWS_KEY_ID: &str = "ASIAFAKEKEYID5C2E";
const AWS_SECRET_KEY: &str = "aws-secret-access-key-0d94c1";
const AWS_SESSION: &str = "aws-session-token-b7e3a0";
const LIVEKIT_ROOM: &str = "livekit-room-5e1f07";
const LIVEKIT_IDENTITY: &str = "livekit-identity-c42b9d";
const LIVEKIT_NAME: &str = "livekit-name-8a03fe";
const LIVEKIT_METADATA: &str = "livekit-metadata-61dd2c";
const AGORA_CHANNEL: &str = "agora-channel-3b7e21";
const AGORA_UID: &str = "agora-uid-94f0aa";
const TWILIO_ROOM: &str = "twilio-room-0c6d2e";
const TWILIO_IDENTITY: &str = "twilio-identity-a81f3b";
const VONAGE_SESSION: &str = "vonage-session-5b9e17";
const VONAGE_DATA: &str = "vonage-data-e4c2a0";
const ADMIN_TOKEN: &str = "admin-token-7f0c2d9b41e8a3c6d5f0b9e8a7c6d5f4";
const ADMIN_ARN: &str = "arn:aws:sts::123456789012:assumed-role/Ops/admin-session-3e9d1a";
const BAN_REASON: &str = "ban-reason-c07e5a";

/// Vonage's private key for the run (PKCS#8 PEM), made once.
fn vonage_pem() -> &'static str {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .unwrap()
            .serialize_pem()
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Local,
    Lambda,
}

/// One response as the caller saw it.
struct Answer {
    status: u16,
    body: serde_json::Value,
}

/// The stand-ins and the vendor process of one run.
struct Run {
    _moto: Moto,
    _cas: Https<MockServer>,
    _aipix: Https<MockServer>,
    minting: Minting,
    vendor: Process,
    mode: Mode,
    base: String,
    runtime: Option<RuntimeApi>,
    invocations: usize,
}

impl Run {
    async fn start(mode: Mode, level: (&'static str, &'static str), json: bool) -> Self {
        let moto = Moto::start();
        moto.create_secret("tv/trace", &secret(OLD_KEY, OLD_SECRET)).await;
        create_table(&dynamodb(&moto.endpoint)).await;
        create_keyed_table(&dynamodb(&moto.endpoint), "bans", "id").await;
        // CAS refuses anything but the new pair, so the first request rotates.
        let minting = Minting::default();
        let cas = cas_accepting_with(NEW_KEY, NEW_SECRET, minting.clone()).await;
        let aipix = upstream().await;
        Mock::given(method("POST"))
            .and(path("/api/"))
            .respond_with(|request: &wiremock::Request| {
                let call: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({ "jsonrpc": "2.0", "result": AIPIX_ISSUED, "id": call["id"] }),
                )
            })
            .mount(&aipix)
            .await;

        let mut vars = aws_env(&moto);
        vars.extend([
            // Under Lambda the role's credentials come in these; moto takes any.
            ("AWS_ACCESS_KEY_ID", AWS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY.to_owned()),
            ("AWS_SESSION_TOKEN", AWS_SESSION.to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
            ("SECRET_ID", "tv/trace".to_owned()),
            ("CAS_URL", cas.uri()),
            ("AIPIX_URL", aipix.uri()),
            ("AIPIX_STREAMS", "cam-1".to_owned()),
            ("ROOMS_TABLE", TABLE.to_owned()),
            ("BANS_TABLE", "bans".to_owned()),
            ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
            ("LIVEKIT_URL", "wss://livekit.example.com".to_owned()),
            ("LIVEKIT_ROOMS", "*".to_owned()),
            ("LIVEKIT_IDENTITY", "request".to_owned()),
            ("AGORA_APP_ID", AGORA_APP_ID.to_owned()),
            ("AGORA_CHANNELS", "*".to_owned()),
            ("AGORA_IDENTITY", "request".to_owned()),
            ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
            ("TWILIO_ROOMS", "*".to_owned()),
            ("TWILIO_IDENTITY", "request".to_owned()),
            ("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned()),
            ("VONAGE_DATA", "true".to_owned()),
            (level.0, level.1.to_owned()),
        ]);
        if json {
            vars.push(("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()));
        }
        let runtime = match mode {
            Mode::Lambda => {
                let runtime = RuntimeApi::start().await.unwrap();
                vars.extend(lambda_env(&runtime));
                Some(runtime)
            }
            Mode::Local => {
                vars.push(("LISTEN_ADDR", "127.0.0.1:0".to_owned()));
                vars.push(("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()));
                // Metrics records too (on by default under Lambda only).
                vars.push(("METRICS", "emf".to_owned()));
                None
            }
        };
        let vendor = Process::spawn(&vars);
        let base = match mode {
            Mode::Local => format!("http://127.0.0.1:{}", vendor.listening_port().await),
            Mode::Lambda => String::new(),
        };
        if let Some(runtime) = &runtime {
            runtime.wait_first_next(Duration::from_secs(20)).await.unwrap();
        }
        moto.put_secret("tv/trace", &secret(NEW_KEY, NEW_SECRET)).await;
        Self {
            _moto: moto,
            _cas: cas,
            _aipix: aipix,
            minting,
            vendor,
            mode,
            base,
            runtime,
            invocations: 0,
        }
    }

    /// An admin's request: `ADMIN_TOKEN` locally; under Lambda, as API
    /// Gateway hands over an IAM-authorized one.
    async fn admin(&mut self, method: &str, path: &str, body: &str) -> Answer {
        match self.mode {
            Mode::Local => {
                let request = reqwest::Client::new()
                    .request(method.parse().unwrap(), format!("{}{path}", self.base))
                    .bearer_auth(ADMIN_TOKEN);
                answer_of(request.body(body.to_owned())).await
            }
            Mode::Lambda => {
                let mut event: serde_json::Value =
                    serde_json::from_str(&http_api_event(method, path, "", &[], body)).unwrap();
                event["requestContext"]["authorizer"] =
                    serde_json::json!({"iam": {"accountId": "123456789012", "userArn": ADMIN_ARN}});
                self.invoke(event.to_string()).await
            }
        }
    }

    /// Hands `event` to the function (Lambda mode): its answer.
    async fn invoke(&mut self, event: String) -> Answer {
        let runtime = self.runtime.as_mut().unwrap();
        self.invocations += 1;
        runtime.invoke(&format!("trace-{}", self.invocations), event);
        match runtime.outcome(Duration::from_secs(20)).await.map(|o| o.kind) {
            Some(Kind::Response(response)) => Answer {
                status: response["statusCode"].as_u64().unwrap() as u16,
                body: serde_json::from_str(response["body"].as_str().unwrap_or("null"))
                    .unwrap_or(serde_json::Value::Null),
            },
            other => panic!("{other:?}\n{}", self.vendor.output()),
        }
    }

    /// Sends one request with the caller's bearer token and an allowed origin.
    async fn call(&mut self, method: &str, path: &str) -> Answer {
        self.send(method, path, "").await
    }

    /// [`Self::call`] with a body.
    async fn send(&mut self, method: &str, path: &str, body: &str) -> Answer {
        let bearer = format!("Bearer {BEARER}");
        match self.mode {
            Mode::Local => local_send(&self.base, method, path, body).await,
            Mode::Lambda => {
                let (path, query) = path.split_once('?').unwrap_or((path, ""));
                let event = http_api_event(
                    method,
                    path,
                    query,
                    &[("origin", ALLOWED), ("authorization", &bearer)],
                    body,
                );
                self.invoke(event).await
            }
        }
    }
}

/// The secret: CAS's pair `key`/`secret`, AIPIX's token, LiveKit's pair,
/// Agora's certificate, Twilio's API key, Vonage's private key.
fn secret(key: &str, secret: &str) -> String {
    serde_json::json!({
        "API_KEY": key, "API_SECRET": secret, "AIPIX_API_TOKEN": AIPIX_KEY,
        "LIVEKIT_API_KEY": LIVEKIT_KEY, "LIVEKIT_API_SECRET": LIVEKIT_SECRET,
        "AGORA_APP_CERTIFICATE": AGORA_CERTIFICATE,
        "TWILIO_API_KEY_SID": TWILIO_KEY_SID, "TWILIO_API_KEY_SECRET": TWILIO_KEY_SECRET,
        "VONAGE_PRIVATE_KEY": vonage_pem(),
    })
    .to_string()
}

async fn local_call(base: &str, method: &str, path: &str) -> Answer {
    local_send(base, method, path, "").await
}

async fn local_send(base: &str, method: &str, path: &str, body: &str) -> Answer {
    let request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("origin", ALLOWED)
        .header("authorization", format!("Bearer {BEARER}"));
    answer_of(request.body(body.to_owned())).await
}

/// Sends `request`: its status and JSON body (`null` when none).
async fn answer_of(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    Answer { status, body }
}

/// Every route at TRACE; then no secret anywhere in the output.
async fn every_route_leaves_nothing_secret(mode: Mode, level: (&'static str, &'static str), json: bool) {
    // Arrange
    let mut run = Run::start(mode, level, json).await;

    // Act: CAS (rotated on the way), AIPIX, rooms created, raced for (a
    // claim that loses its conditional write), joined and read.
    let token = run.call("GET", "/token").await;
    let stream = run.call("GET", "/streams/cam-1/token?ttl=600&live=true").await;
    let created = run.call("POST", "/rooms").await;
    let generated = created.body["room"].as_str().unwrap_or_default().to_owned();
    let room = format!("/rooms/{ROOM}");
    let mut puts = if mode == Mode::Local {
        // Three at once: two claims lose their conditional write.
        let (a, b, c) = tokio::join!(
            local_call(&run.base, "PUT", &room),
            local_call(&run.base, "PUT", &room),
            local_call(&run.base, "PUT", &room)
        );
        vec![a.status, b.status, c.status]
    } else {
        let mut puts = Vec::new();
        for _ in 0..3 {
            puts.push(run.call("PUT", &room).await.status);
        }
        puts
    };
    puts.sort_unstable();
    let read = run.call("GET", &format!("/rooms/{ROOM}")).await;
    let read_generated = run.call("GET", &format!("/rooms/{generated}")).await;
    // A mistyped room path: no route, but a room name all the same.
    let mistyped = run.call("GET", &format!("/room/{ROOM}")).await;
    let livekit = run
        .send(
            "POST",
            "/livekit/token",
            &serde_json::json!({
                "room_name": LIVEKIT_ROOM, "participant_identity": LIVEKIT_IDENTITY,
                "participant_name": LIVEKIT_NAME, "participant_metadata": LIVEKIT_METADATA,
            })
            .to_string(),
        )
        .await;
    let agora = run
        .send(
            "POST",
            "/agora/token",
            &serde_json::json!({"channel": AGORA_CHANNEL, "uid": AGORA_UID, "role": "publisher"}).to_string(),
        )
        .await;
    let twilio = run
        .send(
            "POST",
            "/twilio/token",
            &serde_json::json!({"room_name": TWILIO_ROOM, "user_identity": TWILIO_IDENTITY}).to_string(),
        )
        .await;
    let vonage = run
        .send(
            "POST",
            "/vonage/token",
            &serde_json::json!({"session_id": VONAGE_SESSION, "data": VONAGE_DATA}).to_string(),
        )
        .await;
    // Revocation: LiveKit's identity (as issued: req:…) banned from its
    // room, refused, read back and lifted; a room ended.
    let identity = format!("/admin/bans/req%3A{LIVEKIT_IDENTITY}");
    let ban_body = serde_json::json!({"rooms": [format!("{LIVEKIT_ROOM}*")], "reason": BAN_REASON});
    let banned = run.admin("PUT", &identity, &ban_body.to_string()).await;
    let refused = run
        .send(
            "POST",
            "/livekit/token",
            &serde_json::json!({"room_name": LIVEKIT_ROOM, "participant_identity": LIVEKIT_IDENTITY})
                .to_string(),
        )
        .await;
    let ban_read = run.admin("GET", &identity, "").await;
    let unbanned = run.admin("DELETE", &identity, "").await;
    let ended = run.admin("DELETE", &format!("/admin/rooms/{ROOM}"), "").await;
    let gone = run.call("GET", &format!("/rooms/{ROOM}")).await;
    let output = run.vendor.stop().await;

    // Assert: every route served...
    assert_eq!(token.status, 200, "{output}");
    assert_eq!(stream.status, 200, "{output}");
    assert_eq!(stream.body["token"], AIPIX_ISSUED);
    assert_eq!(created.status, 201, "{output}");
    assert_eq!(generated.len(), 22);
    assert_eq!(puts, [200, 200, 201], "{output}");
    assert_eq!(read.status, 200);
    assert_eq!(read_generated.status, 200);
    assert_eq!(mistyped.status, 404);
    assert_eq!(livekit.status, 201, "{output}");
    let livekit_token = livekit.body["participant_token"].as_str().unwrap().to_owned();
    assert_eq!(agora.status, 200, "{output}");
    let agora_token = agora.body["token"].as_str().unwrap().to_owned();
    assert_eq!((twilio.status, vonage.status), (200, 200), "{output}");
    assert_eq!(
        [
            banned.status,
            refused.status,
            ban_read.status,
            unbanned.status,
            ended.status,
            gone.status
        ],
        [200, 403, 200, 204, 204, 410],
        "{output}"
    );
    assert!(output.contains("refused banned"), "{output}");
    let signed: Vec<String> = [&twilio, &vonage]
        .iter()
        .flat_map(|answer| {
            let token = answer.body["token"].as_str().unwrap();
            [
                token.rsplit('.').next().unwrap().to_owned(),
                token.split('.').nth(1).unwrap().to_owned(),
            ]
        })
        .collect();
    // ...at TRACE indeed...
    let trace_line = if json { "\"level\":\"TRACE\"" } else { "TRACE" };
    assert!(output.contains(trace_line), "no TRACE line:\n{output}");
    assert!(output.contains("re-read"), "the rotation ran:\n{output}");
    assert!(
        output.matches("\"_aws\"").count() >= 10,
        "the metrics records are in the scan:\n{output}"
    );
    // Plain lines for CloudWatch: no terminal colour codes.
    assert!(!output.contains('\u{1b}'), "an ANSI escape in the log:\n{output}");
    // ...and nothing secret in any line.
    let issued = run.minting.issued();
    assert_eq!(issued.len(), 3, "/token, POST /rooms, PUT /rooms/{{name}}");
    let mut needles = vec![
        OLD_KEY.to_owned(),
        OLD_SECRET.to_owned(),
        NEW_KEY.to_owned(),
        NEW_SECRET.to_owned(),
        AIPIX_KEY.to_owned(),
        AIPIX_ISSUED.to_owned(),
        ROOM.to_owned(),
        generated,
        BEARER.to_owned(),
        AWS_KEY_ID.to_owned(),
        AWS_SECRET_KEY.to_owned(),
        AWS_SESSION.to_owned(),
        LIVEKIT_KEY.to_owned(),
        LIVEKIT_SECRET.to_owned(),
        LIVEKIT_ROOM.to_owned(),
        LIVEKIT_IDENTITY.to_owned(),
        LIVEKIT_NAME.to_owned(),
        LIVEKIT_METADATA.to_owned(),
        livekit_token.rsplit('.').next().unwrap().to_owned(),
        livekit_token.split('.').nth(1).unwrap().to_owned(),
        AGORA_CERTIFICATE.to_owned(),
        AGORA_CHANNEL.to_owned(),
        AGORA_UID.to_owned(),
        agora_token[3..].to_owned(),
        TWILIO_KEY_SECRET.to_owned(),
        TWILIO_ROOM.to_owned(),
        TWILIO_IDENTITY.to_owned(),
        VONAGE_SESSION.to_owned(),
        VONAGE_DATA.to_owned(),
        ADMIN_TOKEN.to_owned(),
        ADMIN_ARN.to_owned(),
        "admin-session-3e9d1a".to_owned(),
        BAN_REASON.to_owned(),
    ];
    // Every line of the private key's base64.
    needles.extend(
        vonage_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_owned),
    );
    needles.extend(signed);
    for token in issued {
        needles.push(token.rsplit('.').next().unwrap().to_owned());
        needles.push(token.split('.').nth(1).unwrap().to_owned());
    }
    for needle in needles {
        assert!(!output.contains(&needle), "{needle:?} is in the log:\n{output}");
    }
}

#[tokio::test]
async fn local_mode_at_trace_by_rust_log_in_text_logs_nothing_secret() {
    every_route_leaves_nothing_secret(Mode::Local, ("RUST_LOG", "trace"), false).await;
}

#[tokio::test]
async fn local_mode_at_trace_by_lambda_level_in_json_logs_nothing_secret() {
    every_route_leaves_nothing_secret(Mode::Local, ("AWS_LAMBDA_LOG_LEVEL", "TRACE"), true).await;
}

#[tokio::test]
async fn lambda_mode_at_trace_by_lambda_level_in_json_logs_nothing_secret() {
    every_route_leaves_nothing_secret(Mode::Lambda, ("AWS_LAMBDA_LOG_LEVEL", "TRACE"), true).await;
}

#[tokio::test]
async fn lambda_mode_at_trace_by_rust_log_in_text_logs_nothing_secret() {
    every_route_leaves_nothing_secret(Mode::Lambda, ("RUST_LOG", "trace"), false).await;
}

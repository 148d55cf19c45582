//! Raw-socket stand-ins for faults wiremock cannot play: a server that
//! never answers, one that answers a script and then hangs, one that closes
//! every connection.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt as _;

/// A server on 127.0.0.1 that accepts connections, reads what comes, and
/// never answers: a hung upstream or AWS endpoint. Returns its base URL.
pub(crate) async fn stalled_server() -> String {
    scripted_server(Vec::new()).await
}

/// A server on 127.0.0.1 that answers its first requests with `replies` (whole
/// HTTP/1.1 responses, one per request, in order) and then never answers
/// again: e.g. a Secrets Manager that served the cold start and then hung.
pub(crate) async fn scripted_server(replies: Vec<String>) -> String {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let replies = Arc::new(Mutex::new(std::collections::VecDeque::from(replies)));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let replies = Arc::clone(&replies);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    // One request per header block (bodies here are small
                    // and arrive with their headers).
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if seen.len() < end + 4 + length {
                            break;
                        }
                        seen.drain(..end + 4 + length);
                        let reply = replies.lock().unwrap().pop_front();
                        match reply {
                            Some(reply) => {
                                if socket.write_all(reply.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            None => {
                                // Hold the connection open, answering nothing.
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A whole HTTP/1.1 response with a JSON body.
pub(crate) fn json_reply(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A server on 127.0.0.1 that reads each request and closes the connection
/// without a word: a dropped connection.
pub(crate) async fn closing_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    format!("http://{addr}")
}

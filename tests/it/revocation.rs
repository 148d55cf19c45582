//! Revocation against the real binary: bans shared by instances through
//! DynamoDB (moto), refused on every token route before the quota and the
//! provider; the admin routes' guards (IAM under Lambda, `ADMIN_TOKEN`
//! locally; no CORS); a room ended (410); LiveKit's RoomService receiving a
//! `RemoveParticipant` its own `TokenVerifier` accepts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bench::runtime_api::{Kind, RuntimeApi};
use serde_json::{Value, json};
use token_vendor::fingerprint;

use crate::support::*;

const BANS: &str = "bans";
const QUOTAS: &str = "quotas";
/// An admin's ARN, as API Gateway puts it in an IAM-authorized request.
const OPS: &str = "arn:aws:sts::123456789012:assumed-role/Ops/session-7";
/// A token of 64 characters for `ADMIN_TOKEN`.
const ADMIN_TOKEN: &str = "7d2f0c9a41b86e35d0a9c4f1e7b23a6c5f8e1d0b9a7c6e5f4d3c2b1a09f8e7d6";

/// One function instance under Lambda: its Runtime API and its process.
struct Instance {
    runtime: RuntimeApi,
    process: Process,
}

static INVOCATIONS: AtomicUsize = AtomicUsize::new(0);

impl Instance {
    /// The binary under Lambda, its secret `tv/revocation` and its tables
    /// in `moto` (`BANS_TABLE` = [`BANS`]), plus `vars`.
    async fn start(moto: &Moto, vars: &[(&'static str, String)]) -> Self {
        let runtime = RuntimeApi::start().await.unwrap();
        let mut env = aws_env(moto);
        env.extend(lambda_env(&runtime));
        env.extend([
            ("SECRET_ID", "tv/revocation".to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
            ("BANS_TABLE", BANS.to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ]);
        for (name, value) in vars {
            env.retain(|(n, _)| n != name);
            env.push((name, value.clone()));
        }
        let process = Process::spawn(&env);
        runtime
            .wait_first_next(Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("no first poll:\n{}", process.output()));
        Self { runtime, process }
    }

    /// Invokes `event`: the answer's status, its CORS grant (if any) and
    /// its body (`null` when empty).
    async fn call(&mut self, event: String) -> (u64, Option<String>, Value) {
        let n = INVOCATIONS.fetch_add(1, Ordering::SeqCst);
        self.runtime.invoke(&format!("revocation-{n}"), event);
        match self
            .runtime
            .outcome(Duration::from_secs(20))
            .await
            .map(|o| o.kind)
        {
            Some(Kind::Response(response)) => {
                let cors = response["headers"]
                    .as_object()
                    .and_then(|headers| {
                        headers
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case("access-control-allow-origin"))
                    })
                    .and_then(|(_, value)| value.as_str().map(str::to_owned));
                let body = response["body"].as_str().unwrap_or_default();
                let body = if body.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(body).unwrap()
                };
                (response["statusCode"].as_u64().unwrap(), cors, body)
            }
            other => panic!("{other:?}\n{}", self.process.output()),
        }
    }
}

/// Moto with the bans table (and the secret, `secret`).
async fn moto_with_bans(secret: &Value) -> Moto {
    let moto = Moto::start();
    moto.create_secret("tv/revocation", &secret.to_string()).await;
    create_keyed_table(&dynamodb(&moto.endpoint), BANS, "id").await;
    moto
}

fn livekit_secret() -> Value {
    json!({"LIVEKIT_API_KEY": LIVEKIT_KEY, "LIVEKIT_API_SECRET": LIVEKIT_SECRET})
}

fn livekit_vars(url: &str) -> Vec<(&'static str, String)> {
    vec![("LIVEKIT_URL", url.to_owned()), ("LIVEKIT_ROOMS", "*".to_owned())]
}

/// An HTTP API event from the allowed origin whose request context says
/// `authorizer` (none: no authorizer ran).
fn event_by(method: &str, path: &str, body: &str, authorizer: Option<Value>) -> String {
    let mut event: Value = serde_json::from_str(&http_api_event(
        method,
        path,
        "",
        &[("origin", ALLOWED), ("content-type", "application/json")],
        body,
    ))
    .unwrap();
    if let Some(authorizer) = authorizer {
        event["requestContext"]["authorizer"] = authorizer;
    }
    event.to_string()
}

/// An HTTP API event as API Gateway hands over an IAM-authorized request
/// of `arn` (none: not IAM-authorized).
fn admin(method: &str, path: &str, body: &str, arn: Option<&str>) -> String {
    let iam = arn.map(|arn| {
        json!({"iam": {
            "accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AROAEXAMPLE:session-7",
            "cognitoIdentity": null, "principalOrgId": null, "userArn": arn, "userId": "AROAEXAMPLE:session-7"
        }})
    });
    event_by(method, path, body, iam)
}

/// An HTTP API event signed in (the JWT authorizer's claims) as `sub`.
fn signed_in(method: &str, path: &str, sub: &str, body: &str) -> String {
    let jwt = json!({"jwt": {"claims": {"sub": sub, "iss": "https://issuer.example.com"}, "scopes": null}});
    event_by(method, path, body, Some(jwt))
}

fn livekit_for(sub: &str, room: &str) -> String {
    signed_in(
        "POST",
        "/livekit/token",
        sub,
        &json!({ "room_name": room }).to_string(),
    )
}

/// The JSON log lines of `output` whose message is `message`.
fn lines_saying(output: &str, message: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message || line["message"] == message)
        .collect()
}

#[tokio::test]
async fn a_ban_on_one_instance_refuses_on_another_at_once_expires_by_ttl_and_delete_lifts_it() {
    // Arrange: two instances sharing moto's bans table.
    let moto = moto_with_bans(&livekit_secret()).await;
    let vars = livekit_vars("wss://livekit.example.com");
    let mut a = Instance::start(&moto, &vars).await;
    let mut b = Instance::start(&moto, &vars).await;
    // The identity as an identity provider may spell it: `|` is
    // percent-encoded in the path and decoded once.
    let (sub, path) = ("auth0|alice", "/admin/bans/auth0%7Calice");

    // Act and assert: banned on A, refused on B at once, with CORS.
    let (status, cors, ban) = a
        .call(admin("PUT", path, r#"{"reason":"abuse"}"#, Some(OPS)))
        .await;
    assert_eq!(status, 200, "{ban}");
    assert_eq!(cors, None, "an admin answer carries no CORS grant");
    assert_eq!(
        ban,
        json!({"identity": sub, "rooms": null, "expiresAt": null, "reason": "abuse", "kicked": 0, "kickFailures": []})
    );
    let (status, cors, body) = b.call(livekit_for(sub, "party-1")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("banned")),
        "{body}"
    );
    assert_eq!(cors.as_deref(), Some(ALLOWED));
    assert_eq!(
        b.call(livekit_for("bob", "party-1")).await.0,
        201,
        "others are served"
    );
    let (status, _, read) = b.call(admin("GET", path, "", Some(OPS))).await;
    assert_eq!(
        (status, &read["identity"], &read["rooms"]),
        (200, &json!(sub), &Value::Null)
    );

    // DELETE on B lifts it on A at once; GET then finds none.
    let (status, _, body) = b.call(admin("DELETE", path, "", Some(OPS))).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(a.call(livekit_for(sub, "party-1")).await.0, 201);
    let (status, _, body) = a.call(admin("GET", path, "", Some(OPS))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(
        b.call(admin("DELETE", path, "", Some(OPS))).await.0,
        204,
        "also when none"
    );

    // A ban for 2 s holds, then ends by itself.
    let (status, _, ban) = a.call(admin("PUT", path, r#"{"ttl_s":2}"#, Some(OPS))).await;
    assert_eq!(status, 200);
    let expires: jiff::Timestamp = ban["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(expires > jiff::Timestamp::now());
    assert_eq!(b.call(livekit_for(sub, "party-1")).await.0, 403);
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    assert_eq!(b.call(livekit_for(sub, "party-1")).await.0, 201, "expired");
    assert_eq!(a.call(admin("GET", path, "", Some(OPS))).await.0, 404);

    // Nothing names the identity or the admin in the logs; the refusal and
    // each admin action are audited by their fingerprints.
    let output = a.process.stop().await + &b.process.stop().await;
    for hidden in ["alice", "session-7", "abuse"] {
        assert!(!output.contains(hidden), "{hidden} in:\n{output}");
    }
    let refused = lines_saying(&output, "refused banned");
    assert_eq!(refused.len(), 2, "{output}");
    assert!(
        refused
            .iter()
            .all(|l| l["fields"]["identity"] == fingerprint(sub)),
        "{refused:?}"
    );
    let mut actions: Vec<_> = lines_saying(&output, "admin")
        .iter()
        .map(|l| {
            (
                l["fields"]["action"].clone(),
                l["fields"]["admin"].clone(),
                l["fields"]["identity"].clone(),
            )
        })
        .collect();
    actions.sort_by_key(|action| action.0.to_string());
    let (ops, who) = (json!(fingerprint(OPS)), json!(fingerprint(sub)));
    assert_eq!(
        actions,
        [
            (json!("ban"), ops.clone(), who.clone()),
            (json!("ban"), ops.clone(), who.clone()),
            (json!("unban"), ops.clone(), who.clone()),
            (json!("unban"), ops.clone(), who.clone())
        ]
    );
}

#[tokio::test]
async fn every_token_route_refuses_a_banned_identity_before_its_quota_and_its_provider() {
    // Arrange: every provider on, a quota of one token per caller, rooms
    // and quotas in moto. The (never called) AIPIX stand-in only counts.
    let (vonage_key, _) = vonage_key_pair("pkcs8");
    let secret = json!({
        "API_KEY": KEY, "API_SECRET": SECRET, "AIPIX_API_TOKEN": "aipix-token-1",
        "LIVEKIT_API_KEY": LIVEKIT_KEY, "LIVEKIT_API_SECRET": LIVEKIT_SECRET,
        "AGORA_APP_CERTIFICATE": AGORA_CERTIFICATE,
        "TWILIO_API_KEY_SID": TWILIO_KEY_SID, "TWILIO_API_KEY_SECRET": TWILIO_KEY_SECRET,
        "VONAGE_PRIVATE_KEY": vonage_key,
    });
    let moto = moto_with_bans(&secret).await;
    let dynamo = dynamodb(&moto.endpoint);
    create_table(&dynamo).await;
    create_keyed_table(&dynamo, QUOTAS, "pk").await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let aipix = upstream().await;
    let mut vars = livekit_vars("wss://livekit.example.com");
    vars.extend([
        ("CAS_URL", cas.uri()),
        ("AIPIX_URL", aipix.uri()),
        ("AIPIX_STREAMS", "*".to_owned()),
        ("AGORA_APP_ID", AGORA_APP_ID.to_owned()),
        ("AGORA_CHANNELS", "*".to_owned()),
        ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
        ("TWILIO_ROOMS", "*".to_owned()),
        ("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned()),
        ("ROOMS_TABLE", TABLE.to_owned()),
        ("QUOTA", "1/1h".to_owned()),
        ("QUOTA_TABLE", QUOTAS.to_owned()),
        ("QUOTA_FAIL", "closed".to_owned()),
    ]);
    let mut vendor = Instance::start(&moto, &vars).await;
    let who = "mallory";
    let requests = [
        signed_in("GET", "/token", who, ""),
        signed_in("POST", "/streams/cam-1/token", who, "{}"),
        signed_in("POST", "/rooms", who, ""),
        signed_in("PUT", "/rooms/party-1", who, ""),
        signed_in("GET", "/rooms/party-1", who, ""),
        livekit_for(who, "party-1"),
        signed_in("POST", "/agora/token", who, r#"{"channel":"party-1"}"#),
        signed_in("POST", "/twilio/token", who, r#"{"room_name":"party-1"}"#),
        signed_in(
            "POST",
            "/vonage/token",
            who,
            r#"{"session_id":"1_MX4xMjM0NTY3OH4"}"#,
        ),
    ];

    // Act: banned from every room; then from party-* only.
    assert_eq!(
        vendor
            .call(admin("PUT", "/admin/bans/mallory", "", Some(OPS)))
            .await
            .0,
        200
    );
    let mut refusals = Vec::new();
    for request in &requests {
        refusals.push(vendor.call(request.clone()).await);
    }
    let (status, _, ban) = vendor
        .call(admin(
            "PUT",
            "/admin/bans/mallory",
            r#"{"rooms":["party-*"]}"#,
            Some(OPS),
        ))
        .await;
    assert_eq!((status, &ban["rooms"]), (200, &json!(["party-*"])));
    let in_party = vendor.call(livekit_for(who, "party-1")).await;
    // /token names no room: a ban of some rooms does not cover it. It takes
    // the caller's one token of the window...
    let token = vendor.call(requests[0].clone()).await;
    let lobby = vendor.call(livekit_for(who, "lobby")).await;

    // Assert: each refusal is 403 banned with CORS, and none spent the
    // quota or reached a provider: the one token after them was served.
    for (n, (status, cors, body)) in refusals.iter().enumerate() {
        assert_eq!(
            (*status, body["error"]["code"].as_str()),
            (403, Some("banned")),
            "#{n}: {body}"
        );
        assert_eq!(cors.as_deref(), Some(ALLOWED), "#{n}");
    }
    assert_eq!(
        (in_party.0, in_party.2["error"]["code"].as_str()),
        (403, Some("banned"))
    );
    assert_eq!(token.0, 200, "{}", token.2);
    // ...and the next is over the quota, not banned: lobby is not party-*.
    assert_eq!(lobby.2["error"]["code"], "quota_exceeded", "{}", lobby.2);
    assert_eq!(minting.calls(), 1, "CAS was called for the served token only");
    let aipix_calls = aipix
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() != "HEAD")
        .count();
    assert_eq!(aipix_calls, 0, "AIPIX was never called");
    let output = vendor.process.stop().await;
    assert!(!output.contains(who), "{output}");
    assert_eq!(lines_saying(&output, "refused banned").len(), 10, "{output}");
    let banned_records = output.matches(r#""Banned":1"#).count();
    assert_eq!(banned_records, 10, "{output}");
}

#[tokio::test]
async fn admin_routes_take_only_iam_principals_under_lambda_and_answer_no_cors() {
    // Arrange: admins are the role Ops (any session) and one user.
    let moto = moto_with_bans(&livekit_secret()).await;
    let mut vars = livekit_vars("wss://livekit.example.com");
    vars.push((
        "ADMIN_PRINCIPALS",
        "arn:aws:sts::123456789012:assumed-role/Ops/*, arn:aws:iam::123456789012:user/ci".to_owned(),
    ));
    let mut vendor = Instance::start(&moto, &vars).await;
    let path = "/admin/bans/alice";
    let rest = |arn: &str| {
        let mut event: Value = serde_json::from_str(&event_file("rest-api-get-token.json")).unwrap();
        event["resource"] = json!("/admin/bans/{identity}");
        event["path"] = json!(path);
        event["requestContext"]["path"] = json!(format!("/Prod{path}"));
        event["requestContext"]["identity"]["userArn"] = json!(arn);
        event.to_string()
    };

    // Act and assert: every caller that is not a listed IAM principal is
    // 403 admin_required without CORS, whatever else the request carries.
    let not_admins = [
        admin("PUT", path, "", None),
        signed_in("PUT", path, "alice", ""),
        admin("PUT", path, "", Some("arn:aws:iam::123456789012:user/intern")),
        admin(
            "PUT",
            path,
            "",
            Some("arn:aws:sts::123456789012:assumed-role/Opsx/s"),
        ),
        admin("OPTIONS", path, "", Some(OPS)),
        rest("arn:aws:iam::123456789012:user/intern"),
    ];
    for (n, event) in not_admins.into_iter().enumerate() {
        let (status, cors, body) = vendor.call(event).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("admin_required")),
            "#{n}: {body}"
        );
        assert_eq!(cors, None, "#{n}");
    }
    let (status, cors, _) = vendor.call(admin("PUT", path, "", Some(OPS))).await;
    assert_eq!((status, cors), (200, None));
    let user = "arn:aws:iam::123456789012:user/ci";
    assert_eq!(vendor.call(admin("GET", path, "", Some(user))).await.0, 200);
    assert_eq!(vendor.call(rest(user)).await.0, 200, "a REST API's IAM identity");
    let (status, _, body) = vendor.call(admin("POST", path, "", Some(OPS))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, _, body) = vendor.call(admin("PUT", "/admin/bans/%FF", "", Some(OPS))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, _, body) = vendor
        .call(admin("PUT", path, r#"{"rooms":["a b"]}"#, Some(OPS)))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let output = vendor.process.stop().await;
    assert!(
        !output.contains("user/ci") && !output.contains("session-7"),
        "{output}"
    );
}

#[tokio::test]
async fn an_unreadable_bans_table_fails_closed_by_default_or_open_as_configured() {
    // Arrange: BANS_TABLE names a table that does not exist.
    let moto = moto_with_bans(&livekit_secret()).await;
    let mut vars = livekit_vars("wss://livekit.example.com");
    vars.push(("BANS_TABLE", "no-such-table".to_owned()));
    let mut closed = Instance::start(&moto, &vars).await;
    vars.push(("BANS_FAIL", "open".to_owned()));
    let mut open = Instance::start(&moto, &vars).await;

    // Act
    let refused = closed.call(livekit_for("alice", "party-1")).await;
    let served = open.call(livekit_for("alice", "party-1")).await;
    let admin_write = open.call(admin("PUT", "/admin/bans/alice", "", Some(OPS))).await;

    // Assert: closed is 503 bans_unavailable with CORS; open serves and
    // counts it; an admin write never fails open.
    assert_eq!(
        (
            refused.0,
            refused.1.as_deref(),
            refused.2["error"]["code"].as_str()
        ),
        (503, Some(ALLOWED), Some("bans_unavailable"))
    );
    assert_eq!(served.0, 201, "{}", served.2);
    assert_eq!(
        (admin_write.0, admin_write.2["error"]["code"].as_str()),
        (503, Some("bans_unavailable"))
    );
    let closed_output = closed.process.stop().await;
    let open_output = open.process.stop().await;
    assert!(
        closed_output.contains(r#""BansUnavailable":1"#),
        "{closed_output}"
    );
    assert!(open_output.contains(r#""BansBypassed":1"#), "{open_output}");
    assert!(open_output.contains("BANS_FAIL=open"), "{open_output}");
}

#[tokio::test]
async fn a_ban_naming_rooms_removes_the_participant_from_livekit_through_its_room_service() {
    // Arrange: LiveKit's RoomService stand-in (its own TokenVerifier checks
    // every admin token): not in lobby-k2 (404), broken-k3 fails (500).
    let (_service, url) = livekit_room_service(&json!({"lobby-k2": 404, "broken-k3": 500})).await;
    let moto = moto_with_bans(&livekit_secret()).await;
    let mut vendor = Instance::start(&moto, &livekit_vars(&url.replace("http://", "ws://"))).await;

    // Act
    let body = json!({"rooms": ["party-k1", "lobby-k2", "broken-k3", "team-*"]}).to_string();
    let (status, _, ban) = vendor
        .call(admin("PUT", "/admin/bans/alice", &body, Some(OPS)))
        .await;
    let calls: Value = reqwest::get(format!("{url}/calls"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Assert: one removal, one not there, one failure reported; no call
    // for a pattern; each call as LiveKit's SDK makes it.
    assert_eq!(status, 200, "{ban}");
    assert_eq!(ban["kicked"], 1);
    assert_eq!(
        ban["kickFailures"],
        json!([{"room": "broken-k3", "reason": "status_500"}])
    );
    let calls = calls.as_array().unwrap();
    let rooms: Vec<&str> = calls
        .iter()
        .map(|c| c["body"]["room"].as_str().unwrap())
        .collect();
    assert_eq!(rooms, ["broken-k3", "lobby-k2", "party-k1"], "{calls:?}");
    for call in calls {
        assert_eq!(call["error"], Value::Null, "{call}");
        assert_eq!(call["path"], "/twirp/livekit.RoomService/RemoveParticipant");
        assert_eq!(call["contentType"], "application/json");
        assert_eq!(call["body"]["identity"], "alice");
        assert_eq!(call["adminOfRoom"], true, "{call}");
        assert_eq!(call["verified"]["iss"], LIVEKIT_KEY);
        assert_eq!(call["verified"]["ttl"], 60);
    }
    let output = vendor.process.stop().await;
    for hidden in ["alice", "party-k1", "broken-k3"] {
        assert!(!output.contains(hidden), "{hidden} in:\n{output}");
    }
    assert!(output.contains("status_500"), "the failure is logged: {output}");
}

#[tokio::test]
async fn locally_admin_token_guards_the_admin_routes_and_bans_live_in_memory() {
    // Arrange: Twilio, identities chosen by the caller (req:…), and
    // ADMIN_TOKEN; another process without ADMIN_TOKEN.
    let mut vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
        ("TWILIO_API_KEY_SID", TWILIO_KEY_SID.to_owned()),
        ("TWILIO_API_KEY_SECRET", TWILIO_KEY_SECRET.to_owned()),
        ("TWILIO_ROOMS", "*".to_owned()),
        ("TWILIO_IDENTITY", "request".to_owned()),
    ];
    let without = Process::spawn(&vars);
    vars.push(("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()));
    let with = Process::spawn(&vars);
    let (port, other) = (with.listening_port().await, without.listening_port().await);
    let http = reqwest::Client::new();
    let ban = |port: u16, method: reqwest::Method, bearer: Option<&str>| {
        let mut request = http
            .request(method, format!("http://127.0.0.1:{port}/admin/bans/req:alice"))
            .header("origin", ALLOWED);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    let twilio = |identity: &str| {
        http.post(format!("http://127.0.0.1:{port}/twilio/token"))
            .header("origin", ALLOWED)
            .json(&json!({"room_name": "party-1", "user_identity": identity}))
            .send()
    };

    // Act and assert: a wrong or missing token is 403, with no CORS grant.
    for bearer in [None, Some("x"), Some(&ADMIN_TOKEN[1..])] {
        let answer = ban(port, reqwest::Method::PUT, bearer).await.unwrap();
        assert_eq!(answer.status(), 403, "{bearer:?}");
        assert!(answer.headers().get("access-control-allow-origin").is_none());
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "admin_required");
    }
    let preflight = ban(port, reqwest::Method::OPTIONS, Some(ADMIN_TOKEN))
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
    assert!(preflight.headers().get("access-control-allow-methods").is_none());
    let off = ban(other, reqwest::Method::PUT, Some(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(off.status(), 404, "no ADMIN_TOKEN: no admin routes");

    // The ban names the identity as the token carries it (req:alice).
    assert_eq!(twilio("alice").await.unwrap().status(), 200);
    let banned = ban(port, reqwest::Method::PUT, Some(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(banned.status(), 200);
    assert!(banned.headers().get("access-control-allow-origin").is_none());
    let refused = twilio("alice").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["access-control-allow-origin"], ALLOWED);
    assert_eq!(twilio("bob").await.unwrap().status(), 200);
    assert_eq!(
        ban(port, reqwest::Method::DELETE, Some(ADMIN_TOKEN))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(twilio("alice").await.unwrap().status(), 200);

    let output = with.stop().await + &without.stop().await;
    assert!(
        !output.contains(ADMIN_TOKEN) && !output.contains("alice"),
        "{output}"
    );
}

#[tokio::test]
async fn a_short_admin_token_or_one_under_lambda_is_refused_at_start() {
    let local = vec![("LISTEN_ADDR", "127.0.0.1:0".to_owned())];
    assert_start_refused(local.clone(), "ADMIN_TOKEN", "short-token-of-31-characters-xx").await;
    assert_start_refused(local, "ADMIN_PRINCIPALS", "arn:aws:iam::123456789012:user/ci").await;
}

#[tokio::test]
async fn ending_a_room_closes_its_name_until_the_end_passes() {
    // Arrange: rooms in moto, CAS minting, ADMIN_TOKEN (local mode).
    let moto = Moto::start();
    let dynamo = dynamodb(&moto.endpoint);
    create_table(&dynamo).await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let mut vars = aws_env(&moto);
    vars.extend([
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
        ("CAS_URL", cas.uri()),
        ("API_KEY", KEY.to_owned()),
        ("API_SECRET", SECRET.to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ROOMS_TABLE", TABLE.to_owned()),
        ("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
    ]);
    let vendor = Process::spawn(&vars);
    let base = format!("http://127.0.0.1:{}", vendor.listening_port().await);
    let http = reqwest::Client::new();
    let room = |method: reqwest::Method| {
        http.request(method, format!("{base}/rooms/party-9"))
            .header("origin", ALLOWED)
            .send()
    };

    // Act: a room, ended.
    assert_eq!(room(reqwest::Method::PUT).await.unwrap().status(), 201);
    let ended = http
        .delete(format!("{base}/admin/rooms/party-9"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let reads = [
        room(reqwest::Method::GET).await.unwrap(),
        room(reqwest::Method::PUT).await.unwrap(),
    ];

    // Assert: 204, then 410 room_ended with CORS for a read and a join,
    // and no new token minted under the name.
    assert_eq!(ended.status(), 204);
    for answer in reads {
        assert_eq!(answer.status(), 410);
        assert_eq!(answer.headers()["access-control-allow-origin"], ALLOWED);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "room_ended");
    }
    assert_eq!(minting.calls(), 1);
    let item = dynamo
        .get_item()
        .table_name(TABLE)
        .key(
            "room",
            aws_sdk_dynamodb::types::AttributeValue::S("party-9".into()),
        )
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert!(!item.contains_key("token"), "the stored token is gone");
    let until: i64 = item["endedUntil"].as_n().unwrap().parse().unwrap();
    let in_a_day = jiff::Timestamp::now().as_millisecond() + 86_400_000;
    assert!((in_a_day - until).abs() < 60_000, "ended for ROOM_TTL_S (a day)");

    // Once the end has passed (set in the past here), the name is a room
    // again.
    dynamo
        .update_item()
        .table_name(TABLE)
        .key(
            "room",
            aws_sdk_dynamodb::types::AttributeValue::S("party-9".into()),
        )
        .update_expression("SET endedUntil = :past")
        .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(room(reqwest::Method::PUT).await.unwrap().status(), 201);
    assert_eq!(minting.calls(), 2);
    let output = vendor.stop().await;
    assert!(!output.contains("party-9"), "{output}");
}

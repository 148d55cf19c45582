//! Per-caller quotas: at most `n` tokens per caller and fixed window
//! (`QUOTA=n/window`), counted in DynamoDB (`QUOTA_TABLE`, exact across
//! instances) or, in local mode, in memory. Also who the caller is: the JWT
//! authorizer's `sub`, else the source IP API Gateway saw, never a header.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use sha2::{Digest as _, Sha256};

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::logging::chain;

/// The longest window: a week.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// `QUOTA`: `limit` tokens per caller per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSpec {
    pub limit: u32,
    pub window: Duration,
}

impl QuotaSpec {
    /// Parses `n/<count><unit>`, the unit `s`, `m`, `h` or `d` (`20/1h`,
    /// `100/7d`); n ≥ 1, the window 1 s to 7 d.
    pub fn parse(text: &str) -> Result<Self, String> {
        const FORM: &str = "expected <n>/<window>, e.g. 20/1h (window units s, m, h, d)";
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (limit, window) = text.split_once('/').ok_or(FORM)?;
        let limit: u32 = Some(limit)
            .filter(|l| digits(l))
            .and_then(|l| l.parse().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("the count must be a whole number of at least 1 ({FORM})"))?;
        let (count, unit_seconds) = [('s', 1), ('m', 60), ('h', 3_600), ('d', 86_400)]
            .into_iter()
            .find_map(|(unit, seconds)| window.strip_suffix(unit).map(|count| (count, seconds)))
            .ok_or(FORM)?;
        let count: u64 = Some(count)
            .filter(|c| digits(c))
            .and_then(|c| c.parse().ok())
            .ok_or(FORM)?;
        let seconds = count.saturating_mul(unit_seconds);
        if !(1..=MAX_WINDOW.as_secs()).contains(&seconds) {
            return Err("the window must be 1 s to 7 d".to_owned());
        }
        Ok(Self {
            limit,
            window: Duration::from_secs(seconds),
        })
    }
}

/// What to do when the quota table cannot be used (`QUOTA_FAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Serve, and log an error.
    #[default]
    Open,
    /// Answer `503 store_unavailable`.
    Closed,
}

/// Who is asking: `sub:<sub>` or `ip:<address>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller(String);

impl Caller {
    /// A request with no identity at all (no request context, no peer):
    /// such requests share one count.
    pub fn unknown() -> Self {
        Self("unknown".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The peer's address in local mode (set by [`crate::runtime::local`]).
#[derive(Debug, Clone, Copy)]
pub struct PeerIp(pub IpAddr);

/// The caller of a request: the JWT authorizer's `sub` when API Gateway
/// verified one; else the source IP it saw; locally the peer's IP. Never a
/// request header (`X-Forwarded-For`, `Authorization`): those are the
/// caller's to forge. A `sub` that is not 1-128 printable ASCII characters
/// without `#` becomes `sub#<SHA-256>`: it is a DynamoDB key and a log field.
pub fn caller_of(request: &Request) -> Option<Caller> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            let sub = context
                .authorizer
                .as_ref()
                .and_then(|authorizer| authorizer.jwt.as_ref())
                .and_then(|jwt| jwt.claims.get("sub"))
                .filter(|sub| !sub.is_empty());
            if let Some(sub) = sub {
                return Some(sub_caller(sub));
            }
            context.http.source_ip.as_deref().and_then(ip_caller)
        }
        Some(RequestContext::ApiGatewayV1(context)) => {
            let sub = context
                .authorizer
                .fields
                .get("claims")
                .and_then(|claims| claims.get("sub"))
                .and_then(serde_json::Value::as_str)
                .filter(|sub| !sub.is_empty());
            if let Some(sub) = sub {
                return Some(sub_caller(sub));
            }
            context.identity.source_ip.as_deref().and_then(ip_caller)
        }
        _ => request
            .extensions()
            .get::<PeerIp>()
            .map(|peer| Caller(format!("ip:{}", peer.0.to_canonical()))),
    }
}

fn sub_caller(sub: &str) -> Caller {
    let plain = sub.len() <= 128 && sub.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    if plain {
        return Caller(format!("sub:{sub}"));
    }
    let digest = Sha256::digest(sub.as_bytes());
    Caller(format!(
        "sub#{}",
        digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

fn ip_caller(ip: &str) -> Option<Caller> {
    ip.parse::<IpAddr>()
        .ok()
        .map(|ip| Caller(format!("ip:{}", ip.to_canonical())))
}

/// The answer of one count: taken or refused, and the window's figures for
/// the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub limit: u32,
    /// Tokens left in this window after this one (0 when refused).
    pub remaining: u32,
    /// Seconds until the window ends, rounded up (at least 1).
    pub reset: u64,
    pub allowed: bool,
}

/// A failure of the quota table.
#[derive(Debug, thiserror::Error)]
pub enum QuotaStoreError {
    #[error("quota store failed: {0}")]
    Failed(String),
    #[error("quota store did not answer before the request's deadline")]
    OutOfTime,
}

/// Where the counts live. `Debug` names no caller.
pub enum QuotaStore {
    Dynamo { client: DynamoClient, table: String },
    Memory(Mutex<HashMap<String, (u64, u32)>>),
}

impl fmt::Debug for QuotaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dynamo { table, .. } => f
                .debug_struct("Dynamo")
                .field("table", table)
                .finish_non_exhaustive(),
            Self::Memory(_) => f.write_str("Memory"),
        }
    }
}

impl QuotaStore {
    pub fn dynamo(client: DynamoClient, table: impl Into<String>) -> Self {
        Self::Dynamo {
            client,
            table: table.into(),
        }
    }

    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// Counts one token for `key` if fewer than `limit` were counted:
    /// `Some(count after)` when taken, `None` when the limit was reached.
    /// DynamoDB: one conditional atomic update, never a read then a write.
    /// `id` (unique per request) makes the SDK's retry of a write whose
    /// reply was lost recognise itself instead of counting again.
    async fn take(
        &self,
        key: &str,
        id: &str,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> Result<Option<u32>, QuotaStoreError> {
        match self {
            Self::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                // One entry per caller: a new window replaces the old one.
                let entry = map.entry(key.to_owned()).or_insert((window_start, 0));
                if entry.0 != window_start {
                    *entry = (window_start, 0);
                }
                if entry.1 >= limit {
                    return Ok(None);
                }
                entry.1 += 1;
                Ok(Some(entry.1))
            }
            Self::Dynamo { client, table } => {
                let result = client
                    .update_item()
                    .table_name(table)
                    .key("pk", AttributeValue::S(format!("{key}#{window_start}")))
                    .update_expression("SET expiresAt = :exp, lastId = :id ADD #count :one")
                    .condition_expression(
                        "(attribute_not_exists(#count) OR #count < :limit) AND \
                         (attribute_not_exists(lastId) OR lastId <> :id)",
                    )
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .expression_attribute_names("#count", "count")
                    .expression_attribute_values(":id", AttributeValue::S(id.to_owned()))
                    .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
                    .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
                    .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
                    .return_values(ReturnValue::UpdatedNew)
                    .send()
                    .await;
                match result {
                    Ok(output) => {
                        let count = output
                            .attributes()
                            .and_then(|a| a.get("count"))
                            .and_then(|v| v.as_n().ok())
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(limit);
                        Ok(Some(count))
                    }
                    Err(SdkError::ServiceError(e)) => match e.err() {
                        UpdateItemError::ConditionalCheckFailedException(failed) => {
                            // Our own earlier attempt went through; only its
                            // reply was lost: the token is ours.
                            let old = failed.item();
                            let ours = old
                                .and_then(|item| item.get("lastId"))
                                .and_then(|v| v.as_s().ok())
                                .is_some_and(|last| last == id);
                            let count = old
                                .and_then(|item| item.get("count"))
                                .and_then(|v| v.as_n().ok())
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(limit);
                            Ok(ours.then_some(count))
                        }
                        other => Err(QuotaStoreError::Failed(DisplayErrorContext(other).to_string())),
                    },
                    Err(e) => Err(QuotaStoreError::Failed(DisplayErrorContext(&e).to_string())),
                }
            }
        }
    }
}

/// The quota of one deployment.
#[derive(Debug)]
pub struct Quota {
    spec: QuotaSpec,
    store: QuotaStore,
    fail: FailMode,
}

impl Quota {
    pub fn new(spec: QuotaSpec, store: QuotaStore, fail: FailMode) -> Self {
        Self { spec, store, fail }
    }

    /// Counts one token for `caller` now. `Ok(None)` when the store failed
    /// and the quota fails open (logged as an error); a refusal is
    /// `Ok(Some(admission))` with `allowed: false`.
    /// `request_id` (unique per request) tells this count from others.
    pub async fn admit(
        &self,
        caller: &Caller,
        request_id: &str,
        deadline: Deadline,
    ) -> Result<Option<Admission>, ApiError> {
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        self.admit_at(caller, request_id, now, deadline).await
    }

    async fn admit_at(
        &self,
        caller: &Caller,
        id: &str,
        now: u64,
        deadline: Deadline,
    ) -> Result<Option<Admission>, ApiError> {
        let window = self.spec.window.as_secs();
        let window_start = now - now % window;
        let window_end = window_start + window;
        let reset = (window_end - now).max(1);
        let limit = self.spec.limit;
        let counted = deadline
            .within(
                self.store
                    .take(caller.as_str(), id, window_start, window_end, limit),
            )
            .await
            .unwrap_or(Err(QuotaStoreError::OutOfTime));
        match counted {
            Ok(Some(count)) => Ok(Some(Admission {
                limit,
                remaining: limit.saturating_sub(count),
                reset,
                allowed: true,
            })),
            Ok(None) => Ok(Some(Admission {
                limit,
                remaining: 0,
                reset,
                allowed: false,
            })),
            Err(error) => match self.fail {
                FailMode::Open => {
                    tracing::error!(error = %chain(&error), "quota store unusable: serving without a quota (QUOTA_FAIL=open)");
                    Ok(None)
                }
                FailMode::Closed => Err(ApiError::Store(Box::new(error))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_values_parse_and_bad_ones_are_refused() {
        let ok = |text: &str, limit: u32, seconds: u64| {
            assert_eq!(
                QuotaSpec::parse(text),
                Ok(QuotaSpec {
                    limit,
                    window: Duration::from_secs(seconds)
                }),
                "{text}"
            );
        };
        ok("20/1h", 20, 3_600);
        ok("1/1s", 1, 1);
        ok("100/7d", 100, 604_800);
        ok("5/168h", 5, 604_800);
        ok("3/90m", 3, 5_400);
        for bad in [
            "",
            "20",
            "20/",
            "20/h",
            "5/h",
            "0/1h",
            "-1/1h",
            "x/1h",
            "20/1",
            "20/1w",
            "20/8d",
            "20/0s",
            "20/+1h",
            "20/ 1h",
            "20/1.5h",
            "20/1h/2",
            "4294967296/1h",
            "+5/1h",
            "20/1µ",
            "µ/1h",
            "20/µh",
        ] {
            assert!(QuotaSpec::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn quota(limit: u32, window: u64, store: QuotaStore) -> Quota {
        Quota::new(
            QuotaSpec {
                limit,
                window: Duration::from_secs(window),
            },
            store,
            FailMode::Open,
        )
    }

    async fn at(quota: &Quota, caller: &Caller, now: u64) -> Admission {
        quota
            .admit_at(
                caller,
                &now.to_string(),
                now,
                Deadline::after(Duration::from_secs(1)),
            )
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn the_memory_store_counts_per_caller_and_window() {
        let quota = quota(2, 60, QuotaStore::memory());
        let (a, b) = (Caller("ip:192.0.2.1".into()), Caller("sub:b".into()));
        let first = at(&quota, &a, 600).await;
        assert_eq!(
            first,
            Admission {
                limit: 2,
                remaining: 1,
                reset: 60,
                allowed: true
            }
        );
        assert!(at(&quota, &a, 630).await.allowed);
        let refused = at(&quota, &a, 659).await;
        assert_eq!((refused.allowed, refused.remaining, refused.reset), (false, 0, 1));
        assert!(at(&quota, &b, 659).await.allowed, "another caller apart");
        assert!(at(&quota, &a, 660).await.allowed, "a new window");
    }

    #[test]
    fn a_caller_prints_as_its_kind_and_value() {
        assert_eq!(format!("{:?}", Caller("ip:::1".into())), "ip:::1");
        assert_eq!(ip_caller("::ffff:192.0.2.7").unwrap().as_str(), "ip:192.0.2.7");
        assert!(ip_caller("not an ip").is_none());
        assert_eq!(sub_caller("auth0|abc-123").as_str(), "sub:auth0|abc-123");
        for odd in ["a\nb", "a#1", "é", &"x".repeat(129)] {
            let caller = sub_caller(odd);
            assert!(
                caller.as_str().starts_with("sub#") && caller.as_str().len() == 68,
                "{caller:?}"
            );
        }
        assert_ne!(sub_caller("a\nb"), sub_caller("a\nc"));
    }
}

//! Per-caller quotas: at most `n` tokens per caller and fixed window
//! (`QUOTA=n/window`), counted in DynamoDB (`QUOTA_TABLE`, exact across
//! instances) or, in local mode, in memory ([`store`]). Who the caller is
//! lives in [`caller`].

use std::time::Duration;

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::logging::chain;
use crate::quota::store::QuotaStoreError;

mod caller;
mod store;
#[cfg(test)]
mod tests;

pub(crate) use caller::{Caller, PeerIp, caller_of};
pub use store::QuotaStore;

/// The least time a give-back gets, past the request's own deadline if need
/// be: less than [`crate::deadline::MARGIN`], which is kept for the answer.
const GIVE_BACK_BUDGET: Duration = Duration::from_millis(150);

/// The longest window: a week.
pub(crate) const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);

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
    /// Epoch seconds: the window's start, which names its count.
    pub(crate) window_start: u64,
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
                window_start,
            })),
            Ok(None) => Ok(Some(Admission {
                limit,
                remaining: 0,
                reset,
                allowed: false,
                window_start,
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

impl Quota {
    /// Gives back the unit `admission` took for `caller` (request `id`),
    /// because its token was not issued (the provider or a table failed):
    /// a unit is spent only on a token handed out. By `deadline`; when the
    /// store fails or time is up the unit stays spent (logged). `true` when
    /// given back.
    pub(crate) async fn give_back(
        &self,
        caller: &Caller,
        id: &str,
        admission: &Admission,
        deadline: Deadline,
    ) -> bool {
        if !admission.allowed {
            return false;
        }
        // Its own budget when the request's is (nearly) spent: the failure
        // being given back is often the deadline itself (a slow provider,
        // a hung table). GIVE_BACK_BUDGET stays inside deadline::MARGIN.
        let budget = Deadline::after(deadline.remaining().max(GIVE_BACK_BUDGET));
        let given = budget
            .within(self.store.give_back(caller.as_str(), id, admission.window_start))
            .await
            .unwrap_or(Err(QuotaStoreError::OutOfTime));
        given.unwrap_or_else(|error| {
            tracing::warn!(error = %chain(&error), "quota unit not given back: it stays spent");
            false
        })
    }
}

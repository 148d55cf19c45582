//! The time a request may take. Under Lambda each invocation carries its
//! deadline (`Lambda-Runtime-Deadline-Ms`); past it Lambda kills the
//! invocation and API Gateway answers a bare 5xx the browser cannot read. So
//! every request is answered [`MARGIN`] before that deadline: each upstream
//! and AWS call gets the smaller of its own timeout and the time left, and
//! the one that runs out names what was slow (504 for a provider, 503 for
//! the rooms table). Local mode gives each request the deployed function's
//! timeout, [`LOCAL_BUDGET`].

use std::future::IntoFuture;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long before the invocation's deadline the answer is due: time for
/// the response to be written and posted back to the Runtime API.
pub(crate) const MARGIN: Duration = Duration::from_millis(250);

/// The function timeout `template.yaml` deploys: local mode's budget per
/// request.
pub(crate) const LOCAL_BUDGET: Duration = Duration::from_secs(15);

/// Lambda's longest function timeout: no invocation's deadline lies further
/// out, whatever its header says.
pub(crate) const LONGEST: Duration = Duration::from_secs(900);

/// When a request's answer is due (the margin already taken off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    due: Instant,
}

impl Deadline {
    /// Due `budget` from now (at most [`LONGEST`]).
    pub fn after(budget: Duration) -> Self {
        Self {
            due: Instant::now() + budget.min(LONGEST),
        }
    }

    /// Local mode's: as if the deployed function (timeout [`LOCAL_BUDGET`])
    /// had just been invoked, so [`MARGIN`] before its end.
    pub fn local() -> Self {
        Self::after(LOCAL_BUDGET.saturating_sub(MARGIN))
    }

    /// From an invocation's deadline, in milliseconds since the Unix epoch:
    /// [`MARGIN`] before it (at once, if that has passed).
    pub fn from_epoch_millis(deadline_ms: u64) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Self::after(left.saturating_sub(MARGIN))
    }

    /// The time left until the answer is due (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.due.saturating_duration_since(Instant::now())
    }

    /// `work`, cut at the deadline: awaited, `Err(Elapsed)` when the
    /// deadline came first (the work is dropped where it stood). The timeout
    /// future itself, not an `async fn` around it: that would hold `work`
    /// twice in its state (the argument, and the timeout holding it), and the
    /// SDK's futures are large.
    pub fn within<F: IntoFuture>(&self, work: F) -> tokio::time::Timeout<F::IntoFuture> {
        tokio::time::timeout_at(self.due.into(), work)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_deadline_is_answered_the_margin_before_it() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let deadline = Deadline::from_epoch_millis(now_ms + 2_000);
        let left = deadline.remaining();
        assert!(
            left <= Duration::from_millis(1_750) && left > Duration::from_millis(1_600),
            "{left:?}"
        );
    }

    #[test]
    fn a_deadline_in_the_past_or_absurd_leaves_no_time_and_does_not_panic() {
        assert_eq!(Deadline::from_epoch_millis(0).remaining(), Duration::ZERO);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        assert_eq!(
            Deadline::from_epoch_millis(now_ms + 100).remaining(),
            Duration::ZERO
        );
        assert!(Deadline::from_epoch_millis(u64::MAX).remaining() <= LONGEST);
    }

    #[tokio::test]
    async fn work_that_outlives_the_deadline_is_cut_at_it() {
        let deadline = Deadline::after(Duration::from_millis(50));
        let started = Instant::now();
        let outcome = deadline.within(tokio::time::sleep(Duration::from_secs(5))).await;
        assert!(outcome.is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(deadline.within(async { 7 }).await.ok(), Some(7));
    }
}

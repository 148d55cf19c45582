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
            allowed: true,
            window_start: 600,
        }
    );
    assert!(at(&quota, &a, 630).await.allowed);
    let refused = at(&quota, &a, 659).await;
    assert_eq!((refused.allowed, refused.remaining, refused.reset), (false, 0, 1));
    assert!(at(&quota, &b, 659).await.allowed, "another caller apart");
    assert!(at(&quota, &a, 660).await.allowed, "a new window");
}

#[tokio::test]
async fn the_memory_store_forgets_the_counts_of_windows_that_ended() {
    let quota = quota(2, 60, QuotaStore::memory());
    at(&quota, &Caller("ip:192.0.2.1".into()), 600).await;
    at(&quota, &Caller("ip:192.0.2.2".into()), 610).await;
    assert_eq!(format!("{:?}", quota.store), "Memory { callers: 2 }");
    // A new caller in the next window: the ended window's two go.
    at(&quota, &Caller("ip:192.0.2.3".into()), 660).await;
    assert_eq!(format!("{:?}", quota.store), "Memory { callers: 1 }");
}

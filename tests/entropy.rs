//! The first use of aws-lc's random generator in a process (the first TLS
//! handshake of a cold start) must not seed it from CPU jitter, which cost
//! ~35 ms of CPU here (~420 M instructions). `.cargo/config.toml` builds
//! aws-lc with `AWS_LC_SYS_NO_JITTER_ENTROPY=1`; this file is its own
//! process, so the generator is seeded here and nowhere before.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use rustls::crypto::aws_lc_rs::default_provider;

#[test]
fn the_first_random_bytes_of_a_process_come_without_jitter_seeding() {
    let random = default_provider().secure_random;
    let mut bytes = [0u8; 32];

    let started = Instant::now();
    random.fill(&mut bytes).unwrap();
    let first = started.elapsed();

    // The kernel answers in microseconds; jitter seeding took 35 ms on this
    // machine (54 ms in a debug build, where it is compiled at -O0). 20 ms
    // leaves room for a busy machine's scheduling without letting it through.
    assert!(
        first < Duration::from_millis(20),
        "the first random bytes took {first:?}: is aws-lc seeding from CPU jitter again? (.cargo/config.toml)"
    );
    assert_ne!(bytes, [0u8; 32]);
}

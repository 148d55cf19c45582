//! The first use of the shipped TLS provider's random generator in a
//! process (the first TLS handshake of a cold start) must come from the
//! kernel at once: aws-lc, the provider until 2026-12-04, seeded from CPU
//! jitter by default, which cost ~35 ms of CPU here (~420 M instructions).
//! ring, the provider now, reads `getrandom`. The test takes the provider
//! the binary's TLS is built on (`token_vendor::crypto_provider`), so a
//! switch back to a jitter-seeded one fails here; this file is its own
//! process, so the generator is first used here and nowhere before.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use token_vendor::crypto_provider;

#[test]
fn the_first_random_bytes_of_a_process_come_without_jitter_seeding() {
    let random = crypto_provider().secure_random;
    let mut bytes = [0u8; 32];

    let started = Instant::now();
    random.fill(&mut bytes).unwrap();
    let first = started.elapsed();

    // The kernel answers in microseconds; jitter seeding took 35 ms on this
    // machine (54 ms in a debug build, where it is compiled at -O0). 20 ms
    // leaves room for a busy machine's scheduling without letting it through.
    assert!(
        first < Duration::from_millis(20),
        "the first random bytes took {first:?}: is the provider seeding from CPU jitter (aws-lc without .cargo/config.toml's opt-out)?"
    );
    assert_ne!(bytes, [0u8; 32]);
}

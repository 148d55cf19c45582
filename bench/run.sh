#!/usr/bin/env bash
# Builds the release binaries (and, with cargo-lambda on PATH, the arm64
# deployment zip), then runs the benchmark. Extra arguments go to the harness:
#   bench/run.sh --runs 10 --warm 1000
set -euo pipefail
cd "$(dirname "$0")/.."
# Two builds, so that the vendor is built with its own features only (as it
# ships), not unified with the harness's (which uses the SDK's default client).
cargo build --release --locked -p token-vendor
cargo build --release --locked -p bench
zip_args=()
if command -v cargo-lambda >/dev/null 2>&1; then
  cargo lambda build --release --arm64 --output-format zip --bin token-vendor >/dev/null
  zip_args=(--zip target/lambda/token-vendor/bootstrap.zip)
fi
exec target/release/bench "${zip_args[@]}" "$@"

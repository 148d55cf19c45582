#!/usr/bin/env bash
# The OpenAPI contract (openapi.yaml), checked by schemathesis with every
# check (but one, below) and every phase (stateful included) against the real binary in local
# mode, with local CAS and AIPIX stand-ins (tests/contract/standins.py),
# LiveKit, Agora, Twilio and Vonage on (signed locally; the policies as wide
# as the schema; Vonage's RSA key made by Node for the run), rooms and bans in
# memory, and the admin routes on (ADMIN_TOKEN, a fixed test value that
# schemathesis sends as the adminToken bearer on the admin operations only;
# schemathesis.toml): nothing is the demo upstream.
#
#   cargo build && tests/contract/run.sh   # needs `st` (pip install schemathesis)
#   ST=/path/to/st VENDOR_BIN=... tests/contract/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# schemathesis: $ST, else the tools venv .ci/run makes, else `st` on PATH.
st=${ST:-.venv-tools/bin/st}
[ -x "$st" ] || st=st
command -v "$st" >/dev/null || { echo "schemathesis (st) not found: pip install schemathesis" >&2; exit 1; }
vendor_bin=${VENDOR_BIN:-target/debug/token-vendor}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

python3 tests/contract/standins.py > "$work/ports" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
read -r cas_port aipix_port < "$work/ports"

# Vonage's private key: a fresh 2048-bit RSA key (PKCS#8 PEM), made by Node.
vonage_key=$(node -e "const { generateKeyPairSync } = require('node:crypto');
process.stdout.write(generateKeyPairSync('rsa', { modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey)")

# The admin routes' bearer token: a fixed test value (64 hex digits), never a
# real one; schemathesis.toml reads it as ${CONTRACT_ADMIN_TOKEN}.
admin_token=5a0c3e9f7b1d24c68e0f2a4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d2e4f6a8b0c1d

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -i PATH="$PATH" \
  LISTEN_ADDR="127.0.0.1:$port" \
  ALLOWED_ORIGINS='*' \
  CAS_URL="http://127.0.0.1:$cas_port" API_KEY=contract-key API_SECRET=contract-secret \
  AIPIX_URL="http://127.0.0.1:$aipix_port" AIPIX_API_TOKEN=contract-aipix-token \
  AIPIX_STREAMS='*' AIPIX_RIGHTS=live,dvr,copy AIPIX_MAX_TTL=18446744073709551615 AIPIX_ALLOW_UNLIMITED=true \
  LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=contract-livekit-key \
  LIVEKIT_API_SECRET=contract-livekit-secret-0123456789abcdef LIVEKIT_ROOMS='*' \
  LIVEKIT_IDENTITY=request LIVEKIT_ROOM_CONFIG=true LIVEKIT_MAX_ATTRIBUTES=65536 \
  AGORA_APP_ID=970ca35de60c44645bbae8a215061b33 AGORA_APP_CERTIFICATE=5cfd2fd1755d40ecb72977518be15d3b \
  AGORA_CHANNELS='*' AGORA_IDENTITY=request AGORA_MAX_TTL_S=86400 \
  TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef TWILIO_ROOMS='*' TWILIO_IDENTITY=request \
  TWILIO_API_KEY_SID=SKfedcba9876543210fedcba9876543210 TWILIO_API_KEY_SECRET=contract-twilio-secret \
  VONAGE_APPLICATION_ID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d VONAGE_PRIVATE_KEY="$vonage_key" \
  VONAGE_ROLES=subscriber,publisher,publisheronly,moderator VONAGE_DATA=true \
  ADMIN_TOKEN="$admin_token" \
  "$vendor_bin" > "$work/vendor.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q listening "$work/vendor.log" && break; sleep 0.1; done
grep -q listening "$work/vendor.log" || { cat "$work/vendor.log"; exit 1; }

# A ban of the admin operations' example identity (`alice`, for one room no
# route is asked for), so that GET /admin/bans/alice finds one: a ban's 200
# answer is then checked too, not only its 404.
python3 - "$port" "$admin_token" <<'PY'
import sys, urllib.request
port, token = sys.argv[1:]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/admin/bans/alice", method="PUT",
    data=b'{"rooms": ["contract-seed"], "reason": "seeded by run.sh"}',
    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
assert urllib.request.urlopen(request).status == 200
PY

# Every check but missing_required_header: the only required header
# openapi.yaml has is the admin operations' Authorization, whose absence is
# `403 admin_required` by design, where that check wants 401 (and a check
# named on the command line cannot be turned off per operation in the
# config file; schemathesis.toml says more).
status=0
CONTRACT_ADMIN_TOKEN="$admin_token" "$st" --config-file tests/contract/schemathesis.toml run openapi.yaml --url "http://127.0.0.1:$port" \
  --checks all --exclude-checks missing_required_header \
  --phases examples,coverage,fuzzing,stateful --max-examples "${MAX_EXAMPLES:-50}" \
  --seed "${SEED:-20261126}" --generation-database none --no-color || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- vendor log (last 40 lines)"
  tail -40 "$work/vendor.log"
fi
exit "$status"

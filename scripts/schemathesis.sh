#!/usr/bin/env bash
# Fuzz every operation of /openapi.json with schemathesis against a real `toutiao serve --demo`
# on the embedded engines: each surface with its own logged-in caller (app reader, mp author,
# mis super-admin), bounded in time. Fails on any server error or any disagreement between
# the responses and the document (status codes, content types, schemas, headers).
#   scripts/schemathesis.sh [seconds per surface, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET="${1:-60}"
PY=.venv/bin/python
ST=.venv/bin/st
DATA="$(mktemp -d)"
PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"

cleanup() {
  if [[ -n "${SERVER:-}" ]]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# A small demo data set (the default one takes minutes to load on a busy machine).
env -u TOUTIAO_DATABASE_URL -u TOUTIAO_REDIS_URL \
  .venv/bin/toutiao seed demo --users 12 --articles 80 --data-dir "$DATA" >"$DATA/seed.log" 2>&1
env -u TOUTIAO_DATABASE_URL -u TOUTIAO_REDIS_URL TOUTIAO_SCHEDULER_ENABLED=false \
  TOUTIAO_LOGIN_RATE_PER_IP=100000/minute TOUTIAO_SMS_RATE_PER_MOBILE=100000/minute \
  TOUTIAO_SMS_RATE_PER_IP=100000/hour TOUTIAO_MIS_LOGIN_RATE_PER_IP=100000/minute \
  .venv/bin/toutiao serve --demo --port "$PORT" --data-dir "$DATA" >"$DATA/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 240); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$DATA/serve.log"; exit 1; }
  sleep 1
done

token() {  # surface, login body -> bearer token
  curl -fsS -X POST "$BASE/$1/v1_0/authorizations" -H 'Content-Type: application/json' -d "$2" |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])'
}
APP_TOKEN="$(token app '{"mobile":"13911111111","code":"246810"}')"
MP_TOKEN="$(token mp '{"mobile":"13911111111","code":"246810"}')"
MIS_TOKEN="$(token mis '{"account":"admin","password":"admin246810"}')"

status=0
for surface in app mp mis; do
  var="${surface^^}_TOKEN"
  echo "== schemathesis /$surface (${BUDGET}s) =="
  $ST run "$BASE/openapi.json" \
    --include-path-regex "^/$surface/" \
    --header "Authorization: Bearer ${!var}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-time "$BUDGET" --request-timeout 10 --workers 1 \
    --seed 1 --suppress-health-check all --warnings off || status=1
done
echo "== schemathesis: operations outside the surfaces (${BUDGET}s) =="
$ST run "$BASE/openapi.json" --exclude-path-regex '^/(app|mp|mis)/|^/readyz$' \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-time "$BUDGET" --request-timeout 10 --workers 1 \
  --seed 1 --suppress-health-check all --warnings off || status=1
if grep -q "request.crashed" "$DATA/serve.log"; then
  echo "server log has crashes:"; grep -A5 "request.crashed" "$DATA/serve.log" | head -60; status=1
fi
exit $status

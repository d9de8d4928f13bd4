#!/usr/bin/env bash
# Load test for `rill serve`: 64 concurrent clients for 10 s, single-image predict requests on
# the tutorial model, through wrk (Debian's `wrk` package). Prints requests/s, p50 and p99
# latency and the error count. Binds and targets loopback only.
#
#     tools/loadtest.sh            # trains a model first if out/loadtest-mlp/1/model.rill is missing
#     CONNECTIONS=64 DURATION=10 tools/loadtest.sh
#     INFERENCE_THREADS=2 tools/loadtest.sh   # rill serve --inference-threads (default: cores)
#     MODEL=cnn tools/loadtest.sh              # the tutorial's CNN instead of its MLP
#     SLOW_CLIENTS=200 tools/loadtest.sh       # with a slow-client attack running beside it
#     RILL=/path/to/rill tools/loadtest.sh     # another build (e.g. an older commit's)
#     NOFILE=64 tools/loadtest.sh              # the server may open only 64 files (prlimit)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "loadtest: needs wrk (apt-get install wrk)" >&2; exit 1; }
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
PORT=${PORT:-8502}
INFERENCE_THREADS=${INFERENCE_THREADS:-$(nproc)}
MODEL=${MODEL:-mlp}
BASE=out/loadtest-$MODEL
SLOW_CLIENTS=${SLOW_CLIENTS:-0}
RILL=${RILL:-./target/release/rill}
[ "$RILL" = ./target/release/rill ] && cargo build --release -q -p rill --bin rill
if [ ! -f "$BASE/1/model.rill" ]; then
  mkdir -p "$BASE/1"
  "$RILL" train --model "$MODEL" --epochs 1 --output "$BASE/1/model.rill"
fi
# One test image, scaled to [0, 1], as a row-format request body.
python3 - "$BASE/request.json" <<'PY'
import gzip, json, sys
raw = gzip.open("data/fashion-mnist/t10k-images-idx3-ubyte.gz").read()[16:16 + 784]
img = [[raw[r * 28 + c] / 255 for c in range(28)] for r in range(28)]
open(sys.argv[1], "w").write(json.dumps({"instances": [img]}))
PY
cat > "$BASE/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$BASE/request.json", "r"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("requests/s: %.0f\np50: %.2f ms\np99: %.2f ms\nerrors: %d (non-2xx %d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA
# Something already answering on the port would be measured instead of this build.
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "loadtest: port $PORT is already in use; stop that server or set PORT" >&2
  exit 1
fi
${NOFILE:+prlimit --nofile="$NOFILE" --} "$RILL" serve --model-base-path "$BASE" --model-name fashion --port "$PORT" \
  --inference-threads "$INFERENCE_THREADS" > "$BASE/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/v1/models/fashion" >/dev/null && break; sleep 0.1; done
kill -0 $SERVER 2>/dev/null || { echo "loadtest: the server did not start:" >&2; cat "$BASE/serve.log" >&2; exit 1; }
if [ "$SLOW_CLIENTS" -gt 0 ]; then
  python3 tools/slow_clients.py "$PORT" "$SLOW_CLIENTS" "$((DURATION + 2))" &
  ATTACK=$!
  trap 'kill $SERVER $ATTACK 2>/dev/null || true' EXIT
  sleep 1
fi
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$BASE/post.lua" "http://127.0.0.1:$PORT/v1/models/fashion:predict" | tail -4
[ "$SLOW_CLIENTS" -gt 0 ] && wait "$ATTACK"
true

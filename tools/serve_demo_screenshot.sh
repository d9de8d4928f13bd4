#!/usr/bin/env bash
# Remakes docs/src/images/serve-demo.png: `rill serve`'s demo page for the tutorial CNN (trained for one
# epoch here), after its self-test has drawn a stroke and dropped an image, shot by headless
# Chromium (apt-get install chromium). The shot is kept only when the page showed the model
# and both answers — checked in the same browser run's DOM — so a refused connection or an
# empty page never becomes the picture.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8517}
OUT=docs/src/images/serve-demo.png
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin rill
target/release/rill train --model cnn --epochs 1 -o "$WORK/fashion.rill" > /dev/null
target/release/rill serve "$WORK/fashion.rill" --model-name fashion --port "$PORT" > /dev/null 2>&1 &
SERVER=$!
# Wait until the model answers, not merely until the port is open.
for _ in $(seq 120); do
  if curl -sf "http://127.0.0.1:$PORT/v1/models/fashion" | grep -q AVAILABLE; then break; fi
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/v1/models/fashion" | grep -q AVAILABLE \
  || { echo "serve_demo_screenshot: the server never served the model" >&2; exit 1; }

chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --window-size=1000,600 --virtual-time-budget=30000 "$@" \
    "http://127.0.0.1:$PORT/?selftest" 2> /dev/null
}
# The self-test's answers appear in #selftest once both images are answered; a page that never
# got them (or never loaded) fails here, before anything is written to docs/.
for attempt in 1 2 3; do
  chrome --screenshot="$WORK/shot.png" > /dev/null
  dom=$(chrome --dump-dom)
  if grep -q '<pre id="selftest">' <<< "$dom" && grep -q '"name":"fashion"' <<< "$dom" \
    && grep -q 'Ankle boot\|T-shirt' <<< "$dom"; then
    cp "$WORK/shot.png" "$OUT"
    echo "serve_demo_screenshot: wrote $OUT (attempt $attempt)"
    exit 0
  fi
done
echo "serve_demo_screenshot: the page never showed the model and its answers; $OUT left as it was" >&2
exit 1

#!/usr/bin/env bash
# Remakes docs/src/images/tensorboard.png: the tutorial's TensorBoard logs (out/fashion_mnist/logs, from
# `cargo run --release --example fashion_mnist`) in TensorBoard's scalars view, shot by headless
# Chromium (apt-get install chromium). Needs the test environment (tools/test makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-6123}
target/test-venv/bin/python -m tensorboard.main --logdir out/fashion_mnist/logs \
  --host 127.0.0.1 --port "$PORT" --load_fast=false > /dev/null 2>&1 &
TB=$!
trap 'kill $TB 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/data/runs" > /dev/null && break; sleep 0.5; done
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1000 \
  --virtual-time-budget=15000 --screenshot=docs/src/images/tensorboard.png \
  "http://127.0.0.1:$PORT/?darkMode=false#scalars&tagFilter=epoch_(loss%7Caccuracy)"

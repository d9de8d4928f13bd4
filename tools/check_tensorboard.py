"""Reads a Rill run's TensorBoard logs with TensorBoard itself and compares them with what Rill
says it wrote (expected.json from crates/rill-tensorboard/tests/tensorboard_reader.rs):
EventAccumulator for every scalar, histogram, image and the graph, then a TensorBoard server
on loopback for its scalars HTTP API. Exits non-zero, saying why, on any difference.

    python tools/check_tensorboard.py LOG_DIR EXPECTED_JSON
"""

import json
import math
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.graph import keras_util

log_dir, expected_path = sys.argv[1], sys.argv[2]
want = json.load(open(expected_path))
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def close(a, b, tol=1e-6):
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def load(run):
    acc = EventAccumulator(os.path.join(log_dir, run), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


train, val = load("train"), load("validation")
epochs = len(want["history"]["loss"])

# Every epoch value of History, as epoch_* in the right run, one per epoch.
for key, values in want["history"].items():
    run, name = (val, key[4:]) if key.startswith("val_") else (train, key)
    events = run.Scalars("epoch_" + name)
    check([e.step for e in events] == list(range(epochs)), f"epoch_{name}: steps {[e.step for e in events]}")
    for e, v in zip(events, values):
        check(close(e.value, v), f"epoch_{name} at {e.step}: {e.value} != {v}")
    if run is val:
        ev = run.Scalars(f"evaluation_{name}_vs_iterations")
        steps = [want["steps_per_epoch"] * (i + 1) for i in range(epochs)]
        check([e.step for e in ev] == steps, f"evaluation_{name}_vs_iterations steps {[e.step for e in ev]}")
        check(all(close(e.value, v) for e, v in zip(ev, values)), f"evaluation_{name}_vs_iterations values")

lr = train.Scalars("epoch_learning_rate")
check(len(lr) == epochs and all(close(e.value, want["learning_rate"]) for e in lr), f"epoch_learning_rate {lr}")
# Batch curves: the epoch's running values, so the last step of an epoch shows its epoch value.
for name in ["loss", "accuracy"]:
    batch = train.Scalars("batch_" + name)
    check([e.step for e in batch] == want["batch_steps"], f"batch_{name} steps {[e.step for e in batch]}")
    ends = {want["steps_per_epoch"] * (i + 1): v for i, v in enumerate(want["history"][name])}
    for e in batch:
        if e.step in ends:
            check(close(e.value, ends[e.step], 1e-5), f"batch_{name} at {e.step}: {e.value} != {ends[e.step]}")
    check(any(e.step in ends for e in batch), f"batch_{name}: no epoch end among {want['batch_steps']}")

# The last histogram of every weight describes the final weights.
for name, values in want["weights"].items():
    h = train.Histograms(f"{name}/histogram")[-1].histogram_value
    check(h.num == len(values), f"{name}: num {h.num} != {len(values)}")
    check(close(h.min, min(values)) and close(h.max, max(values)), f"{name}: min/max {h.min}, {h.max}")
    check(close(h.sum, sum(values), 1e-5), f"{name}: sum {h.sum} != {sum(values)}")
    check(sum(h.bucket) == len(values), f"{name}: buckets hold {sum(h.bucket)}")

# Weight images: real PNGs of the announced size.
for name, (height, width) in want["images"].items():
    img = train.Images(f"{name}/image")[-1]
    png = img.encoded_image_string
    check(png[:8] == b"\x89PNG\r\n\x1a\n", f"{name}/image is not a PNG")
    w, h = struct.unpack(">II", png[16:24])
    check((img.height, img.width, h, w) == (height, width, height, width), f"{name}/image size {img.height}x{img.width}, PNG {h}x{w}")

# The graph, through TensorBoard's own Keras graph conversion.
graph_events = train.Tensors("keras")
check(len(graph_events) == 1, "one graph summary")
model_json = json.loads(graph_events[0].tensor_proto.string_val[0])
graph = keras_util.keras_model_to_graph_def(model_json)
nodes = {n.name: list(n.input) for n in graph.node}
for name, inputs in want["graph"].items():
    check(nodes.get(name) == inputs, f"graph node {name}: {nodes.get(name)} != {inputs}")

# A TensorBoard server on loopback answers its scalars API with the same numbers.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen(
    [sys.executable, "-m", "tensorboard.main", "--logdir", log_dir, "--host", "127.0.0.1", "--port", str(port), "--load_fast=false"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
try:
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=train&tag=epoch_loss"
    body = None
    for _ in range(120):
        try:
            body = json.load(urllib.request.urlopen(url, timeout=5))
            if len(body) == epochs:
                break
        except Exception:
            pass
        time.sleep(0.5)
    check(body is not None and len(body) == epochs, f"scalars API answered {body}")
    if body:
        for (wall, step, value), v in zip(body, want["history"]["loss"]):
            check(close(value, v), f"scalars API epoch_loss at {step}: {value} != {v}")
finally:
    server.terminate()
    server.wait(timeout=30)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("TensorBoard read everything Rill wrote")

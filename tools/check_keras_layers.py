"""Builds layers in Keras 3 from Keras' own arguments and checks that they compute what Rill's
layers of the same class and arguments computed.

    KERAS_BACKEND=numpy python tools/check_keras_layers.py CASES.json

CASES.json (written by crates/rill-py/tests/test_every_layer.py) lists cases:
    {"cases": [{"name": "Dense_0", "kind": "Dense", "args": {...}, "input_shape": [...],
                "xs": [{"shape": [...], "data": [...]}], "weights": [{"shape": [...], "data": [...]}],
                "y": {"shape": [...], "data": [...]}}]}
Each layer is `keras.layers.<kind>(**args)` on one `keras.Input(input_shape)` per input (a merge
takes several), given the weights in order; its prediction on `xs` must equal `y` within 1e-5
relative to `y`'s scale.
Prints one line per case; exits 1 if any case fails. A layer that reads text (inputs with
"dtype": "string") runs on Keras' TensorFlow backend, where Keras keeps its text layers: those
cases are checked by this script run again with KERAS_BACKEND=tensorflow.
"""
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")
import keras  # noqa: E402
import numpy as np  # noqa: E402


def array(v):
    return np.asarray(v["data"], dtype=np.float32).reshape(v["shape"])


def argument(v):
    """A wrapped layer (Bidirectional's) written as Keras writes one becomes that layer."""
    if isinstance(v, dict) and "class_name" in v and "config" in v:
        return keras.layers.deserialize(v)
    return v


def run(case):
    calls = case.get("call_arguments", [])
    args = {k: argument(v) for k, v in case["args"].items() if k not in calls}
    call_args = {k: v for k, v in case["args"].items() if k in calls}
    layer = getattr(keras.layers, case["kind"])(**args)
    text = reads_text(case)
    dtype = case["xs"][0].get("dtype")  # "string", "int64" (ids), or floats
    ins = [keras.Input(tuple(case["input_shape"]), dtype=dtype) for _ in case["xs"]]
    if case.get("positional_inputs"):  # MultiHeadAttention(query, value, key)
        out = layer(*ins, **call_args)
    else:
        out = layer(ins if len(ins) > 1 else ins[0], **call_args)
    model = keras.Model(ins, out)
    weights = [array(w) for w in case["weights"]]
    if len(weights) != len(layer.weights):
        raise AssertionError(f"Keras' layer has {len(layer.weights)} weights, Rill's {len(weights)}")
    layer.set_weights(weights)
    if text:  # Keras' predict takes no text; the model called on a string tensor does
        import tensorflow as tf

        xs = [tf.constant(np.asarray(x["data"]).reshape(x["shape"])) for x in case["xs"]]
        have = np.asarray(model(xs if len(xs) > 1 else xs[0]))
    else:
        xs = [array(x).astype(np.int64) if x.get("dtype") == "int64" else array(x) for x in case["xs"]]
        have = np.asarray(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
    want = array(case["y"])
    if have.shape != want.shape:
        raise AssertionError(f"Keras gives shape {have.shape}, Rill {want.shape}")
    scale = max(1.0, float(np.max(np.abs(want))))
    diff = float(np.max(np.abs(have - want))) / scale
    if diff > 1e-5:
        raise AssertionError(f"outputs differ by {diff:.2e} (relative to their scale)")
    return diff


def reads_text(case):
    return any(x.get("dtype") == "string" for x in case["xs"])


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    failed = 0
    if keras.backend.backend() != "tensorflow" and any(map(reads_text, cases)):
        text_path = sys.argv[1] + ".text.json"
        with open(text_path, "w") as f:
            json.dump({"cases": [c for c in cases if reads_text(c)]}, f)
        env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
        failed += subprocess.run([sys.executable, __file__, text_path], env=env).returncode != 0
        cases = [c for c in cases if not reads_text(c)]
    for case in cases:
        try:
            diff = run(case)
            print(f"ok   {case['name']}: keras.layers.{case['kind']}(**{case['args']}) computes the same (max diff {diff:.1e})")
        except Exception as e:  # report every case, then fail
            failed += 1
            print(f"FAIL {case['name']}: {type(e).__name__}: {e}")
    print(f"{len(cases) - failed} of {len(cases)} layers passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

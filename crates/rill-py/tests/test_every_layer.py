"""Every layer kind of Rill's registry with a Keras form, through the Python package: the class
`rill.keras.layers` makes for it from the registry, built from Keras' arguments (the examples
the layer's file offers), must keep those arguments as its config, compute what Keras 3's layer
of the same class and arguments computes given the same weights (tools/check_keras_layers.py),
and save and load through every model file format with the same outputs.
The Rust side of this harness is crates/rill/tests/every_layer.rs."""

import inspect
import json
import os
import subprocess

import numpy as np
import pytest

import rill
from rill import keras
from rill.keras import layers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FORMS = json.loads(rill._rill.keras_layer_forms())
EXAMPLES = [(f["kind"], i, e) for f in FORMS for i, e in enumerate(f["examples"])]
BY_KIND = {f["kind"]: f for f in FORMS}


def built(kind, example, rng):
    form = BY_KIND[kind]
    calls = form["call_arguments"]
    layer = getattr(layers, kind)(**{k: v for k, v in example["args"].items() if k not in calls})
    call_args = {k: v for k, v in example["args"].items() if k in calls}
    text = example.get("text")
    if example["inputs"] == 1:
        model = keras.Sequential([keras.Input(tuple(example["input_shape"]), dtype=example["input_dtype"]), layer])
    else:  # one input each: a list (a merge) or positional arguments (MultiHeadAttention)
        ins = [keras.Input(tuple(example["input_shape"])) for _ in range(example["inputs"])]
        out = layer(*ins, **call_args) if form["positional_inputs"] else layer(ins, **call_args)
        model = keras.Model(ins, out)
    # Vectors (biases, normalisation parameters and statistics) start as zeros and ones: random
    # values, so that no weight a path gets wrong can hide behind them. Variances stay positive.
    weights = []
    for v in layer.weights:
        w = v.numpy()
        if w.ndim == 1:
            low = 0.5 if v.name.endswith("variance") else -0.6
            w = rng.uniform(low, low + 1.0 if low > 0 else 0.6, size=w.shape).astype(np.float32)
        weights.append(w)
    layer.set_weights(weights)
    shape = (3, *example["input_shape"])
    if text:
        words = example["words"]

        def one():
            if text == "words":
                return str(rng.choice(words))
            return " ".join(str(w) for w in rng.choice(words, int(rng.integers(1, 7))))

        xs = [np.array([one() for _ in range(int(np.prod(shape)))]).reshape(shape) for _ in range(example["inputs"])]
    elif example["ids"] is not None:
        ids = np.int64 if example["input_dtype"] == "int64" else np.float32
        xs = [np.floor(rng.uniform(0, example["ids"], size=shape)).astype(ids) for _ in range(example["inputs"])]
    else:
        xs = [rng.uniform(-1, 1, size=shape).astype(np.float32) for _ in range(example["inputs"])]
    return model, layer, xs[0] if len(xs) == 1 else xs


def test_every_layer_with_a_keras_form_has_a_class_and_an_example():
    kinds = [f["kind"] for f in FORMS]
    assert {"Dense", "Conv2D", "Conv1D", "Embedding", "GlobalMaxPooling1D"} <= set(kinds)
    for f in FORMS:
        assert isinstance(getattr(layers, f["kind"]), type), f["kind"]
        assert f["examples"], f"{f['kind']} offers no example"


def test_signatures_come_from_the_registry():
    sig = inspect.signature(layers.Dense.__init__)
    assert list(sig.parameters)[:2] == ["self", "units"]
    assert sig.parameters["units"].default is inspect.Parameter.empty
    assert sig.parameters["use_bias"].default is True
    assert inspect.signature(layers.LayerNormalization.__init__).parameters["epsilon"].default == 1e-3
    assert inspect.signature(layers.MaxPooling2D.__init__).parameters["pool_size"].default == [2, 2]
    with pytest.raises(TypeError, match="missing required argument units"):
        layers.Dense(activation="relu")
    with pytest.raises(TypeError, match="takes 1 positional"):
        layers.Dense(3, "relu")
    # Keras' defaults appear in the config, as Keras' get_config shows them.
    config = layers.Conv2D(4, 3).get_config()
    assert config["filters"] == 4 and config["kernel_size"] == 3 and config["strides"] == [1, 1]


@pytest.mark.parametrize("kind,i,example", EXAMPLES, ids=[f"{k}_{i}" for k, i, _ in EXAMPLES])
def test_the_registry_made_class_saves_and_loads_through_every_format(tmp_path, kind, i, example):
    rng = np.random.default_rng(i)
    model, layer, x = built(kind, example, rng)
    y = model.predict(x, verbose=0)
    config = layer.get_config()
    for key, value in example["args"].items():
        assert config[key] == value, f"{kind}: {key}"
    # A kind without an ONNX form (Masking: ONNX has no masks) skips that format, as in Rust.
    suffixes = (".rill", ".keras", ".onnx") if BY_KIND[kind]["onnx"] else (".rill", ".keras")
    for suffix in suffixes:
        path = tmp_path / f"m{suffix}"
        model.save(path)
        again = keras.models.load_model(path).predict(x, verbose=0)
        if suffix == ".onnx":
            np.testing.assert_allclose(again, y, rtol=1e-5, atol=1e-5, err_msg=f"{kind} {suffix}")
        else:
            np.testing.assert_array_equal(again, y, err_msg=f"{kind} {suffix}")


def test_every_registry_made_class_computes_what_keras_computes(tmp_path):
    python = os.environ.get("RILL_TEST_PYTHON")
    if not python:
        pytest.skip("RILL_TEST_PYTHON (a Python with Keras) is set by tools/test")
    cases = []
    for kind, i, example in EXAMPLES:
        model, layer, x = built(kind, example, np.random.default_rng(100 + i))
        def as_json(a):
            a = np.asarray(a)
            if a.dtype.kind in "UO":
                return {"shape": list(a.shape), "data": a.ravel().tolist(), "dtype": "string"}
            if a.dtype.kind == "i":
                return {"shape": list(a.shape), "data": a.ravel().tolist(), "dtype": "int64"}
            return {"shape": list(a.shape), "data": a.astype(np.float32).ravel().tolist()}

        xs = x if isinstance(x, list) else [x]
        cases.append({"name": f"{kind}_{i}", "kind": kind, "args": example["args"],
                      "call_arguments": BY_KIND[kind]["call_arguments"],
                      "positional_inputs": BY_KIND[kind]["positional_inputs"],
                      "input_shape": example["input_shape"], "xs": [as_json(x) for x in xs],
                      "weights": [as_json(w) for w in layer.get_weights()],
                      "y": as_json(model.predict(x, verbose=0))})
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": cases}))
    run = subprocess.run([python, os.path.join(ROOT, "tools", "check_keras_layers.py"), str(path)],
                         capture_output=True, text=True, env=dict(os.environ, KERAS_BACKEND="numpy"))
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stdout

"""Builds the Keras-made ONNX fixtures that crates/rill-onnx/tests/import.rs reads.

    python tools/make_onnx_fixtures_keras.py   # needs tensorflow, keras, tf2onnx, onnxruntime

Keras 3 writes ONNX with `model.export(path, format="onnx")` (tf2onnx underneath): channels-last
inputs, with Transposes around each convolution. Inputs and onnxruntime's outputs go to
crates/rill-onnx/tests/fixtures/NAME.json.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rill-onnx", "tests", "fixtures")
keras.utils.set_random_seed(0)


def mlp():
    return keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(32, activation="relu"),
                             layers.Dense(10)], name="mlp")


def cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(32, activation="relu"), layers.Dropout(0.25), layers.Dense(10),
    ], name="cnn")


def residual():
    """A functional model: BatchNormalization, a skip connection, a depthwise-separable block,
    Dropout and global pooling."""
    x = keras.Input((12, 12, 3), name="image")
    h = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    skip = h
    h = layers.DepthwiseConv2D(3, padding="same")(h)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu6")(h)
    h = layers.Conv2D(8, 1)(h)
    h = layers.Add()([h, skip])
    h = layers.AveragePooling2D(2)(h)
    h = layers.GlobalAveragePooling2D()(h)
    h = layers.Dropout(0.2)(h)
    out = layers.Dense(4, activation="softmax")(h)
    return keras.Model(x, out, name="residual")


def export(name, model, x):
    # Biases and batch statistics other than zeros and ones, so nothing hides behind them.
    rng = np.random.default_rng(1)
    for w in model.weights:
        if w.name == "bias":
            w.assign(rng.uniform(-0.5, 0.5, w.shape).astype("float32"))
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.uniform(-0.5, 0.5, b.shape),
                               rng.uniform(-0.5, 0.5, m.shape), rng.uniform(0.5, 1.5, v.shape)])
    path = os.path.join(OUT, name + ".onnx")
    expected = model.predict(x, verbose=0)  # (a model must have been called to export)
    model.export(path, format="onnx", verbose=False)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    in_name = session.get_inputs()[0].name
    out_names = [o.name for o in session.get_outputs()]
    outs = session.run(out_names, {in_name: x})
    np.testing.assert_allclose(outs[0], expected, rtol=1e-4, atol=1e-5)
    record = {
        "producer": f"keras {keras.__version__} model.export(format='onnx'), onnxruntime {ort.__version__}",
        "inputs": {in_name: {"shape": list(x.shape), "dtype": "float32", "data": x.ravel().tolist()}},
        "outputs": [{"name": n, "shape": list(o.shape), "data": o.ravel().tolist()} for n, o in zip(out_names, outs)],
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(record, f)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    rng = np.random.default_rng(0)
    export("keras_mlp", mlp(), rng.random((3, 28, 28), dtype=np.float32))
    export("keras_cnn", cnn(), rng.random((2, 28, 28, 1), dtype=np.float32))
    export("keras_residual", residual(), rng.random((2, 12, 12, 3), dtype=np.float32))


if __name__ == "__main__":
    main()

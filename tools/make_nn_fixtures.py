#!/usr/bin/env python3
"""Writes Keras reference values for rill-nn: layer outputs and gradients, losses and their
gradients, and weights after three optimizer steps.

    pip install tensorflow-cpu numpy
    python3 tools/make_nn_fixtures.py

Output: crates/rill-nn/tests/fixtures/keras.json. The tests read it and never need TensorFlow.
"""
import json
import os

import numpy as np
import tensorflow as tf
from tensorflow import keras

rng = np.random.default_rng(4321)


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def randn(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


out = {"layers": [], "losses": [], "optimizers": []}

# Layers: fixed weights and inputs; output, and gradients of sum(output * w) for input and weights.
def layer_case(name, layer, x, config):
    layer.build(x.shape)
    weights = [randn(*v.shape, scale=0.3) for v in layer.weights]
    layer.set_weights(weights)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=False)
        w = tf.constant(np.linspace(0.5, 1.5, int(np.prod(y.shape)), dtype=np.float32).reshape(y.shape))
        obj = tf.reduce_sum(y * w)
    grads = tape.gradient(obj, [xt] + layer.trainable_weights)
    out["layers"].append({"layer": name, "config": config, "x": arr(x), "weights": [arr(v) for v in weights],
                          "y": arr(y), "grad_x": arr(grads[0]), "grad_weights": [arr(g) for g in grads[1:]]})

layer_case("dense", keras.layers.Dense(5, activation="relu"), randn(4, 6), {"units": 5, "activation": "relu"})
layer_case("dense", keras.layers.Dense(3), randn(2, 3, 4), {"units": 3, "activation": "linear"})
layer_case("conv2d", keras.layers.Conv2D(4, (3, 3), padding="same", strides=2, activation="relu"), randn(2, 7, 7, 3),
           {"filters": 4, "kernel": [3, 3], "strides": [2, 2], "padding": "same", "activation": "relu"})
layer_case("conv2d", keras.layers.Conv2D(2, (2, 3)), randn(1, 5, 6, 2),
           {"filters": 2, "kernel": [2, 3], "strides": [1, 1], "padding": "valid", "activation": "linear"})

# Normalization: BatchNormalization in training (batch statistics, moving averages updated) and
# inference (moving statistics), LayerNormalization; outputs and input gradients.
def norm_case(name, layer, x, training):
    layer.build(x.shape)
    weights = [randn(*v.shape, scale=0.3) + (1.0 if "variance" in v.name or "gamma" in v.name else 0.0) for v in layer.weights]
    weights = [np.abs(w) if "variance" in v.name else w for w, v in zip(weights, layer.weights)]
    layer.set_weights(weights)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        w = tf.constant(np.linspace(0.5, 1.5, int(np.prod(y.shape)), dtype=np.float32).reshape(y.shape))
        obj = tf.reduce_sum(y * w)
    g = tape.gradient(obj, xt)
    out["norms"].append({"layer": name, "training": training, "x": arr(x), "weights": [arr(v) for v in weights],
                         "y": arr(y), "grad_x": arr(g), "weights_after": [arr(v.numpy()) for v in layer.weights]})

out["norms"] = []
norm_case("batch_norm", keras.layers.BatchNormalization(), randn(6, 4, scale=2.0) + 1.0, True)
norm_case("batch_norm", keras.layers.BatchNormalization(), randn(6, 4, scale=2.0) + 1.0, False)
norm_case("batch_norm", keras.layers.BatchNormalization(), randn(3, 2, 2, 3), True)
norm_case("layer_norm", keras.layers.LayerNormalization(), randn(5, 6, scale=2.0), True)

# Losses: value and gradient with respect to the prediction.
def loss_case(name, loss, y_true, y_pred, config):
    yp = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(yp)
        value = loss(tf.constant(y_true), yp)
    out["losses"].append({"loss": name, "config": config, "y_true": arr(y_true), "y_pred": arr(y_pred),
                          "value": float(value), "grad": arr(tape.gradient(value, yp))})

logits = randn(6, 5, scale=2.0)
labels = np.array([0, 4, 2, 2, 1, 3], np.float32)
probs = tf.nn.softmax(logits).numpy()
onehot = np.eye(5, dtype=np.float32)[labels.astype(int)]
loss_case("sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy(from_logits=True), labels, logits, {"from_logits": True})
loss_case("sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy(), labels, probs, {"from_logits": False})
loss_case("categorical_crossentropy", keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), onehot, logits, {"from_logits": True, "label_smoothing": 0.1})
loss_case("categorical_crossentropy", keras.losses.CategoricalCrossentropy(), onehot, probs, {"from_logits": False, "label_smoothing": 0.0})
bin_true = (rng.uniform(size=(6, 3)) > 0.5).astype(np.float32)
bin_logits = randn(6, 3, scale=2.0)
loss_case("binary_crossentropy", keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), bin_true, bin_logits, {"from_logits": True, "label_smoothing": 0.2})
loss_case("binary_crossentropy", keras.losses.BinaryCrossentropy(), bin_true, tf.sigmoid(bin_logits).numpy(), {"from_logits": False, "label_smoothing": 0.0})
reg_true, reg_pred = randn(6, 3), randn(6, 3, scale=2.0)
loss_case("mean_squared_error", keras.losses.MeanSquaredError(), reg_true, reg_pred, {})
loss_case("mean_absolute_error", keras.losses.MeanAbsoluteError(), reg_true, reg_pred, {})
loss_case("huber", keras.losses.Huber(delta=1.0), reg_true, reg_pred, {"delta": 1.0})

# Optimizers: the same three gradients applied to the same start; weights after each step.
w0 = randn(3, 4)
gs = [randn(3, 4) for _ in range(3)]
gs[1][0, :] = 0.0  # a row with zero gradient, as border pixels have
def opt_case(name, opt, config):
    v = tf.Variable(w0)
    steps = []
    for g in gs:
        opt.apply_gradients([(tf.constant(g), v)])
        steps.append(arr(v.numpy()))
    out["optimizers"].append({"optimizer": name, "config": config, "w0": arr(w0), "grads": [arr(g) for g in gs], "steps": steps})

opt_case("adam", keras.optimizers.Adam(), {"learning_rate": 0.001})
opt_case("adam", keras.optimizers.Adam(learning_rate=0.1), {"learning_rate": 0.1})
opt_case("adamw", keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.05), {"learning_rate": 0.01, "weight_decay": 0.05})
opt_case("sgd", keras.optimizers.SGD(), {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False})
opt_case("sgd", keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), {"learning_rate": 0.1, "momentum": 0.9, "nesterov": False})
opt_case("sgd", keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True), {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True})

opt_case("rmsprop", keras.optimizers.RMSprop(), {"learning_rate": 0.001})
opt_case("rmsprop", keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True), {"learning_rate": 0.01, "momentum": 0.5, "centered": True})
opt_case("adagrad", keras.optimizers.Adagrad(learning_rate=0.1), {"learning_rate": 0.1})
opt_case("sgd", keras.optimizers.SGD(learning_rate=0.1, clipnorm=0.5), {"learning_rate": 0.1, "momentum": 0.0, "nesterov": False, "clipnorm": 0.5})
opt_case("adam", keras.optimizers.Adam(learning_rate=0.01, clipvalue=0.3), {"learning_rate": 0.01, "clipvalue": 0.3})
opt_case("sgd", keras.optimizers.SGD(learning_rate=0.1, weight_decay=0.1), {"learning_rate": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.1})
opt_case("adam", keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.5)),
         {"learning_rate": 0.01, "schedule": {"kind": "exponential", "decay_steps": 1, "decay_rate": 0.5, "staircase": False}})

# Schedules: the learning rate at a range of steps.
steps = [0, 1, 2, 5, 10, 49, 50, 99, 100, 150, 400]
def sched_case(config, schedule):
    out["schedules"].append({"config": config, "steps": steps, "values": [float(schedule(s)) for s in steps]})
out["schedules"] = []
S = keras.optimizers.schedules
sched_case({"kind": "exponential", "initial": 0.1, "decay_steps": 10, "decay_rate": 0.9, "staircase": False}, S.ExponentialDecay(0.1, 10, 0.9))
sched_case({"kind": "exponential", "initial": 0.1, "decay_steps": 10, "decay_rate": 0.9, "staircase": True}, S.ExponentialDecay(0.1, 10, 0.9, staircase=True))
sched_case({"kind": "piecewise", "boundaries": [10, 100], "values": [1.0, 0.5, 0.1]}, S.PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]))
sched_case({"kind": "cosine", "initial": 0.1, "decay_steps": 100, "alpha": 0.1}, S.CosineDecay(0.1, 100, alpha=0.1))
sched_case({"kind": "cosine", "initial": 0.0, "decay_steps": 100, "alpha": 0.0, "warmup_target": 0.2, "warmup_steps": 50}, S.CosineDecay(0.0, 100, warmup_target=0.2, warmup_steps=50))

out["generator"] = f"tools/make_nn_fixtures.py with TensorFlow {tf.__version__}, Keras {keras.__version__}"
path = os.path.join(os.path.dirname(__file__), "..", "crates", "rill-nn", "tests", "fixtures", "keras.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {sum(len(v) for v in out.values() if isinstance(v, list))} cases to {os.path.normpath(path)}")

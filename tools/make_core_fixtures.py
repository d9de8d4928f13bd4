#!/usr/bin/env python3
"""Writes reference values from TensorFlow/NumPy for rill-core's op forwards.

    pip install tensorflow-cpu numpy
    python3 tools/make_core_fixtures.py

Output: crates/rill-core/tests/fixtures/ops.json. The tests read that file; they never need
TensorFlow. Inputs are seeded, so rerunning gives the same file (up to TensorFlow's version).
"""
import json
import os

import numpy as np
import tensorflow as tf

rng = np.random.default_rng(1234)
cases = []


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def case(op, inputs, output, **params):
    cases.append({"op": op, "inputs": [arr(i) for i in inputs], "params": params, "output": arr(output)})


def randn(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# Elementwise activations, checked over a wide range including large magnitudes.
x = np.concatenate([randn(20, scale=3.0), np.array([-30, -10, -1e-3, 0, 1e-3, 10, 30], np.float32)])
case("gelu", [x], tf.nn.gelu(x, approximate=False))
case("sigmoid", [x], tf.nn.sigmoid(x))
case("tanh", [x], tf.nn.tanh(x))
case("softplus", [x], tf.nn.softplus(x))
case("elu", [x], tf.nn.elu(x))
case("leaky_relu", [x], tf.nn.leaky_relu(x, alpha=0.3), alpha=0.3)
case("relu", [x], tf.nn.relu(x))

# Softmax family, including logits large enough to overflow a naive exp.
logits = np.concatenate([randn(4, 6, scale=2.0), np.array([[1000, 999, -1000, 0, 5, 1000]], np.float32)])
case("softmax", [logits], tf.nn.softmax(logits, axis=-1), axis=-1)
case("softmax", [logits], tf.nn.softmax(logits, axis=0), axis=0)
case("log_softmax", [logits], tf.nn.log_softmax(logits, axis=-1), axis=-1)
case("log_softmax", [logits], tf.nn.log_softmax(logits, axis=0), axis=0)

# Reductions over sets of axes.
r = randn(3, 4, 5)
for axes in ([0], [2], [0, 2], [1, 2], [0, 1, 2]):
    for name, fn in (("sum", tf.reduce_sum), ("mean", tf.reduce_mean), ("max", tf.reduce_max),
                     ("min", tf.reduce_min), ("variance", tf.math.reduce_variance),
                     ("logsumexp", tf.reduce_logsumexp)):
        case(name, [r], fn(r, axis=axes, keepdims=False), axes=axes)

# Batched matmul with broadcast batch dimensions.
a, b = randn(2, 1, 3, 4), randn(5, 4, 6)
case("matmul", [a, b], np.matmul(a, b))

# Convolution, NHWC x HWIO.
img = randn(2, 7, 6, 3)
for k_shape, strides, padding, dilation in (
    ((3, 3, 3, 4), 1, "VALID", 1),
    ((3, 3, 3, 4), 1, "SAME", 1),
    ((3, 2, 3, 5), 2, "SAME", 1),
    ((2, 2, 3, 2), 2, "VALID", 1),
    ((3, 3, 3, 2), 1, "SAME", 2),
):
    k = randn(*k_shape)
    out = tf.nn.conv2d(img, k, strides=strides, padding=padding, dilations=dilation)
    case("conv2d", [img, k], out, strides=strides, padding=padding.lower(), dilation=dilation)

# Pooling.
for pool, strides, padding in (((2, 2), 2, "VALID"), ((2, 2), 2, "SAME"), ((3, 3), 1, "SAME"), ((3, 2), (2, 1), "VALID")):
    st = strides if isinstance(strides, tuple) else (strides, strides)
    case("max_pool2d", [img], tf.nn.max_pool2d(img, pool, st, padding), pool=list(pool), strides=list(st), padding=padding.lower())
    case("avg_pool2d", [img], tf.nn.avg_pool2d(img, pool, st, padding), pool=list(pool), strides=list(st), padding=padding.lower())

out = os.path.join(os.path.dirname(__file__), "..", "crates", "rill-core", "tests", "fixtures", "ops.json")
with open(out, "w") as f:
    json.dump({"generator": f"tools/make_core_fixtures.py with TensorFlow {tf.__version__}, NumPy {np.__version__}", "cases": cases}, f)
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")

"""`tf.nn`: activations over tensors."""

from . import _rill


def relu(features):
    return _rill.unary("relu", features)


def gelu(features):
    return _rill.unary("gelu", features)


def sigmoid(x):
    return _rill.unary("sigmoid", x)


def tanh(x):
    return _rill.unary("tanh", x)


def softplus(features):
    return _rill.unary("softplus", features)


def softmax(logits, axis=-1):
    return _rill.softmax("softmax", logits, axis)


def log_softmax(logits, axis=-1):
    return _rill.softmax("log_softmax", logits, axis)

"""TensorFlow's op names over Rill's ops. Operands are anything `numpy.asarray` takes; Python
numbers and lists become float32 or int32, as in TensorFlow."""

from . import _rill

float32 = "float32"
float64 = "float64"
int32 = "int32"
int64 = "int64"
uint8 = "uint8"
bool_ = "bool"


def constant(value, dtype=None):
    """A tensor holding `value` (NumPy arrays keep their dtype unless `dtype` is given)."""
    return _rill.Tensor(value, dtype)


def convert_to_tensor(value, dtype=None):
    """`value` as a tensor (a tensor is returned as is when no dtype change is asked)."""
    if isinstance(value, _rill.Tensor) and dtype is None:
        return value
    return _rill.Tensor(value, dtype)


def cast(x, dtype):
    return _rill.cast(x, dtype)


def add(x, y):
    return _rill.binary("add", x, y)


def subtract(x, y):
    return _rill.binary("subtract", x, y)


def multiply(x, y):
    return _rill.binary("multiply", x, y)


def divide(x, y):
    return _rill.binary("divide", x, y)


def matmul(a, b):
    return _rill.binary("matmul", a, b)


def maximum(x, y):
    return _rill.binary("maximum", x, y)


def minimum(x, y):
    return _rill.binary("minimum", x, y)


def equal(x, y):
    return _rill.binary("equal", x, y)


def greater(x, y):
    return _rill.binary("greater", x, y)


def less(x, y):
    return _rill.binary("less", x, y)


def abs(x):
    return _rill.unary("abs", x)


def exp(x):
    return _rill.unary("exp", x)


def log(x):
    return _rill.unary("log", x)


def sqrt(x):
    return _rill.unary("sqrt", x)


def square(x):
    return _rill.unary("square", x)


def tanh(x):
    return _rill.unary("tanh", x)


def sigmoid(x):
    return _rill.unary("sigmoid", x)


def reduce_sum(x, axis=None, keepdims=False):
    return _rill.reduce("sum", x, axis, keepdims)


def reduce_mean(x, axis=None, keepdims=False):
    return _rill.reduce("mean", x, axis, keepdims)


def reduce_max(x, axis=None, keepdims=False):
    return _rill.reduce("max", x, axis, keepdims)


def reduce_min(x, axis=None, keepdims=False):
    return _rill.reduce("min", x, axis, keepdims)


def reduce_logsumexp(x, axis=None, keepdims=False):
    return _rill.reduce("logsumexp", x, axis, keepdims)


def argmax(x, axis=0):
    return _rill.arg("argmax", x, axis)


def argmin(x, axis=0):
    return _rill.arg("argmin", x, axis)


def reshape(x, shape):
    return _rill.reshape(x, list(shape))


def transpose(x, perm=None):
    return _rill.transpose(x, None if perm is None else list(perm))


def concat(values, axis):
    return _rill.join("concat", list(values), axis)


def stack(values, axis=0):
    return _rill.join("stack", list(values), axis)


def one_hot(indices, depth):
    return _rill.one_hot(indices, depth)


def where(condition, x, y):
    return _rill.where_(condition, x, y)


def clip_by_value(t, clip_value_min, clip_value_max):
    return _rill.clip(t, float(clip_value_min), float(clip_value_max))


def gather(params, indices, axis=0):
    return _rill.gather(params, indices, axis)


def zeros(shape, dtype=float32):
    return _rill.full(list(shape), 0.0, dtype)


def ones(shape, dtype=float32):
    return _rill.full(list(shape), 1.0, dtype)


def fill(dims, value, dtype=float32):
    return _rill.full(list(dims), float(value), dtype)


def zeros_like(x):
    t = convert_to_tensor(x)
    return _rill.full(list(t.shape), 0.0, t.dtype)


def ones_like(x):
    t = convert_to_tensor(x)
    return _rill.full(list(t.shape), 1.0, t.dtype)

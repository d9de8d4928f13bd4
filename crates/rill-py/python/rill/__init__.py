"""Rill from Python: Keras' API over Rill's Rust engine, NumPy in and out.

    import rill as tf
    model = tf.keras.Sequential([tf.keras.layers.Dense(10)])

`rill.keras` is the Keras API; `rill.Tensor`, `rill.Variable`, `rill.GradientTape` and the
ops below (`rill.matmul`, `rill.reduce_mean`, `rill.nn.relu`, ...) are TensorFlow's low-level
API, for custom training loops.
"""

from . import _rill
from ._rill import GradientTape, Tensor, Variable
from ._ops import (
    abs,
    add,
    argmax,
    argmin,
    cast,
    clip_by_value,
    concat,
    constant,
    convert_to_tensor,
    divide,
    equal,
    exp,
    fill,
    gather,
    greater,
    less,
    log,
    matmul,
    maximum,
    minimum,
    multiply,
    one_hot,
    ones,
    ones_like,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_sum,
    reshape,
    sigmoid,
    sqrt,
    square,
    stack,
    subtract,
    tanh,
    transpose,
    where,
    zeros,
    zeros_like,
)
from . import keras, math, nn, random
from ._ops import bool_ as bool, float32, float64, int32, int64, uint8

__version__ = _rill.__version__

__all__ = [name for name in dir() if not name.startswith("_")]

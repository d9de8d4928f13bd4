"""`tf.random`: seeded random tensors from Rill's global generator."""

from . import _rill


def set_seed(seed):
    """Seeds Rill's generator: weight initialisation, dropout, shuffling and these functions."""
    _rill.set_seed(int(seed))


def normal(shape, mean=0.0, stddev=1.0, dtype="float32"):
    return _rill.random("normal", list(shape), float(mean), float(stddev), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype="float32"):
    return _rill.random("uniform", list(shape), float(minval), float(maxval), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32"):
    return _rill.random("truncated_normal", list(shape), float(mean), float(stddev), dtype)

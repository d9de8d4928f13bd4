"""`keras.utils`."""

from .. import _rill


def set_random_seed(seed):
    """Seeds Rill's generator (weights, dropout, shuffling), as Keras' `set_random_seed`."""
    _rill.set_seed(int(seed))

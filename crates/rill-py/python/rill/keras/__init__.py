"""Keras' API over Rill: `Sequential`, `Model`, `Input`, layers, optimizers, losses, metrics,
callbacks and datasets, with Keras' names, arguments and defaults."""

from . import callbacks, datasets, layers, losses, metrics, models, optimizers, regularizers, utils
from .layers import Input
from .models import Model, Sequential

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "callbacks",
    "datasets",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "utils",
]

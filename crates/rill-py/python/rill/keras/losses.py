"""Keras' losses: callable on `(y_true, y_pred)` in a custom training loop, and what
`compile(loss=...)` takes (a name or an object)."""

import json

from .. import _rill


class Loss:
    def __init__(self, name, **config):
        self.name = name
        self._core = _rill.Loss(json.dumps(dict(config, name=name)))

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}: sample_weight is not supported by Rill")
        return self._core(y_true, y_pred)

    def get_config(self):
        return json.loads(self._core.config())


def _no_reduction(reduction):
    if reduction not in ("sum_over_batch_size", "auto", None):
        raise ValueError(f"Rill's losses take the mean over the batch; reduction={reduction!r} is not supported")


class SparseCategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", name=None):
        _no_reduction(reduction)
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported by Rill")
        super().__init__("sparse_categorical_crossentropy", from_logits=bool(from_logits))


class CategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name=None):
        _no_reduction(reduction)
        super().__init__("categorical_crossentropy", from_logits=bool(from_logits), label_smoothing=float(label_smoothing))


class BinaryCrossentropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name=None):
        _no_reduction(reduction)
        super().__init__("binary_crossentropy", from_logits=bool(from_logits), label_smoothing=float(label_smoothing))


class MeanSquaredError(Loss):
    def __init__(self, reduction="sum_over_batch_size", name=None):
        _no_reduction(reduction)
        super().__init__("mean_squared_error")


class MeanAbsoluteError(Loss):
    def __init__(self, reduction="sum_over_batch_size", name=None):
        _no_reduction(reduction)
        super().__init__("mean_absolute_error")


class Huber(Loss):
    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        _no_reduction(reduction)
        super().__init__("huber", delta=float(delta))


_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
}


def get(identifier):
    """A loss from a Keras name or a loss object."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}; Rill has {sorted(_BY_NAME)}")

"""Keras' metrics: streaming objects (`update_state`, `result`, `reset_state`) for custom
loops, and names or objects for `compile(metrics=...)`."""

from .. import _rill


class Metric:
    _keras_name = None
    _accuracy = "sparse_categorical"

    def __init__(self, name=None, dtype=None):
        self._core = _rill.Metric(self._keras_name, self._accuracy)
        self.name = name or self._keras_name

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}: sample_weight is not supported by Rill")
        self._core.update_state(y_true, y_pred)

    def result(self):
        from .. import constant

        return constant(self._core.result())

    def reset_state(self):
        self._core.reset_state()

    def __call__(self, y_true, y_pred):
        self.update_state(y_true, y_pred)
        return self.result()


class SparseCategoricalAccuracy(Metric):
    _keras_name = "sparse_categorical_accuracy"


class CategoricalAccuracy(Metric):
    _keras_name = "categorical_accuracy"


class BinaryAccuracy(Metric):
    _keras_name = "binary_accuracy"

    def __init__(self, name=None, dtype=None, threshold=0.5):
        if threshold != 0.5:
            raise ValueError("BinaryAccuracy: Rill thresholds at 0.5")
        super().__init__(name, dtype)


class SparseTopKCategoricalAccuracy(Metric):
    _keras_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name=None, dtype=None):
        if k != 5:
            raise ValueError("SparseTopKCategoricalAccuracy: Rill's top-k metric by name has k=5")
        super().__init__(name, dtype)


class Precision(Metric):
    _keras_name = "precision"
    _accuracy = "binary"


class Recall(Metric):
    _keras_name = "recall"
    _accuracy = "binary"


class AUC(Metric):
    _keras_name = "auc"
    _accuracy = "binary"


def name_of(metric):
    """The Keras name `compile` passes to Rill for a metric name or object."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, Metric):
        return metric._keras_name
    raise ValueError(f"Could not interpret metric identifier: {metric!r}")

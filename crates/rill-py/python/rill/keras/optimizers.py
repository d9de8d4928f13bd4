"""Keras' optimizers. Each holds a Rill optimizer with its state, for `apply_gradients` in a
custom training loop; `compile` gives the model its own copy, made from the same settings."""

import json

from .. import _rill


class Optimizer:
    """The base of Rill's optimizers: Keras' shared arguments (clipping, weight decay)."""

    def __init__(self, name, learning_rate, hyperparameters, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, **kwargs):
        for key in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"):
            value = kwargs.pop(key, None)
            if value not in (None, False):
                raise ValueError(f"{type(self).__name__}: {key} is not supported by Rill")
        kwargs.pop("name", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if not isinstance(learning_rate, (int, float)):
            raise TypeError(f"{type(self).__name__}: Rill takes a number as learning_rate (use the LearningRateScheduler or ReduceLROnPlateau callbacks to change it)")
        config = {
            "name": name,
            "learning_rate": float(learning_rate),
            "hyperparameters": hyperparameters,
            "clipnorm": clipnorm,
            "clipvalue": clipvalue,
            "global_clipnorm": global_clipnorm,
            "weight_decay": weight_decay or 0.0,
        }
        self._core = _rill.Optimizer(json.dumps(config))

    @property
    def learning_rate(self):
        return self._core.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._core.learning_rate = float(value)

    @property
    def iterations(self):
        return self._core.iterations

    def apply_gradients(self, grads_and_vars):
        """One step: `grads_and_vars` pairs each gradient (or None) with its variable."""
        pairs = list(grads_and_vars)
        self._core.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables):
        self._core.apply(list(grads), list(trainable_variables))

    def get_config(self):
        return json.loads(self._core.config())


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        if amsgrad:
            raise ValueError("Adam: amsgrad is not supported by Rill")
        super().__init__("adam", learning_rate, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon}, **kwargs)


class AdamW(Optimizer):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        if amsgrad:
            raise ValueError("AdamW: amsgrad is not supported by Rill")
        super().__init__("adamw", learning_rate, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
                         weight_decay=weight_decay, **kwargs)


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__("sgd", learning_rate, {"momentum": momentum, "nesterov": bool(nesterov)}, **kwargs)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__("rmsprop", learning_rate, {"rho": rho, "momentum": momentum, "epsilon": epsilon, "centered": bool(centered)}, **kwargs)


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__("adagrad", learning_rate, {"initial_accumulator_value": initial_accumulator_value, "epsilon": epsilon}, **kwargs)


_BY_NAME = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from a name (`"adam"`, with Keras' defaults) or an optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; Rill has {sorted(_BY_NAME)}")

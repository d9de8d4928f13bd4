"""Keras' layers. Each one keeps Keras' arguments as Keras' `get_config` writes them; Rill
builds the layer from that config when the model is built, refusing any argument it cannot
honour. Calling a layer on a symbolic tensor (from `Input`) records the functional graph."""

from .. import _rill


def _shape(shape):
    return [int(d) for d in shape]


class KerasTensor:
    """A symbolic tensor of the functional API: what `Input` returns and layers return when
    called on one. `shape` has `None` for the batch axis."""

    def __init__(self, op, parents, input_shape=None, name=None):
        self._op = op  # ("input", name) | ("layer", layer) | ("merge", layer) | ("model", model)
        self._parents = parents
        self._input_shape = input_shape
        self.name = name

    @property
    def shape(self):
        from .models import _replay

        builder, nodes = _replay([self])
        return (None,) + tuple(builder.shape(nodes[id(self)]))

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}>"


_input_count = [0]


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, **kwargs):
    """A model input: samples of `shape` (without the batch axis)."""
    if kwargs:
        raise TypeError(f"Input: unexpected arguments {sorted(kwargs)}")
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if shape is None or any(d is None for d in shape):
        raise ValueError(f"Input: Rill needs every size after the batch axis, found shape={shape}")
    if dtype not in (None, "float32"):
        raise TypeError(f"Input: Rill models take float32 inputs, found dtype={dtype}")
    if name is None:
        name = "input_layer" if _input_count[0] == 0 else f"input_layer_{_input_count[0]}"
        _input_count[0] += 1
    return KerasTensor(("input", name), [], input_shape=_shape(shape), name=name)


class Layer:
    """A Keras layer: its class name and config until a model builds it, then a handle on the
    built layer in that model (weights, `trainable`)."""

    _class = None

    def __init__(self, name=None, trainable=True, input_shape=None, dtype=None, input_dim=None, **kwargs):
        for key in ("kernel_constraint", "bias_constraint", "activity_regularizer", "bias_regularizer"):
            if kwargs.get(key) is not None:
                raise ValueError(f"{type(self).__name__}: {key} is not supported by Rill")
            kwargs.pop(key, None)
        kwargs.pop("input_length", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if dtype not in (None, "float32"):
            raise TypeError(f"{type(self).__name__}: Rill layers compute in float32, found dtype={dtype}")
        self._config = {}
        if name is not None:
            self._config["name"] = name
        self._trainable = trainable
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape = None if input_shape is None else _shape(input_shape)
        self._model = None  # the _rill.Model that built this layer
        self._name = name

    # -- building ---------------------------------------------------------------------------
    def _spec(self):
        import json

        return (self._class, json.dumps(self._config))

    def _bind(self, model, name):
        self._model = model
        self._name = name
        if not self._trainable:
            model.set_layer_trainable(name, False)

    def __call__(self, inputs, training=None):
        if isinstance(inputs, KerasTensor):
            return KerasTensor(("layer", self), [inputs])
        if self._model is None:
            raise ValueError(
                f"{type(self).__name__}: call a layer on an Input's symbolic tensor to build a model; "
                "to run it on data, put it in a model"
            )
        raise ValueError(f"{type(self).__name__}: call the model that holds this layer on data instead")

    # -- after building ---------------------------------------------------------------------
    @property
    def name(self):
        return self._name

    def _built(self, what):
        if self._model is None:
            raise ValueError(f"{type(self).__name__}: {what} needs the layer to be in a built model")
        return self._model

    @property
    def weights(self):
        return self._built("weights").layer_variables(self._name)

    @property
    def trainable_weights(self):
        return [v for v in self.weights if v.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if not v.trainable or not self.trainable]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def variables(self):
        return self.weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        vs = self.weights
        if len(weights) != len(vs):
            raise ValueError(f"{self._name}: expected {len(vs)} weights, found {len(weights)}")
        for v, w in zip(vs, weights):
            if tuple(v.shape) != tuple(getattr(w, "shape", ())):
                raise ValueError(f"{self._name}: weight '{v.name}' has shape {v.shape}, found {getattr(w, 'shape', None)}")
            v.assign(w)

    def count_params(self):
        import math

        return sum(math.prod(v.shape) for v in self.weights)

    @property
    def trainable(self):
        if self._model is None:
            return self._trainable
        return self._model.layer_trainable(self._name)

    @trainable.setter
    def trainable(self, on):
        self._trainable = bool(on)
        if self._model is not None:
            self._model.set_layer_trainable(self._name, bool(on))

    def get_config(self):
        return dict(self._config, name=self._name, trainable=self.trainable)

    def __repr__(self):
        return f"<{type(self).__name__} name={self._name}>"


class _Loaded(Layer):
    """A layer of a model read from a file or built in Rust: known by name and class."""

    def __init__(self, model, name, cls):
        super().__init__(name=name)
        self._class = cls
        self._model = model

    def __repr__(self):
        return f"<{self._class} name={self._name}>"


def _initializer(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value
    cfg = getattr(value, "get_config", None)
    if cfg is not None:
        return {"class_name": type(value).__name__, "config": cfg()}
    raise ValueError(f"unknown initializer {value!r}")


def _regularizer(value):
    if value is None:
        return None
    if isinstance(value, str):
        return {"class_name": value.upper() if value in ("l1", "l2") else value, "config": {"l1": 0.01 if value == "l1" else 0.0, "l2": 0.01 if value == "l2" else 0.0}}
    return {"class_name": type(value).__name__, "config": value.get_config()}


def _activation(a):
    if a is None:
        return "linear"
    if callable(a) and hasattr(a, "__name__"):
        return a.__name__
    return a


class Dense(Layer):
    _class = "Dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self._config.update(units=int(units), activation=_activation(activation), use_bias=bool(use_bias),
                            kernel_regularizer=_regularizer(kernel_regularizer))
        if kernel_initializer != "glorot_uniform":
            self._config["kernel_initializer"] = _initializer(kernel_initializer)
        if bias_initializer != "zeros":
            self._config["bias_initializer"] = _initializer(bias_initializer)


def _pair(v):
    return [int(v), int(v)] if isinstance(v, int) else [int(d) for d in v]


class Conv2D(Layer):
    _class = "Conv2D"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self._config.update(filters=int(filters), kernel_size=_pair(kernel_size), strides=_pair(strides),
                            padding=padding, data_format=data_format or "channels_last",
                            dilation_rate=_pair(dilation_rate), groups=groups, activation=_activation(activation),
                            use_bias=bool(use_bias), kernel_regularizer=_regularizer(kernel_regularizer))
        if kernel_initializer != "glorot_uniform":
            self._config["kernel_initializer"] = _initializer(kernel_initializer)
        if bias_initializer != "zeros":
            self._config["bias_initializer"] = _initializer(bias_initializer)


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._config.update(pool_size=_pair(pool_size), strides=_pair(strides) if strides is not None else _pair(pool_size),
                            padding=padding, data_format=data_format or "channels_last")


class MaxPooling2D(_Pooling2D):
    _class = "MaxPooling2D"


class AveragePooling2D(_Pooling2D):
    _class = "AveragePooling2D"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class GlobalAveragePooling2D(Layer):
    _class = "GlobalAveragePooling2D"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self._config.update(data_format=data_format or "channels_last", keepdims=keepdims)


class Flatten(Layer):
    _class = "Flatten"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._config.update(data_format=data_format or "channels_last")


class Reshape(Layer):
    _class = "Reshape"

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self._config.update(target_shape=list(target_shape))


class Dropout(Layer):
    _class = "Dropout"

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._config.update(rate=float(rate), noise_shape=noise_shape)


class BatchNormalization(Layer):
    _class = "BatchNormalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self._config.update(axis=axis, momentum=float(momentum), epsilon=float(epsilon), center=center, scale=scale)


class LayerNormalization(Layer):
    _class = "LayerNormalization"

    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self._config.update(axis=axis, epsilon=float(epsilon), center=center, scale=scale)


class Embedding(Layer):
    _class = "Embedding"

    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self._config.update(input_dim=int(input_dim), output_dim=int(output_dim))


class Activation(Layer):
    _class = "Activation"

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self._config.update(activation=_activation(activation))


class ReLU(Layer):
    _class = "ReLU"

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self._config.update(max_value=max_value, negative_slope=negative_slope, threshold=threshold)


class Softmax(Layer):
    _class = "Softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self._config.update(axis=axis)


class Rescaling(Layer):
    _class = "Rescaling"

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self._config.update(scale=float(scale), offset=float(offset))


_COMMON = ("name", "trainable", "input_shape", "dtype", "input_dim")


def _registered(kind, positional):
    """A class for a layer kind of Rill's registry that has a Keras form: Keras' arguments, by
    position (in Keras' order) or by name, go to Rill as Keras' config, and Rill's side of the
    layer reads them — refusing, by layer and argument, any it cannot honour."""

    def __init__(self, *args, **kwargs):
        if len(args) > len(positional):
            raise TypeError(f"{kind} takes {len(positional)} positional arguments ({', '.join(positional)}), "
                            f"found {len(args)}")
        Layer.__init__(self, **{k: kwargs.pop(k) for k in _COMMON if k in kwargs})
        arguments = dict(zip(positional, args))
        for key, value in kwargs.items():
            if key in arguments:
                raise TypeError(f"{kind}: {key} given twice")
            arguments[key] = value
        for key, value in arguments.items():
            if key == "activation":
                value = _activation(value)
            elif key.endswith("_regularizer"):
                value = _regularizer(value)
            elif key.endswith("_initializer"):
                value = _initializer(value)
            elif isinstance(value, tuple):
                value = list(value)
            self._config[key] = value

    doc = f"Keras' `{kind}`: {kind}({', '.join(positional + ('**kwargs',))}), built by Rill's `{kind}` layer."
    return type(kind, (Layer,), {"_class": kind, "__init__": __init__, "__doc__": doc, "__module__": __name__})


# Every registered layer kind that has no class written above gets one made from the registry.
for _kind, _positional in _rill.keras_layer_kinds():
    if _kind not in globals():
        globals()[_kind] = _registered(_kind, tuple(_positional))


class _Merge(Layer):
    def __call__(self, inputs, training=None):
        inputs = list(inputs)
        if not all(isinstance(t, KerasTensor) for t in inputs):
            raise ValueError(f"{type(self).__name__}: call it on a list of symbolic tensors")
        return KerasTensor(("merge", self), inputs)


class Add(_Merge):
    _class = "Add"


class Multiply(_Merge):
    _class = "Multiply"


class Concatenate(_Merge):
    _class = "Concatenate"

    def __init__(self, axis=-1, **kwargs):
        if axis != -1:
            raise ValueError(f"Concatenate: Rill joins on the last axis, found axis={axis}")
        super().__init__(**kwargs)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)

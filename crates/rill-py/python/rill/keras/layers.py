"""Keras' layers. Each one keeps Keras' arguments as Keras' `get_config` writes them; Rill
builds the layer from that config when the model is built, refusing any argument it cannot
honour. Calling a layer on a symbolic tensor (from `Input`) records the functional graph."""

import inspect
import json

from .. import _rill


def _shape(shape):
    return [int(d) for d in shape]


class KerasTensor:
    """A symbolic tensor of the functional API: what `Input` returns and layers return when
    called on one. `shape` has `None` for the batch axis."""

    def __init__(self, op, parents, input_shape=None, name=None, dtype="float32"):
        self._op = op  # ("input", name) | ("layer", layer) | ("model", model)
        self._parents = parents
        self._input_shape = input_shape
        self.name = name
        self.dtype = dtype

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
    dtype = getattr(dtype, "name", dtype)  # tf.string, tf.int64 …
    if dtype is not None and dtype not in ("string", "str", str):
        import numpy as np

        try:
            dtype = np.dtype(dtype).name  # np.int64, "int32", …
        except TypeError:
            pass
    if dtype in ("string", "str", str):
        dtype = "string"
    elif dtype in ("int64", "int32", int):
        dtype = "int64"  # integer ids, kept exact (IntegerLookup, CategoryEncoding)
    elif dtype not in (None, "float32"):
        raise TypeError(f"Input: Rill models take float32 inputs, int64 ids or text (dtype='string'), found dtype={dtype}")
    if name is None:
        name = "input_layer" if _input_count[0] == 0 else f"input_layer_{_input_count[0]}"
        _input_count[0] += 1
    return KerasTensor(("input", name), [], input_shape=_shape(shape), name=name, dtype=dtype or "float32")


class Layer:
    """A Keras layer: its class name and config until a model builds it, then a handle on the
    built layer in that model (weights, `trainable`)."""

    _class = None
    _defaults = {}  # Keras' defaults of the arguments not given

    def __init__(self, name=None, trainable=True, input_shape=None, dtype=None, input_dim=None, **kwargs):
        for key in ("kernel_constraint", "bias_constraint", "activity_regularizer", "bias_regularizer"):
            if kwargs.get(key) is not None:
                raise ValueError(f"{type(self).__name__}: {key} is not supported by Rill")
            kwargs.pop(key, None)
        kwargs.pop("input_length", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if dtype not in (None, "float32", "int64", "int32"):
            raise TypeError(f"{type(self).__name__}: Rill layers compute in float32 (integer outputs in int64), found dtype={dtype}")
        self._config = {}
        if dtype in ("int64", "int32"):  # a layer that outputs indices (Hashing)
            self._config["dtype"] = dtype
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

    _call_arguments = ()  # Keras' call-time arguments this layer keeps in its config

    def __call__(self, inputs, *more, training=None, **kwargs):
        for key, value in kwargs.items():
            if key not in self._call_arguments:
                raise TypeError(f"{type(self).__name__}: unexpected call argument {key}")
            self._config[key] = value
        if more:  # several inputs as positional arguments: MultiHeadAttention(query, value)
            inputs = [inputs, *more]
        if isinstance(inputs, KerasTensor):
            return KerasTensor(("layer", self), [inputs])
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(t, KerasTensor) for t in inputs):
            return KerasTensor(("layer", self), list(inputs))  # a merge: Add, Concatenate, …
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
        return dict(self._defaults, **self._config, name=self._name, trainable=self.trainable)

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


_COMMON = ("name", "trainable", "input_shape", "dtype", "input_dim")


def _registered(form):
    """A class for a layer kind of Rill's registry that has a Keras form: Keras' arguments, by
    position (in Keras' order) or by name, go to Rill as Keras' config, and Rill's side of the
    layer reads them — refusing, by layer and argument, any it cannot honour. The signature
    (which arguments are required, the others' defaults) is the registry's, derived from the
    layer's config both ways."""
    kind, positional = form["kind"], tuple(form["positional"])
    required, defaults = form["required"], form["defaults"]
    named = list(positional) + [k for k in required if k not in positional]
    # Arguments every layer takes, unless they are this layer's own (Embedding's input_dim).
    common = [k for k in _COMMON if k not in named and k not in defaults]

    def __init__(self, *args, **kwargs):
        if len(args) > len(positional):
            raise TypeError(f"{kind} takes {len(positional)} positional arguments ({', '.join(positional)}), "
                            f"found {len(args)}")
        Layer.__init__(self, **{k: kwargs.pop(k) for k in common if k in kwargs})
        arguments = dict(zip(positional, args))
        for key, value in kwargs.items():
            if key in arguments:
                raise TypeError(f"{kind}: {key} given twice")
            arguments[key] = value
        missing = [r for r in required if r not in arguments]
        if missing:
            raise TypeError(f"{kind}: missing required argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        for key, value in arguments.items():
            if key == "activation":
                value = _activation(value)
            elif key.endswith("_regularizer"):
                value = _regularizer(value)
            elif key.endswith("_initializer"):
                value = _initializer(value)
            elif isinstance(value, Layer):  # a wrapped layer (Bidirectional's), as Keras writes one
                value = {"module": "keras.layers", "class_name": value._class,
                         "config": dict(value._defaults, **value._config), "registered_name": None}
            elif isinstance(value, tuple):
                value = list(value)
            self._config[key] = value

    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD)]
    for key in named:
        kind_of = P.POSITIONAL_OR_KEYWORD if key in positional else P.KEYWORD_ONLY
        params.append(P(key, kind_of, default=defaults.get(key, P.empty)))
    params += [P(k, P.KEYWORD_ONLY, default=v) for k, v in defaults.items() if k not in named]
    params.append(P("kwargs", P.VAR_KEYWORD))
    __init__.__signature__ = inspect.Signature(params)
    shown = ", ".join(str(p) for p in params[1:])
    doc = f"Keras' `{kind}({shown})`, built by Rill's `{kind}` layer."
    base = _Adaptable if kind in _ADAPTABLE else Layer
    return type(kind, (base,), {"_class": kind, "_defaults": defaults, "__init__": __init__, "__doc__": doc,
                                "__module__": __name__, "_call_arguments": tuple(form["call_arguments"])})


_ADAPTABLE = ("TextVectorization", "StringLookup", "IntegerLookup", "Normalization")


class _Adaptable(Layer):
    """A preprocessing layer whose state (a vocabulary, a mean and variance) is learned from
    data by `adapt` before the model is built, and kept in its config: saved with the model, in
    every format."""

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the state from `data` (text for the lookup layers, numbers for Normalization)."""
        if self._model is not None:
            raise ValueError(f"{type(self).__name__}: adapt the layer before putting it in a model")
        if hasattr(data, "as_numpy_iterator"):  # a tf.data-like dataset of text batches
            import numpy as np

            data = np.concatenate([np.asarray(b).reshape(-1) for b in data.as_numpy_iterator()])
        config, _ = _rill.adapt_layer(self._class, json.dumps(self._config), data)
        # What was learned (a vocabulary, a mean and variance) is part of the config.
        self._config.update(json.loads(config))

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and, for `tf_idf`, the weight of each token)."""
        self._config["vocabulary"] = [str(t) for t in vocabulary]
        self._config["idf_weights"] = None if idf_weights is None else [float(w) for w in idf_weights]

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order (the padding and OOV tokens first, as Keras lists it)."""
        vocabulary = _rill.layer_vocabulary(self._class, json.dumps(self._config))
        if self._class == "IntegerLookup":
            vocabulary = [int(t) for t in vocabulary]
        if include_special_tokens:
            return vocabulary
        learned = self._config.get("vocabulary") or []
        return vocabulary[len(vocabulary) - len(learned):]

    def vocabulary_size(self):
        return len(self.get_vocabulary())


# Every registered layer kind with a Keras form gets its class from the registry.
_FORMS = json.loads(_rill.keras_layer_forms())
for _form in _FORMS:
    globals()[_form["kind"]] = _registered(_form)
MaxPool2D = MaxPooling2D  # noqa: F821 (made above)
AvgPool2D = AveragePooling2D  # noqa: F821


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)

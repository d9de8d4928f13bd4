"""`keras.Model`, `keras.Sequential` and `keras.models.load_model` over one Rill model."""

import sys
import time

from .. import _rill
from . import callbacks as _callbacks
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from .layers import KerasTensor, Layer, _Loaded


def _replay(outputs, builder=None):
    """Builds the graph behind symbolic `outputs` into a GraphBuilder: each node once, in an
    order where parents come first. Returns the builder and the node of every tensor."""
    builder = builder or _rill.GraphBuilder()
    nodes = {}

    def visit(t):
        if id(t) in nodes:
            return nodes[id(t)]
        parents = [visit(p) for p in t._parents]
        kind, what = t._op
        if kind == "input":
            n = builder.input(what, t._input_shape, t.dtype)
        elif kind == "model":
            n = builder.nested(what._core, parents[0])
        elif what._model is not None:
            n = builder.reuse(what._model, what.name, parents[0])
        else:
            cls, config = what._spec()
            n = builder.layer(cls, config, parents, len(builder.shape(parents[0])))
        nodes[id(t)] = n
        return n

    for t in outputs:
        visit(t)
    return builder, nodes


def _verbose(v):
    if v == "auto":
        return 1
    return int(v)


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _print_line(steps, seconds, logs, bar):
    per = seconds / max(steps, 1)
    per = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
    values = "".join(f" - {k}: {v:.4f}" for k, v in logs)
    head = f"{steps}/{steps} " + ("━" * 20 + " " if bar else "- ")
    sys.stdout.write(f"{head}{seconds:.0f}s {per}{values}\n")
    sys.stdout.flush()


class History(_callbacks.Callback):
    """What `fit` returns: `history` maps each logged name to its value per epoch."""

    def __init__(self, history, epochs, params, model):
        super().__init__()
        self.history = history
        self.epoch = epochs
        self.params = params
        self.model = model


class Model:
    """A model: `Model(inputs, outputs)` from the functional API, or a `Sequential` stack.
    Everything Keras' Model does with numbers — compile, fit, evaluate, predict, save — runs in
    Rill's Rust engine with the GIL released."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"Model: unexpected arguments {sorted(kwargs)}")
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs): subclassed models are not supported by Rill; build one with the functional API or Sequential")
        ins, outs = _as_list(inputs), _as_list(outputs)
        builder, nodes = _replay(outs)
        for t in ins:
            if id(t) not in nodes:
                raise ValueError(f"Model: input '{t.name}' is not used by the outputs")
        named = self._named_layers(outs, builder, nodes)
        core = builder.build([nodes[id(t)] for t in ins], [nodes[id(t)] for t in outs], name or "functional")
        self._setup(core)
        for layer_name, obj in named:
            if not isinstance(obj, Model) and obj._model is None:
                obj._bind(core, layer_name)
            self._layer_objects[layer_name] = obj

    @staticmethod
    def _named_layers(outs, builder, nodes):
        """Each layer object (or nested model) of the graph with the name of its node."""
        seen, found = set(), []

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for p in t._parents:
                visit(p)
            kind, what = t._op
            if kind in ("layer", "model"):
                found.append((builder.name(nodes[id(t)]), what))

        for t in outs:
            visit(t)
        return found

    def _setup(self, core, layer_objects=()):
        self._core = core
        self._layer_objects = {}
        self.stop_training = False
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.history = None
        self._bind(layer_objects)

    def _bind(self, layer_objects):
        """Points the Python layer objects at the layers the model built from them."""
        if not self._core.built:
            self._pending = list(layer_objects)
            return
        self._pending = []
        names = [n for n, _ in self._core.layers()]
        for obj, name in zip(layer_objects, names):
            if isinstance(obj, Model):
                self._layer_objects[name] = obj
                continue
            if obj._model is None:
                obj._bind(self._core, name)
            self._layer_objects[name] = obj

    @classmethod
    def _from_core(cls, core):
        m = cls.__new__(cls)
        Model._setup(m, core)
        return m

    # -- structure --------------------------------------------------------------------------
    @property
    def name(self):
        return self._core.name

    @property
    def layers(self):
        out = []
        for name, cls in self._core.layers():
            obj = self._layer_objects.get(name)
            if obj is None:
                obj = self._layer_objects[name] = _Loaded(self._core, name, cls)
            out.append(obj)
        return out

    def get_layer(self, name=None, index=None):
        layers = self.layers
        if index is not None:
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}")

    @property
    def inputs(self):
        return self._core.input_names

    @property
    def input_shape(self):
        shapes = [(None,) + tuple(s) for s in self._core.input_shapes]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [(None,) + tuple(s) for s in self._core.output_shapes]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_names(self):
        return self._core.output_names

    @property
    def built(self):
        return self._core.built

    def build(self, input_shape):
        self._core.build([int(d) for d in tuple(input_shape)[1:]])
        self._bind(self._pending)

    @property
    def weights(self):
        return self._core.variables(False)

    @property
    def variables(self):
        return self._core.variables(False)

    @property
    def trainable_variables(self):
        return self._core.variables(True)

    @property
    def trainable_weights(self):
        return self.trainable_variables

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if not v.trainable]

    @property
    def trainable(self):
        return any(self._core.layer_trainable(n) for n, _ in self._core.layers())

    @trainable.setter
    def trainable(self, on):
        self._core.set_trainable(bool(on))

    def get_weights(self):
        return self._core.get_weights()

    def set_weights(self, weights):
        self._core.set_weights(list(weights))

    def count_params(self):
        return self._core.count_params()

    def summary(self, print_fn=None, **kwargs):
        text = self._core.summary()
        (print_fn or print)(text)

    def get_config(self):
        import json

        return json.loads(self._core.get_config())

    # -- training ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs):
        for key in ("weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss"):
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"compile: unexpected arguments {sorted(kwargs)}")
        if loss is None:
            raise ValueError("compile: Rill needs a loss")
        self.optimizer = _optimizers.get(optimizer)
        if isinstance(loss, dict):
            loss_objs = {k: _losses.get(v) for k, v in loss.items()}
        elif isinstance(loss, (list, tuple)):
            loss_objs = {k: _losses.get(v) for k, v in zip(self.output_names, loss)}
        else:
            loss_objs = _losses.get(loss)
        self.loss = loss
        if isinstance(metrics, dict):
            names = {k: [_metrics.name_of(m) for m in _as_list(v)] for k, v in metrics.items()}
        else:
            names = [_metrics.name_of(m) for m in _as_list(metrics)]
        if isinstance(loss_weights, (list, tuple)):
            loss_weights = dict(zip(self.output_names, loss_weights))
        core_loss = {k: v._core for k, v in loss_objs.items()} if isinstance(loss_objs, dict) else loss_objs._core
        self._core.compile(self.optimizer._core.config(), core_loss, names, loss_weights)
        self.compiled_metrics = names

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            steps_per_epoch=None, class_weight=None, sample_weight=None, **kwargs):
        if kwargs:
            raise TypeError(f"fit: unexpected arguments {sorted(kwargs)}")
        for name, value in (("steps_per_epoch", steps_per_epoch), ("class_weight", class_weight), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"fit: {name} is not supported by Rill")
        if x is None or y is None:
            raise ValueError("fit: Rill needs x and y (arrays, lists of arrays, or dicts by name)")
        if validation_data is not None:
            validation_data = tuple(validation_data)
            if len(validation_data) != 2:
                raise ValueError("fit: validation_data must be (x_val, y_val); sample weights are not supported by Rill")
        cbs = _as_list(callbacks)
        specs = []
        for cb in cbs:
            if hasattr(cb, "_rill_spec"):
                specs.append(cb._rill_spec())
            else:
                cb.set_model(self)
                specs.append(("python", cb, _callbacks.wants_batch_logs(cb)))
        self.stop_training = False
        was_built = self._core.built
        history = self._core.fit(x, y, int(epochs), int(batch_size or 32), float(validation_split), validation_data,
                                 bool(shuffle), _verbose(verbose), specs, int(initial_epoch), self)
        if not was_built:
            self._bind(self._pending)
        epochs_run = len(next(iter(history.values()), []))
        self.history = History(history, list(range(initial_epoch, initial_epoch + epochs_run)),
                               {"verbose": _verbose(verbose), "epochs": epochs}, self)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, **kwargs):
        if kwargs:
            raise TypeError(f"evaluate: unexpected arguments {sorted(kwargs)}")
        start = time.perf_counter()
        logs = self._core.evaluate(x, y, int(batch_size or 32))
        v = _verbose(verbose)
        if v:
            n = len(y) if hasattr(y, "__len__") and not isinstance(y, dict) else 0
            _print_line(-(-n // (batch_size or 32)) if n else 1, time.perf_counter() - start, logs, v == 1)
        if return_dict:
            return dict(logs)
        values = [value for _, value in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        if kwargs:
            raise TypeError(f"predict: unexpected arguments {sorted(kwargs)}")
        start = time.perf_counter()
        out = self._core.predict(x, int(batch_size or 32))
        v = _verbose(verbose)
        if v:
            n = len(x) if hasattr(x, "__len__") and not isinstance(x, (dict, list)) else 0
            _print_line(-(-n // (batch_size or 32)) if n else 1, time.perf_counter() - start, [], v == 1)
        return out

    def predict_on_batch(self, x):
        return self._core.predict(x, 1 << 30)

    def __call__(self, inputs, training=False):
        if isinstance(inputs, KerasTensor):
            return KerasTensor(("model", self), [inputs])
        return self._core.call(inputs, bool(training))

    # -- files ------------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, **kwargs):
        import os

        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(filepath)
        self._core.save(str(filepath))

    def save_weights(self, filepath, overwrite=True):
        if not str(filepath).endswith(".weights.h5"):
            raise ValueError(f"save_weights: the filename must end in .weights.h5, found {filepath}")
        self._core.save(str(filepath))

    def load_weights(self, filepath, **kwargs):
        self._core.load_weights(str(filepath))

    def export(self, filepath, format="onnx", class_names=None, **kwargs):
        """Writes the model for serving elsewhere: `format="onnx"` (opset 17)."""
        if format != "onnx":
            raise ValueError(f"export: Rill exports format='onnx', found {format!r}")
        self._core.export_onnx(str(filepath), class_names)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class Sequential(Model):
    """A stack of layers, each feeding the next (`Sequential([Flatten(input_shape=(28, 28)),
    Dense(128, activation="relu"), Dense(10)])`). Built at once when the first layer has an
    `input_shape` (or an `Input` comes first), else on the first `fit`."""

    def __init__(self, layers=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"Sequential: unexpected arguments {sorted(kwargs)}")
        layers = list(layers or [])
        shape = None
        if layers and isinstance(layers[0], KerasTensor):
            shape = layers.pop(0)._input_shape
        elif layers and isinstance(layers[0], Layer) and layers[0]._input_shape is not None:
            shape = layers[0]._input_shape
        specs = [l._core if isinstance(l, Model) else l._spec() for l in layers]
        core = _rill.Model.sequential(specs, shape, name or "sequential")
        self._setup(core, layers)

    def add(self, layer):
        if isinstance(layer, KerasTensor):
            if self._core.built or self._pending:
                raise ValueError("Sequential.add: an Input can only come first")
            self._core.build(layer._input_shape)
            return
        if not self._core.built and not self._pending and isinstance(layer, Layer) and layer._input_shape is not None:
            self._core.build(layer._input_shape)
        self._core.add(layer._core if isinstance(layer, Model) else layer._spec())
        if self._core.built:
            name = self._core.layers()[-1][0]
            if isinstance(layer, Model):
                self._layer_objects[name] = layer
            else:
                layer._bind(self._core, name)
                self._layer_objects[name] = layer
        else:
            self._pending.append(layer)

    def pop(self):
        raise NotImplementedError("Sequential.pop is not supported by Rill")


def load_model(filepath, custom_objects=None, compile=True, **kwargs):
    """Reads a `.keras` file (Keras 3), an `.onnx` file or a Rill `.rill` file."""
    if custom_objects:
        raise ValueError("load_model: custom objects are not supported by Rill")
    core = _rill.Model.load(str(filepath))
    return Model._from_core(core)

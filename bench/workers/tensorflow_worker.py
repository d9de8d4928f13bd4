"""The benchmark workloads in Keras, written as the Keras tutorial does: on TensorFlow, or with
`--keras rill` the very same code on Rill's Python package (`import rill as tf`)."""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import common  # noqa: E402

ON_RILL = "--keras" in sys.argv and sys.argv[sys.argv.index("--keras") + 1] == "rill"
if ON_RILL:
    import rill as tf  # noqa: E402
    from rill import keras  # noqa: E402

    FRAMEWORK, VERSION = "rill-python", f"rill {tf.__version__} (Python package)"
else:
    import tensorflow as tf  # noqa: E402
    import keras  # noqa: E402

    FRAMEWORK, VERSION = "tensorflow", f"tensorflow-cpu {tf.__version__}, keras {keras.__version__}"

o = common.options()
if not ON_RILL:
    tf.config.threading.set_intra_op_parallelism_threads(common.threads())
    tf.config.threading.set_inter_op_parallelism_threads(common.threads())
keras.utils.set_random_seed(o.seed)


def mlp():
    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ])


def cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(10),
    ])


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


train_x, train_y, test_x, test_y = common.fashion_mnist(o.data)
if o.workload in ("mlp", "cnn"):
    model, batch = (mlp(), 32) if o.workload == "mlp" else (cnn(), 64)
    if o.workload == "cnn":
        train_x, test_x = train_x[..., None], test_x[..., None]
    x, y = common.subset_for_steps(train_x, train_y, o.steps, batch, o.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    model.fit(x, y, epochs=o.epochs, batch_size=batch, shuffle=True, verbose=0, callbacks=[timer])
    _, acc = model.evaluate(test_x, test_y, batch_size=1000, verbose=0)
    common.report(FRAMEWORK, VERSION, o.workload, epoch_seconds=timer.seconds,
                  steps_per_epoch=-(-len(y) // batch), test_accuracy=float(acc))
else:
    model = mlp()
    rows = test_x if o.workload == "predict" else test_x[:1]
    if o.workload == "predict":
        times = common.time_calls(o.repeats, lambda: model.predict_on_batch(rows))
    else:
        serve = model if ON_RILL else tf.function(lambda x: model(x, training=False))
        one = tf.constant(rows)
        times = common.time_calls(o.repeats, lambda: serve(one).numpy())
    common.report(FRAMEWORK, VERSION, o.workload, seconds=times)

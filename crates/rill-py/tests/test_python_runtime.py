"""A good citizen of Python: the GIL is released while Rill trains, Ctrl-C stops fit, and the
tutorial runs on the real data."""

import _thread
import signal
import threading
import time

import numpy as np
import pytest

import rill
from rill import keras


def mlp():
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_fit_releases_the_gil(fashion):
    (x, y), _ = fashion
    x = x[:20000] / 255.0
    y = y[:20000]
    counter = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            counter[0] += 1

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    mlp().fit(x, y, epochs=1, verbose=0)
    elapsed = time.perf_counter() - start
    during = counter[0]
    done.set()
    t.join()
    # Calibrate: how far the thread counts on its own in the same time.
    counter[0] = 0
    done.clear()
    t = threading.Thread(target=count)
    t.start()
    time.sleep(elapsed)
    done.set()
    t.join()
    alone = counter[0]
    # Holding the GIL through fit would leave the thread almost no turns.
    assert during > 0.3 * alone, (during, alone)


def test_ctrl_c_stops_fit_with_keyboard_interrupt(fashion):
    (x, y), _ = fashion
    model = mlp()
    # Python's own handler, as in an interactive session: pytest started in the background by a
    # non-interactive shell inherits SIGINT ignored, and `interrupt_main` then does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.5, _thread.interrupt_main)
        timer.start()
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            model.fit(x / 255.0, y, epochs=50, verbose=0)
        assert time.perf_counter() - start < 5
    finally:
        signal.signal(signal.SIGINT, previous)
    # The model is intact and usable afterwards.
    assert model.predict(x[:3] / 255.0, verbose=0).shape == (3, 10)


def test_tutorial_one_epoch_on_the_real_data(fashion):
    (train_images, train_labels), (test_images, test_labels) = fashion
    assert train_images.shape == (60000, 28, 28) and train_images.dtype == np.uint8
    assert train_labels.shape == (60000,) and train_labels.dtype == np.uint8
    assert test_images.shape == (10000, 28, 28)
    model = mlp()
    model.fit(train_images / 255.0, train_labels, epochs=1, verbose=0)
    _, acc = model.evaluate(test_images / 255.0, test_labels, verbose=0)
    assert acc > 0.83

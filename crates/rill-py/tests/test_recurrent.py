"""Recurrent layers from Python as a Keras user writes them: a Bidirectional LSTM text
classifier trains, saves and loads; the recurrent kernel's initializer is honoured; a wrapped
layer keeps its arguments."""

import numpy as np
import pytest

from rill import keras
from rill.keras import layers


def task(rng, n=256, steps=12):
    """Token ids; the label says whether token 1 comes before token 2 — order matters, so a
    bag of words cannot solve it, a recurrent layer can."""
    x = rng.integers(3, 20, size=(n, steps))
    y = np.zeros(n, dtype=np.float32)
    for i in range(n):
        a, b = rng.choice(steps, 2, replace=False)
        x[i, a], x[i, b] = 1, 2
        y[i] = float(a < b)
    return x.astype(np.float32), y


def test_a_bidirectional_lstm_classifier_learns_order_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = task(rng)
    model = keras.Sequential([
        keras.Input((12,)),
        layers.Embedding(20, 8),
        layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
        layers.GRU(8),
        layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9, history.history
    bi = model.layers[1]
    assert bi.get_config()["layer"]["class_name"] == "LSTM"
    assert len(bi.weights) == 6  # kernel, recurrent kernel and bias each way
    want = model.predict(x[:5], verbose=0)
    for suffix in (".keras", ".rill", ".onnx"):
        path = tmp_path / f"m{suffix}"
        model.save(path)
        got = keras.models.load_model(path).predict(x[:5], verbose=0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=suffix)


def test_the_recurrent_initializer_is_honoured_and_recurrent_dropout_trains():
    model = keras.Sequential([keras.Input((4, 3)), layers.LSTM(5, recurrent_initializer="zeros")])
    kernel, recurrent, bias = model.layers[0].get_weights()
    assert kernel.shape == (3, 20) and recurrent.shape == (5, 20)
    assert not recurrent.any() and kernel.any()
    # unit_forget_bias: the forget gate's bias starts at one, the rest at zero.
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    gru = keras.Sequential([keras.Input((4, 3)), layers.GRU(5, dropout=0.1, recurrent_dropout=0.2)])
    assert gru.layers[0].get_config()["recurrent_dropout"] == 0.2
    gru.compile(optimizer="adam", loss="mse")
    x = np.ones((8, 4, 3), np.float32)
    gru.fit(x, np.zeros((8, 5), np.float32), epochs=1, verbose=0)
    np.testing.assert_array_equal(gru.predict(x, verbose=0), gru.predict(x, verbose=0))
    with pytest.raises(Exception, match="recurrent_dropout"):
        keras.Sequential([keras.Input((4, 3)), layers.GRU(5, recurrent_dropout=1.5)])

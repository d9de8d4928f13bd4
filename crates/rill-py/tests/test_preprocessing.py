"""Preprocessing layers from Python as a Keras user writes them — raw text: `TextVectorization` adapted on NumPy
strings, a model that takes strings trained by `fit`, predicting on strings, saved and loaded
with its vocabulary; `StringLookup` on labels; clear errors for text where numbers go."""

import numpy as np
import pytest

import rill
from rill import keras
from rill.keras import layers

GOOD = ["great", "superb", "moving", "fun"]
BAD = ["dull", "boring", "flat", "weak"]
FILLER = ["the", "film", "was", "a", "story", "acting", "plot", "and", "it"]


def reviews(rng, n):
    texts, labels = [], []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = list(rng.choice(FILLER, 6))
        words.insert(int(rng.integers(0, 6)), rng.choice(GOOD if positive else BAD).upper() + "!")
        texts.append(" ".join(words))
        labels.append(float(positive))
    return np.array(texts), np.array(labels, dtype=np.float32)


def test_a_text_classifier_trains_on_strings_and_keeps_its_vocabulary(tmp_path):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x, y = reviews(rng, 256)
    vectorize = layers.TextVectorization(max_tokens=40, output_sequence_length=10)
    vectorize.adapt(x)
    vocabulary = vectorize.get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and "great" in vocabulary and len(vocabulary) <= 40
    assert vectorize.vocabulary_size() == len(vocabulary)
    model = keras.Sequential([
        keras.Input(shape=(1,), dtype="string"),
        vectorize,
        layers.Embedding(40, 8),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x.reshape(-1, 1), y, epochs=8, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    probe = np.array([["a GREAT plot"], ["boring."], [""], ["unseen words only"]])
    p = model.predict(probe, verbose=0)
    assert p.shape == (4, 1) and p[0, 0] > 0.5 and p[1, 0] < 0.5
    for name in ("text.keras", "text.rill"):
        model.save(tmp_path / name)
        back = keras.models.load_model(tmp_path / name)
        np.testing.assert_array_equal(back.predict(probe, verbose=0), p)
        # A list of Python strings and an object array read the same.
        np.testing.assert_array_equal(back.predict(np.array(probe, dtype=object), verbose=0), p)
    with pytest.raises(Exception, match="takes text"):
        model.predict(np.zeros((2, 1), dtype=np.float32), verbose=0)


def test_string_lookup_on_labels_and_tensors_of_text():
    labels = np.array(["cat", "dog", "cat", "bird", "cat"])
    lookup = layers.StringLookup()
    lookup.adapt(labels)
    assert lookup.get_vocabulary() == ["[UNK]", "cat", "dog", "bird"]
    assert lookup.get_vocabulary(include_special_tokens=False) == ["cat", "dog", "bird"]
    inp = keras.Input(shape=(1,), dtype="string")
    model = keras.Model(inp, lookup(inp))
    ids = model.predict(np.array([["dog"], ["fish"], ["cat"]]), verbose=0)
    assert ids.ravel().tolist() == [2, 0, 1]
    t = rill.constant(["a", "b"])
    assert t.dtype == "string"
    assert t.numpy().tolist() == ["a", "b"]
    with pytest.raises(Exception, match="string"):
        rill.constant(["a"]) + 1


def test_only_preprocessing_layers_adapt():
    assert not hasattr(layers.Dense(2), "adapt")
    with pytest.raises(Exception, match="the vocabulary is empty"):
        layers.TextVectorization(output_sequence_length=4).adapt(np.array(["...", "!"]))


def test_normalization_adapts_like_numpy_and_a_regression_trains_behind_it(tmp_path):
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(512, 3)) * [1.0, 50.0, 0.01] + [0.0, 200.0, -3.0]).astype(np.float32)
    # Each feature matters as much once normalized, whatever its raw scale.
    y = (x[:, 0] + 0.02 * (x[:, 1] - 200.0) - 100.0 * (x[:, 2] + 3.0)).astype(np.float32)
    norm = layers.Normalization(axis=-1)
    norm.adapt(x)
    config = norm.get_config()
    np.testing.assert_allclose(config["mean"], x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(config["variance"], x.var(axis=0), rtol=1e-4)
    model = keras.Sequential([keras.Input((3,)), norm, layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mean_squared_error")
    history = model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]
    model.save(tmp_path / "regression.keras")
    back = keras.models.load_model(tmp_path / "regression.keras")
    np.testing.assert_array_equal(back.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0))


def test_integer_lookup_adapts_on_ids_and_one_hots_them():
    ids = np.array([12, 1000, 12, -5, 12, 1000])
    lookup = layers.IntegerLookup(output_mode="one_hot")
    lookup.adapt(ids)
    assert lookup.get_vocabulary() == [-1, 12, 1000, -5]
    model = keras.Sequential([keras.Input((1,)), lookup])
    out = model.predict(np.array([[1000], [7]], dtype=np.float32), verbose=0)
    np.testing.assert_array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0]])


def test_the_text_classification_example_runs(tmp_path):
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, "..", "examples", "text_classification.py")
    run = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    accuracy = float(run.stdout.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.95, run.stdout
    assert (tmp_path / "reviews.keras").exists()

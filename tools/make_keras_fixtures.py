"""Builds the `.keras` fixtures that crates/rill-keras/tests/fixtures.rs reads, with real Keras.

    python tools/make_keras_fixtures.py [NAME…]   # needs tensorflow (or any Keras 3 backend that trains)

- tutorial.keras: the Keras tutorial "Basic classification" model (Flatten → Dense(128, relu)
  → Dense(10)), trained 10 epochs on Fashion-MNIST exactly as the tutorial does, saved with
  model.save; tutorial.json holds Keras' own test accuracy and loss (model.evaluate) and its
  logits for the first 8 test images.
- cnn.keras: a CNN of the tutorial's shape (channels-last 28×28×1).
- residual.keras: a functional model with a skip connection, BatchNormalization, Dropout,
  LayerNormalization, a frozen layer, two inputs and two outputs.
- nested.keras: a functional model holding a frozen Sequential base and a Functional tower.
- attention.keras: a Transformer block (causal self-attention, residual Adds,
  LayerNormalization, feed-forward Dense layers) and cross-attention with its own key.
- masked.keras: masks as Keras carries them (Embedding(mask_zero), Masking) through LSTM,
  Bidirectional GRU, Dense and GlobalAveragePooling1D, on padded inputs.
- sequences.keras: the recurrent layers as Keras keeps them (weights in each layer's `cell`
  group): token ids → Embedding → LSTM (every step) → Bidirectional LSTM → GRU (reset
  after), and a series →
  Conv1D (causal) → SimpleRNN (backwards, every step) → GRU (reset before), joined → Dense.
- text.keras: raw text in — TextVectorization (adapted: its vocabulary in the file's assets)
  → Embedding → GlobalAveragePooling1D → Dense; text.json also holds, for TextVectorization
  in each output mode and tokenization, the vocabulary Keras' `adapt` learned and its outputs.
- normalization.keras: Normalization adapted by Keras (its mean, variance and count kept as
  weights) → Dense; normalization.json also holds the data it was adapted on and the statistics
  Keras learned, per feature and over every axis (axis=None).
Each NAME.json holds the inputs and Keras' outputs. Fashion-MNIST comes from Keras' cache
(~/.keras/datasets/fashion-mnist), which holds the same files as data/fashion-mnist/.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rill-keras", "tests", "fixtures")


def record(name, model, inputs, extra=None, outs=None):
    if outs is None:
        outs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    data = {
        "producer": f"keras {keras.__version__} ({keras.backend.backend()} backend)",
        "inputs": {i.name: {"shape": list(x.shape), "data": x.ravel().tolist()} for i, x in zip(model.inputs, inputs)},
        "outputs": [{"name": n, "shape": list(o.shape), "data": np.asarray(o).ravel().tolist()} for n, o in zip([t.name for t in model.outputs], outs)],
    }
    data.update(extra or {})
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(data, f)
    print(name, os.path.getsize(os.path.join(OUT, name + ".keras")), "bytes")


def randomise_biases(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.name in ("bias", "beta", "moving_mean"):
            w.assign(rng.uniform(-0.5, 0.5, w.shape).astype("float32"))
        if w.name in ("gamma", "moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))


def tutorial():
    (train_x, train_y), (test_x, test_y) = keras.datasets.fashion_mnist.load_data()
    train_x, test_x = train_x / 255.0, test_x / 255.0
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train_x, train_y, epochs=10, verbose=2)
    loss, accuracy = model.evaluate(test_x, test_y, verbose=2)
    model.save(os.path.join(OUT, "tutorial.keras"))
    record("tutorial", model, [test_x[:8].astype("float32")], {"test_accuracy": accuracy, "test_loss": loss})


def cnn():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(10),
    ], name="cnn")
    randomise_biases(model, 1)
    model.save(os.path.join(OUT, "cnn.keras"))
    x = np.random.default_rng(1).random((4, 28, 28, 1), dtype=np.float32)
    record("cnn", model, [x])


def residual():
    keras.utils.set_random_seed(2)
    features = keras.Input((12,), name="features")
    context = keras.Input((6, 6, 2), name="context")
    h = layers.Dense(16, activation="relu", name="hidden")(features)
    h = layers.BatchNormalization(name="norm")(h)
    h = layers.Dropout(0.3)(h)
    skip = layers.Dense(16, name="skip", trainable=False)(features)
    h = layers.Add()([h, skip])
    h = layers.LayerNormalization(epsilon=1e-3)(h)
    c = layers.Conv2D(4, 3, strides=2, padding="same", activation="gelu")(context)
    c = layers.AveragePooling2D(2, padding="same")(c)
    c = layers.GlobalAveragePooling2D()(c)
    joined = layers.Concatenate()([h, c])
    scores = layers.Dense(3, activation="softmax", name="scores")(joined)
    gate = layers.Dense(1, activation="sigmoid", name="gate")(h)
    model = keras.Model([features, context], [scores, gate], name="residual")
    randomise_biases(model, 2)
    model.save(os.path.join(OUT, "residual.keras"))
    rng = np.random.default_rng(2)
    record("residual", model, [rng.random((3, 12), dtype=np.float32), rng.random((3, 6, 6, 2), dtype=np.float32)])


def nested():
    """Models inside a model: a frozen Sequential base and a small Functional tower, joined."""
    keras.utils.set_random_seed(3)
    base = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(6, activation="relu"),
    ], name="base")
    tower_in = keras.Input((4,))
    tower = keras.Model(tower_in, layers.Dense(3, activation="tanh")(tower_in), name="tower")
    image = keras.Input((8, 8, 1), name="image")
    meta = keras.Input((4,), name="meta")
    joined = layers.Concatenate()([base(image), tower(meta)])
    model = keras.Model([image, meta], layers.Dense(2, name="head")(joined), name="nested")
    base.trainable = False
    randomise_biases(model, 3)
    model.save(os.path.join(OUT, "nested.keras"))
    rng = np.random.default_rng(3)
    record("nested", model, [rng.random((3, 8, 8, 1), dtype=np.float32), rng.random((3, 4), dtype=np.float32)])


def sequences():
    """Recurrent layers of every kind, with non-zero biases, on token ids and a series."""
    keras.utils.set_random_seed(4)
    tokens = keras.Input((12,), name="tokens")
    series = keras.Input((10, 3), name="series")
    t = layers.Embedding(20, 8)(tokens)
    t = layers.LSTM(6, return_sequences=True)(t)
    t = layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="concat")(t)
    t = layers.GRU(5)(t)
    s = layers.Conv1D(4, 3, padding="causal", activation="relu")(series)
    s = layers.SimpleRNN(4, return_sequences=True, go_backwards=True)(s)
    s = layers.GRU(3, reset_after=False, activation="relu")(s)
    out = layers.Dense(2, name="out")(layers.Concatenate()([t, s]))
    model = keras.Model([tokens, series], out, name="sequences")
    randomise_biases(model, 4)
    model.save(os.path.join(OUT, "sequences.keras"))
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 20, (3, 12)).astype(np.float32)
    record("sequences", model, [ids, rng.random((3, 10, 3), dtype=np.float32)])


def masked():
    """Masks as Keras carries them: padded token ids (zeros at the end and in the middle)
    through Embedding(mask_zero) → LSTM (every step) → Bidirectional GRU (every step) →
    Dense → GlobalAveragePooling1D, and a padded series through Masking → SimpleRNN."""
    keras.utils.set_random_seed(5)
    tokens = keras.Input((9,), name="tokens")
    series = keras.Input((7, 2), name="series")
    t = layers.Embedding(15, 6, mask_zero=True)(tokens)
    t = layers.LSTM(5, return_sequences=True)(t)
    t = layers.Bidirectional(layers.GRU(3, return_sequences=True))(t)
    t = layers.Dense(4, activation="tanh")(t)
    t = layers.GlobalAveragePooling1D()(t)
    s = layers.Masking(0.0)(series)
    s = layers.SimpleRNN(3, go_backwards=True)(s)
    out = layers.Dense(2, name="out")(layers.Concatenate()([t, s]))
    model = keras.Model([tokens, series], out, name="masked")
    randomise_biases(model, 5)
    model.save(os.path.join(OUT, "masked.keras"))
    rng = np.random.default_rng(5)
    ids = rng.integers(1, 15, (4, 9)).astype(np.float32)
    ids[0, 5:] = 0  # padded at the end
    ids[1, 2:4] = 0  # and in the middle
    ids[2, :3] = 0  # and at the start
    x = rng.random((4, 7, 2), dtype=np.float32)
    x[0, 4:] = 0
    x[3, 1] = 0
    record("masked", model, [ids, x])


def attention():
    """A Transformer block as keras.io's text classifier writes one (self-attention with a
    causal mask, residual Adds, LayerNormalization, a feed-forward pair of Dense layers), and
    cross-attention from a second sequence with its own key."""
    keras.utils.set_random_seed(6)
    tokens = keras.Input((7,), name="tokens")
    memory = keras.Input((5, 6), name="memory")
    x = layers.Embedding(20, 8)(tokens)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x, use_causal_mask=True)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, layers.Dropout(0.1)(a)]))
    f = layers.Dense(8)(layers.Dense(16, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, f]))
    c = layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=3, output_shape=4)(x, memory, memory)
    out = layers.Dense(2, name="out")(layers.GlobalAveragePooling1D()(c))
    model = keras.Model([tokens, memory], out, name="attention")
    randomise_biases(model, 6)
    model.save(os.path.join(OUT, "attention.keras"))
    rng = np.random.default_rng(6)
    record("attention", model, [rng.integers(0, 20, (3, 7)).astype(np.float32),
                                rng.random((3, 5, 6), dtype=np.float32)])


CORPUS = [
    "The movie was great, GREAT fun!",
    "the plot... was thin; the acting was not",
    "A great cast, a thin script.",
    "Über-long and naïve: café scenes, ß",
    "I'd watch it again -- it's fun",
    "not great, not terrible",
    "tab\tseparated\nand  spaced   words",
    "",
]
PROBES = ["the great movie!", "an unseen word, and the plot", "", "fun fun FUN, again and again and again and again"]


def text():
    """TextVectorization as Keras' adapt learns it and as a model saved with it keeps it."""
    keras.utils.set_random_seed(8)
    corpus = np.array(CORPUS)
    tv = layers.TextVectorization(max_tokens=20, output_sequence_length=8)
    tv.adapt(corpus)
    inp = keras.Input(shape=(1,), dtype="string", name="review")
    x = layers.Embedding(20, 4)(tv(inp))
    out = layers.Dense(2, name="out")(layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inp, out, name="text")
    randomise_biases(model, 8)
    model.save(os.path.join(OUT, "text.keras"))
    modes = [
        dict(output_mode="int", output_sequence_length=6),
        dict(output_mode="int", output_sequence_length=5, ngrams=(2, 3), max_tokens=12),
        dict(output_mode="int", output_sequence_length=1, standardize=None, split=None),
        dict(output_mode="int", output_sequence_length=10, split="character", standardize="lower"),
        dict(output_mode="multi_hot", ngrams=2),
        dict(output_mode="count", max_tokens=10, pad_to_max_tokens=True),
        dict(output_mode="tf_idf", standardize="strip_punctuation"),
    ]
    cases = []
    for args in modes:
        layer = layers.TextVectorization(**args)
        layer.adapt(corpus)
        args = {k: (list(v) if isinstance(v, tuple) else v) for k, v in args.items()}
        case = {"args": args, "vocabulary": [str(t) for t in layer.get_vocabulary()],
                "outputs": np.asarray(layer(np.array(PROBES).reshape(-1, 1))).tolist()}
        if args["output_mode"] == "tf_idf":
            case["idf_weights"] = np.asarray(layer._lookup_layer.idf_weights).tolist()
        cases.append(case)
    # Keras' predict takes no NumPy text; the model called on a string tensor does.
    import tensorflow as tf
    probes = np.array(PROBES).reshape(-1, 1)
    outs = np.asarray(model(tf.constant(probes)))
    record("text", model, [probes], {"corpus": CORPUS, "probes": PROBES, "modes": cases}, outs=outs)


def normalization():
    """Normalization as Keras' adapt learns it, and as a model saved with it keeps it."""
    keras.utils.set_random_seed(9)
    rng = np.random.default_rng(9)
    data = (rng.normal(size=(64, 4)) * [1.0, 10.0, 0.1, 3.0] + [5.0, -2.0, 0.0, 100.0]).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    inp = keras.Input((4,), name="features")
    model = keras.Model(inp, layers.Dense(2, name="out")(norm(inp)), name="normalization")
    randomise_biases(model, 9)
    model.save(os.path.join(OUT, "normalization.keras"))
    whole = layers.Normalization(axis=None)
    whole.adapt(data)
    record("normalization", model, [data[:5]], {
        "adapt_data": data.ravel().tolist(),
        "mean": np.asarray(norm.mean).ravel().tolist(), "variance": np.asarray(norm.variance).ravel().tolist(),
        "whole_mean": float(np.asarray(whole.mean).ravel()[0]), "whole_variance": float(np.asarray(whole.variance).ravel()[0]),
    })


if __name__ == "__main__":
    import sys

    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:]:  # only the fixtures named
        for name in sys.argv[1:]:
            globals()[name]()
        sys.exit()
    text()
    normalization()
    sequences()
    masked()
    attention()
    cnn()
    residual()
    nested()
    tutorial()

"""Keras guide "Text classification from scratch" with Rill's Python package: a model that
holds its own `TextVectorization` — adapted on the training text, so the vocabulary is saved
with the model — trained on raw strings, saved as a Keras file, reloaded and asked about new
sentences. The reviews are generated (as in the Rust example `text_classification`): filler
words and one word of praise or blame, in any case, with punctuation.

    python crates/rill-py/examples/text_classification.py
"""

import numpy as np

from rill import keras
from rill.keras import layers

PRAISE = ["great", "superb", "moving", "fun", "brilliant", "charming"]
BLAME = ["dull", "boring", "flat", "weak", "clumsy", "tedious"]
FILLER = ["the", "film", "was", "a", "story", "acting", "plot", "and", "it", "cast", "scenes",
          "director", "ending", "music", "of", "with", "in", "this", "its", "really"]


def reviews(n, rng):
    texts, labels = [], []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = list(rng.choice(FILLER, int(rng.integers(4, 12))))
        word = str(rng.choice(PRAISE if positive else BLAME))
        word = [word.upper(), word + "!", word][int(rng.integers(0, 3))]
        words.insert(int(rng.integers(0, len(words) + 1)), word)
        texts.append(" ".join(words) + ".")
        labels.append(float(positive))
    return np.array(texts), np.array(labels, dtype=np.float32)


keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)
x_train, y_train = reviews(4000, rng)
x_test, y_test = reviews(1000, rng)

vectorize = layers.TextVectorization(max_tokens=100, output_sequence_length=16)
vectorize.adapt(x_train)
print("vocabulary:", vectorize.get_vocabulary()[:12], "…")

model = keras.Sequential([
    keras.Input(shape=(1,), dtype="string"),
    vectorize,
    layers.Embedding(100, 16),
    layers.GlobalAveragePooling1D(),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train.reshape(-1, 1), y_train, epochs=5, batch_size=32)
loss, accuracy = model.evaluate(x_test.reshape(-1, 1), y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")

model.save("reviews.keras")
again = keras.models.load_model("reviews.keras")
new = np.array([["A CHARMING story, really."], ["the plot was tedious"], ["music and scenes"]])
for text, p in zip(new[:, 0], again.predict(new, verbose=0)[:, 0]):
    print(f"{p:.3f}  {str(text)!r}")

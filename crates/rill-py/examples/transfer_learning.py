"""Keras guides "The Functional API" and "Transfer learning & fine-tuning" with Rill's Python
package: a convolutional base trained on five kinds of clothing, frozen, reused under a new head
for the five kinds of shoes and bags from a sixth of their samples, then fine-tuned at a low
rate; finally saved as a Keras file and exported to ONNX.

    python crates/rill-py/examples/transfer_learning.py
"""

import numpy as np

from rill import keras

keras.utils.set_random_seed(3)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()


def five_classes(x, y, first, n):
    keep = np.flatnonzero((y >= first) & (y < first + 5))[:n]
    return x[keep, :, :, None] / 255.0, (y[keep] - first).astype("int64")


# The base: a small CNN trained on T-shirts, trousers, pullovers, dresses and coats.
base = keras.Sequential([
    keras.layers.Conv2D(16, 3, activation="relu", input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 3, activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(64, activation="relu"),
], name="base")
inputs = keras.Input(shape=(28, 28, 1), name="image")
pretrain = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
pretrain.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=["accuracy"])
xa, ya = five_classes(x_train, y_train, 0, 30000)
pretrain.fit(xa, ya, epochs=3, batch_size=64, verbose=2)

# The new task: sandals, shirts, sneakers, bags, ankle boots from 5,000 samples.
xb, yb = five_classes(x_train, y_train, 5, 5000)
xb_test, yb_test = five_classes(x_test, y_test, 5, 5000)
base.trainable = False
new_inputs = keras.Input(shape=(28, 28, 1), name="image")
outputs = keras.layers.Dense(5, name="head")(base(new_inputs))
model = keras.Model(new_inputs, outputs)
model.summary()
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(xb, yb, epochs=3, batch_size=64, validation_split=0.2, verbose=2)
print("frozen base, new head:", model.evaluate(xb_test, yb_test, verbose=0)[1])

base.trainable = True  # fine-tune everything at a low rate
model.compile(optimizer=keras.optimizers.Adam(1e-4),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
model.fit(xb, yb, epochs=2, batch_size=64, verbose=2)
print("fine-tuned:", model.evaluate(xb_test, yb_test, verbose=0)[1])

model.save("shoes_and_bags.keras")  # Keras 3 opens it too (keras.saving.load_model)
model.export("shoes_and_bags.onnx", format="onnx")  # for onnxruntime, or `rill serve`
print("saved shoes_and_bags.keras and shoes_and_bags.onnx")

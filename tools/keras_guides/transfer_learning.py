"""Keras' side of crates/rill/examples/transfer_learning.rs (the guide "Transfer learning &
fine-tuning")."""

import keras
import numpy as np
from keras import layers


def five_classes(images, labels, first, n):
    picked = np.flatnonzero((labels >= first) & (labels < first + 5))[:n]
    return images[picked], labels[picked] - first


def with_head(base):
    inputs = keras.Input(shape=(28, 28))
    outputs = layers.Dense(5)(base(inputs))
    return keras.Model(inputs, outputs)


keras.utils.set_random_seed(5)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
base = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Reshape((28, 28, 1)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
    ]
)
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

# 1. Train the base on the first task.
first = with_head(base)
first.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
first.fit(*five_classes(x_train, y_train, 0, 30_000), epochs=5)

# 2. Freeze it; train a new head on the second task.
base.trainable = False
second = with_head(base)
second.summary()
second.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
second.fit(*five_classes(x_train, y_train, 5, 5_000), epochs=5)
test = five_classes(x_test, y_test, 5, len(y_test))
frozen_acc = second.evaluate(*test, batch_size=256, return_dict=True)["accuracy"]

# 3. Fine-tune everything at a low rate.
base.trainable = True
second.compile(optimizer=keras.optimizers.Adam(1e-5), loss=loss, metrics=["accuracy"])
second.fit(*five_classes(x_train, y_train, 5, 5_000), epochs=1)
tuned_acc = second.evaluate(*test, batch_size=256, return_dict=True)["accuracy"]
print(f"new task: {frozen_acc:.4f} with the base frozen, {tuned_acc:.4f} fine-tuned")

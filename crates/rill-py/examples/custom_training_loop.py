"""Keras guide "Writing a training loop from scratch" in Rill's Python package: the model
called under a GradientTape, gradients applied by the optimizer, a metric updated by hand.

    python crates/rill-py/examples/custom_training_loop.py
"""

import numpy as np

import rill as tf
from rill import keras

keras.utils.set_random_seed(4)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train = x_train[:20000].reshape(-1, 784).astype("float32") / 255.0
y_train = y_train[:20000]
x_test = x_test.reshape(-1, 784).astype("float32") / 255.0

inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu")(inputs)
outputs = keras.layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)

optimizer = keras.optimizers.Adam(learning_rate=1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc = keras.metrics.SparseCategoricalAccuracy()
val_acc = keras.metrics.SparseCategoricalAccuracy()

batch_size = 64
for epoch in range(3):
    order = np.random.default_rng(epoch).permutation(len(x_train))
    for step, start in enumerate(range(0, len(order), batch_size)):
        idx = order[start:start + batch_size]
        x_batch, y_batch = x_train[idx], y_train[idx]
        with tf.GradientTape() as tape:
            logits = model(x_batch, training=True)
            loss_value = loss_fn(y_batch, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_acc.update_state(y_batch, logits)
        if step % 100 == 0:
            print(f"epoch {epoch} step {step}: loss {float(loss_value):.4f}")
    val_acc.update_state(y_test, model.predict(x_test, verbose=0))
    print(f"epoch {epoch}: accuracy {float(train_acc.result()):.4f}, val_accuracy {float(val_acc.result()):.4f}")
    train_acc.reset_state()
    val_acc.reset_state()

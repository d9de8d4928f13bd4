"""Keras' side of crates/rill/examples/custom_training_loop.rs (the guide "Writing a training
loop from scratch", TensorFlow backend)."""

import keras
import tensorflow as tf
from keras import layers

keras.utils.set_random_seed(4)
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Rescaling(1 / 255),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ]
)
optimizer = keras.optimizers.Adam(1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc = keras.metrics.SparseCategoricalAccuracy()
val_acc = keras.metrics.SparseCategoricalAccuracy()

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1024).batch(64)
val = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(256)

for epoch in range(3):
    for step, (x, y) in enumerate(train):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_acc.update_state(y, logits)
        if step % 200 == 0:
            print(f"epoch {epoch} step {step}: loss {float(loss):.4f}")
    for x, y in val:
        val_acc.update_state(y, model(x, training=False))
    print(
        f"epoch {epoch}: accuracy {float(train_acc.result()):.4f}, "
        f"val_accuracy {float(val_acc.result()):.4f}"
    )
    train_acc.reset_state()
    val_acc.reset_state()

"""Keras' side of crates/rill/examples/augmentation_callbacks.rs (the guides "Data
augmentation" and "Writing your own callbacks")."""

import keras
import tensorflow as tf
from keras import layers

keras.utils.set_random_seed(6)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
augment = keras.Sequential(
    [layers.RandomFlip("horizontal", seed=7), layers.RandomTranslation(0.1, 0.1, seed=7)]
)
train = (
    tf.data.Dataset.from_tensor_slices((x_train[..., None] / 255, y_train))
    .shuffle(4096, seed=0)
    .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    .batch(64)
    .prefetch(2)
)
val = tf.data.Dataset.from_tensor_slices((x_test[..., None] / 255, y_test)).batch(256)

model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(
    train,
    epochs=30,
    validation_data=val,
    callbacks=[
        keras.callbacks.EarlyStopping(
            "val_loss", patience=3, min_delta=1e-3, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            "out/augmentation_callbacks/best-{epoch:02d}-{val_loss:.3f}.keras",
            save_best_only=True,
        ),
        keras.callbacks.CSVLogger("out/augmentation_callbacks/training.csv"),
    ],
)

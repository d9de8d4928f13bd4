"""Keras' side of crates/rill/examples/functional_api.rs: the same model, data and steps."""

import keras
import numpy as np
from keras import layers


def halves(images, labels):
    inputs = {"top": images[:, :14], "bottom": images[:, 14:]}
    footwear = np.isin(labels, [5, 7, 9]).astype("float32")[:, None]
    return inputs, {"class": labels, "footwear": footwear}


keras.utils.set_random_seed(1)
top = keras.Input(shape=(14, 28), name="top")
bottom = keras.Input(shape=(14, 28), name="bottom")
x = layers.Concatenate()([top, bottom])
x = layers.Flatten()(x)
x = layers.Rescaling(1 / 255)(x)
x = layers.Dense(128, activation="relu")(x)
class_out = layers.Dense(10, name="class")(x)
footwear_out = layers.Dense(1, activation="sigmoid", name="footwear")(x)
model = keras.Model([top, bottom], [class_out, footwear_out])
model.summary()

model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss={
        "class": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "footwear": keras.losses.BinaryCrossentropy(),
    },
    loss_weights={"class": 1.0, "footwear": 0.2},
    metrics={"class": ["accuracy"], "footwear": ["accuracy"]},
)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
model.fit(*halves(x_train, y_train), epochs=5, validation_split=0.1)

model.save("out/two_by_two.keras")
loaded = keras.models.load_model("out/two_by_two.keras")
logs = loaded.evaluate(*halves(x_test, y_test), batch_size=256, return_dict=True)
print("test:", logs)

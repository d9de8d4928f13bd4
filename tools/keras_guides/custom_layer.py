"""Keras' side of crates/rill/examples/custom_layer.rs (the guide "Making new layers and models
via subclassing", saved and loaded with the layer registered)."""

import keras
import numpy as np
from keras import layers


@keras.saving.register_keras_serializable()
class Linear(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        return x @ self.w + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


keras.utils.set_random_seed(3)
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Rescaling(1 / 255),
        Linear(64),
        layers.ReLU(),
        Linear(10),
    ]
)
model.summary()
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
model.fit(x_train, y_train, epochs=5)

model.save("out/custom_layer.keras")
loaded = keras.models.load_model("out/custom_layer.keras")
test = loaded.evaluate(x_test, y_test, batch_size=256, return_dict=True)
diff = np.abs(model.predict(x_test) - loaded.predict(x_test)).max()
print(f"test accuracy {test['accuracy']:.4f}, reloaded model differs by {diff}")

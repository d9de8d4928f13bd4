"""Keras' side of crates/rill/examples/predict_image.rs, for a saved model and one image."""

import sys

import keras
import numpy as np

class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
model = keras.models.load_model(sys.argv[1])
img = keras.utils.load_img(sys.argv[2], color_mode="grayscale", target_size=(28, 28))
x = keras.utils.img_to_array(img).reshape(1, 28, 28) / 255
probabilities = model.predict(x)[0]
best = int(np.argmax(probabilities))
print(f"{sys.argv[2]}: {class_names[best]} ({probabilities[best] * 100:.1f}%)")

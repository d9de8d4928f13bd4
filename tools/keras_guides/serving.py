"""Keras' side of crates/rill/examples/serving.rs (the TensorFlow guide "Serving a model with
TF Serving"): export, serve with the TF Serving container, query over REST."""

import subprocess

import keras
import requests
from keras import layers

keras.utils.set_random_seed(8)
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train / 255, y_train, epochs=1)
model.export("out/serving/fashion/1")

server = subprocess.Popen(
    "docker run -p 8501:8501 -v $PWD/out/serving/fashion:/models/fashion "
    "-e MODEL_NAME=fashion tensorflow/serving",
    shell=True,
)
url = "http://localhost:8501/v1/models/fashion"
print("signature:", requests.get(f"{url}/metadata").json())
images = x_test[:5] / 255
request = {"signature_name": "serving_default", "instances": images.tolist()}
served = requests.post(f"{url}:predict", json=request).json()["predictions"]
for i, p in enumerate(served):
    best = max(range(10), key=lambda c: p[c])
    print(f"image {i}: {best} ({p[best] * 100:.1f}%)")
local = model.predict(images)
server.terminate()

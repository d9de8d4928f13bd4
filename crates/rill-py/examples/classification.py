"""The Keras tutorial "Basic classification: classify images of clothing"
(https://www.tensorflow.org/tutorials/keras/classification) with `import tensorflow as tf`
replaced by `import rill as tf`, and the matplotlib parts left out.

    python crates/rill-py/examples/classification.py            # with Rill
    python crates/rill-py/examples/classification.py tensorflow # the same code on TensorFlow
"""

import sys
import time

import numpy as np

if len(sys.argv) > 1 and sys.argv[1] == "tensorflow":
    import tensorflow as tf
else:
    import rill as tf

print(tf.__version__)
start = time.perf_counter()

fashion_mnist = tf.keras.datasets.fashion_mnist
(train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
print(train_images.shape, len(train_labels), train_labels)
print(test_images.shape, len(test_labels))

train_images = train_images / 255.0
test_images = test_images / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10)
])
model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])
model.fit(train_images, train_labels, epochs=10)

test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print('\nTest accuracy:', test_acc)

probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
predictions = probability_model.predict(test_images)
print(predictions[0])
print(np.argmax(predictions[0]), test_labels[0])

img = test_images[1]
print(img.shape)
img = (np.expand_dims(img, 0))
print(img.shape)
predictions_single = probability_model.predict(img)
print(predictions_single)
print(np.argmax(predictions_single[0]))

print(f"total: {time.perf_counter() - start:.1f} s")

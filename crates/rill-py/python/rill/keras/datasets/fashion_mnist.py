"""Fashion-MNIST: 60,000 training and 10,000 test images of clothing, 28x28 uint8."""

from ... import _rill


def load_data():
    """`((x_train, y_train), (x_test, y_test))`: uint8 arrays of shapes (60000, 28, 28),
    (60000,), (10000, 28, 28) and (10000,), as Keras returns them."""
    return _rill.load_dataset("fashion_mnist")

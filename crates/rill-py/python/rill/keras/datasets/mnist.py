"""MNIST: 60,000 training and 10,000 test images of handwritten digits, 28x28 uint8."""

from ... import _rill


def load_data(path=None):
    """`((x_train, y_train), (x_test, y_test))`: uint8 arrays, as Keras returns them."""
    if path is not None:
        raise ValueError("mnist.load_data: Rill finds the files itself; set RILL_DATA_DIR instead of path")
    return _rill.load_dataset("mnist")

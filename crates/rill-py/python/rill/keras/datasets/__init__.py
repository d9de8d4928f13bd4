"""`keras.datasets`: `fashion_mnist` and `mnist`, offline from `data/`, `RILL_DATA_DIR` or the
cache (downloaded and verified when missing)."""

from . import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]

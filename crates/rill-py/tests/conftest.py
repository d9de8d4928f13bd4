import os
import pathlib

import pytest

import rill

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def seeded():
    rill.random.set_seed(0)


@pytest.fixture(scope="session")
def fashion():
    os.environ.setdefault("RILL_DATA_DIR", str(ROOT / "data"))
    return rill.keras.datasets.fashion_mnist.load_data()


@pytest.fixture
def keras_fixture():
    return ROOT / "crates" / "rill-keras" / "tests" / "fixtures"

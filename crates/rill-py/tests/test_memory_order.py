"""NumPy arrays in every memory order NumPy makes: C and Fortran order, transposes, negative and
non-unit strides, views and broadcast arrays all read as their logical values — into tensors,
predict, evaluate, fit and set_weights alike."""

import numpy as np
import pytest

import rill
from rill import keras

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool", "float16", "int8", "uint16"]


def random_layout(rng, a):
    """`a`'s values, or a view of another array holding them, in a layout drawn at random."""
    kind = rng.integers(6)
    if kind == 0:
        return np.ascontiguousarray(a)
    if kind == 1:
        return np.asfortranarray(a)
    if kind == 2 and a.ndim > 1:
        # The transpose of a C array holding the values transposed: a Fortran-ordered view.
        perm = rng.permutation(a.ndim)
        return np.ascontiguousarray(a.transpose(perm)).transpose(np.argsort(perm))
    if kind == 3 and a.ndim > 0:
        # Negative strides: the values stored reversed along some axes, read back flipped.
        axes = tuple(int(i) for i in np.flatnonzero(rng.integers(2, size=a.ndim)))
        return np.flip(np.flip(a, axes).copy(order="F" if rng.integers(2) else "C"), axes)
    if kind == 4 and a.ndim > 0:
        # Non-unit strides: every other element of a larger array.
        big = np.zeros(tuple(2 * d for d in a.shape), dtype=a.dtype)
        big[tuple(slice(None, None, 2) for _ in a.shape)] = a
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        return view.T.T if rng.integers(2) else view
    if kind == 5 and a.ndim > 0 and a.size > 0:
        # A broadcast view (stride 0) when the values repeat along an axis.
        axis = int(rng.integers(a.ndim))
        row = np.take(a, [0], axis=axis)
        return np.broadcast_to(row, a.shape)
    return a


@pytest.mark.parametrize("seed", range(8))
def test_every_layout_reads_as_its_logical_values(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        shape = tuple(int(d) for d in rng.integers(0, 5, size=rng.integers(0, 5)))
        dtype = DTYPES[rng.integers(len(DTYPES))]
        a = (rng.integers(0, 200, size=shape) - (0 if "u" in dtype or dtype == "bool" else 100))
        a = random_layout(rng, a.astype(dtype))
        got = rill.constant(a).numpy()
        assert got.shape == a.shape, (a.shape, a.strides, dtype)
        np.testing.assert_array_equal(got, a, err_msg=f"{a.shape} {a.strides} {dtype}")


def test_fortran_order_and_transposes_are_not_read_as_memory():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    for view in [a.T, np.asfortranarray(a), a[::-1, ::-1], a[:, ::2], a.T[::-1]]:
        np.testing.assert_array_equal(rill.constant(view).numpy(), view)
    np.testing.assert_array_equal(rill.constant(np.asfortranarray(a.astype(np.float64))).numpy(), a)


def linear_model(w):
    model = keras.Sequential([keras.layers.Dense(1, use_bias=False, input_shape=(w.shape[0],))])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    model.set_weights([np.asfortranarray(w.reshape(-1, 1))])
    return model


def test_predict_and_evaluate_read_a_transposed_table_as_its_rows():
    a = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0], [1000.0, 2000.0]])
    w = np.array([[3.0, 2.0, 1.0, 0.5]]).T  # a column, as Fortran-ordered as a.T
    model = linear_model(w.ravel())
    assert a.T.flags.f_contiguous and not a.T.flags.c_contiguous
    want = a.T @ w  # [[1020+...]]: each row of a.T times w
    np.testing.assert_allclose(model.predict(a.T, verbose=0), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict(a.T.astype(np.float32), verbose=0), want, rtol=1e-6)
    assert model.evaluate(a.T, want, verbose=0) == pytest.approx(0.0, abs=1e-6)


def test_fit_on_a_fortran_ordered_table_equals_fit_on_its_c_ordered_copy():
    # What np.array(dataframe) and df.to_numpy() return for a table of float columns.
    rng = np.random.default_rng(3)
    x = np.asfortranarray(rng.normal(size=(200, 5)))
    y = x @ np.array([1.5, -2.0, 0.5, 3.0, -1.0]) + 0.25
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    weights = []
    for table in [x, np.ascontiguousarray(x)]:
        rill.random.set_seed(11)
        model = keras.Sequential([
            keras.layers.Dense(8, activation="relu", input_shape=(5,)),
            keras.layers.Dense(1),
        ])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        model.fit(table, y, epochs=5, batch_size=20, verbose=0)
        weights.append(model.get_weights())
    for f, c in zip(*weights):
        np.testing.assert_array_equal(f, c)

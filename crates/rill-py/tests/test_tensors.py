"""Tensors: NumPy in and out for every dtype, operators, errors as Python exceptions."""

import numpy as np
import pytest

import rill

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_round_trip_keeps_dtype_shape_and_values(dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    t = rill.constant(a)
    assert t.dtype == dtype
    assert t.shape == (2, 3, 4)
    back = t.numpy()
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, a)
    np.testing.assert_array_equal(np.asarray(t), a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_arrays_are_read_in_order(dtype):
    a = (np.arange(30).reshape(5, 6) % 5).astype(dtype)
    view = a[::2, 1::2].T
    np.testing.assert_array_equal(rill.constant(view).numpy(), view)


def test_other_widths_widen():
    assert rill.constant(np.zeros(3, np.int8)).dtype == "int32"
    assert rill.constant(np.zeros(3, np.uint32)).dtype == "int64"
    assert rill.constant(np.zeros(3, np.float16)).dtype == "float32"


def test_python_values_take_tensorflows_dtypes():
    assert rill.constant([1.0, 2.0]).dtype == "float32"
    assert rill.constant([1, 2]).dtype == "int32"
    assert rill.constant(np.array([1.0])).dtype == "float64"


def test_unsupported_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="Rill's dtypes"):
        rill.constant(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="every element is str or bytes"):
        rill.constant(np.array(["a", 1], dtype=object))
    with pytest.raises(TypeError, match="no dtype"):
        rill.cast([1.0], "complex64")


def test_operators_and_ops_match_numpy():
    a = np.array([[1.0, -2.0], [3.0, 4.0]], np.float32)
    b = np.array([[0.5, 1.0], [2.0, -1.0]], np.float32)
    ta, tb = rill.constant(a), rill.constant(b)
    np.testing.assert_allclose((ta + tb).numpy(), a + b)
    np.testing.assert_allclose((ta * 2).numpy(), a * 2)
    assert (ta * 2).dtype == "float32"
    np.testing.assert_allclose((1 - ta).numpy(), 1 - a)
    np.testing.assert_allclose((ta / tb).numpy(), a / b)
    np.testing.assert_allclose((ta @ tb).numpy(), a @ b)
    np.testing.assert_allclose(rill.matmul(a, b).numpy(), a @ b)
    np.testing.assert_allclose(rill.reduce_mean(ta, axis=1).numpy(), a.mean(axis=1))
    np.testing.assert_allclose(rill.reduce_sum(ta).numpy(), a.sum())
    np.testing.assert_allclose(rill.nn.relu(ta).numpy(), np.maximum(a, 0))
    np.testing.assert_allclose(rill.nn.softmax(ta).numpy(), np.exp(a) / np.exp(a).sum(-1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(rill.argmax(ta, axis=1).numpy(), a.argmax(axis=1))
    np.testing.assert_allclose(rill.transpose(ta).numpy(), a.T)
    np.testing.assert_allclose(rill.reshape(ta, [-1]).numpy(), a.reshape(-1))
    assert float(rill.reduce_max(ta)) == 4.0


def test_shape_errors_are_value_errors_with_rills_message():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: \[2, 3\] x \[4, 5\]"):
        rill.matmul(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32))


def test_dtype_errors_are_type_errors():
    with pytest.raises(TypeError):
        rill.constant(np.zeros(3, np.float32)) + rill.constant(np.zeros(3, np.int64))


def test_predictions_come_back_without_a_copy_of_rills_buffer():
    # A fresh result is handed to NumPy as is: the array owns its memory through its base.
    out = (rill.constant(np.ones((4, 4), np.float32)) * 3).numpy()
    assert out.base is not None and out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, np.full((4, 4), 3, np.float32))

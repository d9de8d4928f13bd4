"""GradientTape and optimizers: derivatives checked against calculus and finite differences,
and a custom training loop that learns."""

import numpy as np
import pytest

import rill


def test_gradient_of_watched_tensor():
    x = rill.constant([1.0, -2.0, 3.0])
    with rill.GradientTape() as tape:
        tape.watch(x)
        y = rill.reduce_sum(x * x * x)
    (g,) = tape.gradient(y, [x])
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 4.0, 9.0]), rtol=1e-6)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 2))
    x = rng.normal(size=(4, 3))
    w = rill.Variable(w0, dtype="float64")

    def loss(wv):
        return np.mean(np.tanh(x @ wv) ** 2)

    with rill.GradientTape() as tape:
        y = rill.reduce_mean(rill.square(rill.tanh(rill.matmul(x, w))))
    g = tape.gradient(y, w).numpy()
    eps = 1e-6
    numeric = np.zeros_like(w0)
    for i in np.ndindex(w0.shape):
        d = np.zeros_like(w0)
        d[i] = eps
        numeric[i] = (loss(w0 + d) - loss(w0 - d)) / (2 * eps)
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-9)


def test_unconnected_source_is_none_and_tape_is_single_use():
    a, b = rill.Variable([1.0]), rill.Variable([2.0])
    with rill.GradientTape() as tape:
        y = a * 3.0
    grads = tape.gradient(y, [a, b])
    assert grads[1] is None
    np.testing.assert_allclose(grads[0].numpy(), [3.0])
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, [a])


def test_no_graph_is_recorded_outside_a_tape():
    v = rill.Variable([1.0, 2.0])
    y = rill.reduce_sum(v * v)
    with rill.GradientTape() as tape:
        z = rill.reduce_sum(v * 1.0)
    assert tape.gradient(z, v) is not None
    with rill.GradientTape() as tape2:
        pass
    assert tape2.gradient(y, v) is None


def test_custom_training_loop_learns_a_line():
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1)
    y = 3 * x + 0.5
    model = rill.keras.Sequential([rill.keras.layers.Dense(1, input_shape=(1,))])
    opt = rill.keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = rill.keras.losses.MeanSquaredError()
    for _ in range(200):
        with rill.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel.ravel(), [3.0], atol=1e-3)
    np.testing.assert_allclose(bias, [0.5], atol=1e-3)
    assert opt.iterations == 200


def test_apply_gradients_checks_shapes():
    v = rill.Variable(np.zeros((2, 2), np.float32))
    opt = rill.keras.optimizers.Adam()
    with pytest.raises(ValueError, match="shape"):
        opt.apply_gradients([(rill.constant(np.zeros(3, np.float32)), v)])

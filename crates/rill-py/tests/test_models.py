"""Keras' model API: Sequential and functional models, compile/fit/evaluate/predict, callbacks,
files (checked against Keras' own outputs), freezing, and errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rill
from rill import keras


def toy(n=256):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def small_model():
    model = keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(4,)),
        keras.layers.Dense(2),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def transfer_model():
    base = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,))], name="base")
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(base(inputs)))
    base.trainable = False
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_fit_returns_keras_history_and_learns():
    x, y = toy()
    model = small_model()
    history = model.fit(x, y, epochs=20, batch_size=32, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 20 and history.epoch == list(range(20))
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(acc)
    probs = model.predict(x[:5], verbose=0)
    assert probs.shape == (5, 2) and probs.dtype == np.float32


def test_seeded_training_is_reproducible():
    x, y = toy()
    runs = []
    for _ in range(2):
        rill.random.set_seed(7)
        m = small_model()
        m.fit(x, y, epochs=2, verbose=0)
        runs.append(m.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_summary_names_layers_and_counts_parameters(capsys):
    model = small_model()
    model.summary()
    out = capsys.readouterr().out
    assert "dense" in out and "114" in out
    assert model.count_params() == 4 * 16 + 16 + 16 * 2 + 2
    assert [l.name for l in model.layers] == ["dense", "dense_1"]


def test_functional_api_with_two_inputs_and_two_outputs():
    image = keras.Input(shape=(8,), name="image")
    meta = keras.Input(shape=(2,), name="meta")
    both = keras.layers.concatenate([image, meta])
    h = keras.layers.Dense(16, activation="relu")(both)
    cls = keras.layers.Dense(3, name="cls")(h)
    score = keras.layers.Dense(1, name="score")(h)
    assert h.shape == (None, 16)
    model = keras.Model(inputs=[image, meta], outputs=[cls, score])
    model.compile(optimizer="adam",
                  loss={"cls": keras.losses.SparseCategoricalCrossentropy(from_logits=True), "score": "mse"},
                  loss_weights={"score": 0.5}, metrics={"cls": ["accuracy"]})
    rng = np.random.default_rng(0)
    xs = {"image": rng.normal(size=(64, 8)), "meta": rng.normal(size=(64, 2))}
    ys = {"cls": rng.integers(0, 3, 64), "score": rng.normal(size=(64, 1))}
    history = model.fit(xs, ys, epochs=2, verbose=0)
    assert "cls_accuracy" in history.history or "accuracy" in str(history.history)
    out = model.predict(xs, verbose=0)
    assert [o.shape for o in out] == [(64, 3), (64, 1)]
    assert model.get_layer("cls").get_weights()[0].shape == (16, 3)


def test_transfer_learning_freezes_the_base():
    x, y = toy()
    base = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,), name="features")])
    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Dense(2)(base(inputs))
    model = keras.Model(inputs, outputs)
    base.trainable = False
    before = base.get_weights()
    assert len(model.trainable_variables) == 2
    assert len(model.non_trainable_weights) == 2
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    base.trainable = True
    assert len(model.trainable_variables) == 4


def test_probability_model_shares_weights():
    x, _ = toy(8)
    model = small_model()
    probability_model = keras.Sequential([model, keras.layers.Softmax()])
    logits = model.predict(x, verbose=0)
    probs = probability_model.predict(x, verbose=0)
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-5)


def test_user_callback_sees_logs_and_can_stop_training():
    x, y = toy()

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs, self.batches = [], 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append((epoch, dict(logs)))
            if epoch == 2:
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    rec = Recorder()
    history = small_model().fit(x, y, epochs=10, batch_size=64, callbacks=[rec], verbose=0)
    assert [e for e, _ in rec.epochs] == [0, 1, 2]
    assert rec.batches == 3 * 4
    assert "loss" in rec.epochs[0][1] and len(history.history["loss"]) == 3


def test_an_exception_in_a_callback_reaches_the_caller():
    x, y = toy()

    class Broken(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        small_model().fit(x, y, epochs=3, callbacks=[Broken()], verbose=0)


def test_builtin_callbacks(tmp_path):
    x, y = toy()
    model = small_model()
    ckpt = tmp_path / "best.keras"
    model.fit(x, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=10),
        keras.callbacks.ModelCheckpoint(str(ckpt), monitor="val_accuracy", save_best_only=True),
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5 ** epoch),
        keras.callbacks.TensorBoard(log_dir=str(tmp_path / "tb")),
    ])
    assert ckpt.exists()
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch") and len(rows) == 5
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").rglob("*"))
    reloaded = keras.models.load_model(ckpt)
    assert reloaded.predict(x[:2], verbose=0).shape == (2, 2)


def test_keras_file_from_keras_predicts_keras_reference(keras_fixture):
    ref = json.loads((keras_fixture / "tutorial.json").read_text())
    model = keras.models.load_model(keras_fixture / "tutorial.keras")
    (inp,) = ref["inputs"].values()
    (out,) = ref["outputs"]
    x = np.array(inp["data"], np.float32).reshape(inp["shape"])
    np.testing.assert_allclose(model.predict(x, verbose=0).ravel(), out["data"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".rill"])
@pytest.mark.parametrize("build", [small_model, transfer_model])
def test_save_and_load_round_trip(tmp_path, suffix, build):
    x, y = toy()
    model = build()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("build", [small_model, transfer_model])
def test_saved_keras_file_opens_in_keras(tmp_path, build):
    python = os.environ.get("RILL_TEST_PYTHON")
    if not python:
        pytest.skip("RILL_TEST_PYTHON (a Python with Keras) is set by tools/test")
    x, y = toy(16)
    model = build()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    script = (
        "import os, sys, numpy as np; os.environ['KERAS_BACKEND']='numpy'; import keras;"
        f"m = keras.saving.load_model(r'{tmp_path / 'm.keras'}');"
        f"np.save(r'{tmp_path / 'y.npy'}', np.asarray(m.predict(np.load(r'{tmp_path / 'x.npy'}'), verbose=0)))"
    )
    subprocess.run([python, "-c", script], check=True)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_export_onnx_and_load_it_back(tmp_path):
    x, y = toy()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0)
    model.export(tmp_path / "m.onnx")
    again = keras.models.load_model(tmp_path / "m.onnx")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_wrong_input_shape_is_a_value_error():
    model = small_model()
    with pytest.raises(ValueError, match=r"expected input of shape \(None, 4\)"):
        model.fit(np.zeros((8, 5), np.float32), np.zeros(8, np.int64), verbose=0)
    with pytest.raises(ValueError, match="Could not interpret optimizer"):
        model.compile(optimizer="adamax", loss="mse")
    with pytest.raises(ValueError, match="not supported"):
        keras.Sequential([keras.layers.Conv2D(4, 3, data_format="channels_first", input_shape=(1, 8, 8))])
    with pytest.raises(FileNotFoundError):
        keras.models.load_model("/nonexistent/model.keras")


def test_progress_bar_goes_to_sys_stdout_live_in_a_notebook(monkeypatch, capsys):
    x, y = toy(4096)
    monkeypatch.setitem(sys.modules, "ipykernel", sys)
    small_model().fit(x, y, epochs=1, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/1\n")
    assert "\r" in out and "512/512" in out
    monkeypatch.delitem(sys.modules, "ipykernel")
    small_model().fit(x, y, epochs=1, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and out.count("\n") == 2


def test_a_callback_reads_the_weights_during_fit_and_other_uses_say_the_model_is_busy(tmp_path):
    x, y = toy()

    class Snapshot(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.kernels, self.busy = [], None

        def on_epoch_end(self, epoch, logs=None):
            self.kernels.append(self.model.get_weights()[0].copy())
            assert self.model.layers[0].get_weights()[0].shape == (4, 16)
            try:
                self.model.save(tmp_path / "during.keras")
            except RuntimeError as e:
                self.busy = str(e)

    snap = Snapshot()
    model = small_model()
    model.fit(x, y, epochs=2, callbacks=[snap], verbose=0)
    assert len(snap.kernels) == 2 and not np.array_equal(snap.kernels[0], snap.kernels[1])
    np.testing.assert_array_equal(snap.kernels[1], model.get_weights()[0])
    assert "busy" in snap.busy and "ModelCheckpoint" in snap.busy


def test_validation_data_is_evaluated_each_epoch():
    x, y = toy()
    history = small_model().fit(x[:192], y[:192], validation_data=(x[192:], y[192:]), epochs=3, verbose=0)
    assert len(history.history["val_accuracy"]) == 3


def test_an_exception_in_a_schedule_stops_fit_at_once():
    x, y = toy()
    epochs_seen = []

    def schedule(epoch, lr):
        epochs_seen.append(epoch)
        raise ArithmeticError("bad schedule")

    with pytest.raises(ArithmeticError, match="bad schedule"):
        small_model().fit(x, y, epochs=50, callbacks=[keras.callbacks.LearningRateScheduler(schedule)], verbose=0)
    assert epochs_seen == [0]


def test_shuffling_follows_the_global_seed():
    x, y = toy()
    start = small_model().get_weights()

    def trained(seed):
        model = small_model()  # a fresh optimizer, the same starting weights
        model.set_weights(start)
        rill.random.set_seed(seed)  # the shuffle order is drawn from the seeded generator
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        return model.get_weights()[0]

    np.testing.assert_array_equal(trained(100), trained(100))
    assert not np.array_equal(trained(100), trained(101))


def claiming(keras_bytes, claimed):
    """A .keras file whose zip headers (local and central) claim `claimed` bytes of weights."""
    data = bytearray(keras_bytes)
    name = b"model.weights.h5"
    for signature, size_at, name_len_at, fixed in [(b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)]:
        at = data.find(signature)
        while at >= 0:
            length = int.from_bytes(data[at + name_len_at:at + name_len_at + 2], "little")
            if data[at + fixed:at + fixed + length] == name:
                data[at + size_at:at + size_at + 4] = claimed.to_bytes(4, "little")
            at = data.find(signature, at + 4)
    return bytes(data)


def test_a_keras_file_whose_zip_header_claims_4_gib_is_a_value_error_under_a_memory_cap(tmp_path):
    small_model().save(tmp_path / "good.keras")
    lying = tmp_path / "lying.keras"
    lying.write_bytes(claiming((tmp_path / "good.keras").read_bytes(), 0xFFFF_FFFE))
    # In a process whose address space is capped at 1 GiB, as a server's may be: reserving the
    # claimed 4 GiB there would abort the interpreter.
    script = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
        "from rill import keras\n"
        "try:\n"
        f"    keras.models.load_model(r'{lying}')\n"
        "except ValueError as e:\n"
        "    print('ValueError:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ValueError:") and "header is wrong" in out.stdout, out.stdout


@pytest.mark.parametrize("suffix", [".rill", ".keras", ".onnx"])
def test_save_and_load_agree_for_every_extension(tmp_path, suffix):
    x, _ = toy()
    model = small_model()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.weights.h5")
    other = small_model()
    other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_an_unknown_extension_is_a_value_error_listing_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"\.rill \(rill\), \.keras \(keras\), \.onnx \(onnx\)"):
        small_model().save(tmp_path / "m.h5")
    small_model().save(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="holds weights only"):
        keras.models.load_model(tmp_path / "m.weights.h5")


def test_layers_made_from_rills_registry_train_save_and_refuse_what_rill_cannot_honour(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12, 3)).astype(np.float32)
    y = x[:, :, 0].sum(axis=1, keepdims=True)
    model = keras.Sequential([
        keras.layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu", input_shape=(12, 3)),
        keras.layers.MaxPooling1D(2),
        keras.layers.Conv1D(4, kernel_size=2),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x[:2], verbose=0).shape == (2, 1)
    model.save(tmp_path / "sequence.keras")
    again = keras.models.load_model(tmp_path / "sequence.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert keras.layers.GlobalMaxPooling1D().__class__.__name__ == "GlobalMaxPooling1D"
    # Groups are supported; one channel does not split into two, as Keras says too.
    with pytest.raises(ValueError, match=r"Conv1D: 1 input channels do not split into 2 groups"):
        bad = keras.Sequential([keras.layers.Conv1D(2, 3, groups=2, name="c", input_shape=(8, 1))])
        bad.predict(np.zeros((1, 8, 1), np.float32), verbose=0)
    with pytest.raises(TypeError, match="Conv1D takes 2 positional arguments"):
        keras.layers.Conv1D(2, 3, 1)

"""The progress bar where users see it — a terminal (a pseudo-terminal here) and a Jupyter
kernel — and Ctrl-C as a terminal sends it: SIGINT to the process."""

import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

FIT = textwrap.dedent("""
    import time
    import numpy as np
    import rill
    x = np.random.default_rng(0).normal(size=(EXAMPLES, 32)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = rill.keras.Sequential([rill.keras.layers.Dense(64, activation="relu", input_shape=(32,)),
                                   rill.keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=rill.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    class AtLeast200MicrosecondsAStep(rill.keras.callbacks.Callback):
        # The bar is redrawn at most every 0.1 s: 5,000 steps of this tiny model can take less
        # than that (17 us a step on a fast machine), so the epoch is made to last over a second.
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.0002)

    slow = [AtLeast200MicrosecondsAStep()]
""")


def script(examples, tail):
    return FIT.replace("EXAMPLES", str(examples)) + textwrap.dedent(tail)


def default_sigint():
    """Run in a child before it starts: SIGINT back to its default action. A test run started in
    the background by a non-interactive shell inherits SIGINT ignored, and Python then never
    installs the handler that raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_live_bar_in_a_terminal():
    code = script(40000, 'print("READY", flush=True)\nmodel.fit(x, y, epochs=1, batch_size=8, verbose=1, callbacks=slow)\n')
    pid, fd = pty.fork()
    if pid == 0:
        default_sigint()
        os.execv(sys.executable, [sys.executable, "-c", code])
    out = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    after = text.split("READY", 1)[1]
    # Several redraws of one line, then the final line with the epoch's loss.
    assert after.count("\r") >= 3, text[-2000:]
    assert "5000/5000" in after and "loss:" in after


def test_live_bar_in_a_jupyter_kernel():
    import jupyter_client.manager  # installed by tools/test with ipykernel

    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        code = script(40000, "model.fit(x, y, epochs=1, batch_size=8, verbose=1, callbacks=slow)\n")
        msg_id = kc.execute(code)
        streams = []
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                streams.append(msg["content"]["text"])
            if msg["msg_type"] == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        text = "".join(streams)
        assert text.startswith("Epoch 1/1\n")
        # The notebook redraws the line in place: carriage returns, one final line.
        assert text.count("\r") >= 3, text[:500]
        assert "5000/5000" in text and text.endswith("\n")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_sigint_stops_fit_with_keyboard_interrupt_and_keeps_the_model():
    code = script(20000, """
        import sys, time
        print("READY", flush=True)
        start = time.perf_counter()
        try:
            model.fit(x, y, epochs=1000, batch_size=8, verbose=0)
        except KeyboardInterrupt:
            print("INTERRUPTED", round(time.perf_counter() - start, 2), flush=True)
            print("PREDICT", model.predict(x[:2], verbose=0).shape, flush=True)
            sys.exit(0)
        print("NOT INTERRUPTED", flush=True)
        sys.exit(1)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                         preexec_fn=default_sigint)
    assert p.stdout.readline().strip() == "READY"
    time.sleep(1.0)
    sent = time.perf_counter()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert p.returncode == 0, out
    assert "INTERRUPTED" in out and "PREDICT (2, 2)" in out
    assert waited < 5, waited

"""Opens `.keras` files that Rill wrote with Keras 3 itself and compares its predictions with
Rill's.

    KERAS_BACKEND=numpy python tools/check_keras.py CASES.json

CASES.json (written by crates/rill/tests/keras_files.rs) lists cases:
    {"cases": [{"file": "mlp.keras", "inputs": {"name": {"shape": [...], "data": [...]}},
                "outputs": [{"name": "...", "shape": [...], "data": [...]}]}]}
Each file must load with `keras.saving.load_model` and predict Rill's outputs within 1e-5
(relative to each output's scale). Prints one line per case; exits 1 if any case fails.

A model that reads text (an input with "dtype": "string") runs on Keras' TensorFlow backend,
called on a string tensor: Keras' other backends and its `predict` take no text. Those cases
are checked by this script run again with KERAS_BACKEND=tensorflow.
"""
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")
import keras  # noqa: E402
import numpy as np  # noqa: E402


def run(case, root):
    model = keras.saving.load_model(os.path.join(root, case["file"]), compile=False)
    names = [i.name for i in model.inputs]
    if reads_text(case):
        import tensorflow as tf

        feeds = [tf.constant(np.asarray(case["inputs"][n]["data"]).reshape(case["inputs"][n]["shape"])) for n in names]
        got = model(feeds if len(feeds) > 1 else feeds[0])
    else:
        feeds = [np.asarray(case["inputs"][n]["data"], dtype=np.float32).reshape(case["inputs"][n]["shape"]) for n in names]
        got = model.predict(feeds if len(feeds) > 1 else feeds[0], verbose=0)
    got = got if isinstance(got, (list, tuple)) else [got]
    worst = 0.0
    for want, have in zip(case["outputs"], got):
        want_arr = np.asarray(want["data"], dtype=np.float32).reshape(want["shape"])
        have = np.asarray(have)
        if have.shape != want_arr.shape:
            raise AssertionError(f"output {want['name']}: Keras {have.shape}, Rill {want_arr.shape}")
        scale = max(1.0, float(np.max(np.abs(want_arr))))
        diff = float(np.max(np.abs(have - want_arr))) / scale
        if diff > 1e-5:
            raise AssertionError(f"output {want['name']}: differs by {diff:.2e} (relative to its scale)")
        worst = max(worst, diff)
    return worst, model


def reads_text(case):
    return any(i.get("dtype") == "string" for i in case["inputs"].values())


def main():
    cases_path = sys.argv[1]
    root = os.path.dirname(os.path.abspath(cases_path))
    with open(cases_path) as f:
        cases = json.load(f)["cases"]
    failed = 0
    if keras.backend.backend() != "tensorflow" and any(map(reads_text, cases)):
        text_path = cases_path + ".text.json"
        with open(text_path, "w") as f:
            json.dump({"cases": [c for c in cases if reads_text(c)]}, f)
        env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
        failed += subprocess.run([sys.executable, __file__, text_path], env=env).returncode != 0
        cases = [c for c in cases if not reads_text(c)]
        if not cases:
            sys.exit(1 if failed else 0)
    for case in cases:
        try:
            worst, model = run(case, root)
            print(f"ok   {case['file']}: Keras {keras.__version__} ({keras.backend.backend()} backend) loads it as "
                  f"{type(model).__name__} '{model.name}', {model.count_params()} parameters, same outputs "
                  f"(max diff {worst:.1e})")
        except Exception as e:  # report every case, then fail
            failed += 1
            print(f"FAIL {case['file']}: {type(e).__name__}: {e}")
    print(f"{len(cases) - failed} of {len(cases)} files passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Opens `.keras` files that Rill wrote with Keras 3 itself and compares its predictions with
Rill's.

    KERAS_BACKEND=numpy python tools/check_keras.py CASES.json

CASES.json (written by crates/rill/tests/keras_files.rs) lists cases:
    {"cases": [{"file": "mlp.keras", "inputs": {"name": {"shape": [...], "data": [...]}},
                "outputs": [{"name": "...", "shape": [...], "data": [...]}]}]}
Each file must load with `keras.saving.load_model` and predict Rill's outputs within 1e-5
(relative to each output's scale). Prints one line per case; exits 1 if any case fails.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")
import keras  # noqa: E402
import numpy as np  # noqa: E402


def run(case, root):
    model = keras.saving.load_model(os.path.join(root, case["file"]), compile=False)
    names = [i.name for i in model.inputs]
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


def main():
    cases_path = sys.argv[1]
    root = os.path.dirname(os.path.abspath(cases_path))
    with open(cases_path) as f:
        cases = json.load(f)["cases"]
    failed = 0
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

"""Runs ONNX files that Rill exported through the `onnx` checker and onnxruntime.

    python tools/check_onnx.py CASES.json

CASES.json (written by crates/rill-onnx/tests/onnxruntime.rs) lists cases:
    {"cases": [{"file": "dense.onnx", "rtol": 1e-5, "atol": 1e-6,
                "inputs": {"name": {"shape": [...], "data": [...]}},
                "outputs": [{"name": "...", "shape": [...], "data": [...]}]}]}
Each file must pass `onnx.checker.check_model(full_check=True)` and onnxruntime's outputs must
equal Rill's (the `outputs`) within the tolerances. Prints one line per case; exits 1 if any
case fails.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def run(case, root):
    path = os.path.join(root, case["file"])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {
        name: np.asarray(v["data"], dtype=np.float32).reshape(v["shape"])
        for name, v in case["inputs"].items()
    }
    names = [o["name"] for o in case["outputs"]]
    got = session.run(names, feeds)
    worst = 0.0
    for want, have in zip(case["outputs"], got):
        want_arr = np.asarray(want["data"], dtype=np.float32).reshape(want["shape"])
        if have.shape != want_arr.shape:
            raise AssertionError(f"output {want['name']}: shape {have.shape}, Rill {want_arr.shape}")
        np.testing.assert_allclose(have, want_arr, rtol=case.get("rtol", 1e-5), atol=case.get("atol", 1e-6),
                                   err_msg=f"output {want['name']}")
        denom = np.maximum(np.abs(want_arr), 1e-6)
        worst = max(worst, float(np.max(np.abs(have - want_arr) / denom)))
    return worst


def main():
    cases_path = sys.argv[1]
    root = os.path.dirname(os.path.abspath(cases_path))
    with open(cases_path) as f:
        cases = json.load(f)["cases"]
    failed = 0
    for case in cases:
        try:
            worst = run(case, root)
            print(f"ok   {case['file']}: checker passed, onnxruntime {ort.__version__} matches (max rel. diff {worst:.2e})")
        except Exception as e:  # report every case, then fail
            failed += 1
            print(f"FAIL {case['file']}: {type(e).__name__}: {e}")
    print(f"{len(cases) - failed} of {len(cases)} files passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

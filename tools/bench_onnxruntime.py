"""Times onnxruntime on an ONNX file the way `cargo bench -p rill --bench onnx` times Rill:
10,000 random samples predicted in batches of 256, 5 runs after a warm-up, min and median.

    python tools/bench_onnxruntime.py out/bench/tutorial_cnn.onnx [--threads N]
"""
import argparse
import time

import numpy as np
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime's default)")
    a = p.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = a.threads
    session = ort.InferenceSession(a.model, options, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    shape = [10_000] + list(inp.shape[1:])
    x = np.random.default_rng(2).random(shape, dtype=np.float32)

    def predict():
        for i in range(0, len(x), 256):
            session.run(None, {inp.name: x[i:i + 256]})

    predict()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        predict()
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"onnxruntime {ort.__version__}: min {times[0]:.3f} s  median {times[2]:.3f} s")


if __name__ == "__main__":
    main()

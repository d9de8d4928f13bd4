"""What the Python workers share: options, the Fashion-MNIST files, timing and the JSON line."""

import argparse
import gzip
import json
import os
import time

import numpy as np


def options():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", choices=["mlp", "cnn", "predict", "latency", "gemm", "tta"], required=True)
    p.add_argument("--data", default="data/fashion-mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=0, help="CNN: steps per epoch (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1000)
    p.add_argument("--target", type=float, default=0.93, help="tta: the test accuracy to reach")
    p.add_argument("--recipe-epochs", type=int, default=None, help="tta: epochs instead of the recipe's")
    p.add_argument("--keras", choices=["tensorflow", "rill"], default="tensorflow",
                   help="the Keras worker's framework: TensorFlow, or Rill's Python package")
    return p.parse_args()


def threads():
    """Both cores, as every framework in the comparison is given."""
    return int(os.environ.get("BENCH_THREADS", "2"))


def _idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def fashion_mnist(directory):
    """Train and test images scaled to [0, 1] as float32 [N, 28, 28], labels as int64."""
    load = lambda name, header: _idx(os.path.join(directory, name), header)
    train_x = load("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).astype(np.float32) / 255.0
    test_x = load("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).astype(np.float32) / 255.0
    train_y = load("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    test_y = load("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return train_x, train_y, test_x, test_y


def subset_for_steps(x, y, steps, batch, seed):
    """The CNN's shortened epoch: `steps` batches' worth of shuffled examples."""
    if steps == 0:
        return x, y
    idx = np.random.default_rng(seed).permutation(len(y))[: steps * batch]
    return x[idx], y[idx]


def time_calls(n, f):
    for _ in range(min(n, 20)):
        f()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return sorted(times)


def accuracy(logits, labels):
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def report(framework, version, workload, **fields):
    print(json.dumps({"framework": framework, "version": version, "workload": workload, **fields}), flush=True)

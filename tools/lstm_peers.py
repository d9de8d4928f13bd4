"""The LSTM text classifier of `cargo bench -p rill-nn --bench recurrent` in PyTorch or
TensorFlow, timed the same way, until `bench/compare` has the `lstm` workload:
Embedding(10,000, 64) → LSTM(64) over 200 tokens → Dense(1), binary cross-entropy from logits,
Adam, batch 64, random token ids; two threads.

    bench/.venv/bin/python tools/lstm_peers.py torch
    bench/.venv/bin/python tools/lstm_peers.py tensorflow

Prints the median and minimum of 10 training steps (after 3 for warm-up) and of 5 predictions
of 1,000 sequences (after one).
"""
import os
import sys
import time

import numpy as np

THREADS = 2


def timed(f, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e3, times[0] * 1e3


def torch_model():
    import torch
    from torch import nn

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10_000, 64)
            self.lstm = nn.LSTM(64, 64, batch_first=True)
            self.dense = nn.Linear(64, 1)

        def forward(self, x):
            y, _ = self.lstm(self.embedding(x))
            return self.dense(y[:, -1])

    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters())
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.randint(0, 10_000, (64, 200))
    y = torch.randint(0, 2, (64, 1)).float()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    many = torch.randint(0, 10_000, (1000, 200))

    def predict():
        with torch.inference_mode():
            model(many)

    return f"torch {torch.__version__}", step, predict


def tensorflow_model():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((200,)), keras.layers.Embedding(10_000, 64),
                              keras.layers.LSTM(64), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10_000, (64, 200)).astype("float32")
    y = rng.integers(0, 2, (64, 1)).astype("float32")
    many = rng.integers(0, 10_000, (1000, 200)).astype("float32")
    return (f"tensorflow {tf.__version__}", lambda: model.train_on_batch(x, y),
            lambda: model.predict(many, batch_size=1000, verbose=0))


def main():
    name, step, predict = {"torch": torch_model, "tensorflow": tensorflow_model}[sys.argv[1]]()
    for _ in range(3):
        step()
    predict()
    print(f"{name}")
    print("| train step, batch 64 × 200 tokens | %.1f ms | %.1f ms | 10 |" % timed(step, 10))
    print("| predict 1,000 sequences of 200 tokens | %.1f ms | %.1f ms | 5 |" % timed(predict, 5))


if __name__ == "__main__":
    main()

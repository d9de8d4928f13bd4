"""The benchmark workloads in PyTorch, written as PyTorch's own tutorials do."""

import time

import numpy as np
import torch
from torch import nn

import common

o = common.options()
torch.set_num_threads(common.threads())
torch.manual_seed(o.seed)
VERSION = f"torch {torch.__version__}"


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


train_x, train_y, test_x, test_y = common.fashion_mnist(o.data)
train_x, test_x = train_x.reshape(-1, 784), test_x.reshape(-1, 784)
if o.workload == "gemm":
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    times = common.time_calls(o.repeats, lambda: torch.mm(a, b))
    common.report("pytorch", VERSION, o.workload, seconds=times, gflops=2 * 2048**3 / times[0] / 1e9)
elif o.workload in ("mlp", "cnn"):
    model, batch = (mlp(), 32) if o.workload == "mlp" else (cnn(), 64)
    x, y = common.subset_for_steps(train_x, train_y, o.steps, batch, o.seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(o.epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(y)).split(batch):
            loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.inference_mode():
        logits = model(torch.from_numpy(test_x)).numpy()
    common.report("pytorch", VERSION, o.workload, epoch_seconds=seconds,
                  steps_per_epoch=-(-len(y) // batch), test_accuracy=common.accuracy(logits, test_y))
else:
    model = mlp().eval()
    rows = torch.from_numpy(test_x if o.workload == "predict" else test_x[:1].copy())

    def call():
        with torch.inference_mode():
            model(rows).numpy()

    common.report("pytorch", VERSION, o.workload, seconds=common.time_calls(o.repeats, call))

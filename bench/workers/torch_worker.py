"""The benchmark workloads in PyTorch, written as PyTorch's own tutorials do."""

import sys
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


def conv_bn(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.1)]


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(c, c), nn.ReLU(), *conv_bn(c, c))

    def forward(self, x):
        return torch.relu(x + self.body(x))


def resnet():
    """rill::zoo::fashion_mnist_resnet: the same layers, PyTorch's default initialisation."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        *conv_bn(1, 32), nn.ReLU(), nn.MaxPool2d(2),
        *conv_bn(32, 64), nn.ReLU(), nn.MaxPool2d(2),
        Residual(64),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )


# rill::zoo::Recipe::fashion_mnist_fast, the same numbers.
RECIPE = dict(epochs=7, batch=128, peak_lr=4e-3, warmup=0.2, weight_decay=5e-4, smoothing=0.1, pad=0)


def augmented(x, rng, pad):
    """Each image shifted by up to `pad` pixels (a random crop of it padded with zeros) and
    mirrored left-right at random: Rill's `random_crop_with_padding` and `random_flip_left_right`."""
    n = len(x)
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    dy, dx = rng.integers(0, 2 * pad + 1, n), rng.integers(0, 2 * pad + 1, n)
    rows = dy[:, None] + np.arange(28)[None, :]
    cols = dx[:, None] + np.arange(28)[None, :]
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    return out


def time_to_accuracy():
    """Trains by the recipe, evaluating the test set after each epoch (not timed, as DAWNBench
    counts), until the target accuracy or the recipe's last epoch."""
    r = dict(RECIPE)
    if o.recipe_epochs:
        r["epochs"] = o.recipe_epochs
    model = resnet()
    steps = -(-len(train_y) // r["batch"]) * r["epochs"]
    warmup = int(steps * r["warmup"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=r["peak_lr"], weight_decay=r["weight_decay"], eps=1e-7)

    def one_cycle(step):
        if step < warmup:
            return step / warmup
        return 0.5 * (1 + np.cos(np.pi * min(step - warmup, steps - warmup) / max(steps - warmup, 1)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, one_cycle)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=r["smoothing"])
    rng = np.random.default_rng(o.seed)
    y_all = torch.from_numpy(train_y)
    tx = torch.from_numpy(test_x.reshape(-1, 784))
    seconds, accuracies = [], []
    for _ in range(r["epochs"]):
        start = time.perf_counter()
        model.train()
        x_all = torch.from_numpy(augmented(train_x, rng, r["pad"]).reshape(-1, 784))
        for idx in torch.randperm(len(y_all)).split(r["batch"]):
            loss = loss_fn(model(x_all[idx]), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        seconds.append(time.perf_counter() - start)
        model.eval()
        with torch.inference_mode():
            accuracies.append(common.accuracy(model(tx).numpy(), test_y))
        print(f"epoch train {seconds[-1]:.1f} s, test accuracy {accuracies[-1]:.4f}", file=sys.stderr, flush=True)
        if accuracies[-1] >= o.target:
            break
    reached = next((i for i, a in enumerate(accuracies) if a >= o.target), None)
    common.report("pytorch", VERSION, o.workload, epoch_seconds=seconds, test_accuracy_per_epoch=accuracies,
                  target=o.target, recipe_epochs=r["epochs"],
                  seconds_to_target=None if reached is None else sum(seconds[: reached + 1]))


train_x, train_y, test_x, test_y = common.fashion_mnist(o.data)
if o.workload == "tta":
    time_to_accuracy()
    sys.exit(0)
train_x, test_x = train_x.reshape(-1, 784), test_x.reshape(-1, 784)
if o.workload == "gemm":
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    times = common.time_calls(o.repeats, lambda: torch.mm(a, b))
    # The tutorial MLP's first layer at batch 32: forward, weight gradient, input gradient (the
    # transposes as views, as autograd passes them); the names match Rill's worker.
    x, w, dy = torch.rand(32, 784), torch.rand(784, 128), torch.rand(32, 128)
    shapes = {}
    for name, p, q in (("x·w 32×784×128", x, w), ("xᵀ·dy 784×32×128", x.t(), dy),
                       ("dy·wᵀ 32×128×784", dy, w.t())):
        t = common.time_calls(o.repeats * 20, lambda: torch.mm(p, q))
        median = t[len(t) // 2]
        shapes[name] = {"seconds": median, "gflops": 2 * 32 * 784 * 128 / median / 1e9}
    common.report("pytorch", VERSION, o.workload, seconds=times, gflops=2 * 2048**3 / times[0] / 1e9,
                  shapes=shapes)
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

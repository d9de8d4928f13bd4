"""Builds the PyTorch-made ONNX fixtures that crates/rill-onnx/tests/import.rs reads.

    python tools/make_onnx_fixtures_torch.py   # needs torch, onnx, onnxruntime

Each model is exported with torch.onnx.export (a dynamic batch axis) to
crates/rill-onnx/tests/fixtures/NAME.onnx, and run by onnxruntime on fixed inputs; inputs and
onnxruntime's outputs go to NAME.json. Rill's importer must reproduce those outputs.
"""
import json
import os

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rill-onnx", "tests", "fixtures")
torch.manual_seed(0)


class Mlp(nn.Module):
    """The tutorial's MLP."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(self.flatten(x))))


class TutorialCnn(nn.Module):
    """The tutorial CNN's shape (narrower, to keep the fixture small); flattens with
    x.view(x.size(0), -1), which torch writes as Shape → Gather → Unsqueeze → Concat → Reshape."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(self.drop(F.relu(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    """A small ResNet: stem with a padded 3×3 max pool, two basic blocks (one downsampling
    through a 1×1 convolution), global average pooling."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class Separable(nn.Module):
    """A MobileNet-style inverted residual block (pointwise, depthwise with ReLU6, pointwise)
    followed by ops of every remaining kind: padding, average pooling counting pads, concat,
    transpose, GELU, LayerNorm, normalisation by constants, means, softmaxes."""

    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(4, 12, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(12)
        self.depthwise = nn.Conv2d(12, 12, 3, 1, 1, groups=12, bias=False)
        self.bn2 = nn.BatchNorm2d(12)
        self.project = nn.Conv2d(12, 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4)
        self.dilated = nn.Conv2d(8, 6, 3, stride=2, dilation=2, padding=(1, 2))
        self.norm = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 6)
        self.head = nn.Linear(6, 3)
        self.register_buffer("mean", torch.tensor([0.1, 0.2, 0.3, 0.4]).view(1, 4, 1, 1))

    def forward(self, x):
        x = (x - self.mean) / 0.5
        y = F.relu6(self.bn1(self.expand(x)))
        y = F.relu6(self.bn2(self.depthwise(y)))
        y = self.bn3(self.project(y)) + x
        y = torch.cat([y, torch.sigmoid(x)], dim=1)
        y = F.pad(y, (1, 0, 0, 1))
        y = F.avg_pool2d(y, 2, stride=1, padding=1, count_include_pad=True)
        y = F.leaky_relu(self.dilated(y), 0.1)
        y = y.permute(0, 2, 3, 1)  # NHWC for LayerNorm over channels
        y = F.gelu(self.fc(self.norm(y)))
        y = torch.tanh(y).mean(dim=(1, 2))
        return F.log_softmax(self.head(y), dim=-1), F.softmax(y.unsqueeze(1), dim=2).squeeze(1)


class Bag(nn.Module):
    """An embedding of integer ids, averaged."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(dim=1))


class Recurrent(nn.Module):
    """PyTorch's recurrent layers as people use them: an LSTM's last output, a GRU's every
    step averaged, and an RNN's last hidden state (h_n), each batch-first."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 7, batch_first=True)
        self.gru = nn.GRU(7, 6, batch_first=True)
        self.rnn = nn.RNN(5, 4, batch_first=True)
        self.fc = nn.Linear(7 + 6 + 4, 3)

    def forward(self, x):
        seq, _ = self.lstm(x)
        last = seq[:, -1]
        every, _ = self.gru(seq)
        _, h_n = self.rnn(x)
        return self.fc(torch.cat([last, every.mean(dim=1), h_n[0]], dim=1))


def export(name, model, inputs, opset=17, names=("input",), out_names=None):
    model.eval()
    # Batch statistics other than zeros and ones, so BatchNormalization does something.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    path = os.path.join(OUT, name + ".onnx")
    out_names = list(out_names or ["output"])
    dynamic = {n: {0: "batch"} for n in list(names) + out_names}
    torch.onnx.export(model, tuple(inputs), path, input_names=list(names), output_names=out_names,
                      dynamic_axes=dynamic, opset_version=opset, dynamo=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {n: t.numpy() for n, t in zip(names, inputs)}
    outs = session.run(out_names, feeds)
    with torch.no_grad():
        ref = model(*inputs)
    ref = ref if isinstance(ref, tuple) else (ref,)
    for o, r in zip(outs, ref):  # onnxruntime agrees with PyTorch itself
        np.testing.assert_allclose(o, r.numpy(), rtol=1e-4, atol=1e-5)
    record = {
        "producer": f"torch {torch.__version__}, onnxruntime {ort.__version__}, opset {opset}",
        "inputs": {n: {"shape": list(t.shape), "dtype": str(t.numpy().dtype), "data": t.numpy().ravel().tolist()}
                   for n, t in zip(names, inputs)},
        "outputs": [{"name": n, "shape": list(o.shape), "data": o.ravel().tolist()} for n, o in zip(out_names, outs)],
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(record, f)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    import sys

    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["recurrent"]:  # only the newest fixture, without rewriting the rest
        export("torch_recurrent", Recurrent(), [torch.randn(3, 9, 5)])
        return
    export("torch_mlp", Mlp(), [torch.rand(3, 28, 28)])
    export("torch_separable_opset11", Separable(), [torch.rand(2, 4, 9, 9)], opset=11, out_names=["log_probs", "weights"])
    export("torch_cnn", TutorialCnn(), [torch.rand(2, 1, 28, 28)])
    export("torch_resnet", ResNet(), [torch.rand(2, 3, 16, 16)])
    export("torch_separable", Separable(), [torch.rand(2, 4, 9, 9)], out_names=["log_probs", "weights"])
    export("torch_separable_opset20", Separable(), [torch.rand(2, 4, 9, 9)], opset=20, out_names=["log_probs", "weights"])
    export("torch_embedding", Bag(), [torch.randint(0, 30, (3, 5))], names=("ids",))
    export("torch_recurrent", Recurrent(), [torch.randn(3, 9, 5)])


if __name__ == "__main__":
    main()

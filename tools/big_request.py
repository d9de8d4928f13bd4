#!/usr/bin/env python3
"""Sends `rill serve` the largest predict request its default body limit accepts — Fashion-MNIST
test images until the JSON is just under 16 MiB — and prints the time it took and the server's
peak memory (VmHWM from /proc) before and after.

    rill serve --model-base-path out/loadtest-cnn --model-name fashion --port 8613 &
    python3 tools/big_request.py --port 8613 --pid $!            # two-decimal pixel values
    python3 tools/big_request.py --port 8613 --pid $! --zeros    # all-zero images: the most instances
"""
import argparse
import gzip
import json
import time
import urllib.error
import urllib.request


def peak(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
    return -1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--model", default="fashion")
    p.add_argument("--zeros", action="store_true")
    p.add_argument("--limit", type=int, default=16 * 1024 * 1024)
    a = p.parse_args()
    raw = gzip.open("data/fashion-mnist/t10k-images-idx3-ubyte.gz").read()[16:]
    images, size, i = [], 20, 0
    while True:
        base = (i % 10000) * 784
        img = [[0 if a.zeros else round(raw[base + r * 28 + c] / 255, 2) for c in range(28)]
               for r in range(28)]
        s = len(json.dumps(img)) + 2
        if size + s > a.limit - 100:
            break
        images.append(img)
        size += s
        i += 1
    body = json.dumps({"instances": images}).encode()
    print(f"{len(images)} instances, {len(body)} bytes; server peak before: {peak(a.pid)} MB")
    t = time.time()
    url = f"http://127.0.0.1:{a.port}/v1/models/{a.model}:predict"
    try:
        r = urllib.request.urlopen(urllib.request.Request(
            url, body, {"content-type": "application/json"}), timeout=600)
        print(f"200, {len(json.load(r)['predictions'])} predictions", end="")
    except urllib.error.HTTPError as e:
        print(e.code, e.read()[:200], end="")
    print(f" in {time.time() - t:.2f} s; server peak after: {peak(a.pid)} MB")


if __name__ == "__main__":
    main()

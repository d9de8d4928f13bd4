#!/usr/bin/env python3
"""Queries `rill serve --grpc-port` with TF Serving's own Python client.

Uses the stubs of the `tensorflow-serving-api` package (which needs TensorFlow; not part of the
test environment, so run it by hand):

    python -m venv /tmp/tfs && /tmp/tfs/bin/pip install tensorflow-cpu tensorflow-serving-api
    rill train --model cnn -o /tmp/cnn.rill
    rill serve /tmp/cnn.rill --model-name fashion --grpc-port 8500 &
    /tmp/tfs/bin/python tools/grpc_client.py --grpc localhost:8500 --rest localhost:8501

Calls GetModelStatus and GetModelMetadata, predicts the first --count test images over gRPC
(as the TF Serving tutorial's client does, 28×28×1 float32 tensors), prints the accuracy, and
checks that the REST API gives the same outputs.
"""
import argparse
import gzip
import json
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--grpc", default="localhost:8500")
    p.add_argument("--rest", default="localhost:8501")
    p.add_argument("--model", default="fashion")
    p.add_argument("--data", default="data/fashion-mnist")
    p.add_argument("--count", type=int, default=1000)
    a = p.parse_args()

    images = idx(f"{a.data}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1)[: a.count]
    labels = idx(f"{a.data}/t10k-labels-idx1-ubyte.gz", 8)[: a.count]
    x = (images / 255.0).astype(np.float32)

    channel = grpc.insecure_channel(a.grpc)
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": a.model}), timeout=10)
    print("GetModelStatus:", [(s.version, s.state) for s in status.model_version_status])

    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    meta_req = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    meta_req.model_spec.name = a.model
    meta = stub.GetModelMetadata(meta_req, timeout=10)
    sigs = get_model_metadata_pb2.SignatureDefMap()
    meta.metadata["signature_def"].Unpack(sigs)
    sig = sigs.signature_def["serving_default"]
    input_name = next(iter(sig.inputs))
    output_name = next(iter(sig.outputs))
    print("GetModelMetadata: inputs", list(sig.inputs), "outputs", list(sig.outputs))

    req = predict_pb2.PredictRequest()
    req.model_spec.name = a.model
    req.model_spec.signature_name = "serving_default"
    req.inputs[input_name].CopyFrom(tf.make_tensor_proto(x))
    res = stub.Predict(req, timeout=60)
    out = tf.make_ndarray(res.outputs[output_name])
    accuracy = float(np.mean(np.argmax(out, axis=1) == labels))
    print(f"Predict: {out.shape} outputs, version {res.model_spec.version.value}, "
          f"accuracy on {a.count} test images {accuracy:.4f}")

    body = json.dumps({"instances": x[:16].tolist()}).encode()
    rest = urllib.request.urlopen(urllib.request.Request(
        f"http://{a.rest}/v1/models/{a.model}:predict", body,
        {"content-type": "application/json"}), timeout=30)
    rest_out = np.array(json.load(rest)["predictions"], np.float32)
    diff = float(np.max(np.abs(rest_out - out[:16])))
    print(f"REST and gRPC outputs differ by at most {diff:.2e}")
    assert diff < 1e-5, diff


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the model-file fixtures of Tests/SparrowIRTests (python3 + numpy only).

    python3 Tests/Fixtures/models/make_fixtures.py

python_dtypes.safetensors
    Written here by hand, the way other tools write safetensors (header keys and
    data in different orders, no padding convention, metadata), with F32, F16, BF16
    and F64 tensors whose values are exactly known (see SafetensorsFixtureTests).

torch_cnn.json, torch_cnn.pt.safetensors, torch_cnn.safetensors, torch_cnn.io.safetensors
    A small CNN with batch-norms, a depthwise and a grouped conv, in PyTorch layout
    (.pt, with the int64 num_batches_tracked counters PyTorch saves), converted to
    Sparrow layout by tools/torch_layout.py, and an input (HWC) with the logits that
    an independent NCHW numpy forward pass (below) computes in float64.
"""

import json
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.dont_write_bytecode = True  # no __pycache__ in tools/
import torch_layout  # noqa: E402


def write_dtypes_fixture(path):
    f32 = np.array([[1.5, -2.0, 0.0], [3.25, 1e-3, -7.0]], dtype="<f4")
    f16 = np.array([0.5, -1.25, 65504.0, 2.0 ** -24], dtype="<f2")  # max and smallest subnormal
    bf16_values = np.array([[1.0, -2.5], [3.140625, 0.0078125]], dtype="<f4")
    bf16 = (bf16_values.view("<u4") >> 16).astype("<u2")  # exact: the values fit in 8 mantissa bits
    f64 = np.array([0.1, -1e-3, 12345.678], dtype="<f8")
    # Data order differs from both header order and name order on purpose.
    blobs = [("f64", "F64", f64), ("bf16", "BF16", bf16), ("f32", "F32", f32), ("f16", "F16", f16)]
    header, data = {}, b""
    for name, dtype, a in blobs:
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    ordered = {"__metadata__": {"source": "numpy"}}
    for name in ["f32", "f16", "bf16", "f64"]:
        ordered[name] = header[name]
    text = json.dumps(ordered).encode("utf-8")  # with spaces, unpadded
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


ARCH = {
    "format": "sparrow-model", "version": 1, "name": "torch-cnn",
    "input": {"name": "input", "shape": [8, 8, 3]},
    "layers": [
        {"name": "features.0", "op": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "bias": False},
        {"name": "features.1", "op": "batchnorm", "eps": 1e-5},
        {"name": "features.2", "op": "relu"},
        {"name": "features.3", "op": "maxpool2d", "kernel": 2},
        {"name": "features.4", "op": "depthwise_conv2d", "kernel": 3, "padding": 1},
        {"name": "features.5", "op": "batchnorm", "eps": 1e-3},
        {"name": "features.6", "op": "relu6"},
        {"name": "features.7", "op": "conv2d", "out_channels": 4, "kernel": [1, 1], "groups": 2},
        {"name": "flatten", "op": "flatten"},
        {"name": "classifier", "op": "linear", "out_features": 5},
    ],
    "output": "classifier",
    "loss": "softmax_cross_entropy",
}


def conv_nchw(x, w, b, stride, pad, groups):
    """x [C,H,W], w [Cout, Cin/groups, Kh, Kw]; pad (top, left, bottom, right)."""
    c, h, wd = x.shape
    cout, cpg, kh, kw = w.shape
    xp = np.zeros((c, h + pad[0] + pad[2], wd + pad[1] + pad[3]))
    xp[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    ho = (xp.shape[1] - kh) // stride + 1
    wo = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((cout, ho, wo))
    opg = cout // groups
    for o in range(cout):
        g = o // opg
        for i in range(ho):
            for j in range(wo):
                patch = xp[g * cpg:(g + 1) * cpg, i * stride:i * stride + kh, j * stride:j * stride + kw]
                y[o, i, j] = np.sum(patch * w[o]) + (b[o] if b is not None else 0.0)
    return y


def batchnorm(x, t, name, eps):
    g, b = t[name + ".weight"], t[name + ".bias"]
    m, v = t[name + ".running_mean"], t[name + ".running_var"]
    return (x - m[:, None, None]) / np.sqrt(v[:, None, None] + eps) * g[:, None, None] + b[:, None, None]


def forward(t, image_hwc):
    x = image_hwc.astype(np.float64).transpose(2, 0, 1)
    d = {k: v.astype(np.float64) for k, v in t.items() if v.dtype != np.int64}
    x = conv_nchw(x, d["features.0.weight"], None, 1, (1, 1, 1, 1), 1)
    x = np.maximum(batchnorm(x, d, "features.1", 1e-5), 0)
    c, h, w = x.shape
    x = x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
    x = conv_nchw(x, d["features.4.weight"], d["features.4.bias"], 1, (1, 1, 1, 1), 6)
    x = np.clip(batchnorm(x, d, "features.5", 1e-3), 0, 6)
    x = conv_nchw(x, d["features.7.weight"], d["features.7.bias"], 1, (0, 0, 0, 0), 2)
    x = x.reshape(-1)  # PyTorch flattens CHW
    return d["classifier.weight"] @ x + d["classifier.bias"]


def write_torch_cnn():
    rng = np.random.default_rng(2024)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32) * 0.5  # noqa: E731
    t = {"features.0.weight": f32(6, 3, 3, 3),
         "features.4.weight": f32(6, 1, 3, 3), "features.4.bias": f32(6),
         "features.7.weight": f32(4, 3, 1, 1), "features.7.bias": f32(4),
         "classifier.weight": f32(5, 64), "classifier.bias": f32(5)}
    for bn in ["features.1", "features.5"]:
        t[bn + ".weight"] = (1 + 0.3 * rng.standard_normal(6)).astype(np.float32)
        t[bn + ".bias"] = f32(6)
        t[bn + ".running_mean"] = f32(6)
        t[bn + ".running_var"] = rng.uniform(0.5, 2.0, 6).astype(np.float32)
        t[bn + ".num_batches_tracked"] = np.array(100, dtype=np.int64)

    arch_path = os.path.join(HERE, "torch_cnn.json")
    with open(arch_path, "w") as f:
        json.dump(ARCH, f, indent=2)
        f.write("\n")
    pt_path = os.path.join(HERE, "torch_cnn.pt.safetensors")
    torch_layout.write_safetensors(pt_path, t, {"format": "pt"})
    subprocess.check_call([sys.executable, os.path.join(ROOT, "tools", "torch_layout.py"), "to-sparrow",
                           "--arch", arch_path, pt_path, os.path.join(HERE, "torch_cnn.safetensors")])

    image = rng.uniform(-1, 1, (8, 8, 3)).astype(np.float32)
    logits = forward(t, image)
    torch_layout.write_safetensors(os.path.join(HERE, "torch_cnn.io.safetensors"),
                                   {"input": image, "logits": logits.astype(np.float32)}, {"format": "sparrow"})


if __name__ == "__main__":
    write_dtypes_fixture(os.path.join(HERE, "python_dtypes.safetensors"))
    write_torch_cnn()
    print("fixtures written to", HERE)

#!/usr/bin/env python3
"""Writes Tests/Fixtures/kernels_conv_reference.json: seeded random conv2d cases
with numpy float64 results computed from the definitions, checked by
Tests/CSparrowKernelsTests/FixtureTests.swift against the C kernels.

This is a second reference, independent of both the C kernels and the Swift
fp64 reference. Layout is HWC, batch 1; weights [out_c][k_h][k_w][in_c/groups],
depthwise (groups == in_c == out_c) [k_h][k_w][c]. Inputs are float32 values
(stored exactly); results are float64.

Usage: python3 tools/reference_kernels.py   (python3 + numpy only)
"""
import json
import os

import numpy as np

CASES = [
    # name, seed, in (h, w, c), out_c, kernel (h, w), stride (h, w), padding (top, left, bottom, right), groups
    ("stride 2, asymmetric padding", 101, (7, 6, 3), 4, (3, 3), (2, 2), (1, 0, 1, 1), 1),
    ("depthwise 3x3 pad 1", 202, (6, 5, 8), 8, (3, 3), (1, 1), (1, 1, 1, 1), 8),
    ("non-square 3x2 kernel, stride (1, 2)", 303, (5, 7, 2), 3, (3, 2), (1, 2), (1, 0, 1, 1), 1),
    ("grouped 2, 1x1 and pad 0", 404, (4, 3, 6), 4, (1, 1), (1, 1), (0, 0, 0, 0), 2),
]


def out_size(n, k, stride, pad_a, pad_b):
    return (n + pad_a + pad_b - k) // stride + 1


def weights_as_ohwi(w, depthwise, c):
    """The ordinary [out_c][k_h][k_w][in_c/groups] view of the stored weights."""
    if depthwise:  # stored [k_h][k_w][c] -> [c][k_h][k_w][1]
        return np.transpose(w, (2, 0, 1))[..., None]
    return w


def conv_reference(x, w, b, dy, kernel, stride, pad, groups, out_hw):
    """Forward, input gradient, weight gradient, bias gradient (float64)."""
    (kh_n, kw_n), (sh, sw), (pt, pl, pb, pr) = kernel, stride, pad
    in_h, in_w, in_c = x.shape
    out_h, out_w = out_hw
    out_c = w.shape[0]
    icg, ocg = in_c // groups, out_c // groups
    xp = np.zeros((in_h + pt + pb + kh_n, in_w + pl + pr + kw_n, in_c))
    xp[pt:pt + in_h, pl:pl + in_w, :] = x
    y = np.tile(b, (out_h, out_w, 1)).astype(np.float64)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for g in range(groups):
        ics, ocs = slice(g * icg, (g + 1) * icg), slice(g * ocg, (g + 1) * ocg)
        for kh in range(kh_n):
            for kw in range(kw_n):
                rows = slice(kh, kh + sh * (out_h - 1) + 1, sh)
                cols = slice(kw, kw + sw * (out_w - 1) + 1, sw)
                patch = xp[rows, cols, ics]                       # [out_h][out_w][icg]
                wk = w[ocs, kh, kw, :]                            # [ocg][icg]
                y[:, :, ocs] += patch @ wk.T
                dxp[rows, cols, ics] += dy[:, :, ocs] @ wk
                dw[ocs, kh, kw, :] += np.einsum("hwo,hwi->oi", dy[:, :, ocs], patch)
    dx = dxp[pt:pt + in_h, pl:pl + in_w, :]
    db = dy.sum(axis=(0, 1))
    return y, dx, dw, db


def make_case(name, seed, in_shape, out_c, kernel, stride, pad, groups):
    rng = np.random.default_rng(seed)
    in_h, in_w, in_c = in_shape
    out_h = out_size(in_h, kernel[0], stride[0], pad[0], pad[2])
    out_w = out_size(in_w, kernel[1], stride[1], pad[1], pad[3])
    depthwise = groups == in_c == out_c
    w_shape = (kernel[0], kernel[1], in_c) if depthwise else (out_c, kernel[0], kernel[1], in_c // groups)

    def f32(shape):
        return rng.uniform(-1, 1, size=shape).astype(np.float32).astype(np.float64)

    x, w, b, dy = f32(in_shape), f32(w_shape), f32(out_c), f32((out_h, out_w, out_c))
    y, dx, dw, db = conv_reference(x, weights_as_ohwi(w, depthwise, in_c), b, dy, kernel, stride, pad,
                                   groups, (out_h, out_w))
    if depthwise:  # back to the stored [k_h][k_w][c]
        dw = np.transpose(dw[..., 0], (1, 2, 0))
    shape = dict(in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
                 k_h=kernel[0], k_w=kernel[1], stride_h=stride[0], stride_w=stride[1],
                 pad_top=pad[0], pad_left=pad[1], groups=groups)
    flat = lambda a: [float(v) for v in np.asarray(a).reshape(-1)]
    return dict(name=name, seed=seed, shape=shape, x=flat(x), w=flat(w), b=flat(b), dy=flat(dy),
                y=flat(y), dx=flat(dx), dw=flat(dw), db=flat(db))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "Tests", "Fixtures", "kernels_conv_reference.json")
    doc = dict(
        generator="tools/reference_kernels.py",
        description="conv2d forward/backward references in float64 from numpy; inputs are float32 values",
        cases=[make_case(*c) for c in CASES],
    )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Convert safetensors weights between PyTorch layout and Sparrow layout.

    python3 tools/torch_layout.py to-sparrow --arch model.json torch.safetensors sparrow.safetensors
    python3 tools/torch_layout.py to-torch   --arch model.json sparrow.safetensors torch.safetensors

Needs only python3 and numpy (no torch import): safetensors is read and written
here directly. The architecture JSON (docs/model-format.md) tells which tensors
to permute:

  conv2d weight      PyTorch [Cout, Cin/groups, Kh, Kw]  <->  Sparrow [Cout, Kh, Kw, Cin/groups]
  depthwise weight   PyTorch [C, 1, Kh, Kw]              <->  Sparrow [Kh, Kw, C]
  linear weight      [out, in] in both, but a linear that reads a flatten of an
                     image (H, W, C) has its columns reordered from PyTorch's CHW
                     feature order to Sparrow's HWC order
  batch-norm         vectors unchanged; `<bn>.num_batches_tracked` is dropped on the
                     way to Sparrow and restored (as 0) on the way back

Everything is written as F32. The output file is written to a temporary name and
renamed, so a failed run never leaves a half-written file.
"""

import argparse
import json
import os
import struct
import sys
import tempfile

import numpy as np

FLOAT_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16}
OTHER_DTYPES = {"I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
                "U8": np.uint8, "BOOL": np.bool_}


class LayoutError(Exception):
    pass


# ---------------------------------------------------------------------------
# safetensors

def read_safetensors(path):
    """Returns ({name: ndarray}, metadata). BF16 is widened to float32."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise LayoutError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise LayoutError(f"{path}: header length {n} is past the end of the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buffer = data[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = buffer[begin:end]
        shape = tuple(entry["shape"])
        dtype = entry["dtype"]
        if dtype == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        elif dtype in FLOAT_DTYPES:
            array = np.frombuffer(raw, dtype=np.dtype(FLOAT_DTYPES[dtype]).newbyteorder("<"))
        elif dtype in OTHER_DTYPES:
            array = np.frombuffer(raw, dtype=np.dtype(OTHER_DTYPES[dtype]).newbyteorder("<"))
        else:
            raise LayoutError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        tensors[name] = array.reshape(shape).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Writes sorted tensors (float32 unless int64) with an 8-byte aligned header, atomically."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        integer = a.dtype == np.int64
        a = a.astype("<i8" if integer else "<f4")
        raw = a.tobytes(order="C")
        header[name] = {"dtype": "I64" if integer else "F32",
                        "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# ---------------------------------------------------------------------------
# architecture walk: which tensors need which permutation

def _pair(v, default):
    if v is None:
        return default
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _padding(v):
    if v is None:
        return (0, 0, 0, 0)
    if isinstance(v, int):
        return (v, v, v, v)
    if len(v) == 2:
        return (v[0], v[1], v[0], v[1])
    return tuple(v)


def _window_out(shape, layer, stride_default_kernel):
    kh, kw = _pair(layer.get("kernel"), None)
    sh, sw = _pair(layer.get("stride"), (kh, kw) if stride_default_kernel else (1, 1))
    top, left, bottom, right = _padding(layer.get("padding"))
    h, w = shape[0], shape[1]
    return ((h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1), (kh, kw)


def plan(arch):
    """Returns {tensor: rule} for every tensor that changes between layouts.

    Rules: ("conv", kh, kw), ("depthwise", kh, kw), ("linear_chw", h, w, c).
    Also returns the batch-norm layer names and the set of tensor names the
    architecture reads (in Sparrow's naming).
    """
    if arch.get("format") != "sparrow-model":
        raise LayoutError('the architecture JSON has no "format": "sparrow-model"')
    inp = arch["input"]
    shapes = {inp.get("name", "input"): tuple(inp["shape"])}
    # Where a rank-1 value came from, when it is a flattened image: name -> (h, w, c).
    flattened = {}
    rules, batchnorms, expected = {}, [], set()
    previous = inp.get("name", "input")
    for layer in arch["layers"]:
        name, op = layer["name"], layer["op"]
        inputs = layer.get("inputs", [previous])
        x = shapes[inputs[0]]
        if op in ("conv2d", "depthwise_conv2d", "linear"):
            expected.add(name + ".weight")
            if layer.get("bias", True):
                expected.add(name + ".bias")
        if op in ("conv2d", "depthwise_conv2d"):
            (ho, wo), (kh, kw) = _window_out(x, layer, False)
            cin = x[2]
            if op == "depthwise_conv2d":
                cout, groups = cin, cin
            else:
                cout, groups = layer["out_channels"], layer.get("groups", 1)
            depthwise = groups > 1 and groups == cin and groups == cout
            rules[name + ".weight"] = ("depthwise" if depthwise else "conv", kh, kw)
            shapes[name] = (ho, wo, cout)
        elif op == "linear":
            if inputs[0] in flattened:
                rules[name + ".weight"] = ("linear_chw",) + flattened[inputs[0]]
            shapes[name] = (layer["out_features"],)
        elif op in ("maxpool2d", "avgpool2d"):
            (ho, wo), _ = _window_out(x, layer, True)
            shapes[name] = (ho, wo, x[2])
        elif op == "global_avgpool":
            shapes[name] = (x[2],)
        elif op in ("flatten", "reshape"):
            out = (int(np.prod(x)),) if op == "flatten" else tuple(layer["shape"])
            if len(x) == 3 and len(out) == 1:
                flattened[name] = x
            elif len(x) == 3 and op == "reshape":
                print(f"warning: reshape '{name}' of an image: PyTorch reshapes CHW, Sparrow HWC; "
                      "check the layers after it by hand", file=sys.stderr)
            shapes[name] = out
        elif op in ("relu", "relu6", "batchnorm", "add"):
            shapes[name] = x
            # Elementwise ops keep the feature order, so a flatten stays a flatten.
            if inputs[0] in flattened and op != "add":
                flattened[name] = flattened[inputs[0]]
            if op == "batchnorm":
                batchnorms.append(name)
                expected.update(f"{name}.{s}" for s in ("weight", "bias", "running_mean", "running_var"))
        else:
            raise LayoutError(f"layer '{name}': unknown op {op!r}")
        previous = name
    return rules, batchnorms, expected


# ---------------------------------------------------------------------------
# conversion

def to_sparrow(tensors, rules):
    out = {}
    for name, a in tensors.items():
        if name.endswith(".num_batches_tracked"):
            continue
        rule = rules.get(name)
        if rule is None:
            out[name] = a
        elif rule[0] == "conv":
            _expect(name, a, 4, f"[Cout, Cin/groups, {rule[1]}, {rule[2]}]", lambda s: s[2:] == rule[1:3])
            out[name] = a.transpose(0, 2, 3, 1)
        elif rule[0] == "depthwise":
            _expect(name, a, 4, f"[C, 1, {rule[1]}, {rule[2]}]", lambda s: s[1] == 1 and s[2:] == rule[1:3])
            out[name] = a[:, 0].transpose(1, 2, 0)
        else:
            h, w, c = rule[1:]
            _expect(name, a, 2, f"[out, {c * h * w}]", lambda s: s[1] == c * h * w)
            out[name] = a.reshape(a.shape[0], c, h, w).transpose(0, 2, 3, 1).reshape(a.shape[0], -1)
    return out


def to_torch(tensors, rules, batchnorms):
    out = {}
    for name, a in tensors.items():
        rule = rules.get(name)
        if rule is None:
            out[name] = a
        elif rule[0] == "conv":
            _expect(name, a, 4, f"[Cout, {rule[1]}, {rule[2]}, Cin/groups]", lambda s: s[1:3] == rule[1:3])
            out[name] = a.transpose(0, 3, 1, 2)
        elif rule[0] == "depthwise":
            _expect(name, a, 3, f"[{rule[1]}, {rule[2]}, C]", lambda s: s[:2] == rule[1:3])
            out[name] = a.transpose(2, 0, 1)[:, None]
        else:
            h, w, c = rule[1:]
            _expect(name, a, 2, f"[out, {c * h * w}]", lambda s: s[1] == c * h * w)
            out[name] = a.reshape(a.shape[0], h, w, c).transpose(0, 3, 1, 2).reshape(a.shape[0], -1)
    for bn in batchnorms:
        out.setdefault(bn + ".num_batches_tracked", np.zeros((), dtype=np.int64))
    return out


def _expect(name, a, rank, layout, ok):
    if a.ndim != rank or not ok(tuple(a.shape)):
        raise LayoutError(f"tensor '{name}' has shape {list(a.shape)}, expected {layout}; "
                          "is the file already in the target layout?")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("direction", choices=["to-sparrow", "to-torch"])
    parser.add_argument("--arch", required=True, help="Sparrow architecture JSON of the model")
    parser.add_argument("input", help="safetensors file to read")
    parser.add_argument("output", help="safetensors file to write (replaced atomically)")
    args = parser.parse_args(argv)
    try:
        with open(args.arch, encoding="utf-8") as f:
            rules, batchnorms, expected = plan(json.load(f))
        tensors, metadata = read_safetensors(args.input)
        present = {n for n in tensors if not n.endswith(".num_batches_tracked")}
        for n in sorted(present - expected):
            print(f"warning: tensor '{n}' is not used by the architecture; Sparrow will refuse it", file=sys.stderr)
        for n in sorted(expected - present):
            print(f"warning: tensor '{n}' of the architecture is not in {args.input}", file=sys.stderr)
        if args.direction == "to-sparrow":
            if metadata.get("format") == "sparrow":
                raise LayoutError(f"{args.input} is already in Sparrow layout")
            out = to_sparrow(tensors, rules)
            meta = {"format": "sparrow", "converted_from": metadata.get("format", "pt")}
        else:
            if metadata.get("format", "sparrow") != "sparrow":
                raise LayoutError(f"{args.input} is marked format {metadata['format']!r}, not Sparrow layout")
            out = to_torch(tensors, rules, batchnorms)
            meta = {"format": "pt"}
        write_safetensors(args.output, out, meta)
    except (LayoutError, KeyError, ValueError, OSError) as e:
        print(f"torch_layout: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

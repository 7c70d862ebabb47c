#!/usr/bin/env python3
"""Build the Fashion-MNIST subset shipped in datasets/fashion-mnist/.

Reads the full Fashion-MNIST set (60,000 train / 10,000 test images, IDX
format, gzip) as installed by the Debian package `dataset-fashion-mnist`,
and writes a class-balanced subset: the first N images of each class, in the
official order, from the training set (N = 1000 -> 10,000 images) and the test
set (N = 200 -> 2,000 images). Output is deterministic: gzip level 9 with
mtime 0 and no file name, written to a temporary name and renamed.

    python3 tools/import_fashion_mnist.py                 # rebuild datasets/fashion-mnist/
    python3 tools/import_fashion_mnist.py --source DIR    # read the full set from DIR
    python3 tools/import_fashion_mnist.py --full DIR      # also copy the full set to DIR

Needs python3 and numpy only.
"""

import argparse
import gzip
import hashlib
import os
import shutil
import sys

import numpy as np

DEFAULT_SOURCE = "/usr/share/datasets/fashion-mnist"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "datasets", "fashion-mnist")

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# (split, image file, label file, expected count in the full set)
SPLITS = [
    ("train", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    ("test", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
]


class SourceDataError(Exception):
    """A problem with the input files; the message names the file."""


def read_idx(path):
    """Returns the array stored in an IDX file (plain or gzip, detected by magic)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise SourceDataError(f"{path}: not an IDX file (bad magic)")
    if raw[2] != 0x08:
        raise SourceDataError(f"{path}: expected ubyte data (type 0x08), found 0x{raw[2]:02x}")
    rank = raw[3]
    header = 4 + 4 * rank
    if len(raw) < header:
        raise SourceDataError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    size = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != size:
        raise SourceDataError(f"{path}: header dims {dims} need {size} bytes, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def idx_bytes(array):
    """IDX encoding of a uint8 array: 00 00 08 rank, big-endian dims, data."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_gzip(path, payload):
    """gzip level 9, mtime 0, no name: the same bytes every run (for a given zlib)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as gz:
            gz.write(payload)
    os.replace(tmp, path)


def first_per_class(labels, per_class, classes=10):
    """Indices of the first `per_class` samples of each class, in original order."""
    chosen = []
    for c in range(classes):
        where = np.flatnonzero(labels == c)
        if len(where) < per_class:
            raise SourceDataError(f"class {c} has only {len(where)} samples, {per_class} requested")
        chosen.append(where[:per_class])
    return np.sort(np.concatenate(chosen))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=DEFAULT_SOURCE,
                        help=f"directory with the full Fashion-MNIST .gz files (default {DEFAULT_SOURCE})")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="where to write the subset (default datasets/fashion-mnist/ of this repository)")
    parser.add_argument("--train-per-class", type=int, default=1000, help="training images per class (default 1000)")
    parser.add_argument("--test-per-class", type=int, default=200, help="test images per class (default 200)")
    parser.add_argument("--full", metavar="DIR", help="also copy the full, unmodified set into DIR")
    args = parser.parse_args(argv)

    missing = [os.path.join(args.source, f) for _, images, labels, _ in SPLITS for f in (images, labels)
               if not os.path.isfile(os.path.join(args.source, f))]
    if missing:
        print(f"error: Fashion-MNIST not found: {missing[0]} does not exist.\n"
              f"Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu),\n"
              f"or pass --source DIR pointing at a directory with the four upstream .gz files.",
              file=sys.stderr)
        return 1

    try:
        os.makedirs(args.out, exist_ok=True)
        written = []
        for split, image_file, label_file, expected in SPLITS:
            images = read_idx(os.path.join(args.source, image_file))
            labels = read_idx(os.path.join(args.source, label_file))
            if images.shape != (expected, 28, 28) or labels.shape != (expected,):
                raise SourceDataError(f"{args.source}: unexpected shapes {images.shape} / {labels.shape} for {split}")
            if labels.max() >= len(CLASS_NAMES):
                raise SourceDataError(f"{os.path.join(args.source, label_file)}: label {labels.max()} out of range")
            per_class = args.train_per_class if split == "train" else args.test_per_class
            keep = first_per_class(labels, per_class)
            for name, array in ((image_file, images[keep]), (label_file, labels[keep])):
                path = os.path.join(args.out, name)
                write_gzip(path, idx_bytes(array))
                written.append(path)
            counts = np.bincount(labels[keep], minlength=len(CLASS_NAMES))
            print(f"{split}: {len(keep)} images, per class {counts.tolist()}")

        if args.full:
            os.makedirs(args.full, exist_ok=True)
            for _, image_file, label_file, _ in SPLITS:
                for f in (image_file, label_file):
                    shutil.copyfile(os.path.join(args.source, f), os.path.join(args.full, f))
            print(f"copied the full set to {args.full}")
    except (SourceDataError, OSError, EOFError, ValueError, gzip.BadGzipFile) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    for path in written:
        print(f"{sha256(path)}  {os.path.basename(path)}  ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

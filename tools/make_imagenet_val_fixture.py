#!/usr/bin/python3
"""Regenerates tests/data/fixtures/imagenet_sample_val.sha256: for every image of the ImageNet
sample's val/ split, in torchvision's ImageFolder order, the first 16 hex digits of the sha256 of
torchvision's Resize(256) + CenterCrop(224) output as CHW uint8 bytes. The parity test compares
qsweep's val shard against it where torchvision is not installed (CI); where it is, the test
also recomputes the reference at test time.

  /usr/bin/python3 tools/make_imagenet_val_fixture.py [SHARED/data/imagenet-sample/val]
"""
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import PIL
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "data", "imagenet-sample", "val")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "ref.u8")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "imagenet_val_reference.py"), root, raw], check=True)
        images = np.fromfile(raw, dtype=np.uint8).reshape(-1, 3 * 224 * 224)
        labels = np.fromfile(raw + ".labels", dtype=np.int64)
    out = os.path.join(REPO, "tests", "data", "fixtures", "imagenet_sample_val.sha256")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(f"# torchvision {torchvision.__version__}, Pillow {PIL.__version__}: Resize(256)+CenterCrop(224), "
                f"CHW uint8; label sha256[:16]; made by tools/make_imagenet_val_fixture.py\n")
        for img, label in zip(images, labels):
            f.write(f"{label} {hashlib.sha256(img.tobytes()).hexdigest()[:16]}\n")
    print(f"{out}: {len(labels)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())

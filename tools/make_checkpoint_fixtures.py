#!/usr/bin/python3
"""Writes the small torch.save fixtures of tests/models/checkpoint_test.cpp and expected.json.

Run with Debian's python3-torch (scripts/install-deps.sh --with-python):
    /usr/bin/python3 tools/make_checkpoint_fixtures.py [tests/models/fixtures]
The outputs are committed; tests never need Python for them. expected.json lists, per readable
fixture, every (name, shape, dtype, sum, values) that read_state_dict must return, in file order,
with 'module.' already stripped.
"""
import collections
import json
import os
import random
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "models", "fixtures")
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
expected = {}


def describe(sd):
    rows = []
    for name, t in sd.items():
        name = name[len("module."):] if name.startswith("module.") else name
        rows.append({"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                     "sum": float(t.double().sum()), "values": t.double().flatten().tolist()})
    return rows


def save(name, obj, sd, **kw):
    torch.save(obj, os.path.join(out, name), **kw)
    expected[name] = describe(sd)


def tiny_module_state():
    # A real nn.Module state dict: an OrderedDict with _metadata (pickled through BUILD).
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 2), torch.nn.BatchNorm2d(2))
    m[1].running_mean.uniform_()
    return m.state_dict()


# 1. OrderedDict of every supported dtype, plus a 0-dim and an empty tensor.
dtypes = tiny_module_state()
base = torch.arange(-3, 5, dtype=torch.float64) / 4
for dt in [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
           torch.int8, torch.uint8]:
    v = base if dt.is_floating_point else base * 4 + (3 if dt == torch.uint8 else 0)
    dtypes["x_" + str(dt).replace("torch.", "")] = v.to(dt).reshape(2, 4)
dtypes["x_bool"] = torch.tensor([True, False, True])
dtypes["scalar"] = torch.tensor(2.5)
dtypes["empty"] = torch.zeros(0, 3)
save("ordered_dtypes.pt", dtypes, dtypes)

# 2. Views sharing one storage, and a Parameter (_rebuild_parameter).
t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
views = collections.OrderedDict(
    [("t", t), ("tail", t[1:]), ("tt", t.t()), ("col", t[:, 2]), ("elem", t[2, 3]),
     ("param", torch.nn.Parameter(torch.ones(2, 2) * 0.5))])
save("views.pt", views, views)

# 3. A training checkpoint: wrapper, DataParallel prefixes, non-tensor entries, an optimizer with tensors.
net = torch.nn.Linear(3, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
net(torch.ones(1, 3)).sum().backward()
opt.step()
inner = collections.OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
save("wrapped_state_dict.pt",
     {"epoch": 7, "arch": "linear", "state_dict": inner, "optimizer": opt.state_dict(), "best_acc1": torch.tensor(75.5)},
     inner)

# 4. {'model': sd} and {'model': {'state_dict': sd}}.
save("model_wrapper.pt", {"model": net.state_dict(), "epoch": 1}, net.state_dict())
save("model_nested.pt", {"model": {"state_dict": dtypes, "meta": "x"}, "optimizer": None}, dtypes)

# 5. Pickle protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE) and the legacy (pre-1.6) format.
save("protocol4.pt", views, views, pickle_protocol=4)
save("legacy.pt", dtypes, dtypes, _use_new_zipfile_serialization=False)
save("legacy_views.pt", {"state_dict": views}, views, _use_new_zipfile_serialization=False)

# 6. Malformed files: no expected entry; tests assert the error.
with open(os.path.join(out, "views.pt"), "rb") as f:
    good = f.read()
with open(os.path.join(out, "truncated.pt"), "wb") as f:
    f.write(good[: len(good) // 2])
with open(os.path.join(out, "legacy.pt"), "rb") as f:
    legacy = f.read()
with open(os.path.join(out, "legacy_truncated.pt"), "wb") as f:
    f.write(legacy[: len(legacy) - 20])
with open(os.path.join(out, "random.bin"), "wb") as f:
    f.write(random.Random(1).randbytes(300))
open(os.path.join(out, "empty.pt"), "wb").close()

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print("wrote", len(expected), "readable fixtures to", os.path.abspath(out))

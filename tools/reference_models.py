#!/usr/bin/python3
"""Reference logits for qsweep's model-parity tests (run with Debian's /usr/bin/python3).

  reference_models.py forward ARCH SEED OUT.pt
      Builds ARCH in PyTorch with seeded random weights (BatchNorm statistics randomised so BN is
      not the identity), runs it on a seeded random batch in eval mode and saves one plain dict:
      the state_dict plus '__input__' and '__logits__'. ARCH is a torchvision name (resnet18,
      resnet50, mobilenet_v2, regnet_x_800mf) or one of the layouts torchvision lacks:
      brecq_mobilenetv2 (BRECQ/MQBench module names) and pycls_regnetx600m (pycls AnyNet names).
  reference_models.py roundtrip ARCH WEIGHTS.pt INPUT.pt OUT.pt
      Loads WEIGHTS.pt (written by qsweep) strictly into torchvision's ARCH and saves its logits
      on INPUT.pt's '__input__' as {'__logits__': y}.

The BRECQ and pycls modules below are written from the architecture descriptions in
docs/SPEC.md §7, so that checkpoints in those layouts can be checked against qsweep's graphs.
"""
import sys

import torch
import torch.nn as nn
import torchvision


class ConvBnAct(nn.Sequential):
    def __init__(self, cin, cout, k, stride, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6(inplace=False))
        super().__init__(*layers)


class BrecqInvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = int(round(cin * t))
        self.residual = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class BrecqMobileNetV2(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        features = [ConvBnAct(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in settings:
            for i in range(n):
                features.append(BrecqInvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(ConvBnAct(cin, 1280, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.0), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean([2, 3]))


class PyclsBlock(nn.Module):
    def __init__(self, cin, cout, stride, gw):
        super().__init__()
        self.proj_block = cin != cout or stride != 1
        if self.proj_block:
            self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.bn = nn.BatchNorm2d(cout)
        self.f = nn.Module()
        self.f.a = nn.Conv2d(cin, cout, 1, bias=False)
        self.f.a_bn = nn.BatchNorm2d(cout)
        self.f.b = nn.Conv2d(cout, cout, 3, stride, 1, groups=cout // gw, bias=False)
        self.f.b_bn = nn.BatchNorm2d(cout)
        self.f.c = nn.Conv2d(cout, cout, 1, bias=False)
        self.f.c_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        f = self.f
        y = torch.relu(f.b_bn(f.b(torch.relu(f.a_bn(f.a(x))))))
        y = f.c_bn(f.c(y))
        return torch.relu((self.bn(self.proj(x)) if self.proj_block else x) + y)


class PyclsRegNetX(nn.Module):
    def __init__(self, widths, depths, gw, num_classes=1000):
        super().__init__()
        self.stem = nn.Module()
        self.stem.conv = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.stem.bn = nn.BatchNorm2d(32)
        cin = 32
        self.stages = []
        for i, (w, d) in enumerate(zip(widths, depths)):
            stage = nn.Module()
            for j in range(d):
                setattr(stage, f"b{j + 1}", PyclsBlock(cin, w, 2 if j == 0 else 1, gw))
                cin = w
            setattr(self, f"s{i + 1}", stage)
            self.stages.append((stage, d))
        self.head = nn.Module()
        self.head.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = torch.relu(self.stem.bn(self.stem.conv(x)))
        for stage, d in self.stages:
            for j in range(d):
                x = getattr(stage, f"b{j + 1}")(x)
        return self.head.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(arch):
    if arch == "brecq_mobilenetv2":
        return BrecqMobileNetV2()
    if arch == "pycls_regnetx600m":
        return PyclsRegNetX([48, 96, 240, 528], [1, 3, 5, 7], 24)
    return getattr(torchvision.models, arch)()


def forward(arch, seed, out):
    torch.manual_seed(int(seed))
    model = build(arch)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    model.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    sd = dict(model.state_dict())
    sd["__input__"] = x
    sd["__logits__"] = y
    torch.save(sd, out)


def roundtrip(arch, weights, inp, out):
    model = build(arch)
    model.load_state_dict(torch.load(weights), strict=True)
    model.eval()
    with torch.no_grad():
        y = model(torch.load(inp)["__input__"])
    torch.save({"__logits__": y}, out)


if __name__ == "__main__":
    {"forward": forward, "roundtrip": roundtrip}[sys.argv[1]](*sys.argv[2:])

#!/usr/bin/env python3
"""Peer measurement for `graft bench features`: PyTorch MobileNetV2 features + global average pool.

Runs torchvision's mobilenet_v2(weights=None) (random weights: speed only), `.features` followed by
adaptive average pooling, i.e. the same computation as Graft's base cut at `out_relu` + spatial mean.
Without torchvision the standard architecture is built from torch.nn below. Prints one JSON object.
Meant for Debian's /usr/bin/python3 with python3-torch (+ python3-torchvision).
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn


def conv_bn(inp, out, k, stride, groups=1, relu=True):
    layers = [nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out)]
    if relu:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, expand):
        super().__init__()
        hidden = inp * expand
        layers = [] if expand == 1 else [conv_bn(inp, hidden, 1, 1)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, out, 1, 1, relu=False)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and inp == out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2_features():
    """MobileNetV2 (alpha 1.0) feature extractor, the standard architecture (Sandler et al. 2018)."""
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    layers = [conv_bn(3, 32, 3, 2)]
    inp = 32
    for t, c, n, s in cfg:
        for i in range(n):
            layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
            inp = c
    layers.append(conv_bn(inp, 1280, 1, 1))
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=2, help="warm-up batches")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    try:
        import torchvision
        features = torchvision.models.mobilenet_v2(weights=None).features
        impl = "torchvision " + torchvision.__version__
    except Exception:  # torchvision missing or too old for weights=
        features = mobilenet_v2_features()
        impl = "torch.nn (built-in MobileNetV2)"
    model = nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()

    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.batch, 3, a.resolution, a.resolution, generator=g) * 255.0
    batches = max(1, -(-a.images // a.batch))
    with torch.inference_mode():
        for _ in range(a.warmup):
            model(x)
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(batches):
            out = model(x)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    n = batches * a.batch
    json.dump({"resolution": a.resolution, "batch": a.batch, "images": n, "threads": a.threads,
               "img_s": n / wall, "cpu_ms_per_img": cpu * 1000.0 / n, "feature_dim": int(out.shape[1]),
               "torch": torch.__version__, "impl": impl}, sys.stdout)
    print()


if __name__ == "__main__":
    main()

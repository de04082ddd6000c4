#!/usr/bin/env python3
"""The PyTorch-eager side of the backbone comparison (docs/performance.md).

Runs the same DINOv2 architecture as amt_bench's BM_BackboneForward (HF Dinov2Model layout: patch conv, CLS,
bicubic-resampled position table, pre-norm blocks with separate q/k/v projections, LayerScale, GELU MLP, final
LayerNorm; random weights) in eager PyTorch as people write it today (F.scaled_dot_product_attention,
torch.autocast), on the same LibTorch build: the pinned torch wheel in .venv/ that amt_bench links. It prints
one JSON object per case: the minimum and median forward time over --repeats timed runs and the GFLOP/s
of the same analytic FLOP count the C++ benchmark uses.

    .venv/bin/python bench/eager_backbone.py --threads 2 --batch 1 4 --size 448x336 --policy fp32 bf16-autocast bf16-pure
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

PRESETS = {  # name: (hidden, layers, heads); mlp ratio 4, patch 14, 37×37 position table (518 px)
    "dinov2-tiny": (192, 4, 3),
    "dinov2-s14": (384, 12, 6),
    "dinov2-b14": (768, 12, 12),
}


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(d, eps=1e-6)
        self.query = torch.nn.Linear(d, d)
        self.key = torch.nn.Linear(d, d)
        self.value = torch.nn.Linear(d, d)
        self.dense = torch.nn.Linear(d, d)
        self.ls1 = torch.nn.Parameter(torch.full((d,), 1.0))
        self.norm2 = torch.nn.LayerNorm(d, eps=1e-6)
        self.fc1 = torch.nn.Linear(d, 4 * d)
        self.fc2 = torch.nn.Linear(4 * d, d)
        self.ls2 = torch.nn.Parameter(torch.full((d,), 1.0))

    def split(self, t):
        b, n, d = t.shape
        return t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x):
        h = self.norm1(x)
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
        x = x + self.ls1 * self.dense(o)
        return x + self.ls2 * self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Dinov2(torch.nn.Module):
    def __init__(self, d, layers, heads, patch=14, table=37):
        super().__init__()
        self.patch, self.table = patch, table
        self.projection = torch.nn.Conv2d(3, d, patch, stride=patch)
        self.cls_token = torch.nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.position_embeddings = torch.nn.Parameter(torch.randn(1, 1 + table * table, d) * 0.02)
        self.blocks = torch.nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.layernorm = torch.nn.LayerNorm(d, eps=1e-6)

    def forward(self, pixels):
        b, _, h, w = pixels.shape
        hp, wp = h // self.patch, w // self.patch
        x = self.projection(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], 1)  # fp32 residual under autocast, as the C++
        m, d = self.table, x.shape[-1]
        grid = self.position_embeddings[:, 1:].reshape(1, m, m, d).permute(0, 3, 1, 2).float()
        grid = F.interpolate(grid, size=(hp, wp), mode="bicubic", align_corners=False)
        pos = torch.cat([self.position_embeddings[:, :1].float(), grid.permute(0, 2, 3, 1).reshape(1, -1, d)], 1)
        x = x + pos.to(x.dtype)
        for blk in self.blocks:
            x = blk(x)
        return self.layernorm(x)


def forward_flops(d, layers, hp, wp, patch=14):  # the same count as bench/backbone_bench.cpp
    n, f = 1 + hp * wp, 4 * d
    per_layer = 2 * n * 4 * d * d + 2 * 2 * n * n * d + 2 * n * 2 * d * f
    return 2.0 * hp * wp * d * 3 * patch * patch + layers * per_layer


def time_case(model, pixels, policy, repeats):
    if policy == "bf16-pure":
        model, pixels = model.to(torch.bfloat16), pixels.to(torch.bfloat16)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16, enabled=policy == "bf16-autocast")
    times = []
    with torch.no_grad(), ctx:
        model(pixels)  # warm-up: oneDNN primitives, allocator
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(pixels)
            times.append(time.perf_counter() - t0)
    if policy == "bf16-pure":
        model.float()
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="dinov2-s14", choices=sorted(PRESETS))
    p.add_argument("--size", default="448x336", help="HxW in pixels, multiples of 14")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    p.add_argument("--policy", nargs="+", default=["fp32", "bf16-autocast", "bf16-pure"])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    h, w = (int(v) for v in a.size.split("x"))
    d, layers, heads = PRESETS[a.preset]
    model = Dinov2(d, layers, heads).eval()
    flops1 = forward_flops(d, layers, h // 14, w // 14)
    for b in a.batch:
        pixels = torch.randn(b, 3, h, w)
        for policy in a.policy:
            t = time_case(model, pixels, policy, a.repeats)
            print(json.dumps({"impl": "pytorch-eager", "preset": a.preset, "size": a.size, "batch": b,
                              "policy": policy, "threads": torch.get_num_threads(), "min_ms": 1e3 * min(t),
                              "median_ms": 1e3 * statistics.median(t), "gflops": b * flops1 / min(t) * 1e-9,
                              "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()

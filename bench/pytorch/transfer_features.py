#!/usr/bin/python3
"""Feature throughput of a torchvision network on CPU, for `npm run bench transfer` (bench/transfer.ts), side by
side with ulearn's tfjs and onnxruntime paths: the same architecture as the ONNX fixture (scripts/fixtures/
transfer.py), its classifier replaced by Identity (the features the importer cuts at), eval mode, no_grad.
Weights are random (weights=None, nothing is downloaded): speed does not depend on their values.

    python3 bench/pytorch/transfer_features.py --arch resnet18 --images 256 --batch 32 --threads 2 --size 64

Prints one JSON line: {"arch", "img_s", "images", "batch", "threads", "seconds"}; best of --repeats timed passes
after one warm-up pass.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torchvision

p = argparse.ArgumentParser()
p.add_argument('--arch', required=True)
p.add_argument('--images', type=int, default=256)
p.add_argument('--batch', type=int, default=32)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--size', type=int, default=64)
p.add_argument('--repeats', type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = getattr(torchvision.models, a.arch)(weights=None)
if hasattr(model, 'fc'):
    model.fc = nn.Identity()
else:
    model.classifier = nn.Identity()
model.eval()
x = torch.rand(a.batch, 3, a.size, a.size)
batches = max(1, a.images // a.batch)
best = float('inf')
with torch.no_grad():
    model(x)
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        for _ in range(batches):
            model(x)
        best = min(best, time.perf_counter() - t0)
print(json.dumps({'arch': a.arch, 'img_s': batches * a.batch / best, 'images': batches * a.batch, 'batch': a.batch, 'threads': a.threads, 'seconds': best}))

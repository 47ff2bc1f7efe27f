#!/usr/bin/env python3
"""PyTorch side of `npm run bench engine`: the same two models, batch, optimizer and step counts as
bench/engine.ts, timed the same way (img/s per timed window after warm-up), the SimCLR step (pairs/s) and the
encoder's inference pass. Prints one JSON object on stdout.

Architectures mirror src/models/reference-cnn.ts and src/models/resnet.ts layer for layer (same parameter
counts; the only difference is where 'same' padding puts the extra row for stride-2 convs: TensorFlow pads
bottom/right, PyTorch padding=1 pads both sides, which costs the same FLOPs).
"""
import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ReferenceCNN(nn.Module):
    def __init__(self, in_ch=3, size=32, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * (size // 4) * (size // 4), classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def bn(ch):
    # Same as the tfjs side: momentum 0.1 (Keras 0.9), eps 1e-5.
    return nn.BatchNorm2d(ch, eps=1e-5, momentum=0.1)


class BasicBlock(nn.Module):
    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = bn(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = bn(out_ch)
        self.shortcut = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), bn(out_ch))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.shortcut is None else self.shortcut(x)
        return F.relu(y + s)


class ResNetEncoder(nn.Module):
    def __init__(self, in_ch, widths, blocks_per_stage):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, widths[0], 3, padding=1, bias=False), bn(widths[0]), nn.ReLU())
        blocks = []
        ch = widths[0]
        for stage, w in enumerate(widths):
            for b in range(blocks_per_stage):
                blocks.append(BasicBlock(ch, w, 2 if stage > 0 and b == 0 else 1))
                ch = w
        self.blocks = nn.Sequential(*blocks)
        self.dim = ch

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class ResNetClassifier(nn.Module):
    def __init__(self, in_ch, widths, blocks_per_stage, classes):
        super().__init__()
        self.encoder = ResNetEncoder(in_ch, widths, blocks_per_stage)
        self.head = nn.Linear(self.encoder.dim, classes)

    def forward(self, x):
        return self.head(self.encoder(x))


class SimCLRModel(nn.Module):
    """Encoder + SimCLR projector as src/ssl/heads.ts builds it: Linear(no bias) -> BN -> ReLU -> Linear."""

    def __init__(self, in_ch, widths, blocks_per_stage, hidden, out):
        super().__init__()
        self.encoder = ResNetEncoder(in_ch, widths, blocks_per_stage)
        self.head = nn.Sequential(nn.Linear(self.encoder.dim, hidden, bias=False), nn.BatchNorm1d(hidden, eps=1e-5, momentum=0.1), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, x):
        return self.head(self.encoder(x))


def nt_xent(z1, z2, temperature):
    """src/ssl/losses.ts ntXentLoss: a (2N-1)-way softmax per embedding over cosine similarities / T."""
    n = z1.shape[0]
    a = F.normalize(z1, dim=1, eps=1e-6)
    b = F.normalize(z2, dim=1, eps=1e-6)
    z = torch.cat([a, b], 0)
    sim = z @ z.t() / temperature
    sim = sim - torch.eye(2 * n, device=z.device) * 1e9
    pos = (a * b).sum(1) / temperature
    return torch.logsumexp(sim, 1).mean() - pos.mean()


def bench_simclr(spec, device):
    """Both memory formats; the faster one is the result."""
    results = {}
    for fmt in FORMATS:
        row = bench_simclr_format(spec, device, fmt)
        results[fmt] = {"mean": row["pairs_s"], "row": row}
    return best_of(results)


def bench_simclr_format(spec, device, fmt):
    """One SimCLR step as ulearn's SimCLR takes it: the two views through encoder + head separately (BN batch
    statistics per view), NT-Xent, Adam. The views are fixed random batches: no augmentation (ulearn's row
    reports its step without augmentations as ulearn_step_pairs_s)."""
    torch.manual_seed(0)
    h, w, c = spec["inputShape"]
    model = SimCLRModel(c, spec["widths"], spec["blocksPerStage"], spec["projHidden"], spec["projOut"]).to(device, memory_format=FORMATS[fmt])
    model.train()
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
    g = torch.Generator().manual_seed(1)
    views = [torch.rand(spec["batch"], c, h, w, generator=g).to(device).contiguous(memory_format=FORMATS[fmt]) for _ in range(2)]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nt_xent(model(views[0]), model(views[1]), spec["temperature"])
        loss.backward()
        opt.step()
        return loss

    losses = []
    for _ in range(spec["warmup"]):
        losses.append(step().item())

    def window():
        for _ in range(spec["windowSteps"]):
            loss = step()
        losses.append(loss.item())
        sync(device)

    seconds, others, retried = clean_windows(spec["windows"], window)
    rates = [spec["windowSteps"] * spec["batch"] / sec for sec in seconds]
    return {
        "params": params + buffers,
        "pairs_s": statistics.mean(rates),
        "pairs_s_std": statistics.stdev(rates) if len(rates) > 1 else 0.0,
        "windows": rates,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "others_cores": others,
        "windows_retried": retried,
    }


def build(spec):
    h, w, c = spec["inputShape"]
    if spec["kind"] == "ref-cnn":
        return ReferenceCNN(c, h, spec["classes"])
    if spec["kind"] == "resnet":
        return ResNetClassifier(c, spec["widths"], spec["blocksPerStage"], spec["classes"])
    raise ValueError(f"unknown model kind {spec['kind']}")


MAX_OTHERS_CORES = 0.1
WINDOW_RETRIES = 3


def machine_busy_seconds():
    """CPU seconds all processes have been busy (Linux /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def own_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def clean_windows(windows, body):
    """Same rule as bench/engine.ts: a window during which other processes kept more than MAX_OTHERS_CORES
    cores busy is measured again, up to WINDOW_RETRIES times (then no more retries in this measurement).
    Returns (seconds, others, retried)."""
    seconds, others, retried = [], [], 0
    retries = WINDOW_RETRIES
    for _ in range(windows):
        attempt = 0
        while True:
            b0, c0, t0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
            body()
            sec = time.perf_counter() - t0
            b1 = machine_busy_seconds()
            o = None if b0 is None or b1 is None else max(0.0, b1 - b0 - (own_cpu_seconds() - c0)) / sec
            if o is None or o <= MAX_OTHERS_CORES or attempt >= retries:
                if attempt >= retries:
                    retries = 0
                seconds.append(sec)
                others.append(o)
                break
            attempt += 1
            retried += 1
            print(f"  window disturbed (other processes used {o:.2f} cores): measuring it again", file=sys.stderr, flush=True)
    return seconds, others, retried


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def best_of(results):
    """The faster of the per-memory-format results (by mean), with all of them kept under by_format."""
    best_format = max(results, key=lambda f: results[f]["mean"])
    out = dict(results[best_format]["row"])
    out["format"] = best_format
    std = lambda row: next(row[k] for k in ("img_s_std", "pairs_s_std", "gflops_std") if k in row)
    out["by_format"] = {f: {"mean": r["mean"], "std": std(r["row"])} for f, r in results.items()}
    return out


def bench_model(spec, device, batch, warmup, window_steps, windows):
    """Both memory formats (NCHW and channels_last, which oneDNN often runs much faster on CPU); the faster
    one is the result, so ulearn is compared with PyTorch at its best."""
    results = {}
    for fmt in FORMATS:
        row = bench_model_format(spec, device, batch, warmup, window_steps, windows, fmt)
        results[fmt] = {"mean": row["img_s"], "row": row}
    return best_of(results)


def bench_model_format(spec, device, batch, warmup, window_steps, windows, fmt):
    torch.manual_seed(0)
    model = build(spec).to(device, memory_format=FORMATS[fmt])
    model.train()
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    h, w, c = spec["inputShape"]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, c, h, w, generator=g).to(device).contiguous(memory_format=FORMATS[fmt])
    y = torch.randint(0, spec["classes"], (batch,), generator=g).to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    losses = []
    for _ in range(warmup):
        losses.append(step().item())
    sync(device)

    def window():
        for _ in range(window_steps):
            loss = step()
        losses.append(loss.item())  # forces completion of the window's work
        sync(device)

    seconds, others, retried = clean_windows(windows, window)
    rates = [window_steps * batch / sec for sec in seconds]
    return {
        "model": spec["name"],
        "params": params + buffers,
        "trainable_params": params,
        "img_s": statistics.mean(rates),
        "img_s_std": statistics.stdev(rates) if len(rates) > 1 else 0.0,
        "windows": rates,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "others_cores": others,
        "windows_retried": retried,
    }


def bench_kernel(k, device, min_window_s, windows):
    """Each kernel in both memory formats; the faster one is the result."""
    per_format = {fmt: bench_kernel_format(k, device, min_window_s, windows, fmt) for fmt in FORMATS}
    out = []
    for i, row in enumerate(per_format["contiguous"]):
        out.append(best_of({fmt: {"mean": rows[i]["gflops"], "row": rows[i]} for fmt, rows in per_format.items()}))
    return out


def bench_kernel_format(k, device, min_window_s, windows, fmt):
    n, h, w, cin = k["x"]
    kh, kw, _, cout = k["filter"]
    pad = kh // 2
    g = torch.Generator().manual_seed(2)
    mf = FORMATS[fmt]
    x = torch.randn(n, cin, h, w, generator=g).to(device).contiguous(memory_format=mf)
    f = torch.randn(cout, cin, kh, kw, generator=g).to(device).contiguous(memory_format=mf)
    dy = torch.randn(n, cout, h, w, generator=g).to(device).contiguous(memory_format=mf)
    ops = {
        "Conv2D": lambda: F.conv2d(x, f, padding=pad),
        # aten's own backward kernels, the ones autograd calls for conv2d.
        "Conv2DBackpropFilter": lambda: torch.ops.aten.convolution_backward(
            dy, x, f, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [False, True, False])[1],
        "Conv2DBackpropInput": lambda: torch.ops.aten.convolution_backward(
            dy, x, f, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [True, False, False])[0],
    }
    out = []
    for name, op in ops.items():
        with torch.no_grad():
            op()
            sync(device)
            t0 = time.perf_counter()
            op()
            sync(device)
            one = max(time.perf_counter() - t0, 1e-6)
            reps = max(1, math.ceil(min_window_s / one))

            def window():
                for _ in range(reps):
                    op()
                sync(device)

            seconds, others, retried = clean_windows(windows, window)
            rates = [k["gflop"] * reps / sec for sec in seconds]
        out.append({
            "kernel": name,
            "shape": k["label"],
            "gflops": statistics.mean(rates),
            "gflops_std": statistics.stdev(rates) if len(rates) > 1 else 0.0,
            "ms": k["gflop"] / statistics.mean(rates) * 1e3,
            "others_cores": others,
            "windows_retried": retried,
        })
    return out


def bench_encode(spec, device):
    """The SSL encoder's forward pass (eval mode, no grad, channels_last) over spec['images'] images in batches,
    one random batch reused, as bench/engine.ts times ulearn's."""
    h, w, c = spec["inputShape"]
    model = ResNetEncoder(c, spec["widths"], spec["blocksPerStage"]).to(device).eval()
    x = torch.rand(spec["batch"], c, h, w, device=device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        model(x)
        sync(device)
        t0 = time.perf_counter()
        done = 0
        while done < spec["images"]:
            n = min(spec["batch"], spec["images"] - done)
            model(x[:n]).cpu()
            done += n
        sync(device)
        seconds = time.perf_counter() - t0
    return {"images": spec["images"], "seconds": seconds, "img_s": spec["images"] / seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="JSON: {models, kernels, batch, warmup, ...}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto (cuda when available)")
    args = ap.parse_args()
    cfg = json.loads(args.config)

    torch.set_num_threads(args.threads)
    want = args.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(want)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    result = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "device": str(device) if device.type == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
        "mkldnn": torch.backends.mkldnn.is_available(),
        "models": [],
        "kernels": [],
    }
    for spec in cfg["models"]:
        print(f"pytorch: {spec['name']} on {result['device']}, {result['threads']} threads", file=sys.stderr, flush=True)
        result["models"].append(bench_model(spec, device, spec.get("batch", cfg["batch"]), spec["warmup"], spec["windowSteps"], spec["windows"]))
    for k in cfg.get("kernels", []):
        result["kernels"].extend(bench_kernel(k, device, cfg.get("kernelWindowS", 0.3), cfg.get("kernelWindows", 3)))
    if cfg.get("encode"):
        print(f"pytorch: encode {cfg['encode']['images']} images", file=sys.stderr, flush=True)
        result["encode"] = bench_encode(cfg["encode"], device)
    if cfg.get("simclr"):
        print(f"pytorch: simclr step, batch {cfg['simclr']['batch']}", file=sys.stderr, flush=True)
        result["simclr"] = bench_simclr(cfg["simclr"], device)
    result["cpu_s"] = own_cpu_seconds()
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()

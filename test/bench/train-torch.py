#!/usr/bin/env python3
"""The training benchmark's PyTorch reference: morpho's network and loop, written the way a
PyTorch user would write them, on one thread.

The network is morpho's (and the original's): Linear(in->H)+ReLU, `layers` blocks of
Linear(H->H)+ReLU each followed by its seeds, Linear(H->classes). A seed is a residual adapter
x + alpha * child(x), child = Linear(H->4H), ReLU, Linear(4H->H); a dormant seed passes its input
through. Each epoch: shuffled batches of `batch` rows (forward, cross-entropy, backward, Adam),
then the validation rows scored (loss, accuracy, calibration), and a copy of the weights when
val_loss improves; after the last epoch the kept weights score the test rows once.

Without --plan it trains the warm-up phase only (Adam over the backbone) for --epochs epochs. With
--plan FILE (JSON written by test/bench/train.mjs from a morpho run: the phase of every epoch and
which seed germinated when) it follows that run epoch by epoch: phase 2 trains the head at
lr x adaptation-lr-scale, the body at lr x joint-lr-scale from the first germination, each live
seed with its own Adam, and a training seed in its shadow (alpha 1) for its 60 steps before it
blends in over 30 steps; drift on 512 probe rows for live seeds, layer health at a germination.

Prints one JSON object: torch version, threads, the BLAS library loaded, a 64x128x128 matmul's
time (OpenBLAS ~35 us here, the reference BLAS ~650 us), and the seconds of every epoch.

  /usr/bin/python3 test/bench/train-torch.py --hidden 128 --epochs 6
"""

import argparse
import copy
import json
import math
import time

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input-dim", type=int, default=3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--seeds-per-layer", type=int, default=1)
    p.add_argument("--classes", type=int, default=2)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--train-frac", type=float, default=0.8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--adaptation-lr-scale", type=float, default=0.1)
    p.add_argument("--joint-lr-scale", type=float, default=1.0)
    p.add_argument("--shadow-lr", type=float, default=1e-3)
    p.add_argument("--shadow-steps", type=int, default=60)
    p.add_argument("--blend-steps", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plan", help="JSON: {epochs: [phase...], germinations: {epoch: seed id}}")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)

    plan = {"epochs": ["warm_up"] * args.epochs, "germinations": {}}
    if args.plan:
        with open(args.plan) as f:
            plan = json.load(f)

    n_train = int(round(args.samples * args.train_frac))
    n_val = args.samples - n_train
    x = torch.randn(args.samples, args.input_dim)
    y = (x[:, 0] * x[:, 1] > 0).long() % args.classes
    train_x, train_y = x[:n_train], y[:n_train]
    val_x, val_y = x[n_train:], y[n_train:]
    probe_x = train_x[:512]

    net = Net(args)
    loss_fn = nn.CrossEntropyLoss()
    backbone = list(net.backbone_parameters())
    head = list(net.output.parameters())
    body = [q for q in backbone if all(q is not h for h in head)]
    backbone_opt = torch.optim.Adam(backbone, lr=args.lr)
    head_opt = torch.optim.Adam(head, lr=args.lr * args.adaptation_lr_scale)
    joint_opt = torch.optim.Adam(body, lr=args.lr * args.joint_lr_scale)
    best = {"loss": math.inf, "weights": None}
    seconds = []

    for epoch, phase in enumerate(plan["epochs"], start=1):
        started = time.perf_counter()
        net.train()
        order = torch.randperm(n_train)
        loss_sum = 0.0
        for start in range(0, n_train, args.batch):
            idx = order[start : start + args.batch]
            bx, by = train_x[idx], train_y[idx]
            if phase == "warm_up":
                backbone_opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(bx), by)
                loss.backward()
                backbone_opt.step()
            else:
                live = [s for s in net.seeds if s.state in ("blending", "active")]
                grown = any(s.state != "dormant" for s in net.seeds) and args.joint_lr_scale > 0
                opts = [head_opt] + ([joint_opt] if grown else []) + [s.opt for s in live]
                for o in opts:
                    o.zero_grad(set_to_none=True)
                loss = loss_fn(net(bx), by)
                loss.backward()
                for o in opts:
                    o.step()
                for s in net.seeds:
                    if s.state == "training":
                        s.opt.zero_grad(set_to_none=True)
                        loss_fn(net(bx, shadow=s), by).backward()
                        s.opt.step()
                for s in net.seeds:
                    s.after_step()
            loss_sum += loss.item() * len(idx)

        net.eval()
        with torch.no_grad():
            logp = torch.log_softmax(net(val_x), dim=1)
            val_loss = -logp.gather(1, val_y[:, None]).mean().item()
            conf, pred = logp.exp().max(dim=1)
            _val_acc = (pred == val_y).float().mean().item()
            bins = torch.clamp((conf * 15).long(), max=14)
            hits = (pred == val_y).float()
            _ece = sum(
                abs(hits[bins == b].sum().item() - conf[bins == b].sum().item()) for b in range(15)
            ) / n_val
            if phase != "warm_up":
                for s in net.seeds:
                    if s.state in ("blending", "active"):
                        net.drift(probe_x, s)
            if val_loss < best["loss"]:
                best = {"loss": val_loss, "weights": copy.deepcopy(net.state_dict())}
            seed = plan["germinations"].get(str(epoch))
            if seed is not None:
                net.layer_health(probe_x)
                net.germinate(seed, args)
        seconds.append(time.perf_counter() - started)

    # The saved model scores the test set once: fresh rows, as many as the samples.
    if best["weights"] is not None:
        net.load_state_dict(best["weights"], strict=False)
    net.eval()
    with torch.no_grad():
        test_x = torch.randn(args.samples, args.input_dim)
        test_y = (test_x[:, 0] * test_x[:, 1] > 0).long() % args.classes
        logp = torch.log_softmax(net(test_x), dim=1)
        test_loss = -logp.gather(1, test_y[:, None]).mean().item()

    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "blas": loaded_blas(),
                "matmulUs": matmul_us(),
                "seconds": seconds,
                "train_loss": loss_sum / n_train,
                "test_loss": test_loss,
            }
        )
    )


class Seed(nn.Module):
    def __init__(self, sid, layer, h):
        super().__init__()
        self.sid, self.layer, self.h = sid, layer, h
        self.state, self.steps, self.blend = "dormant", 0, 0
        self.child = None
        self.opt = None

    @property
    def alpha(self):
        if self.state == "active":
            return 1.0
        if self.state == "blending":
            return min(1.0, self.blend / self.blend_steps)
        return 0.0

    def germinate(self, args):
        h = self.h
        self.child = nn.Sequential(nn.Linear(h, 4 * h), nn.ReLU(), nn.Linear(4 * h, h))
        nn.init.kaiming_normal_(self.child[0].weight, nonlinearity="relu")
        nn.init.zeros_(self.child[0].bias)
        nn.init.zeros_(self.child[2].weight)
        nn.init.zeros_(self.child[2].bias)
        self.opt = torch.optim.Adam(self.child.parameters(), lr=args.shadow_lr)
        self.shadow_steps, self.blend_steps = args.shadow_steps, args.blend_steps
        self.state = "training"

    def after_step(self):
        if self.state == "training":
            self.steps += 1
            if self.steps >= self.shadow_steps:
                self.state, self.blend = "blending", 0
        elif self.state == "blending":
            self.blend += 1
            if self.blend >= self.blend_steps:
                self.state = "active"


class Net(nn.Module):
    def __init__(self, args):
        super().__init__()
        h, spl = args.hidden, args.seeds_per_layer
        self.spl = spl
        self.input = nn.Linear(args.input_dim, h)
        self.hidden = nn.ModuleList(nn.Linear(h, h) for _ in range(args.layers))
        self.output = nn.Linear(h, args.classes)
        self.seeds = nn.ModuleList(
            Seed(f"seed{i + 1}_{j + 1}", i, h) for i in range(args.layers) for j in range(spl)
        )
        for lin in [self.input, *self.hidden, self.output]:
            nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)

    def backbone_parameters(self):
        for lin in [self.input, *self.hidden, self.output]:
            yield from lin.parameters()

    def blocks(self, x, shadow=None):
        h = torch.relu(self.input(x))
        taps = []
        for i, lin in enumerate(self.hidden):
            h = torch.relu(lin(h))
            taps.append(h)
            total = None
            for s in self.seeds[i * self.spl : (i + 1) * self.spl]:
                alpha = 1.0 if s is shadow else s.alpha
                if alpha == 0 or s.child is None:
                    continue
                c = s.child(h)
                c = c if alpha == 1 else c * alpha
                total = c if total is None else total + c
            if total is not None:
                h = h + (total / self.spl if self.spl > 1 else total)
        return h, taps

    def forward(self, x, shadow=None):
        return self.output(self.blocks(x, shadow)[0])

    def layer_health(self, x):
        _, taps = self.blocks(x)
        return [t.var(dim=0, unbiased=True).mean().item() for t in taps]

    def drift(self, x, seed):
        _, taps = self.blocks(x)
        t = taps[seed.layer]
        out = t + seed.child(t) * (seed.alpha / self.spl)
        return 1 - torch.cosine_similarity(t, out, dim=1).mean().item()

    def germinate(self, sid, args):
        for s in self.seeds:
            if s.sid == sid:
                s.germinate(args)


def loaded_blas():
    """The BLAS shared library this process mapped (torch's own config only says "generic")."""
    torch.ones(64, 128) @ torch.ones(128, 128)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line}
    return sorted(libs)


def matmul_us():
    a, b = torch.randn(64, 128), torch.randn(128, 128)
    for _ in range(200):
        a @ b
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(200):
            a @ b
        best = min(best, (time.perf_counter() - t) / 200 * 1e6)
    return best


if __name__ == "__main__":
    main()

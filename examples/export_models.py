#!/usr/bin/env python3
"""Exports greenlight's example TorchScript models (run by the set-up; seeded and cached).

  fashion_cnn.pt       CNN trained on Fashion-MNIST (log-probabilities, input [1, 28, 28] in [0, 1])
  fashion_cnn_int8.pt  its dynamic-quantized twin (linear layers int8, engine qnnpack)
  fashion_cnn_static_int8.pt, fashion_cnn_pruned.pt, fashion_cnn_structured.pt,
  fashion_cnn_student.pt
                       its compression twins: static int8 quantization, 70 % magnitude pruning,
                       half the channels removed, and a distilled smaller student
  hmda_credit.pt       MLP predicting `deny` on the HMDA data from every column but deny and afam
                       (2 logits: class 1 = denied); standardisation is baked into the model.
  tiny_lm.pt           byte-level causal transformer (vocabulary 256, context 128) trained on the
                       licence texts of Debian's base-files package, with greenlight's incremental
                       methods prefill/step (docs/language-models.md)
  tiny_lm_int8.pt      its dynamic-quantized twin (linear layers int8, engine qnnpack)

Models come in groups (fashion, twins, hmda, lm); a group is reused when examples/models/stamp.json
records the same key for it (the source of the code that trains it, its settings and the torch
version), so a second run is instant and a change to one group retrains only that group.
`--only GROUP` (repeatable) exports just that group; twins need the fashion models.
Needs Debian's python3-torch (run with /usr/bin/python3).
"""
import argparse
import copy
import gzip
import hashlib
import inspect
import json
import math
import os
import struct
import subprocess
import sys
import time
from typing import List, Tuple

import numpy as np

# LibTorch's C++ warnings (qnnpack warns on every int8 linear layer call) go through glog; keep
# the export's output to its own messages unless the caller sets GLOG_minloglevel.
os.environ.setdefault("GLOG_minloglevel", "2")
import torch  # noqa: E402  (after the logging setting, which LibTorch reads when it loads)
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION = "/usr/share/datasets/fashion-mnist"
SEED = 20261128
# The HMDA model's inputs, in this order; text columns use these encodings. afam is excluded.
HMDA_FEATURES = ["pirat", "hirat", "lvrat", "chist", "mhist", "phist", "unemp", "selfemp",
                 "insurance", "condomin", "single", "hschool"]
HMDA_YES_NO = ["phist", "selfemp", "insurance", "condomin", "single", "hschool"]
# The language model's training text: licence texts that every Debian system ships (package
# base-files, /usr/share/common-licenses). Apache-2.0 and MPL-2.0 are held out: they are the
# evaluation text, copied into examples/data/lm/heldout.txt.
LICENSES = "/usr/share/common-licenses"
LM_TRAIN_TEXTS = ["GPL-1", "GPL-2", "GPL-3", "LGPL-2", "LGPL-2.1", "LGPL-3", "GFDL-1.2", "GFDL-1.3",
                  "MPL-1.1", "Artistic", "BSD", "CC0-1.0"]
LM_HELDOUT = os.path.join(HERE, "data", "lm", "heldout.txt")
LM_CONTEXT = 128


def read_idx(path):
    with gzip.open(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        ndims = magic & 0xFF
        dims = struct.unpack(">" + "I" * ndims, f.read(4 * ndims))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


class FashionCnn(nn.Module):
    """The network of the quantization example the project grew from (fc1 fixed to 2000 inputs)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 20, 5, 1)
        self.fc1 = nn.Linear(2000, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class SmallFashionCnn(nn.Module):
    """FashionCnn's shape with fewer channels and units: the structured-pruned twin and the student."""

    def __init__(self, c1, c2, hidden):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 5, 1)
        self.conv2 = nn.Conv2d(c1, c2, 5, 1)
        self.fc1 = nn.Linear(c2 * 100, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class HmdaMlp(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.fc1 = nn.Linear(len(mean), 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        x = (x - self.mean) / self.std
        return self.fc2(F.relu(self.fc1(x)))


class LmBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def split(self, x: torch.Tensor) -> List[torch.Tensor]:
        b, t, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        return [z.reshape(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v)]

    def finish(self, x: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               causal: bool) -> torch.Tensor:
        b, t, d = x.shape
        att = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        if causal:
            n = k.shape[2]
            mask = torch.ones(t, n, dtype=torch.bool, device=x.device).tril(n - t)
            att = att.masked_fill(~mask, float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.split(x)
        return self.finish(x, q, k, v, True), k, v

    def step(self, x: torch.Tensor, k_past: torch.Tensor, v_past: torch.Tensor
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.split(x)
        k = torch.cat([k_past, k], dim=2)
        v = torch.cat([v_past, v], dim=2)
        return self.finish(x, q, k, v, False), k, v


class TinyLm(nn.Module):
    """A byte-level causal transformer (V = 256) with greenlight's incremental contract."""

    def __init__(self, dim: int = 64, heads: int = 4, layers: int = 2, context: int = LM_CONTEXT):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(256, dim)
        self.position = nn.Embedding(context, dim)
        self.blocks = nn.ModuleList([LmBlock(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 256)

    def embed_at(self, tokens: torch.Tensor, start: int) -> torch.Tensor:
        t = tokens.shape[1]
        if start + t > self.context:
            raise ValueError("sequence longer than the context length")
        pos = torch.arange(start, start + t, device=tokens.device)
        return self.embed(tokens) + self.position(pos)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.prefill(tokens)[0]

    @torch.jit.export
    def prefill(self, tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.embed_at(tokens, 0)
        caches: List[torch.Tensor] = []
        for block in self.blocks:
            x, k, v = block(x)
            caches.append(torch.stack([k, v]))
        return self.head(self.norm(x)), torch.stack(caches)

    @torch.jit.export
    def step(self, tokens: torch.Tensor, cache: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # cache: [layers, 2, B, heads, T, head_dim]
        x = self.embed_at(tokens, cache.shape[4])
        caches: List[torch.Tensor] = []
        i = 0
        for block in self.blocks:
            x, k, v = block.step(x, cache[i, 0], cache[i, 1])
            caches.append(torch.stack([k, v]))
            i += 1
        return self.head(self.norm(x)), torch.stack(caches)


def load_hmda(path):
    import csv
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[(1.0 if r[c] == "yes" else 0.0) if c in HMDA_YES_NO else float(r[c])
                   for c in HMDA_FEATURES] for r in rows], dtype=np.float32)
    y = np.array([1 if r["deny"] == "yes" else 0 for r in rows], dtype=np.int64)
    return x, y


def train_fashion(out_dir, train_rows, epochs):
    torch.manual_seed(SEED)
    x = read_idx(f"{FASHION}/train-images-idx3-ubyte.gz")[:train_rows]
    y = read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz")[:train_rows]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(y.astype(np.int64))
    model = FashionCnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            F.nll_loss(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    tx = torch.from_numpy(read_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz").astype(np.float32)
                          / 255.0).unsqueeze(1)
    ty = torch.from_numpy(read_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).double().mean().item()
    scripted = torch.jit.script(model)
    scripted.save(os.path.join(out_dir, "fashion_cnn.pt"))
    torch.backends.quantized.engine = "qnnpack"
    qmodel = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    qscripted = torch.jit.script(qmodel)
    qscripted.save(os.path.join(out_dir, "fashion_cnn_int8.pt"))
    with torch.no_grad():
        qacc = (qmodel(tx).argmax(1) == ty).double().mean().item()
    return {"fashion_cnn.pt": {"test_accuracy": acc, "train_rows": train_rows, "epochs": epochs},
            "fashion_cnn_int8.pt": {"test_accuracy": qacc, "quantization": "dynamic int8 (Linear), qnnpack"}}


def fine_tune(model, x, y, steps, lr, teacher=None, temperature=4.0):
    """Adam on batches of 64 drawn with a seeded generator; with a teacher, Hinton et al.'s (2015)
    distillation loss: KL divergence to the teacher's softened outputs (times T²) plus the labels'
    NLL, weighted equally."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        opt.zero_grad()
        out = model(x[idx])
        loss = F.nll_loss(out, y[idx])
        if teacher is not None:
            with torch.no_grad():
                soft = F.log_softmax(teacher(x[idx]) / temperature, dim=1)
            kl = F.kl_div(F.log_softmax(out / temperature, dim=1), soft, log_target=True,
                          reduction="batchmean")
            loss = 0.5 * loss + 0.5 * temperature * temperature * kl
        loss.backward()
        opt.step()
    model.eval()


def export_twins(out_dir, train_rows, steps):
    """The compression twins of fashion_cnn.pt (docs/compression.md)."""
    torch.manual_seed(SEED)
    reference = torch.jit.load(os.path.join(out_dir, "fashion_cnn.pt"))
    dense = FashionCnn()
    dense.load_state_dict(reference.state_dict())
    dense.eval()
    x = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz")[:train_rows]
                         .astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz")[:train_rows]
                         .astype(np.int64))
    tx = torch.from_numpy(read_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz").astype(np.float32)
                          / 255.0).unsqueeze(1)
    ty = torch.from_numpy(read_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz").astype(np.int64))

    def accuracy(m):
        with torch.no_grad():
            return (m(tx).argmax(1) == ty).double().mean().item()

    info = {}
    # Static int8 quantization (weights and activations), qnnpack, calibrated on 1,000 training
    # images; FX graph mode quantizes the functional ReLUs and pooling and leaves log-softmax in
    # float.
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "qnnpack"
    prepared = prepare_fx(copy.deepcopy(dense), get_default_qconfig_mapping("qnnpack"), (x[:1],))
    with torch.no_grad():
        for i in range(0, 1000, 100):
            prepared(x[i:i + 100])
    static = convert_fx(prepared)
    torch.jit.script(static).save(os.path.join(out_dir, "fashion_cnn_static_int8.pt"))
    info["fashion_cnn_static_int8.pt"] = {
        "test_accuracy": accuracy(static),
        "compression": "static int8 quantization (FX graph mode, qnnpack), 1,000 calibration images"}

    # Magnitude pruning: the 70 % smallest weights of every convolution and linear layer, by
    # absolute value over all of them (global), fine-tuned with the mask, then made permanent.
    pruned = copy.deepcopy(dense)
    layers = [(pruned.conv1, "weight"), (pruned.conv2, "weight"), (pruned.fc1, "weight"),
              (pruned.fc2, "weight")]
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=0.7)
    fine_tune(pruned, x, y, steps, 1e-3)
    for module, name in layers:
        prune.remove(module, name)
    torch.jit.script(pruned).save(os.path.join(out_dir, "fashion_cnn_pruned.pt"))
    weights = sum(m.weight.numel() for m, _ in layers)
    zeros = sum(int((m.weight == 0).sum()) for m, _ in layers)
    info["fashion_cnn_pruned.pt"] = {
        "test_accuracy": accuracy(pruned), "zero_weights": zeros, "weights": weights,
        "compression": "global L1 magnitude pruning of 70 % of conv and linear weights, "
                       f"fine-tuned {steps} steps, made permanent (dense storage)"}

    # Structured pruning: the half of each convolution's output channels with the smallest L1
    # norms removed (and the matching inputs of the next layer), fc1's units kept, fine-tuned.
    keep1 = dense.conv1.weight.abs().sum((1, 2, 3)).argsort(descending=True)[:10].sort().values
    keep2 = dense.conv2.weight.abs().sum((1, 2, 3)).argsort(descending=True)[:10].sort().values
    small = SmallFashionCnn(10, 10, 50)
    with torch.no_grad():
        small.conv1.weight.copy_(dense.conv1.weight[keep1])
        small.conv1.bias.copy_(dense.conv1.bias[keep1])
        small.conv2.weight.copy_(dense.conv2.weight[keep2][:, keep1])
        small.conv2.bias.copy_(dense.conv2.bias[keep2])
        # fc1's inputs are conv2's channels × 10 × 10, channel-major.
        columns = (keep2.unsqueeze(1) * 100 + torch.arange(100)).reshape(-1)
        small.fc1.weight.copy_(dense.fc1.weight[:, columns])
        small.fc1.bias.copy_(dense.fc1.bias)
        small.fc2.load_state_dict(dense.fc2.state_dict())
    fine_tune(small, x, y, steps, 1e-3)
    torch.jit.script(small).save(os.path.join(out_dir, "fashion_cnn_structured.pt"))
    info["fashion_cnn_structured.pt"] = {
        "test_accuracy": accuracy(small), "channels": [10, 10],
        "compression": "structured pruning: 10 of 20 channels kept in each convolution (largest "
                       f"L1 norms), fine-tuned {steps} steps"}

    # Distillation: a smaller student (8 and 8 channels, 32 hidden units) trained from scratch on
    # the reference's softened outputs and the labels.
    student = SmallFashionCnn(8, 8, 32)
    fine_tune(student, x, y, 3 * steps, 2e-3, teacher=dense)
    torch.jit.script(student).save(os.path.join(out_dir, "fashion_cnn_student.pt"))
    info["fashion_cnn_student.pt"] = {
        "test_accuracy": accuracy(student), "channels": [8, 8], "hidden": 32,
        "compression": f"knowledge distillation (temperature 4), {3 * steps} steps"}
    return info


def train_hmda(out_dir, csv_path):
    torch.manual_seed(SEED)
    x, y = load_hmda(csv_path)
    mean, std = x.mean(0), x.std(0)
    std[std == 0] = 1.0
    model = HmdaMlp(mean.tolist(), std.tolist())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(400):
        opt.zero_grad()
        F.cross_entropy(model(tx), ty).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).double().mean().item()
    torch.jit.script(model).save(os.path.join(out_dir, "hmda_credit.pt"))
    return {"hmda_credit.pt": {"train_accuracy": acc, "features": HMDA_FEATURES,
                               "encodings": {c: {"no": 0, "yes": 1} for c in HMDA_YES_NO},
                               "output": "logits, class 1 = deny"}}


def train_lm(out_dir, steps):
    torch.manual_seed(SEED)
    text = b"".join(open(os.path.join(LICENSES, n), "rb").read() for n in LM_TRAIN_TEXTS)
    data = torch.tensor(list(text), dtype=torch.long)
    model = TinyLm()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(SEED)
    for _ in range(steps):
        starts = torch.randint(0, len(data) - LM_CONTEXT - 1, (16,), generator=g)
        batch = torch.stack([data[i:i + LM_CONTEXT + 1] for i in starts.tolist()])
        opt.zero_grad()
        F.cross_entropy(model(batch[:, :-1]).reshape(-1, 256), batch[:, 1:].reshape(-1)).backward()
        opt.step()
        sched.step()
    model.eval()

    # Held-out loss in non-overlapping windows (a quick figure for the stamp; greenlight's own
    # perplexity follows the definition in docs/language-models.md).
    with open(LM_HELDOUT, "rb") as f:
        held = torch.tensor(list(f.read()), dtype=torch.long)
    n = (len(held) - 1) // LM_CONTEXT * LM_CONTEXT

    def heldout_nll(m):
        with torch.no_grad():
            x, y = held[:n].reshape(-1, LM_CONTEXT), held[1:n + 1].reshape(-1, LM_CONTEXT)
            return F.cross_entropy(m(x).reshape(-1, 256), y.reshape(-1)).item()

    nll = heldout_nll(model)
    torch.jit.script(model).save(os.path.join(out_dir, "tiny_lm.pt"))
    torch.backends.quantized.engine = "qnnpack"
    qmodel = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    torch.jit.script(qmodel).save(os.path.join(out_dir, "tiny_lm_int8.pt"))
    qnll = heldout_nll(qmodel)
    corpus = hashlib.sha256(text).hexdigest()
    return {"tiny_lm.pt": {"heldout_nll_per_byte": nll, "train_steps": steps,
                           "train_bytes": len(text), "train_sha256": corpus,
                           "parameters": sum(p.numel() for p in model.parameters()),
                           "tokenizer": "bytes", "context_length": LM_CONTEXT},
            "tiny_lm_int8.pt": {"heldout_nll_per_byte": qnll,
                                "quantization": "dynamic int8 (Linear), qnnpack"}}


def group_key(objects, settings):
    """What a group's models depend on: the source of the code that trains them and its settings."""
    source = "".join(inspect.getsource(o) for o in objects)
    return {"source_sha256": hashlib.sha256(source.encode()).hexdigest(), **settings,
            "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "models"))
    ap.add_argument("--train-rows", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lm-steps", type=int, default=400)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--only", action="append", metavar="GROUP",
                    help="export only this group (repeatable): fashion, hmda, lm or twins")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    fashion_key = group_key([read_idx, FashionCnn, train_fashion],
                            {"train_rows": args.train_rows, "epochs": args.epochs})
    groups = {
        "fashion": (fashion_key,
                    ["fashion_cnn.pt", "fashion_cnn_int8.pt"],
                    lambda: train_fashion(args.out, args.train_rows, args.epochs)),
        "hmda": (group_key([HmdaMlp, load_hmda, train_hmda], {"features": HMDA_FEATURES}),
                 ["hmda_credit.pt"],
                 lambda: train_hmda(args.out, os.path.join(HERE, "data", "hmda.csv"))),
        "lm": (group_key([LmBlock, TinyLm, train_lm],
                         {"steps": args.lm_steps, "texts": LM_TRAIN_TEXTS}),
               ["tiny_lm.pt", "tiny_lm_int8.pt"],
               lambda: train_lm(args.out, args.lm_steps)),
        # Made from fashion_cnn.pt, so they follow its key.
        "twins": (group_key([SmallFashionCnn, fine_tune, export_twins],
                            {"fashion": fashion_key, "train_rows": 10000, "steps": 150}),
                  ["fashion_cnn_static_int8.pt", "fashion_cnn_pruned.pt",
                   "fashion_cnn_structured.pt", "fashion_cnn_student.pt"],
                  lambda: export_twins(args.out, 10000, 150)),
    }
    for name in args.only or []:
        if name not in groups:
            print(f"--only {name}: no such group (groups: {', '.join(groups)})", file=sys.stderr)
            return 2
    stamp_path = os.path.join(args.out, "stamp.json")
    stamp = {}
    if os.path.exists(stamp_path):
        with open(stamp_path) as f:
            stamp = json.load(f).get("groups", {})
    todo = []
    for name, (key, outputs, _) in groups.items():
        old = stamp.get(name, {})
        if ((not args.only or name in args.only)
                and (args.force or old.get("key") != key
                     or not all(os.path.exists(os.path.join(args.out, o)) for o in outputs))):
            todo.append(name)
    if len(todo) > 1:
        # TorchScript numbers the classes it compiles per process (___torch_mangle_N), so a
        # group's files would depend on what the same process scripted before it: each group is
        # exported by a process of its own, in order (the twins read the Fashion models).
        for name in todo:
            rc = subprocess.call(
                [sys.executable, os.path.abspath(__file__), "--out", args.out,
                 "--train-rows", str(args.train_rows), "--epochs", str(args.epochs),
                 "--lm-steps", str(args.lm_steps), "--only", name]
                + (["--force"] if args.force else []))
            if rc != 0:
                return rc
        return 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    done = []
    for name, (key, outputs, train) in groups.items():
        if name not in todo:
            continue
        start = time.time()
        info = train()
        for o in outputs:
            with open(os.path.join(args.out, o), "rb") as f:
                info.setdefault(o, {})["sha256"] = hashlib.sha256(f.read()).hexdigest()
        stamp[name] = {"key": key, "models": info, "seconds": round(time.time() - start, 1)}
        fashion = info.get("fashion_cnn.pt")
        if fashion and fashion["test_accuracy"] < 0.85:
            print(f"fashion_cnn.pt reached only {fashion['test_accuracy']:.4f} test accuracy "
                  "(< 0.85)", file=sys.stderr)
            return 1
        # Written after each group, so an interrupted run keeps what it finished.
        with open(stamp_path, "w") as f:
            json.dump({"groups": stamp}, f, indent=2)
        done.append(name)
        print(json.dumps({name: stamp[name]}, indent=2))
    if not done:
        print(f"example models up to date in {args.out}")
    return 0


if __name__ == "__main__":
    # TorchScript writes a module's constants in the order of a Python set, which follows the
    # string hash seed: fix it so that an export is byte-identical from run to run (the same
    # weights would otherwise give files, and digests, that differ).
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    sys.exit(main())

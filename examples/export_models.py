#!/usr/bin/env python3
"""Exports greenlight's example TorchScript models (run by the set-up; seeded and cached).

  fashion_cnn.pt       CNN trained on Fashion-MNIST (log-probabilities, input [1, 28, 28] in [0, 1])
  fashion_cnn_int8.pt  its dynamic-quantized twin (linear layers int8, engine qnnpack)
  hmda_credit.pt       MLP predicting `deny` on the HMDA data from every column but deny and afam
                       (2 logits: class 1 = denied); standardisation is baked into the model.

A second run is instant: outputs are reused when examples/models/stamp.json records the same
script digest. Needs Debian's python3-torch (run with /usr/bin/python3).
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION = "/usr/share/datasets/fashion-mnist"
SEED = 20261128
# The HMDA model's inputs, in this order; text columns use these encodings. afam is excluded.
HMDA_FEATURES = ["pirat", "hirat", "lvrat", "chist", "mhist", "phist", "unemp", "selfemp",
                 "insurance", "condomin", "single", "hschool"]
HMDA_YES_NO = ["phist", "selfemp", "insurance", "condomin", "single", "hschool"]


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "models"))
    ap.add_argument("--train-rows", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.abspath(__file__), "rb") as f:
        script_digest = hashlib.sha256(f.read()).hexdigest()
    key = {"script_sha256": script_digest, "train_rows": args.train_rows, "epochs": args.epochs,
           "torch": torch.__version__}
    stamp_path = os.path.join(args.out, "stamp.json")
    outputs = ["fashion_cnn.pt", "fashion_cnn_int8.pt", "hmda_credit.pt"]
    if not args.force and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            stamp = json.load(f)
        if stamp.get("key") == key and all(os.path.exists(os.path.join(args.out, o)) for o in outputs):
            print(f"example models up to date in {args.out}")
            return 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    start = time.time()
    info = {}
    info.update(train_fashion(args.out, args.train_rows, args.epochs))
    info.update(train_hmda(args.out, os.path.join(HERE, "data", "hmda.csv")))
    if info["fashion_cnn.pt"]["test_accuracy"] < 0.85:
        print(f"fashion_cnn.pt reached only {info['fashion_cnn.pt']['test_accuracy']:.4f} test "
              "accuracy (< 0.85)", file=sys.stderr)
        return 1
    with open(stamp_path, "w") as f:
        json.dump({"key": key, "models": info, "seconds": round(time.time() - start, 1)}, f, indent=2)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

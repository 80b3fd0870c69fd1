"""Greedy generation in PyTorch: the reference greenlight's decode loop must match token for token.

usage: generate_reference.py MODEL.pt PROMPTS.json MAX_NEW_TOKENS MODE THREADS

PROMPTS.json is a JSON list of batches, each a list of prompts (lists of token ids, one length per
batch). MODE is "cache" (prefill once, then step with the model's cache and the last token) or
"recompute" (forward over the whole prefix for every new token). Each next token is the first
index of the largest float32 logit of the last position (numpy argmax). Prints a JSON list with,
per batch, the generated ids of each prompt.
"""
import json
import sys

import numpy as np
import torch


def greedy(logits_row):
    return int(np.argmax(logits_row.numpy()))


def generate(model, batch, n, mode):
    tokens = torch.tensor(batch, dtype=torch.int64)
    out = [[] for _ in batch]
    with torch.no_grad():
        if mode == "cache":
            logits, cache = model.prefill(tokens)
            for b in range(len(batch)):
                out[b].append(greedy(logits[b, -1]))
            for _ in range(1, n):
                last = torch.tensor([[o[-1]] for o in out], dtype=torch.int64)
                logits, cache = model.step(last, cache)
                for b in range(len(batch)):
                    out[b].append(greedy(logits[b, -1]))
        else:
            prefix = tokens
            for k in range(n):
                logits = model(prefix)
                chosen = [greedy(logits[b, -1]) for b in range(len(batch))]
                for b in range(len(batch)):
                    out[b].append(chosen[b])
                prefix = torch.cat([prefix, torch.tensor([[c] for c in chosen])], dim=1)
    return out


def main():
    if "qnnpack" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "qnnpack"
    model = torch.jit.load(sys.argv[1])
    model.eval()
    batches = json.load(open(sys.argv[2], encoding="utf-8"))
    n = int(sys.argv[3])
    mode = sys.argv[4]
    torch.set_num_threads(int(sys.argv[5]))
    print(json.dumps([generate(model, batch, n, mode) for batch in batches]))


if __name__ == "__main__":
    main()

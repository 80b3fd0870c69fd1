"""Perplexity by its definition, in PyTorch and numpy: the reference the C++ metric must match.

usage: lm_reference.py MODEL.pt DOCUMENTS CONTEXT_LENGTH THREADS [json|lines|paragraphs]

DOCUMENTS is a JSON list of strings (json, the default) or a text file split into documents as
docs/datasets.md says (lines: each line; paragraphs: runs of non-blank lines joined with "\n"). Each document is tokenized as UTF-8 bytes (no BOS);
tokens 2..n are scored given their prefix, in windows of CONTEXT_LENGTH tokens that start at
multiples of the stride CONTEXT_LENGTH // 2 (each token scored once, by the first window that
reaches it). One forward call of batch 1 per window; NLL from float32 logits with log-softmax in
float64. Prints JSON: per-document nll, tokens, bytes and correct, and their sums.
"""
import json
import sys

import numpy as np
import torch


def score(model, ids, context):
    n = len(ids)
    stride = max(1, context // 2)
    nll, tokens, correct = 0.0, 0, 0
    done = 1  # positions < done are scored (position 0 never is)
    begin = 0
    while done < n:
        end = min(n, begin + context)
        window = torch.tensor([ids[begin:end]], dtype=torch.int64)
        with torch.no_grad():
            logits = model(window)[0].numpy().astype(np.float64)
        for p in range(done, end):
            row = logits[p - 1 - begin]
            m = row.max()
            nll += m + np.log(np.exp(row - m).sum()) - row[ids[p]]
            correct += int(np.argmax(row) == ids[p])
            tokens += 1
        done = end
        begin += stride
    return nll, tokens, correct


def split(path, how):
    if how == "json":
        return json.load(open(path, encoding="utf-8"))
    lines = open(path, "rb").read().decode("utf-8").split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if lines and lines[-1] == "":
        lines.pop()
    blank = [line.strip(" \t\r\f\v") == "" for line in lines]
    if how == "lines":
        return lines
    docs, current = [], []
    for line, is_blank in zip(lines, blank):
        if is_blank:
            if current:
                docs.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        docs.append("\n".join(current))
    return docs


def main():
    # The engine greenlight selects for dynamic-quantized models (Debian's LibTorch has QNNPACK).
    if "qnnpack" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "qnnpack"
    model = torch.jit.load(sys.argv[1])
    model.eval()
    documents = split(sys.argv[2], sys.argv[5] if len(sys.argv) > 5 else "json")
    context = int(sys.argv[3])
    torch.set_num_threads(int(sys.argv[4]))
    out = {"nll": [], "tokens": [], "bytes": [], "correct": []}
    for text in documents:
        ids = list(text.encode("utf-8"))
        nll, tokens, correct = score(model, ids, context)
        out["nll"].append(nll)
        out["tokens"].append(tokens)
        out["bytes"].append(max(0, len(ids) - 1))
        out["correct"].append(correct)
    out["nll_sum"] = float(sum(out["nll"]))
    out["tokens_sum"] = sum(out["tokens"])
    out["bytes_sum"] = sum(out["bytes"])
    out["correct_sum"] = sum(out["correct"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()

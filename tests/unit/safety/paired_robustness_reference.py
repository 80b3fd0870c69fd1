"""Independent PyTorch reference for metric_delta / metric_retention of robustness metrics.

usage: paired_robustness_reference.py MODEL REFERENCE IMAGES_GZ LABELS_GZ ROWS KIND ARG [CRAFT]
KIND fgsm-model:     ARG is epsilon; each model is attacked white-box with its own FGSM (L-inf,
                     loss = NLL of its log-probabilities on the true labels,
                     x_adv = clip(x + eps * sign(grad), 0, 1)).
KIND fgsm-reference: ARG is epsilon; FGSM crafted on REFERENCE, the same x_adv evaluated on both.
KIND fgsm-craft:     ARG is epsilon; FGSM crafted on a third model CRAFT (a surrogate), the same
                     x_adv evaluated on both.
KIND contrast:       ARG is the contrast factor c; per image x' = clip((x - mean(x)) * c + mean(x),
                     0, 1) (CIFAR-10-C contrast), evaluated on both.
Prints JSON {"model_correct": n, "reference_correct": n, "both_correct": n,
"model_only_correct": n, "reference_only_correct": n}: of the first ROWS test images (at most 128:
one batch, as greenlight runs them; int8 dynamic quantization scales activations per batch), those
each model (and both, or one alone) classifies correctly after the perturbation.
"""
import gzip
import json
import sys
import warnings

import numpy as np
import torch


def fgsm(craft, x, y, eps):
    x = x.clone().requires_grad_(True)
    loss = torch.nn.functional.nll_loss(craft(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


def main():
    model_path, reference_path, images, labels, rows, kind, arg = sys.argv[1:8]
    craft_path = sys.argv[8] if len(sys.argv) > 8 else None
    rows, arg = int(rows), float(arg)
    assert 0 < rows <= 128
    torch.backends.quantized.engine = "qnnpack"  # As greenlight's runtime selects it.
    warnings.filterwarnings("ignore", message=".*reduce_range.*")
    with gzip.open(images, "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:rows]
    with gzip.open(labels, "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:rows]
    x32 = x.astype(np.float32) * np.float32(0.00392156862745098)
    x = torch.from_numpy(x32)
    y = torch.from_numpy(y.astype(np.int64))
    model = torch.jit.load(model_path).eval()
    reference = torch.jit.load(reference_path).eval()
    if kind == "fgsm-model":
        x_model, x_reference = fgsm(model, x, y, arg), fgsm(reference, x, y, arg)
    elif kind == "fgsm-reference":
        x_model = x_reference = fgsm(reference, x, y, arg)
    elif kind == "fgsm-craft":
        x_model = x_reference = fgsm(torch.jit.load(craft_path).eval(), x, y, arg)
    elif kind == "contrast":
        d = x32.astype(np.float64)
        mean = d.reshape(rows, -1).mean(axis=1).reshape(rows, 1, 1, 1)
        x_model = x_reference = torch.from_numpy(
            np.clip((d - mean) * arg + mean, 0.0, 1.0).astype(np.float32))
    else:
        raise SystemExit("unknown kind " + kind)
    with torch.no_grad():
        m = model(x_model).argmax(1) == y
        r = reference(x_reference).argmax(1) == y
    out = {"model_correct": int(m.sum().item()), "reference_correct": int(r.sum().item()),
           "both_correct": int((m & r).sum().item()), "model_only_correct": int((m & ~r).sum().item()),
           "reference_only_correct": int((~m & r).sum().item())}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

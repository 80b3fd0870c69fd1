"""Independent PyTorch reference for FGSM (L-inf) accuracy, used by the safety tests.

usage: fgsm_reference.py MODEL IMAGES_GZ LABELS_GZ ROWS EPSILON
prints the adversarial accuracy on the first ROWS test images (inputs in [0, 1], model output
log-probabilities, loss = NLL on the true labels, x_adv = clip(x + eps * sign(grad), 0, 1)).
"""
import gzip
import sys

import numpy as np
import torch


def main():
    model_path, images, labels, rows, eps = sys.argv[1:6]
    rows, eps = int(rows), float(eps)
    with gzip.open(images, "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:rows]
    with gzip.open(labels, "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:rows]
    x = torch.from_numpy(x.astype(np.float32) * np.float32(0.00392156862745098))
    y = torch.from_numpy(y.astype(np.int64))
    model = torch.jit.load(model_path).eval()
    x.requires_grad_(True)
    loss = torch.nn.functional.nll_loss(model(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        adv = (x + eps * grad.sign()).clamp(0.0, 1.0)
        acc = (model(adv).argmax(1) == y).double().mean().item()
    print("%.17g" % acc)


if __name__ == "__main__":
    main()

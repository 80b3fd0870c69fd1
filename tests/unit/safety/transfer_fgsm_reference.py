"""Independent PyTorch reference for the transfer FGSM (L-inf) attack, used by the safety tests:
CRAFT_MODEL is the reference for craft_on: reference, the surrogate for craft_on: surrogate.

usage: transfer_fgsm_reference.py CRAFT_MODEL TARGET_MODEL IMAGES_GZ LABELS_GZ ROWS EPSILON SHOW
Crafts FGSM on CRAFT_MODEL (loss = NLL of its log-probabilities on the true labels,
x_adv = clip(x + eps * sign(grad), 0, 1)) for the first ROWS test images, evaluates x_adv on
TARGET_MODEL and prints JSON: {"correct": rows TARGET_MODEL still classifies correctly,
"adversarial": the first SHOW adversarial inputs, 784 floats each}. ROWS is at most 128, so that
the rows are one batch for the gradient (greenlight's default batch_size) and one for the
evaluation, as greenlight runs them: int8 dynamic quantization scales activations per batch.
"""
import gzip
import json
import sys
import warnings

import numpy as np
import torch


def main():
    craft_path, target_path, images, labels, rows, eps, show = sys.argv[1:8]
    rows, eps, show = int(rows), float(eps), int(show)
    assert 0 < rows <= 128
    torch.backends.quantized.engine = "qnnpack"  # As greenlight's runtime selects it.
    warnings.filterwarnings("ignore", message=".*reduce_range.*")  # qnnpack's, on every pass.
    with gzip.open(images, "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:rows]
    with gzip.open(labels, "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:rows]
    x = torch.from_numpy(x.astype(np.float32) * np.float32(0.00392156862745098))
    y = torch.from_numpy(y.astype(np.int64))
    craft = torch.jit.load(craft_path).eval()
    target = torch.jit.load(target_path).eval()
    x.requires_grad_(True)
    loss = torch.nn.functional.nll_loss(craft(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        adv = (x + eps * grad.sign()).clamp(0.0, 1.0)
        correct = int((target(adv).argmax(1) == y).sum().item())
    print(json.dumps({"correct": correct,
                      "adversarial": adv[:show].reshape(show, -1).tolist()}))


if __name__ == "__main__":
    main()

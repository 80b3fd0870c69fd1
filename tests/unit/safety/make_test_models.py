"""Exports the small TorchScript models the safety tests probe (run by CTest as a fixture).

usage: make_test_models.py OUTDIR

  nan_raises.pt   [1, 28, 28] -> 10 logits; raises ValueError when the input holds a NaN.
  nan_loops.pt    [1, 28, 28] -> 10 logits; loops forever when the input holds a NaN.
  linear3.pt      [3] -> one logit 2*a - b + 0*c (monotone increasing in a, decreasing in b).
"""
import os
import sys

import torch


class NanRaises(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(torch.isnan(x).any()):
            raise ValueError("NaN in input")
        return self.fc(x.flatten(1))


class NanLoops(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = 0
        while bool(torch.isnan(x).any()):
            n += 1  # never ends: x does not change
        return self.fc(x.flatten(1))


class Linear3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 1)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[2.0, -1.0, 0.0]]))
            self.fc.bias.fill_(-0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    for name, module in [("nan_raises", NanRaises()), ("nan_loops", NanLoops()),
                         ("linear3", Linear3())]:
        module.eval()
        torch.jit.script(module).save(os.path.join(out, name + ".pt"))


if __name__ == "__main__":
    main()

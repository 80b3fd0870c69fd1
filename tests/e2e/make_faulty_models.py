"""Exports the faulty TorchScript models the supervision test audits (run by CTest as a fixture).

usage: make_faulty_models.py OUTDIR

  hangs.pt     [1, 28, 28] -> 10 logits; forward never returns (a scripted while loop that runs as
               long as the input holds no NaN, which real images never do).
  segfaults.pt [1, 28, 28] -> 10 logits; forward crashes the process with SIGSEGV: it calls
               torch.searchsorted with a sorter whose indices lie far outside the sorted sequence,
               which LibTorch 1.13 does not check before reading (it reads element 2^40, 4 TiB past the data).
"""
import os
import sys

import torch


class Hangs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = 0
        while not bool(torch.isnan(x).any()):
            n += 1  # x never changes: the loop never ends
        return self.fc(x.flatten(1))


class Segfaults(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = torch.arange(8, dtype=torch.float32)
        sorter = torch.full([8], 1 << 40, dtype=torch.int64)
        where = torch.searchsorted(seq, x.flatten(1)[:, 0].contiguous(), sorter=sorter)
        return self.fc(x.flatten(1)) + where.float().unsqueeze(1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(11)
    for name, module in [("hangs", Hangs()), ("segfaults", Segfaults())]:
        module.eval()
        torch.jit.script(module).save(os.path.join(out, name + ".pt"))


if __name__ == "__main__":
    main()

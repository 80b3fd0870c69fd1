"""Exports small causal language models for the tests (seconds, no training).

usage: make_tiny_lm.py OUT_DIR

Writes, with seeded random weights:
  lm_incremental.pt  vocab 256, forward + prefill + step (cache: [B, D + 1], running sum and count)
  lm_plain.pt        the same weights, forward only
  lm_prefill_only.pt exports prefill but not step (a load error)
  lm_small_vocab.pt  vocab 100 (too small for the bytes tokenizer)
  lm_vocab_<n>.pt    for each extra argument n: vocab n, forward only

Each model is causal: the logits at position t depend on tokens 0..t only (the running mean of
the token embeddings and the current token's embedding).
"""
import sys

import torch


class TinyLm(torch.nn.Module):
    def __init__(self, vocab: int, dim: int = 16):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.mix = torch.nn.Linear(dim, dim)
        self.out = torch.nn.Linear(dim, vocab)

    def head(self, running_mean: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(running_mean + self.mix(emb)))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        emb = self.embed(tokens)
        count = torch.arange(1, tokens.size(1) + 1, dtype=emb.dtype).view(1, -1, 1)
        return self.head(torch.cumsum(emb, dim=1) / count, emb)


class IncrementalLm(TinyLm):
    @torch.jit.export
    def prefill(self, tokens: torch.Tensor):
        emb = self.embed(tokens)
        total = torch.cumsum(emb, dim=1)
        count = torch.arange(1, tokens.size(1) + 1, dtype=emb.dtype).view(1, -1, 1)
        logits = self.head(total / count, emb)
        n = torch.full((tokens.size(0), 1), float(tokens.size(1)), dtype=emb.dtype)
        return logits, torch.cat([total[:, -1, :], n], dim=1)

    @torch.jit.export
    def step(self, tokens: torch.Tensor, cache: torch.Tensor):
        emb = self.embed(tokens)  # [B, 1, D]
        total = cache[:, :-1] + emb[:, 0, :]
        n = cache[:, -1:] + 1.0
        logits = self.head((total / n).unsqueeze(1), emb)
        return logits, torch.cat([total, n], dim=1)


class PrefillOnlyLm(TinyLm):
    @torch.jit.export
    def prefill(self, tokens: torch.Tensor):
        return self.forward(tokens), tokens.float()


def save(module: torch.nn.Module, path: str) -> None:
    module.eval()
    torch.jit.script(module).save(path)


def main() -> None:
    out = sys.argv[1]
    torch.manual_seed(14)
    incremental = IncrementalLm(256)
    save(incremental, f"{out}/lm_incremental.pt")
    plain = TinyLm(256)
    plain.load_state_dict(incremental.state_dict())
    save(plain, f"{out}/lm_plain.pt")
    prefill_only = PrefillOnlyLm(256)
    prefill_only.load_state_dict(incremental.state_dict())
    save(prefill_only, f"{out}/lm_prefill_only.pt")
    save(TinyLm(100), f"{out}/lm_small_vocab.pt")
    for n in sys.argv[2:]:
        save(TinyLm(int(n)), f"{out}/lm_vocab_{n}.pt")


if __name__ == "__main__":
    main()

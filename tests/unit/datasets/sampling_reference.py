"""Independent re-implementation of greenlight's row sampling (docs/datasets.md), in plain Python
integers, for the tests to compare against. Usage:

  sampling_reference.py splitmix SEED COUNT        -> COUNT outputs of SplitMix64
  sampling_reference.py random TOTAL SIZE SEED     -> selected row indices, ascending
  sampling_reference.py stratified SIZE SEED L0 L1 ... -> rows of a stratified sample of the labels
"""
import sys

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        threshold = (2**64 - n) % n
        while True:
            x = self.next()
            if x >= threshold:
                return x % n


def random_sample(total, size, rng):
    size = max(0, min(size, total))
    a = list(range(total))
    for i in range(size):
        j = i + rng.below(total - i)
        a[i], a[j] = a[j], a[i]
    return sorted(a[:size])


def allocation(sizes, size):
    total = sum(sizes)
    size = max(0, min(size, total))
    share = [size * n // total for n in sizes]
    rem = [(-(size * n % total), h) for h, n in enumerate(sizes)]  # largest first, then index
    for _, h in sorted(rem)[: size - sum(share)]:
        share[h] += 1
    return share


def stratified(labels, size, seed):
    strata = {}
    for r, y in enumerate(labels):
        strata.setdefault(y, []).append(r)
    keys = sorted(strata)
    share = allocation([len(strata[k]) for k in keys], size)
    rng = SplitMix64(seed)
    rows = []
    for k, n in zip(keys, share):
        rows += [strata[k][i] for i in random_sample(len(strata[k]), n, rng)]
    return sorted(rows)


if __name__ == "__main__":
    cmd, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    if cmd == "splitmix":
        rng = SplitMix64(args[0])
        out = [rng.next() for _ in range(args[1])]
    elif cmd == "random":
        out = random_sample(args[0], args[1], SplitMix64(args[2]))
    else:
        out = stratified(args[2:], args[0], args[1])
    print(" ".join(str(v) for v in out))

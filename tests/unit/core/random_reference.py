"""Independent Python implementation of greenlight's random draws (core/random.h), written from the
published algorithms: SplitMix64 (Steele, Lea and Flood 2014), xoshiro256** 1.0 (Blackman and
Vigna 2021), 53-bit uniform doubles, arc4random_uniform-style bounded integers, Box-Muller,
binomial by BINV inversion (Kachitvichyanukul and Schmeiser 1988) and BTRS (Hormann 1993), Poisson
by inversion and PTRS (Hormann 1993). Prints the first draws for fixed seeds as JSON.
"""
import json
import math

M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro:
    def __init__(self, seed):
        self.s = []
        st = seed
        for _ in range(4):
            st, v = splitmix64(st)
            self.s.append(v)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53

    def below(self, n):
        threshold = ((1 << 64) - n) % n
        while True:
            r = self.next()
            if r >= threshold:
                return r % n

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


TAIL = [0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
        0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
        0.00925546218271273, 0.00833056343336287]


def stirling_tail(k):
    if k <= 9:
        return TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


def binomial(g, n, p):
    if n == 0 or p == 0.0:
        return 0
    if p == 1.0:
        return n
    if p > 0.5:
        return n - binomial(g, n, 1.0 - p)
    if n * p < 10.0:
        q = 1.0 - p
        s = p / q
        a = (n + 1.0) * s
        r0 = math.exp(n * math.log1p(-p))
        while True:
            r = r0
            u = g.uniform()
            k = 0
            while u > r and k < n:
                u -= r
                k += 1
                r *= a / k - s
            if u <= r:
                return k
    nf = float(n)
    q = 1.0 - p
    spq = math.sqrt(nf * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = nf * p + 0.5
    v_r = 0.92 - 4.2 / b
    r = p / q
    alpha = (2.83 + 5.1 / b) * spq
    m = math.floor((nf + 1) * p)
    while True:
        u = g.uniform() - 0.5
        v = g.uniform()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + c)
        if us >= 0.07 and v <= v_r:
            return k
        if k < 0 or k > nf:
            continue
        v = math.log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * math.log((m + 1) / (r * (nf - m + 1))) +
                 (nf + 1) * math.log((nf - m + 1) / (nf - k + 1)) +
                 (k + 0.5) * math.log(r * (nf - k + 1) / (k + 1)) + stirling_tail(m) +
                 stirling_tail(nf - m) - stirling_tail(k) - stirling_tail(nf - k))
        if v <= bound:
            return k


def poisson(g, lam):
    if lam == 0.0:
        return 0
    if lam < 10.0:
        p0 = math.exp(-lam)
        while True:
            p = p0
            f = p0
            u = g.uniform()
            k = 0
            while u > f and k < 1000:
                k += 1
                p *= lam / k
                f += p
            if u <= f:
                return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = g.uniform() - 0.5
        v = g.uniform()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <=
                -lam + k * loglam - math.lgamma(k + 1)):
            return k


def main():
    out = {}
    g = Xoshiro(0)
    out["raw_seed0"] = [str(g.next()) for _ in range(8)]
    g = Xoshiro(20261128)
    out["raw_seed20261128"] = [str(g.next()) for _ in range(8)]
    g = Xoshiro(42)
    out["uniform"] = [g.uniform() for _ in range(8)]
    g = Xoshiro(42)
    out["below_10"] = [g.below(10) for _ in range(16)]
    g = Xoshiro(7)
    out["normal"] = [g.normal() for _ in range(8)]
    cases = [(20, 0.1), (1000, 0.003), (1000, 0.3), (1000000, 0.45), (50, 0.9), (987654, 0.999)]
    out["binomial"] = []
    for n, p in cases:
        g = Xoshiro(11)
        out["binomial"].append({"n": n, "p": p, "draws": [binomial(g, n, p) for _ in range(12)]})
    out["poisson"] = []
    for lam in [0.5, 3.0, 9.9, 10.0, 250.0, 1234567.0]:
        g = Xoshiro(13)
        out["poisson"].append({"lambda": lam, "draws": [poisson(g, lam) for _ in range(12)]})
    print(json.dumps(out))


if __name__ == "__main__":
    main()

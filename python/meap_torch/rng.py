"""Port of src/util/random.ts (Rng) and src/util/seeds.ts (deriveSeed), bit-exact in 32-bit integer arithmetic.

Every token, mask and initial weight of a study comes from these, so the twin reproduces the engine's streams
only if each 32-bit step here equals the JavaScript one (Math.imul keeps the low 32 bits of the product).
"""
import math

_MASK32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _MASK32


class Rng:
    """SplitMix32-style generator, as src/util/random.ts."""

    def __init__(self, seed: int):
        self.state = seed & _MASK32

    def next_uint32(self) -> int:
        self.state = (self.state + 0x9E3779B9) & _MASK32
        z = self.state
        z = _imul(z ^ (z >> 16), 0x85EBCA6B)
        z = _imul(z ^ (z >> 13), 0xC2B2AE35)
        return (z ^ (z >> 16)) & _MASK32

    def next(self) -> float:
        # u32 / 2^32 is exact in a double, as in JavaScript.
        return self.next_uint32() / 4294967296.0

    def int(self, n: int) -> int:
        return math.floor(self.next() * n)

    def normal(self) -> float:
        u = 1 - self.next()
        v = self.next()
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)


def js_number_text(x) -> str:
    """`${x}` of a JavaScript number (deriveSeed hashes numbers as JavaScript prints them)."""
    if isinstance(x, bool):
        raise TypeError("deriveSeed takes numbers and strings, not booleans")
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    text = repr(x)
    if "e" in text:
        # JavaScript writes 1e-7 and 1.5e+21 where Python writes 1e-07 and 1.5e+21.
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    return text


def derive_seed(*parts) -> int:
    """FNV-1a over `${part}|` (UTF-16 code units) with a final avalanche, as src/util/seeds.ts."""
    h = 0x811C9DC5
    for part in parts:
        text = (part if isinstance(part, str) else js_number_text(part)) + "|"
        units = text.encode("utf-16-le")
        for i in range(0, len(units), 2):
            h = _imul(h ^ (units[i] | (units[i + 1] << 8)), 0x01000193)
    h ^= h >> 16
    h = _imul(h, 0x85EBCA6B)
    h ^= h >> 13
    h = _imul(h, 0xC2B2AE35)
    h ^= h >> 16
    return h & _MASK32

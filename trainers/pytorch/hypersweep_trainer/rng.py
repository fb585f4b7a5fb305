"""The product's seeded streams, bit for bit as in TypeScript:
- Mulberry32 (packages/core/src/rng.ts, packages/trainer/src/rng.ts): 32-bit state, uniform in [0, 1).
- derive_seed (packages/trainer/src/rng.ts): seed and stream id mixed by the splitmix32 finaliser.
- data_seed (packages/data/src/rng.ts): the first 4 bytes (little endian) of sha256 of the parts joined by NUL.
- shuffle_in_place: Fisher-Yates drawing from a Mulberry32, as packages/data shuffles training batches."""

import hashlib

M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & M32


class Mulberry32:
    def __init__(self, seed: int):
        self.state = seed & M32

    def next(self) -> float:
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296


def derive_seed(seed: int, stream: int) -> int:
    z = (_imul(seed & M32, 0x9E3779B9) + _imul(stream & M32, 0x85EBCA6B) + 0x6D2B79F5) & M32
    z = _imul(z ^ (z >> 16), 0x85EBCA6B)
    z = _imul(z ^ (z >> 13), 0xC2B2AE35)
    return (z ^ (z >> 16)) & M32


def _js_string(part) -> str:
    if isinstance(part, bool):
        return "true" if part else "false"
    if isinstance(part, float) and part.is_integer():
        return str(int(part))
    return str(part)


def data_seed(*parts) -> int:
    digest = hashlib.sha256("\u0000".join(_js_string(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little")


def shuffle_in_place(xs: list, rng: Mulberry32) -> list:
    for i in range(len(xs) - 1, 0, -1):
        j = int(rng.next() * (i + 1))
        xs[i], xs[j] = xs[j], xs[i]
    return xs

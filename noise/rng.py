"""Seeded randomness: one generator per (seed, noise, task, language, doc, field).

HELM gives each instance its own ``Random``; we do the same per doc *and field*,
so the noisy text of a doc never depends on the order, batch size, number of
workers or machine. Perturbations draw only bytes (``randbytes``), so any
``random.Random`` serves; ours, ``DocRandom``, streams the SHAKE-128 output of
``BLAKE2b(seed, spec, task, language) + doc id + field``: creating one costs a
hash instead of seeding a 2.5 KB Mersenne Twister (10 µs, more than perturbing
a sentence), and the stream is defined by the key alone, so it is the same on
every platform and Python version.

Every unit of a text gets one uniform number, drawn before anything else, and is
edited when that number is below the rate. The key holds the noise spec without
its rates, so a sweep nests: with the same seed, ``typo:0.05`` edits a subset of
the units ``typo:0.1`` edits.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Protocol

#: byte patterns matching one byte <= t, for the fast scan in ``select``
_AT_MOST = [re.compile(b"[\\x00-" + re.escape(bytes([t])) + b"]", re.DOTALL) for t in range(256)]


class Rng(Protocol):
    """What a perturbation needs from a generator (``random.Random`` has it)."""

    def randbytes(self, n: int) -> bytes: ...


class DocRandom:
    """The byte stream of a key (SHAKE-128), with ``random()`` for convenience."""

    __slots__ = ("_xof", "_made", "_buffer")

    def __init__(self, key: bytes) -> None:
        self._xof = hashlib.shake_128(key)
        self._made = 0
        self._buffer = b""

    def randbytes(self, n: int) -> bytes:
        if len(self._buffer) < n:
            # an XOF's output is a prefix-stable stream: ask for more of it, keep the new part
            total = max(2 * self._made, self._made + n - len(self._buffer), 64)
            self._buffer += self._xof.digest(total)[self._made :]
            self._made = total
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def random(self) -> float:
        """A float in [0, 1) from the next 7 bytes (53 bits)."""
        return (int.from_bytes(self.randbytes(7), "little") >> 3) * 2.0**-53


class RngKeys:
    """Makes the generator of one doc field from (seed, noise spec, task, language, doc id, field)."""

    def __init__(self, seed: int, spec_key: str, task: str, language: str) -> None:
        prefix = json.dumps([seed, spec_key, task, language], ensure_ascii=False)
        self._prefix = hashlib.blake2b(prefix.encode("utf-8"), digest_size=32).digest()

    def rng(self, doc_id: Any, field: str) -> DocRandom:
        return DocRandom(self._prefix + f"\x1f{doc_id}\x1f{field}".encode())


def picks(rng: Rng, n: int, rate: float) -> list[tuple[int, float]]:
    """The units (of ``n``) whose uniform number is below ``rate``, each with that number / rate.

    Every unit's number is drawn (16 bits, from one ``randbytes(2 * n)``)
    whatever the rate, so rates nest and the stream after this call does not
    depend on the rate. The second value is uniform on [0, 1) and picks among a
    unit's variants without another draw.
    """
    return select(rng.randbytes(2 * n) if n > 0 else b"", rate)


def select(drawn: bytes, rate: float) -> list[tuple[int, float]]:
    """``picks`` on numbers already drawn: unit i's is ``drawn[i] * 256 + drawn[n + i]`` (n = half the bytes).

    The scan runs in C: only about ``rate * n`` units reach Python.
    """
    n = len(drawn) // 2
    if n == 0 or rate <= 0:
        return []
    high, low = drawn[:n], drawn[n:]
    if rate >= 1:
        return [(i, (high[i] * 256 + low[i]) / 65536) for i in range(n)]
    limit = rate * 65536
    out = []
    for m in _AT_MOST[int(limit) >> 8].finditer(high):
        i = m.start()
        u = high[i] * 256 + low[i]
        if u < limit:
            out.append((i, u / limit))
    return out

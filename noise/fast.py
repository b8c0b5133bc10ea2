"""Option perturbations (``typo``, ``homoglyph``) over a whole corpus at once.

Perturbing one short text in Python costs microseconds of bookkeeping per text
and per edit; numpy does that bookkeeping once for a corpus. The numbers are
drawn per text exactly as ``perturb`` draws them (one generator per doc field,
two bytes per grapheme cluster) and every choice uses the same arithmetic, so
the output equals perturbing the texts one by one (a property test holds it to
that). Edits where a character becomes another single character are applied to
a code-point array; other picked clusters (a Thai consonant with its marks, a
Greek letter with its accent) are replaced in Python. Texts that need the full
segmentation rules (``clusters.py``, tier 3) take the ordinary path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .clusters import has_linker, is_regular, segment, starts
from .orthography import fits
from .rng import Rng


class OptionPerturbation(Protocol):
    """What this pass needs of ``perturbation.OptionPerturbation`` (which calls it, so it is not imported)."""

    rate: float

    def options(self, unit: str) -> tuple[str, ...]: ...

    def replace(self, unit: str, fraction: float) -> str | None: ...

    def apply(self, units: list[str] | str, check: bool, drawn: bytes) -> str: ...


_POINTS: dict[int, tuple[tuple[str, ...], np.ndarray | None]] = {}


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def _as_code_points(options: tuple[str, ...]) -> np.ndarray | None:
    """The options as code points (None if one is longer than a code point), remembered per tuple."""
    cached = _POINTS.get(id(options))
    if cached is None or cached[0] is not options:
        joined = "".join(options)
        cached = _POINTS[id(options)] = (options, _code_points(joined) if len(joined) == len(options) else None)
    return cached[1]


def perturb_batch(p: OptionPerturbation, texts: list[str], rngs: Sequence[Rng]) -> list[str]:
    out: list[str] = list(texts)
    regular = [k for k, text in enumerate(texts) if text and is_regular(text)]
    chosen = set(regular)
    for k, text in enumerate(texts):
        if k not in chosen:
            units, check = segment(text)
            out[k] = p.apply(units, check, rngs[k].randbytes(2 * len(units)))
    if regular:
        for k, text in zip(regular, _vectorised(p, [texts[k] for k in regular], [rngs[k] for k in regular])):
            out[k] = text
    return out


def _vectorised(p: OptionPerturbation, texts: list[str], rngs: Sequence[Rng]) -> list[str]:
    joined = "".join(texts)
    cps = _code_points(joined)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    text_at = np.cumsum(lengths) - lengths
    begins = starts(cps, text_at)
    cluster_at = np.flatnonzero(begins)
    cluster_end = np.append(cluster_at[1:], len(cps))
    counts = np.add.reduceat(begins.astype(np.int64), text_at)
    # two bytes per cluster from each text's own generator, as rng.select reads them
    raw = np.frombuffer(b"".join(r.randbytes(2 * n) for r, n in zip(rngs, counts.tolist())), dtype=np.uint8)
    owner = np.repeat(np.arange(len(texts)), counts)
    within = np.arange(len(cluster_at)) - (np.cumsum(counts) - counts)[owner]
    high_at = (np.cumsum(2 * counts) - 2 * counts)[owner] + within
    numbers = raw[high_at].astype(np.int64) * 256 + raw[high_at + counts[owner]]
    limit = p.rate * 65536 if p.rate < 1 else 65536.0
    picked = np.flatnonzero(numbers < limit)
    if picked.size == 0:
        return texts
    fraction = numbers[picked] / limit
    linked = has_linker(cps, text_at)  # edits there must not fuse clusters: checked in Python
    single = ((cluster_end - cluster_at)[picked] == 1) & ~linked[owner[picked]]
    new_cps, table_done = _single_code_points(p, cps, cluster_at[picked[single]], fraction[single])
    done = np.zeros(len(picked), dtype=bool)
    done[np.flatnonzero(single)[table_done]] = True
    result = new_cps.tobytes().decode("utf-32-le")
    # the rest in Python: clusters or options of several code points, texts with a virama
    rest = picked[~done]
    edits = _python_edits(p, joined, cluster_at, cluster_end, owner[rest], counts, linked, rest, fraction[~done])
    if not edits:
        return [result[a : a + n] for a, n in zip(text_at.tolist(), lengths.tolist())]
    pieces: list[str] = []
    last, shift, shifts = 0, 0, []
    for a, b, new in edits:
        pieces += (result[last:a], new)
        last = b
        shift += len(new) - (b - a)
        shifts.append((b, shift))
    final = "".join([*pieces, result[last:]])
    ends = np.array([b for b, _ in shifts])
    moved = np.array([0] + [s for _, s in shifts])
    bounds = np.append(text_at, len(cps))
    bounds = bounds + moved[np.searchsorted(ends, bounds, side="right")]
    return [final[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def _python_edits(
    p: OptionPerturbation,
    joined: str,
    cluster_at: np.ndarray,
    cluster_end: np.ndarray,
    owners: np.ndarray,
    counts: np.ndarray,
    linked: np.ndarray,
    rest: np.ndarray,
    fraction: np.ndarray,
) -> list[tuple[int, int, str]]:
    """``apply``'s loop for the picked clusters the code-point table cannot do, in order."""
    first = (np.cumsum(counts) - counts)[owners]
    last = first + counts[owners] - 1
    bounds = np.append(cluster_at, len(joined))
    previous_at = bounds[np.maximum(rest - 1, 0)]
    next_end = cluster_end[np.minimum(rest + 1, len(cluster_at) - 1)]
    edits: list[tuple[int, int, str]] = []
    previous = (-1, "")  # the last edited cluster and what it became
    rows = zip(
        rest.tolist(), fraction.tolist(), cluster_at[rest].tolist(), cluster_end[rest].tolist(),
        (rest == first).tolist(), (rest == last).tolist(), linked[owners].tolist(), previous_at.tolist(), next_end.tolist(),
    )  # fmt: skip
    for c, f, a, b, is_first, is_last, check, before, after in rows:
        unit = joined[a:b]
        new = p.replace(unit, f)
        if new is None or new == unit:
            continue
        if check:  # left as edited so far, right as it is: what keeps_clusters looks at
            left = "" if is_first else previous[1] if previous[0] == c - 1 else joined[before:a]
            if not fits(left, new, "" if is_last else joined[b:after]):
                continue
        edits.append((a, b, new))
        previous = (c, new)
    return edits


def _single_code_points(
    p: OptionPerturbation, cps: np.ndarray, at: np.ndarray, fraction: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``cps`` with the picked single-code-point clusters at ``at`` replaced where every option is one
    code point, and which of them were handled so (``pick_other``'s arithmetic, vectorised)."""
    current = cps[at]
    seen = np.zeros(0x10000, dtype=bool)  # tier-1/2 text is in the Basic Multilingual Plane
    seen[current] = True
    unique = np.flatnonzero(seen)
    which = (np.cumsum(seen) - 1)[current]
    segments: dict[int, tuple[int, int] | None] = {}  # each distinct option tuple once (alphabets are shared)
    flat: list[np.ndarray] = []
    offset = np.zeros(len(unique), dtype=np.int64)
    count = np.zeros(len(unique), dtype=np.int64)
    handled = np.ones(len(unique), dtype=bool)
    size = 0
    for u, code in enumerate(unique.tolist()):
        options = p.options(chr(code))
        if id(options) not in segments:
            points = _as_code_points(options)
            segments[id(options)] = None if points is None else (size, len(options))
            if points is not None:
                flat.append(points)
                size += len(options)
        place = segments[id(options)]
        if place is None:
            handled[u] = False
        else:
            offset[u], count[u] = place
    table = np.concatenate([*flat, np.zeros(1, dtype=np.uint32)])  # a last entry for rows without options
    n, start = count[which], offset[which]
    k = np.floor(fraction * n).astype(np.int64)
    choice = np.where(n > 0, table[np.where(n > 0, start + k, size)], current)
    same = (n > 0) & (choice == current)  # an alphabet may hold the character itself: take the next one
    retry = table[np.where(same, start + (k + 1) % np.maximum(n, 1), size)]
    choice = np.where(same, np.where(n > 1, retry, current), choice)
    ok = handled[which]
    new = cps.copy()
    new[at[ok]] = choice[ok]
    return new, ok

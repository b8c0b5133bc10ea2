"""How often each letter is written, for scripts typed with no layout modelled here.

A typist's slip lands on a letter of the script, and common letters are typed
more often than rare ones, so the same-script fallback of ``typo``,
``substitute`` and ``insert`` draws letters weighted by their frequency in real
text rather than uniformly from every letter Unicode lists (most of which a
Bengali writer never types). ``data/letters.tsv`` holds letter counts of the
Tatoeba test sentences (CC BY 2.0 FR) of Bengali, Tamil, Telugu, Malayalam and
Georgian; ``python -m harness.noise.frequencies DATA_DIR`` rebuilds it from an
XTREME download.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path

from .clusters import attaches
from .text import script_of

TABLE = "letters.tsv"
#: Tatoeba language -> the script whose letters it counts
SOURCES = {"ben": "Bengali", "tam": "Tamil", "tel": "Telugu", "mal": "Malayalam", "kat": "Georgian"}


@cache
def weighted_letters(script: str) -> tuple[str, ...] | None:
    """The script's letters seen in real text, each repeated 1 to 8 times by the log of its count (None: no counts)."""
    rows = [
        line.split("\t")
        for line in (resources.files(__package__) / "data" / TABLE).read_text(encoding="utf-8").splitlines()
    ]
    counts = {letter: int(n) for s, letter, n in rows if s == script}
    if not counts:
        return None
    least = min(counts.values())
    return tuple(c for c, n in sorted(counts.items()) for _ in range(1 + min(7, int(math.log2(n / least)) // 2)))


def build_table(data_dir: Path, path: Path) -> None:
    rows = []
    for code, script in SOURCES.items():
        text = (data_dir / "tatoeba" / "v1" / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8")
        counts = Counter(c for c in text if c.isalpha() and not attaches(c) and script_of(c) == script)
        rows += [f"{script}\t{c}\t{n}\n" for c, n in sorted(counts.items()) if n >= 3]
    path.write_text("".join(rows), encoding="utf-8")


if __name__ == "__main__":
    build_table(Path(sys.argv[1]), Path(__file__).with_name("data") / TABLE)

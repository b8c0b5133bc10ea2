"""Natural misspellings: words replaced by a misspelling real writers made, from a public list.

Synthetic noise (keyboard slips) and natural noise (the errors people make)
affect models differently, so ``misspell`` lets a study contrast them. The
lists are not shipped: they are read from the installed package that maintains
them (the ``misspell`` extra), under that package's licence.

- en: codespell's ``dictionary.txt`` (derived from English Wikipedia's "Lists of
  common misspellings", CC BY-SA 3.0): misspelling -> correction; only entries
  with one correction of one word are used, inverted to correction -> its
  misspellings.

No public list of natural misspellings with a licence that allows it was found
for the other XTREME-R languages; ``misspell`` says so for them instead of
falling back to synthetic noise.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .perturbation import NoiseError, register
from .words import WordSubstitution

SOURCES = {"en": "codespell's dictionary.txt (from English Wikipedia's Lists of common misspellings, CC BY-SA 3.0)"}


@cache
def misspellings(language: str) -> dict[str, tuple[str, ...]]:
    """Correct word (lower case) -> the misspellings of it in the language's list."""
    if language not in SOURCES:
        raise NoiseError(
            f"misspell: no list of natural misspellings for {language!r} (lists: "
            f"{'; '.join(f'{k}: {v}' for k, v in SOURCES.items())}). Use typo, swap or delete for synthetic "
            f"character noise in this language."
        )
    try:
        text = (resources.files("codespell_lib") / "data" / "dictionary.txt").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise NoiseError(
            "misspell reads its English list from codespell, which is not installed: "
            "pip install 'xtreme-noise-harness[misspell]' (or pip install codespell)."
        ) from None
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        wrong, _, right = line.partition("->")
        right = right.strip()
        if right and "," not in right.rstrip(",") and right.rstrip(",").isalpha() and wrong.isalpha():
            out.setdefault(right.rstrip(",").lower(), []).append(wrong.lower())
    return {k: tuple(sorted(set(v))) for k, v in out.items()}


@register
class Misspell(WordSubstitution):
    """A word becomes a misspelling real writers made (a public list per language; en: Wikipedia's)."""

    name = "misspell"

    def __init__(self, rate: float | None = None, language: str = "en", **params: object) -> None:
        super().__init__(rate, language, **params)
        self.table = misspellings(language)

    def variant(self, word: str, fraction: float) -> str | None:
        core = word.strip(".,;:!?\"'()")
        options = self.table.get(core.lower())
        if not options or not core:
            return None
        new = options[int(fraction * len(options))]
        new = (
            new.capitalize()
            if core[0].isupper() and core[1:].islower()
            else new.upper()
            if core.isupper() and len(core) > 1
            else new
        )
        return word.replace(core, new, 1)

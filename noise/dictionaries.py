"""Bilingual dictionaries in MUSE format, for code-switching (Qin et al. 2020; Tan & Joty 2021).

A MUSE ground-truth dictionary has one pair per line, ``source target``,
separated by whitespace; a word with several translations has several lines.
One file per language pair (``de-en.txt`` translates German into English). Files
are read once per process and checked line by line, so a malformed file is
reported with its line number before any training starts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .perturbation import NoiseError
from .text import Words, is_no_space_unit

#: longest run of no-space characters looked up as one dictionary entry
_MAX_GROUP = 6


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


@dataclass(frozen=True)
class Dictionary:
    path: Path
    entries: dict[str, tuple[str, ...]]

    def translate(self, word: str, fraction: float) -> str | None:
        """A translation of ``word`` (punctuation around it kept, capitalisation carried over), or None."""
        start, end = 0, len(word)
        while start < end and _is_punct(word[start]):
            start += 1
        while end > start and _is_punct(word[end - 1]):
            end -= 1
        core = word[start:end]
        options = self.entries.get(core)
        lowered = not options
        options = options or self.entries.get(core.lower())
        if not options:
            return None
        translation = options[int(fraction * len(options))]
        if lowered and core[:1].isupper():  # "Das" found as "das": a capital from the sentence, kept
            translation = translation[:1].upper() + translation[1:]
        return word[:start] + translation + word[end:]

    def group(self, words: Words) -> list[tuple[int, int]]:
        """Word index ranges to translate as one: single words, except runs of characters in scripts
        without spaces, which are grouped by longest dictionary match."""
        groups, i, n = [], 0, len(words.words)
        while i < n:
            end = i + 1
            if is_no_space_unit(words.words[i]):
                j = i + 1
                while j < n and j - i < _MAX_GROUP and words.gaps[j] == "" and is_no_space_unit(words.words[j]):
                    j += 1
                for k in range(j, i + 1, -1):
                    if "".join(words.words[i:k]) in self.entries:
                        end = k
                        break
            groups.append((i, end))
            i = end
        return groups


class MissingDictionary(NoiseError):
    """No dictionary file for a language: MUSE covers some languages and not others (English has no en-en file),
    so the codeswitch noise and the codemix attack skip that language, with a record that says why."""


def load_dictionary(path: str | Path, language: str) -> Dictionary:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise MissingDictionary(
            f"codeswitch: dictionary file {path} (for language {language!r}) does not exist. Give one MUSE file per "
            f"language pair with dict=PATH, using {{lang}} for the language code."
        )
    stat = resolved.stat()
    return _load(resolved, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _load(path: Path, size: int, mtime: int) -> Dictionary:
    entries: dict[str, dict[str, None]] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise NoiseError(
                        f"{path}:{number}: a MUSE dictionary line is `source target` separated by whitespace; "
                        f"got {line.strip()!r}."
                    )
                entries.setdefault(parts[0], {})[parts[1]] = None
    except UnicodeDecodeError as exc:
        raise NoiseError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); is it a MUSE dictionary?"
        ) from None
    if not entries:
        raise NoiseError(f"{path}: the dictionary is empty.")
    return Dictionary(path, {k: tuple(v) for k, v in entries.items()})

"""Attack conditions: ``attack:charflip:words=0.2:queries=500`` and ``attack-set:PATH``, parsed and checked.

Grammar (one attack condition)::

    attack     := "attack:" recipe (":" key "=" value)*
    attack-set := "attack-set:" path                 # a stored set of adversarial examples

Keys: ``words`` (the largest share of an example's words changed, at least
one word), ``edits`` (character edits per word), ``queries`` (model queries
per example, the clean one included), ``beam`` (1: greedy), ``dict`` (codemix:
MUSE file, ``{lang}`` for the language; default ``muse/{lang}-en.txt`` under
``--data-dir``, where XTREME-style data folders keep them), ``mode`` (``adaptive``: each model
attacked directly; ``transfer``: examples made against ``source`` and every
model scored on them), ``source`` (the intermediate whose model a transfer set
is made against; ``none`` is the no-intermediate baseline). Without ``mode``
a condition stands for both modes, so both are reported. The canonical form
shows the budget (``words``, ``queries``) always and other keys when they
differ from the recipe's defaults.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, fields, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from ..perturbation import NoiseError

PREFIX, SET_PREFIX = "attack:", "attack-set:"
MODES = ("adaptive", "transfer")


@dataclass(frozen=True)
class Recipe:
    """A named composition: the catalogue perturbations that make a word's candidates, and the defaults."""

    ops: tuple[str, ...]  # character perturbations, or ("codeswitch",) for dictionary substitution
    about: str


RECIPES = {
    "charflip": Recipe(
        ("typo", "swap", "delete", "insert"),
        "DeepWordBug / Pruthi et al.: one character edit per word (keyboard typo, swap, delete, insert)",
    ),
    "homoglyph": Recipe(("homoglyph",), "VIPER: letters replaced by look-alikes of other scripts"),
    "codemix": Recipe(("codeswitch",), "POLYGLOSS: words replaced by their translations from a MUSE dictionary"),
}


@dataclass(frozen=True)
class AttackSpec:
    """One attack condition: a recipe, its budget, its search and its mode."""

    recipe: str
    words: float = 0.2
    edits: int = 1
    queries: int = 500
    beam: int = 1
    dict: str | None = None
    mode: str = "adaptive"
    source: str = "none"

    def __str__(self) -> str:
        shown = [f"words={self.words:g}", f"queries={self.queries}"]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("recipe", "words", "queries") and value != f.default:
                shown.append(f"{f.name}={value}")
        return ":".join([f"{PREFIX}{self.recipe}", *shown])

    @property
    def budget(self) -> builtins.dict[str, Any]:  # (``dict`` here is the field)
        return {"words": self.words, "edits": self.edits, "queries": self.queries}

    def dictionary(self, language: str, data_dir: Path | None) -> Path:
        """codemix: the MUSE file for ``language`` (``dict=``, else ``muse/{lang}-en.txt`` under the data folder)."""
        pattern = self.dict or str(Path(data_dir or ".") / "muse" / "{lang}-en.txt")
        return Path(pattern.replace("{lang}", language)).expanduser()

    @property
    def generation(self) -> AttackSpec:
        """What makes the adversarial examples (the mode and source say only whom they are made against)."""
        return replace(self, mode="adaptive", source="none")


@dataclass(frozen=True)
class AttackSetSpec:
    """A stored set of adversarial examples, scored like any fixed condition."""

    path: Path

    def __str__(self) -> str:
        return f"{SET_PREFIX}{self.path}"


_KINDS: dict[str, type] = {"words": float, "edits": int, "queries": int, "beam": int, "dict": str, "mode": str,
                           "source": str}  # fmt: skip


def is_attack(text: str) -> bool:
    return text.strip().startswith((PREFIX, SET_PREFIX))


def parse_attack(text: str) -> list[AttackSpec | AttackSetSpec]:
    """One condition; without ``mode=`` an attack stands for its adaptive and its transfer variant."""
    text = text.strip()
    if text.startswith(SET_PREFIX):
        path = Path(text[len(SET_PREFIX) :]).expanduser()
        if not path.is_file():
            raise NoiseError(f"{text}: no such file. attack-set: takes a JSONL file an attack run wrote "
                             f"(under OUTPUT/attack-sets/).")  # fmt: skip
        return [AttackSetSpec(path)]
    name, *items = text[len(PREFIX) :].split(":")
    if name not in RECIPES:
        close = get_close_matches(name, list(RECIPES), n=1)
        raise NoiseError(f"Attack {text!r}: unknown recipe {name!r}.{f' Did you mean {close[0]!r}?' if close else ''} "
                         f"Recipes: {', '.join(RECIPES)}.")  # fmt: skip
    args: dict[str, Any] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if key not in _KINDS or not equals:
            close = get_close_matches(key, list(_KINDS), n=1)
            raise NoiseError(f"Attack {text!r}: {item!r} is not key=value with a key of {', '.join(_KINDS)}."
                             f"{f' Did you mean {close[0]!r}?' if close else ''}")  # fmt: skip
        try:
            args[key] = _KINDS[key](value)
        except ValueError:
            raise NoiseError(f"Attack {text!r}: {key}={value!r} is not a {_KINDS[key].__name__}.") from None
    spec = AttackSpec(name, **args)
    _check(spec, text)
    if "mode" in args:
        return [spec]
    return [spec, replace(spec, mode="transfer")]


def _check(spec: AttackSpec, text: str) -> None:
    problems = []
    if not 0 < spec.words <= 1:
        problems.append(f"words={spec.words} must be a share of the words in (0, 1]")
    if spec.edits < 1 or spec.queries < 2 or spec.beam < 1:
        problems.append("edits and beam must be at least 1, queries at least 2 (the clean text and one candidate)")
    if spec.mode not in MODES:
        problems.append(f"mode={spec.mode} must be one of {', '.join(MODES)}")
    if spec.recipe != "codemix" and spec.dict:
        problems.append(f"dict= is for codemix; {spec.recipe} edits characters")
    if problems:
        raise NoiseError(f"Attack {text!r}: {'; '.join(problems)}.")

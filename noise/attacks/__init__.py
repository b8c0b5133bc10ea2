"""Model-aware attacks, TextAttack's decomposition written small.

An attack is a *transformation* (a word's candidates from the perturbation
catalogue, ``transform``), *constraints* (words, edits and queries per example,
protected answer spans, one label per word: ``Budget``, ``document``), a
*search* (leave-one-out importance, then greedy or beam: ``search``) and a
*goal* per task type (``goals``). Recipes (``spec.RECIPES``) name
compositions: ``attack:charflip``, ``attack:homoglyph``, ``attack:codemix``.

Nothing here imports a model: the search takes a query callback that scores
examples (``harness.query.ModelQuery`` is the one the harness passes).
"""

from __future__ import annotations

from pathlib import Path

from ..rng import RngKeys
from .goals import GOALS, Goal
from .search import Budget, Outcome, attack
from .sets import read_set, write_set
from .spec import RECIPES, AttackSetSpec, AttackSpec, is_attack, parse_attack
from .transform import CharEdits, Translations

__all__ = ["GOALS", "RECIPES", "AttackSetSpec", "AttackSpec", "Budget", "Goal", "Outcome", "attack", "is_attack",
           "parse_attack", "read_set", "transformation", "write_set"]  # fmt: skip

#: candidates per operation: charflip offers one per edit kind, as DeepWordBug; homoglyph has one kind
PER_OP = {"charflip": 1, "homoglyph": 4}


def transformation(spec: AttackSpec, task: str, language: str, seed: int,
                   data_dir: Path | None) -> CharEdits | Translations:  # fmt: skip
    """The recipe's transformation bound to one language (a missing dictionary raises ``NoiseError`` here)."""
    if spec.recipe == "codemix":
        return Translations(spec.dictionary(language, data_dir), language)
    keys = RngKeys(seed, f"attack:{spec.recipe}:edits={spec.edits}", task, language)  # budget-free: candidates nest
    return CharEdits(RECIPES[spec.recipe].ops, language, spec.edits, PER_OP[spec.recipe], keys)

"""Noise wrappers: seeded, script-aware perturbations that turn a task into its noisy variant.

    from harness import noise
    spec = noise.parse("typo:0.1+drop:0.05")            # a condition; errors say how to fix them
    noisy = noise.wrap(task, spec, seed=0)              # xnli_de@typo:0.1+drop:0.05, own fingerprint
    examples = noisy.perturb(clean_examples)            # spans re-located, one label per word

The catalogue (``harness noise ls``): character-level ``typo`` (keyboard
neighbours per language layout), ``swap``, ``delete``, ``insert``,
``substitute``, ``diacritics``, ``homoglyph``; word-level ``drop``, ``repeat``,
``shuffle``, ``split``, ``merge``, ``case``, ``punct``, ``translit``,
``codeswitch``, ``misspell`` (natural misspellings from a public list). Each is a small class with ``perturb(text, rng)`` (HELM's
design); ``REGISTRY`` maps names to classes, and ``@register`` adds one from a user's
own module (``--plugin``; README, "Writing a plugin").

Names load on first use, so the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "error_rates": "measure",
    "stats_table": "measure",
    "REGISTRY": "spec",  # through spec, which loads the catalogue
    "NoiseError": "perturbation",
    "Perturbation": "perturbation",
    "get_perturbation": "spec",
    "register": "perturbation",
    "Chain": "spec",
    "NoiseSpec": "spec",
    "Step": "spec",
    "parse": "spec",
    "parse_conditions": "spec",
    "perturb_examples": "structure",
    "NOISE_VERSION": "noisy",
    "NoisyTask": "noisy",
    "Variant": "noisy",
    "noisy_variants": "noisy",
    "wrap": "noisy",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)

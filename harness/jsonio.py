"""Strict JSON for every file the harness writes: no bare ``NaN`` or ``Infinity``.

Python's ``json`` writes them by default, but JSON has no such values and strict
readers (``jq``, JavaScript's ``JSON.parse``, most languages' parsers) reject the
whole file. A score with nothing to score is a real outcome, though (a language
whose answers were blanked), so it is written as ``null`` and the object says
why beside it: ``null_reasons`` maps each such value's JSON Pointer
(``/metrics/f1``) to the reason. ``loads`` puts NaN back, so the code that
computes with records keeps seeing the float it wrote. ``allow_nan=False``
stays on, so a value that slips past the conversion is an error, not a broken
file.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: where a written object lists its nulls that stand for non-finite numbers: JSON Pointer -> why
NULLS = "null_reasons"
#: why a number is missing, unless the writer says otherwise
NOTHING_TO_SCORE = "not a number: nothing to score (no examples, or none with a gold label)"


def dumps(data: Any, reason: str = NOTHING_TO_SCORE, **kwargs: Any) -> str:
    """``data`` as strict JSON; each non-finite number becomes null, listed with ``reason`` under ``null_reasons``
    (at the top, when ``data`` is an object)."""
    nulls: dict[str, str] = {}
    finite = _finite(data, "", nulls, reason)
    if nulls and isinstance(finite, dict):
        finite[NULLS] = {**(finite.get(NULLS) or {}), **nulls}
    return json.dumps(finite, allow_nan=False, **kwargs)


def loads(text: str | bytes) -> Any:
    """What ``dumps`` wrote, with the nulls that ``null_reasons`` lists read back as NaN."""
    data = json.loads(text)
    for pointer in data.get(NULLS) or {} if isinstance(data, dict) else ():
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
        if isinstance(node, list) and int(last) < len(node) and node[int(last)] is None:
            node[int(last)] = math.nan
        elif isinstance(node, dict) and node.get(last, 0) is None:
            node[last] = math.nan
    return data


def _finite(value: Any, pointer: str, nulls: dict[str, str], reason: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        nulls[pointer] = reason if math.isnan(value) else f"{'minus ' * (value < 0)}infinity"
        return None
    if isinstance(value, dict):
        return {k: _finite(v, f"{pointer}/{_escape(k)}", nulls, reason) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, f"{pointer}/{i}", nulls, reason) for i, v in enumerate(value)]
    return value


def _escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")

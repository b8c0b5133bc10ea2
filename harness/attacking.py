"""Attack conditions inside a cell's evaluation: adversarial examples made per model, or once per source.

An attack cell holds the clean examples and an attack condition. *Adaptive*:
each model of the cell is attacked through its own ``ModelQuery`` and scored
on its own adversarial examples. *Transfer*: the examples are made once against
the source model (default: the no-intermediate baseline of the same target task
and seed) and every model is scored on that fixed set. Either way the set is
stored (``OUTPUT/attack-sets/``, JSONL) and reused: the baseline's adaptive set
*is* the transfer set, and ``--noise attack-set:PATH`` scores a stored set as
a fixed condition. Records are the usual ones (score under attack, by the
task's own metrics) plus ``attack``: success rate, words changed, queries,
budget exhausted, and for classification the prediction shift. A language or
task type an attack cannot serve gets a record that says why (``skipped``),
which tables list and never average.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from harness.adapters.bank import Trained
from harness.noise import NoiseError, error_rates
from harness.noise.attacks import (
    GOALS,
    AttackSetSpec,
    AttackSpec,
    Budget,
    Outcome,
    attack,
    read_set,
    transformation,
    write_set,
)

from .errors import HarnessError
from .features import featurize
from .query import ModelQuery
from .spec import stable_hash

if TYPE_CHECKING:
    from .cells import Cell, Evaluator

#: attacks compare scores of near-identical texts: in fp32 the differences batching makes (~1e-7) stay below the
#: search's tie grid; bf16's (~1e-3) would not
QUERY_DTYPE = torch.float32
#: rows per query batch, whatever --batch-size says: a row's fp32 scores move by ~1e-7 with the batch it shares,
#: and a barely trained model's candidates differ by little more, so batches of their own make every score, and
#: with it every choice of the search, the same bit for bit under any --batch-size
QUERY_BATCH = 64


def evaluate_attack(ev: Evaluator, cell: Cell, models: list[tuple[str, Trained]]) -> list[dict[str, Any]]:
    """One record per (intermediate name, trained model) of an attack cell, in that order."""
    max_length = models[0][1].info["args"]["max_length"]
    keys = [ev.key(cell, trained, max_length) for _, trained in models]
    done = _finished(ev, keys)
    if len(done) < len(keys):
        with ev.store.claim(stable_hash(keys, 20), ev.say):  # another process attacking this cell: wait for it
            done.update(_finished(ev, keys))
            todo = [(name, trained, key) for (name, trained), key in zip(models, keys) if key not in done]
            done.update(_attack(ev, cell, models, todo, max_length))
    return [done[k] for k in keys]


def _finished(ev: Evaluator, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Records already written (a skip is tried again: the missing dictionary may be there now)."""
    return {k: r for k, r in ev.finished(keys).items() if not r.get("skipped")}


def _attack(ev: Evaluator, cell: Cell, models: list[tuple[str, Trained]], todo: list[tuple[str, Trained, str]],
            max_length: int) -> dict[str, dict[str, Any]]:  # fmt: skip
    if not todo:
        return {}
    reason, sets = _prepare(ev, cell, models, max_length)
    if reason is not None:
        ev.say(f"[yellow]{cell.task.name}[/] under {cell.condition}: skipped ({reason})")
        return {key: ev.skip(cell, name, trained, key, reason) for name, trained, key in todo}
    made = [sets(name, trained) for name, trained, _ in todo]
    shared: dict[int, list[int]] = {}  # models scored on the same set (transfer, attack-set): one (mixed) pass
    for i, (rows, _) in enumerate(made):
        shared.setdefault(id(rows), []).append(i)
    records = {}
    for members in shared.values():
        records.update(_score(ev, cell, [todo[i] for i in members], [made[i] for i in members], max_length))
    return records


Sets = Any  # (intermediate name, trained model) -> (set rows, query the set was made with, or None)


def _prepare(ev: Evaluator, cell: Cell, models: list[tuple[str, Trained]], max_length: int) -> tuple[str | None, Sets]:
    """Why this cell cannot be attacked (None if it can), and where each model's adversarial set comes from."""
    task, spec = cell.task, cell.attack
    if task.type.name not in GOALS:
        return f"{task.type.name} tasks have no attack goal (attacks cover {', '.join(GOALS)})", None
    if isinstance(spec, AttackSetSpec):
        rows = [r for r in read_set(spec.path) if r["task"] == task.cfg.task]
        clean_ids = {e["id"] for e in cell.examples}
        if not rows:
            return f"{spec.path} holds no example of {task.cfg.task}", None
        if any(r["id"] not in clean_ids for r in rows):
            return f"{spec.path} holds docs this run does not evaluate (another --limit, seed or split?)", None
        return None, lambda name, trained: (rows, None)
    try:
        transform = transformation(spec, task.cfg.task, task.language, ev.config.noise_seed, ev.config.data_dir)
    except NoiseError as exc:
        return str(exc), None
    if spec.mode == "adaptive":
        return None, lambda name, trained: _generate(ev, cell, name, trained, transform, max_length)
    sources = dict(models)
    if spec.source not in sources:
        raise HarnessError(f"{cell.condition}: the transfer source {spec.source!r} is not an intermediate of this "
                           f"run ({', '.join(sources)}); add it to --intermediate or set source=.")  # fmt: skip
    made = _generate(ev, cell, spec.source, sources[spec.source], transform, max_length)
    return None, lambda name, trained: (made[0], made[1] if trained is sources[spec.source] else None)


def _generate(ev: Evaluator, cell: Cell, name: str, trained: Trained, transform: Any,
              max_length: int) -> tuple[list[dict[str, Any]], ModelQuery | None]:  # fmt: skip
    """The adversarial set made against ``trained`` (read back when an earlier cell or run stored it)."""
    task, spec, config = cell.task, cell.attack.generation, ev.config
    ident = stable_hash([str(spec), config.noise_seed, trained.key, task.fingerprint(), cell.examples, max_length], 12)
    path = config.output / "attack-sets" / f"{task.cfg.task}@{spec.recipe}@{name}-{ident}.jsonl"
    if path.is_file():
        return read_set(path), None
    query = ModelQuery(trained, task, ev.base, ev.device, QUERY_DTYPE, QUERY_BATCH, max_length)
    started = time.perf_counter()
    with ev.progress() as progress:
        progress.add_task(f"attack {task.name} ({spec.recipe}) against {name}", total=None)
        goal = GOALS[task.type.name](task.cfg.label_list)
        budget = Budget(spec.words, spec.queries, spec.beam)
        outcomes = attack(cell.examples, task.noise_fields, task.type.name, query, goal, transform, budget)
    made = {"task": task.cfg.task, "language": task.language, "source": trained.key, "source_intermediate": name,
            "recipe": str(spec), "budget": spec.budget, "seed": config.noise_seed,
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
    rows = [_row(e, o, made) for e, o in zip(cell.examples, outcomes)]
    write_set(path, rows)
    return rows, query


def _row(clean: dict[str, Any], o: Outcome, made: dict[str, Any]) -> dict[str, Any]:
    return {"id": clean["id"], "example": o.example, "edits": o.edits, "attacked": o.attacked, "broken": o.broken,
            "queries": o.queries, "exhausted": o.exhausted, "words": o.words, **made}  # fmt: skip


def _score(ev: Evaluator, cell: Cell, models: list[tuple[str, Trained, str]],
           made: list[tuple[list[dict[str, Any]], ModelQuery | None]], max_length: int) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The records (by key) of models on one adversarial set, with the attack's metrics: one scoring pass."""
    task, rows = cell.task, made[0][0]
    by_id = {e["id"]: e for e in cell.examples}
    clean = [by_id[r["id"]] for r in rows]
    adversarial = [{**r["example"], "index": i} for i, r in enumerate(rows)]
    noise = {"spec": cell.condition, **error_rates(clean, adversarial, task.noise_fields, task.type.name)}
    scored = replace(cell, examples=adversarial, noise=noise)
    started = time.perf_counter()
    features = featurize(task.type, adversarial, ev.base.tokenizer, max_length, task.cfg)
    outputs = ev.outputs(scored, [trained for _, trained, _ in models], features)
    timings = {"predict_s": (time.perf_counter() - started) / len(models), "models_per_pass": len(models)}
    records = {}
    for (name, trained, key), (_, query), out in zip(models, made, outputs):
        query = query or ModelQuery(trained, task, ev.base, ev.device, QUERY_DTYPE, QUERY_BATCH, max_length)
        stats = _stats(cell, rows, clean, query(clean), query(adversarial))
        records[key] = ev.record(scored, name, trained, key, out, features, max_length, timings, {"attack": stats})
    return records


def _stats(cell: Cell, rows: list[dict[str, Any]], clean: list[dict[str, Any]], before: list[Any],
           after: list[Any]) -> dict[str, Any]:  # fmt: skip
    """What the attack did to one model: from its scores on the clean and the adversarial examples."""
    task = cell.task
    goal = GOALS[task.type.name](task.cfg.label_list)
    attackable = [goal.attackable(e, s) for e, s in zip(clean, before)]
    broken = [a and goal.broken(e, s, t) for a, e, s, t in zip(attackable, clean, before, after)]
    attacked = [r for r in rows if r["attacked"]]
    return {
        "recipe": rows[0]["recipe"], "mode": getattr(cell.attack, "mode", "set"),
        "source": rows[0]["source"], "source_intermediate": rows[0]["source_intermediate"],
        "budget": rows[0]["budget"], "seed": rows[0]["seed"],
        "attackable": sum(attackable), "broken": sum(broken),
        "success_rate": 100 * sum(broken) / sum(attackable) if any(attackable) else None,
        "words_changed": _mean([100 * len(r["edits"]) / max(1, r["words"]) for r in attacked]),
        "queries": _mean([r["queries"] for r in attacked]),
        "exhausted": _mean([100.0 * r["exhausted"] for r in attacked]),
        "shift": _shift(task, before, after) if task.type.name in ("classification", "multiple_choice") else None,
    }  # fmt: skip


def _shift(task: Any, before: list[Any], after: list[Any]) -> dict[str, Any]:
    """Predicted labels clean and attacked, and which label each changed prediction went to."""

    def show(prediction: Any) -> str:
        return str(task.type.show(prediction, task.cfg))

    flips = Counter(f"{show(a.prediction)} → {show(b.prediction)}" for a, b in zip(before, after)
                    if a.prediction != b.prediction)  # fmt: skip
    return {"clean": dict(Counter(show(s.prediction) for s in before)),
            "attacked": dict(Counter(show(s.prediction) for s in after)), "flips": dict(flips)}  # fmt: skip


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def check_dictionaries(cells: list[Cell], data_dir: Path | None) -> None:
    """A language with no dictionary skips a ``codeswitch`` noise or ``codemix`` attack (a row says so); a
    condition that no language of the run has a dictionary for is a wrong path, an error before any training."""
    missing: dict[str, list[str | None]] = {}
    for cell in cells:
        reason = cell.skipped
        if isinstance(cell.attack, AttackSpec) and cell.attack.recipe == "codemix":
            path = cell.attack.dictionary(cell.task.language, data_dir)
            reason = None if path.is_file() else f"no dictionary file {path} for language {cell.task.language!r}"
        missing.setdefault(cell.condition, []).append(reason)
    for condition, reasons in missing.items():
        if all(reasons):
            raise NoiseError(f"{condition}: no language of this run has a dictionary ({reasons[0]}). Give one MUSE "
                             f"file per language with dict=PATH, {{lang}} for the language code; a language "
                             f"without one is skipped, and the tables say so.")  # fmt: skip


def attack_cells(clean: list[Cell], conditions: list[Any]) -> list[Cell]:
    """An attack cell per clean cell and attack condition (examples are made when the models are there)."""
    return [replace(c, condition=str(spec), attack=spec) for spec in conditions
            if isinstance(spec, (AttackSpec, AttackSetSpec)) for c in clean]  # fmt: skip

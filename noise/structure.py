"""Noising examples without breaking them: spans re-located, one label per word.

Examples follow the field contracts of the task types (see the brief):

- span QA: ``question`` and ``context`` are noised; the context is cut at every
  gold answer boundary and each piece is noised on its own, so no edit straddles
  a boundary and the answers are re-located exactly (``answers=protect`` leaves
  the answer pieces untouched instead). A piece is never emptied, so a gold
  answer never vanishes;
- tagging: ``tokens`` get character edits within tokens and word edits on the
  list (drops and shuffles take the labels with their words); perturbations that
  add words are skipped; word edits leave gold entities (BIO tags) alone, so the
  tags stay valid BIO and the gold entity set is unchanged;
- any other text field is noised as it is, a list of texts (multiple-choice
  ``choices``) one text at a time.

Which fields: the condition's ``fields=``, else the task's ``noise_fields``
(the spec's, else its task type's: retrieval noises only ``text``, the
non-English side).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .guards import Guard, guard_for
from .perturbation import NoiseError
from .rng import Rng, RngKeys
from .spec import Chain, NoiseSpec

RngFor = Callable[[str], Rng]  # field name -> its generator


def perturb_examples(
    examples: list[dict[str, Any]],
    spec: NoiseSpec,
    *,
    task: str,
    task_type: str,
    fields: list[str],
    language: str,
    seed: int,
) -> list[dict[str, Any]]:
    """Noised copies of ``examples`` (the originals are not touched)."""
    chain = spec.bind(language)
    guard = guard_for(spec.protect, spec.protect_list, language, task_type)
    keys = RngKeys(seed, spec.rng_key, task, language)
    out = [dict(e) for e in examples]
    for name in fields:
        if examples:
            check_field(examples[0], name, task)
        rngs = [keys.rng(e["id"], name) for e in examples]
        if task_type == "tagging" and name == "tokens":
            entities = [entity_tokens(e["target"]) for e in examples]
            untouchable = entities if spec.protect and "entity" in spec.protect else None
            sentences = chain.perturb_sentences([e[name] for e in examples], rngs, entities, guard, untouchable)
            for noisy, example, (tokens, origin) in zip(out, examples, sentences):
                noisy.update(tokens=tokens, target=[example["target"][i] for i in origin])
            continue
        if not (task_type == "span_qa" and name == "context") and all(isinstance(e.get(name), str) for e in examples):
            for noisy, text in zip(out, chain.perturb_batch([e[name] for e in examples], rngs, guard)):
                noisy[name] = text
            continue
        for example, noisy in zip(examples, out):
            noisy.update(perturb_field(example, name, chain, partial(keys.rng, example["id"]), task_type, spec, guard))
    return out


def entity_tokens(tags: list[Any]) -> frozenset[int]:
    """The tokens of a BIO-tagged sentence's gold entities (none for other tags, such as POS).

    Word edits leave them where and as they are: a shuffle moves only words
    outside entities and a drop removes only those, so the tags stay a valid BIO
    sequence and the gold entity set is the one of the clean sentence.
    """
    if not any(isinstance(t, str) and t[:2] in ("B-", "I-") for t in tags):
        return frozenset()
    # an O before an I- tag (invalid BIO in some gold files) separates two entities: it stays too
    return frozenset(i for i, t in enumerate(tags) if t != "O" or tags[i + 1 : i + 2] and tags[i + 1][:2] == "I-")


def check_field(example: dict[str, Any], name: str, task: str) -> None:
    if name not in example or name in ("id", "index", "target"):
        text_fields = [k for k, v in example.items() if k not in ("id", "index", "target") and _is_text(v)]
        raise NoiseError(
            f"Task {task!r}: cannot noise field {name!r}; its example fields are {', '.join(text_fields)}. "
            f"Fix the task's noise_fields or the condition's fields= option."
        )


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def perturb_field(
    example: dict[str, Any],
    name: str,
    chain: Chain,
    rng: RngFor,
    task_type: str,
    spec: NoiseSpec,
    guard: Guard | None = None,
) -> dict[str, Any]:
    """The changed entries of ``example`` after noising field ``name``."""
    value = example[name]
    if value is None:
        return {}
    if task_type == "span_qa" and name == "context":
        context, target = perturb_context(value, example["target"], chain, rng(name), spec.answers == "protect", guard)
        return {"context": context, "target": target}
    if isinstance(value, str):
        return {name: chain.perturb(value, rng(name), guard)}
    if _is_text(value):
        return {name: [chain.perturb(v, rng(f"{name}/{i}"), guard) for i, v in enumerate(value)]}
    raise NoiseError(f"Field {name!r} holds {type(value).__name__}, not text; it cannot be noised.")


def perturb_context(
    context: str, answers: dict[str, list[Any]], chain: Chain, rng: Rng, protect: bool, guard: Guard | None = None
) -> tuple[str, dict[str, list[Any]]]:
    """Noise a QA context piece by piece between answer boundaries; the answers re-located in it."""
    spans = [(int(s), int(s) + len(t)) for t, s in zip(answers["text"], answers["answer_start"])]
    cuts = sorted({0, len(context), *(p for span in spans for p in span if 0 <= p <= len(context))})
    new_at = {0: 0}
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        piece = context[a:b]
        inside = any(s <= a and b <= e for s, e in spans)
        parts.append(piece if protect and inside else chain.perturb(piece, rng, guard))
        new_at[b] = new_at[a] + len(parts[-1])
    noisy = "".join(parts)
    starts = [new_at.get(s, s) for s, _ in spans]
    texts = [noisy[new_at.get(s, s) : new_at.get(e, e)] for s, e in spans]
    return noisy, {**answers, "text": texts, "answer_start": starts}

"""Noise specs: ``typo:0.1+drop:0.05``, parsed, checked and bound to a language.

Grammar (one noise condition)::

    condition := step ("+" step)*
    step      := name (":" rate)? (":" key "=" value | ":" flag)*      # a perturbation
               | "fields=" field ("/" field)*                           # which example fields to noise
               | "answers=" ("relocate" | "protect")                    # span QA gold answers
               | "protect=" kind ("/" kind)*                            # negation, number, entity, none
               | "protect_list=" path                                   # words no perturbation touches

A sweep is several conditions separated by commas: ``typo:0.05,typo:0.1``.
Perturbations apply left to right, sharing one generator per doc field. The
canonical form (``str(spec)``) always shows each rate and only non-default
parameters, so ``typo`` and ``typo:0.1`` name the same condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import chars, misspell, words  # noqa: F401  (registers the catalogue)
from .guards import Guard, check_kinds
from .perturbation import REGISTRY, NoiseError, Perturbation, WordPerturbation, get_perturbation
from .rng import Rng
from .segment import segments, split_run
from .text import Words, is_no_space_unit

__all__ = ["REGISTRY", "Chain", "NoiseSpec", "Step", "get_perturbation", "parse", "parse_conditions"]

ANSWER_MODES = ("relocate", "protect")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Step:
    """One perturbation of a condition, with its rate and non-default parameters."""

    name: str
    rate: float
    args: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return ":".join([self.name, _number(self.rate), *(f"{k}={_value(v)}" for k, v in self.args)])

    @property
    def structure(self) -> str:
        """The step without its rate: what the generator key holds, so that rates nest."""
        return ":".join([self.name, *(f"{k}={_value(v)}" for k, v in self.args)])

    @classmethod
    def from_record(cls, step: dict[str, Any]) -> Step:
        """A step as a result record writes it (``NoisyTask.noise_record``: name, rate, then its arguments)."""
        return cls(step["name"], step["rate"], tuple((k, v) for k, v in step.items() if k not in ("name", "rate")))

    def build(self, language: str) -> Perturbation:
        return get_perturbation(self.name)(self.rate, language, **dict(self.args))


@dataclass(frozen=True)
class NoiseSpec:
    """A noise condition: perturbations applied in order, and where they apply."""

    steps: tuple[Step, ...]
    fields: tuple[str, ...] | None = None  # None: the task spec's noise_fields
    answers: str = "relocate"
    protect: tuple[str, ...] | None = None  # None: the task type's default (guards.guard_for)
    protect_list: str | None = None

    def __str__(self) -> str:
        options = (
            ([f"fields={'/'.join(self.fields)}"] if self.fields else [])
            + ([f"answers={self.answers}"] if self.answers != "relocate" else [])
            + ([f"protect={'/'.join(self.protect)}"] if self.protect is not None else [])
            + ([f"protect_list={self.protect_list}"] if self.protect_list else [])
        )
        return "+".join([*(str(s) for s in self.steps), *options])

    @property
    def rng_key(self) -> str:
        return "+".join(s.structure for s in self.steps)

    def bind(self, language: str) -> Chain:
        """The perturbations for one language (checks layouts and dictionaries: errors come here)."""
        return _bind(self, language)


@lru_cache(maxsize=256)
def _bind(spec: NoiseSpec, language: str) -> Chain:
    return Chain(tuple(step.build(language) for step in spec.steps))


@dataclass(frozen=True)
class Chain:
    """A condition's perturbations bound to one language, applied left to right."""

    perturbations: tuple[Perturbation, ...]
    skipped_on_tokens: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "skipped_on_tokens", tuple(p.name for p in self.perturbations if p.adds_words))

    def perturb(self, text: str, rng: Rng, guard: Guard | None = None) -> str:
        if guard is not None and guard.active:
            return self.perturb_batch([text], [rng], guard)[0]  # (per level: see Guard.guards)
        for p in self.perturbations:
            text = p.perturb(text, rng)
        return text

    def perturb_batch(self, texts: list[str], rngs: Sequence[Rng], guard: Guard | None = None) -> list[str]:
        """``perturb`` for many texts, each with its own generator: the same result, faster.

        ``guard``: words no perturbation may touch (``guards.py``). Character
        edits then run on the text between them, word edits leave them in place.
        """
        for p in self.perturbations:
            if guard is None or not guard.guards(p.level):
                texts = p.perturb_batch(texts, rngs)
                continue
            spans = [guard.spans(t) for t in texts]
            free = [k for k, s in enumerate(spans) if not s]
            out = list(texts)
            for k, text in zip(free, p.perturb_batch([texts[k] for k in free], [rngs[k] for k in free])):
                out[k] = text
            for k, protected in enumerate(spans):
                if protected:
                    out[k] = _perturb_around(p, texts[k], rngs[k], protected)
            texts = out
        return texts

    def perturb_tokens(self, tokens: list[str], rng: Rng) -> tuple[list[str], list[int]]:
        """Tagging tokens: the new tokens, and for each the index of the token (and label) it comes from."""
        return self.perturb_sentences([tokens], [rng])[0]

    def perturb_sentences(
        self,
        sentences: list[list[str]],
        rngs: Sequence[Rng],
        frozen: list[frozenset[int]] | None = None,
        guard: Guard | None = None,
        untouchable: list[frozenset[int]] | None = None,
    ) -> list[tuple[list[str], list[int]]]:
        """``perturb_tokens`` for many sentences, each with its own generator: the same result, faster.

        Character edits touch letters only and never type a space, so they run on
        each sentence joined by spaces (all sentences in one batch) and the result
        splits back into as many tokens; a token that lost every letter keeps its
        old form. Word edits move the labels with their words; those that add
        words are skipped. ``frozen``: per sentence, the tokens word edits leave
        where and as they are (``Words.frozen``: a gold entity's tokens);
        ``untouchable`` and the ``guard``'s words are not edited at all.
        """
        kept = [set(untouchable[k]) if untouchable else set() for k in range(len(sentences))]
        guarded: list[set[int]] = [set() for _ in sentences]
        if guard is not None and guard.active:
            for k, tokens in enumerate(sentences):
                guarded[k].update(i for i, t in enumerate(tokens) if guard.spans(t))
                if guard.guards("char"):
                    kept[k] |= guarded[k]
        current = [
            Words.of_tokens(tokens, frozen=frozenset(kept[k] | guarded[k]) | (frozen[k] if frozen else frozenset()))
            for k, tokens in enumerate(sentences)
        ]
        language = self.perturbations[0].language if self.perturbations else ""
        word_of: list[list[int] | None] = [None] * len(sentences)
        if segments(language) and any(p.level == "word" and not p.adds_words for p in self.perturbations):
            for k, tokens in enumerate(sentences):
                groups = token_words(tokens, language)
                if len(groups) < len(tokens):
                    word_of[k] = [g for g, (a, b) in enumerate(groups) for _ in range(a, b)]
        for p in self.perturbations:
            if p.level == "char":
                edited = _edit_tokens(p, [w.words for w in current], rngs)
                edited = [
                    [old if o in kept[k] else new for new, old, o in zip(tokens, w.words, w.origin)]
                    for k, (tokens, w) in enumerate(zip(edited, current))
                ]
                current = [Words.of_tokens(new, w.origin, w.frozen) for new, w in zip(edited, current)]
            elif not p.adds_words:
                assert isinstance(p, WordPerturbation), f"{p.name}: word-level perturbations edit Words"
                current = [_edit_words(p, w, rng, word_of[k]) for k, (w, rng) in enumerate(zip(current, rngs))]
        return [(w.words, w.origin) for w in current]


def _perturb_around(p: Perturbation, text: str, rng: Rng, protected: list[tuple[int, int]]) -> str:
    """``p`` on ``text`` leaving the ``protected`` spans as they are."""
    if isinstance(p, WordPerturbation):
        return p.perturb(text, rng, protected)
    parts, last = [], 0
    for a, b in protected:
        parts += [p.perturb(text[last:a], rng) if a > last else "", text[a:b]]
        last = b
    parts.append(p.perturb(text[last:], rng) if last < len(text) else "")
    return "".join(parts)


def _edit_tokens(p: Perturbation, sentences: list[list[str]], rngs: Sequence[Rng]) -> list[list[str]]:
    joinable = [k for k, tokens in enumerate(sentences) if tokens and all(t and " " not in t for t in tokens)]
    chosen = set(joinable)
    out = [
        tokens if k in chosen else [p.perturb_token(t, rngs[k]) for t in tokens] for k, tokens in enumerate(sentences)
    ]
    edited = p.perturb_batch([" ".join(sentences[k]) for k in joinable], [rngs[k] for k in joinable])
    for k, text in zip(joinable, edited):
        parts = text.split(" ")
        out[k] = (
            [new or old for new, old in zip(parts, sentences[k])] if len(parts) == len(sentences[k]) else sentences[k]
        )
    return out


def _edit_words(p: WordPerturbation, tokens: Words, rng: Rng, word_of: list[int] | None = None) -> Words:
    """A word edit on tokens; a word that became empty or several tokens (a romanisation with
    spaces) stays as it was. Tokens of one segmenter word (PAN-X's Chinese characters; ``word_of``:
    the word of each input token, see ``token_words``) are dropped and moved together, so a rate
    means a share of words there too."""
    if word_of and not p.rewrites_words:
        groups = _runs([word_of[o] for o in tokens.origin])
        grouped = Words.of_tokens(
            ["".join(tokens.words[a:b]) for a, b in groups],
            frozen=frozenset(g for g, (a, b) in enumerate(groups) if any(tokens.keeps(i) for i in range(a, b))),
        )
        moved = p.edit(grouped, rng)
        if moved is grouped:
            return tokens
        spans = [groups[g] for g in moved.origin]
        return Words.of_tokens(
            [t for a, b in spans for t in tokens.words[a:b]],
            [o for a, b in spans for o in tokens.origin[a:b]],
            tokens.frozen,
        )
    edited = p.edit(tokens, rng)
    if edited is tokens or not p.rewrites_words:
        return edited
    before = dict(zip(tokens.origin, tokens.words))
    new = [w if w and not _SPACE.search(w) else before[o] for w, o in zip(edited.words, edited.origin)]
    return Words.of_tokens(new, edited.origin, edited.frozen)


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """Ranges of equal consecutive ids."""
    out, start = [], 0
    for k in range(1, len(ids) + 1):
        if k == len(ids) or ids[k] != ids[start]:
            out.append((start, k))
            start = k
    return out


def token_words(tokens: list[str], language: str) -> list[tuple[int, int]]:
    """Token ranges that form one word: runs of tokens of a script without spaces, segmented by the
    language's segmenter (a word ending inside a token takes the whole token); other tokens alone."""
    if not segments(language) or not any(is_no_space_unit(t) for t in tokens):
        return [(i, i + 1) for i in range(len(tokens))]
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        j = i + 1
        if tokens[i] and is_no_space_unit(tokens[i]):
            while j < len(tokens) and tokens[j] and is_no_space_unit(tokens[j]):
                j += 1
            ends, at = set(), 0
            for word in split_run(language, "".join(tokens[i:j])):
                at += len(word)
                ends.add(at)
            start, at = i, 0
            for k in range(i, j):
                at += len(tokens[k])
                if at in ends or k == j - 1:
                    out.append((start, k + 1))
                    start = k + 1
        else:
            out.append((i, j))
        i = j
    return out


def parse(text: str) -> NoiseSpec:
    """One condition, e.g. ``typo:0.1+drop:0.05``; a ``NoiseError`` says what is wrong and how to fix it."""
    text = text.strip()
    if not text:
        raise NoiseError("Empty noise spec; write e.g. typo:0.1 (see `harness noise ls`).")
    steps: list[Step] = []
    fields: tuple[str, ...] | None = None
    answers = "relocate"
    protect: tuple[str, ...] | None = None
    protect_list: str | None = None
    for part in text.split("+"):
        part = part.strip()
        where = f"Noise spec {text!r}" + (f", step {part!r}" if part != text else "")
        if part.startswith("protect="):
            protect = tuple(sorted({k for k in part[len("protect=") :].split("/") if k}))
            check_kinds(protect, where)
        elif part.startswith("protect_list="):
            protect_list = part[len("protect_list=") :]
            if not protect_list or ("{lang}" not in protect_list and not Path(protect_list).is_file()):
                raise NoiseError(
                    f"{where}: protect_list= needs a file with one word or phrase per line ({{lang}} stands for "
                    f"the language code); {protect_list!r} is not one."
                )
        elif part.startswith("fields="):
            fields = tuple(f for f in part[len("fields=") :].split("/") if f)
            if not fields:
                raise NoiseError(f"{where}: name the fields to noise, e.g. fields=text/text_pair.")
        elif part.startswith("answers="):
            answers = part[len("answers=") :]
            if answers not in ANSWER_MODES:
                raise NoiseError(f"{where}: answers= takes {' or '.join(ANSWER_MODES)}, not {answers!r}.")
        else:
            steps.append(_parse_step(part, where))
    if not steps:
        raise NoiseError(f"Noise spec {text!r} has no perturbation; write e.g. typo:0.1.")
    return NoiseSpec(tuple(steps), fields, answers, protect, protect_list)


def _parse_step(part: str, where: str) -> Step:
    name, *items = part.split(":")
    cls = get_perturbation(name.strip())
    rate = cls.default_rate
    args: dict[str, Any] = {}
    for position, item in enumerate(items):
        key, equals, value = item.partition("=")
        if key in cls.params:
            param = cls.params[key]
            if not equals and param.kind is not bool:
                raise NoiseError(f"{where}: {key} needs a value: {key}=...")
            args[key] = param.convert(value, f"{where}, {key}") if equals else True
        elif position == 0 and not equals:
            rate = _rate(item, name, where)
        elif equals:
            close = get_close_matches(key, list(cls.params), n=1)
            raise NoiseError(
                f"{where}: {name} has no parameter {key!r}.{f' Did you mean {close[0]!r}?' if close else ''} "
                f"Its parameters: {', '.join(cls.params) or 'none (just a rate)'}."
            )
        else:
            raise NoiseError(f"{where}: {item!r} is neither the rate (which comes first) nor key=value.")
    ordered = tuple((k, args[k]) for k, p in cls.params.items() if k in args and args[k] != p.default)
    step = Step(cls.name, rate, ordered)
    if not any(isinstance(v, str) and "{lang}" in v for _, v in ordered):
        step.build("en")  # check parameter values (a layout's name, a dictionary file) now
    return step


def _rate(item: str, name: str, where: str) -> float:
    try:
        rate = float(item)
    except ValueError:
        raise NoiseError(
            f"{where}: the rate {item!r} is not a number; write e.g. {name}:0.1 (the share of units to edit)."
        ) from None
    if not 0 <= rate <= 1:
        raise NoiseError(f"{where}: the rate {item} must be between 0 and 1 (the share of units to edit).")
    return rate


def parse_conditions(values: Iterable[str] | str | None) -> list[Any]:
    """A sweep: comma-separated conditions (from one or several ``--noise`` options), deduplicated.

    ``attack:`` and ``attack-set:`` conditions (model-aware, ``attacks``) come back as their own specs.
    """
    from .attacks.spec import is_attack, parse_attack

    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[Any] = []
    for value in values:
        for text in value.split(","):
            if text.strip():
                for spec in parse_attack(text) if is_attack(text) else [parse(text)]:
                    if spec not in out:
                        out.append(spec)
    return out


def _number(x: float) -> str:
    return format(x, "g")


def _value(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)

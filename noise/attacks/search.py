"""The search: leave-one-out word importance, then greedy (or beam) substitution, all examples in lockstep.

Every step sends the candidates of *all* examples still being attacked to the
model in one query (the query batches them by length), so a GPU sees large
batches however few candidates one word has. Per example:

1. the clean text is scored (one query); an example the model gets wrong is left as it is;
2. each attackable word is replaced by ``<unk>`` and scored (one query per word):
   the words whose loss raises the goal's score most come first (ties: text
   order). Where the goal's score follows the model's probabilities
   (``Goal.graded``: classification, multiple choice, tagging), a word whose
   loss lowers it (by a ``TIE`` or more) is not tried at all: if destroying the
   word moves the model away from the goal, one character of it rarely moves it
   toward, and trying its candidates is where a failed attack spent most of its
   queries. (Span QA's F1 is a step function: most words' loss leaves it as it
   is, so every word is tried.) When these queries do not fit the budget, the words go in text
   order, all of them;
3. in that order, each word's candidates are scored in place of the word, on
   top of the best text so far (beam: on each of the ``beam`` best); a
   candidate replaces the current text only when it scores higher (by more
   than ``TIE``, so float noise from batching never decides). It stops when the
   goal is reached (tagging: never early), when ``words`` words have changed,
   when the words run out, or when the next candidates would exceed ``queries``.

Scores are compared on a grid of ``TIE``, ties going to the earlier candidate.
The harness scores candidates in query batches of a fixed size
(``harness.attacking.QUERY_BATCH``), so the scores, and the result, are the
same bit for bit whatever ``--batch-size`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .document import UNK, Document, Slot
from .goals import Goal, Scored

#: scores closer than this are a tie: batching moves an fp32 probability by about 1e-7 (measured on CPU), and
#: a barely trained model's words move it by 1e-5 to 1e-3, which a coarser grid would flatten into ties
TIE = 1e-5


class Transformation(Protocol):
    def candidates(self, word: str, doc_id: str, where: str) -> list[str]: ...


Query = Callable[[list[dict[str, Any]]], Sequence[Scored]]


@dataclass
class Budget:
    words: float = 0.2  # share of an example's words that may change (at least one)
    queries: int = 500  # model queries per example, the clean one included
    beam: int = 1


@dataclass
class Outcome:
    """One example after the attack: the text, what changed, and what it cost."""

    example: dict[str, Any]
    edits: list[dict[str, Any]]
    attacked: bool  # the model was right on the clean example (see ``goals``)
    broken: bool
    queries: int
    exhausted: bool  # the query budget ran out before the search ended
    words: int  # words in the attacked fields


@dataclass
class _Text:
    edits: dict[Slot, str]
    score: float
    scored: Scored


@dataclass
class _State:
    doc: Document
    clean: Scored
    beam: list[_Text]
    max_words: int
    queries: int = 1
    order: list[Slot] = field(default_factory=list)
    next: int = 0
    exhausted: bool = False
    done: bool = False
    seen: set[frozenset[tuple[Slot, str]]] = field(default_factory=set)


def _grid(score: float) -> int:
    return round(score / TIE)


def attack(examples: list[dict[str, Any]], fields: list[str], task_type: str, query: Query, goal: Goal,
           transformation: Transformation, budget: Budget) -> list[Outcome]:  # fmt: skip
    """Attack every example; the outcomes in order."""
    clean = query(examples)
    states: list[_State | None] = []
    for example, scored in zip(examples, clean):
        doc = Document(example, fields, task_type)
        if not (doc.slots and goal.attackable(example, scored)):
            states.append(None)
            continue
        max_words = max(1, int(budget.words * doc.total_words))
        states.append(_State(doc, scored, [_Text({}, goal.score(example, scored), scored)], max_words))
    active = [s for s in states if s is not None]
    _rank(active, query, goal, budget)
    while any(not s.done for s in active):
        _step([s for s in active if not s.done], query, goal, transformation, budget)
    return [_outcome(e, s, goal, fields, task_type) for e, s in zip(examples, states)]


def _rank(states: list[_State], query: Query, goal: Goal, budget: Budget) -> None:
    """Order each example's words by leave-one-out importance, those that do not matter left out where the
    score is graded (all words in text order when the ranking does not fit the budget)."""
    ranked = [s for s in states if 1 + len(s.doc.slots) <= budget.queries]
    asks = [(s, slot) for s in ranked for slot in s.doc.slots]
    scores = query([s.doc.render({slot: UNK}) for s, slot in asks])
    importance: dict[tuple[int, Slot], int] = {}
    for (s, slot), scored in zip(asks, scores):
        importance[(id(s), slot)] = _grid(goal.score(s.doc.example, scored)) - _grid(s.beam[0].score)
        s.queries += 1
    for s in states:
        s.order = list(s.doc.slots)
    for s in ranked:
        position = {slot: i for i, slot in enumerate(s.doc.slots)}
        s.order = sorted(s.doc.slots, key=lambda t: (-importance[(id(s), t)], position[t]))
        if goal.graded:
            s.order = [t for t in s.order if importance[(id(s), t)] >= 0]


def _step(states: list[_State], query: Query, goal: Goal, transformation: Transformation, budget: Budget) -> None:
    """One word per example: its candidates on each text of the beam, all examples in one query."""
    asks: list[tuple[_State, dict[Slot, str]]] = []
    for s in states:
        growing = [t for t in s.beam if len(t.edits) < s.max_words]
        if not growing or s.next >= len(s.order):
            s.done = True
            continue
        slot = s.order[s.next]
        s.next += 1
        where = f"{slot.field}/{slot.item}/{slot.word}"
        options = transformation.candidates(s.doc.word(slot), str(s.doc.example["id"]), where)
        mine = []
        for text in growing:
            for option in options:
                edits = {**text.edits, slot: option}
                key = frozenset(edits.items())
                if key not in s.seen:
                    s.seen.add(key)
                    mine.append((s, edits))
        room = budget.queries - s.queries
        if len(mine) > room:
            mine, s.exhausted, s.done = mine[:room], True, True
        s.queries += len(mine)
        asks += mine
    scores = query([s.doc.render(edits) for s, edits in asks])
    new: dict[int, list[_Text]] = {}
    for (s, edits), scored in zip(asks, scores):
        new.setdefault(id(s), []).append(_Text(edits, goal.score(s.doc.example, scored), scored))
    for s in states:
        pool = s.beam + new.get(id(s), [])
        ranked = [pool[i] for i in sorted(range(len(pool)), key=lambda i: (-_grid(pool[i].score), i))]
        broken = [t for t in ranked if goal.stops and goal.broken(s.doc.example, s.clean, t.scored)]
        s.beam = broken[:1] or ranked[: budget.beam]
        s.done = s.done or bool(broken)


def _outcome(example: dict[str, Any], s: _State | None, goal: Goal, fields: list[str], task_type: str) -> Outcome:
    if s is None:
        return Outcome(example, [], False, False, 1, False, Document(example, fields, task_type).total_words)
    best = s.beam[0]
    edits = [{"field": slot.field, "item": slot.item, "word": slot.word, "from": s.doc.word(slot), "to": text}
             for slot, text in sorted(best.edits.items())]  # fmt: skip
    broken = goal.broken(s.doc.example, s.clean, best.scored)
    return Outcome(s.doc.render(best.edits), edits, True, broken, s.queries, s.exhausted, s.doc.total_words)

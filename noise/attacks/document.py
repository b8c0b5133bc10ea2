"""An example as editable words: where an attack may change a word, and the example it makes.

The words of each attacked field are ``Words`` units (``text.py``: whitespace
words, single clusters in scripts without spaces; a tagging sentence's tokens as
they are), so a rendered example differs from the clean one exactly in the
words replaced, with every gap kept. A word an attack may not touch is not a
``Slot``: one with no letter, or (span QA) one overlapping a gold answer. In a
span-QA context the gold answers are re-located by the length the edits before
them added, so they stay exactly the gold text. Tagging tokens are replaced one
for one, so every word keeps its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..text import Words

#: what leave-one-out importance puts in a word's place: XLM-R's unknown token, as TextAttack's "unk" ranking
UNK = "<unk>"


@dataclass(frozen=True, order=True)
class Slot:
    """One word of an example: its field, its position in a list field (multiple-choice choices), its index."""

    field: str
    item: int  # -1 for a field holding one text
    word: int


class Document:
    """One example's attacked fields as words."""

    def __init__(self, example: dict[str, Any], fields: list[str], task_type: str) -> None:
        self.example, self.task_type = example, task_type
        self.parts: dict[tuple[str, int], Words] = {}
        for name in fields:
            value = example.get(name)
            if task_type == "tagging" and name == "tokens":
                self.parts[(name, -1)] = Words.of_tokens(list(value or []))
            elif isinstance(value, str):
                self.parts[(name, -1)] = Words.of_text(value)
            elif isinstance(value, list):
                self.parts.update({(name, i): Words.of_text(str(v)) for i, v in enumerate(value)})
        self.total_words = sum(len(w.words) for w in self.parts.values())
        protected = self._answer_words() if task_type == "span_qa" else set()
        self.slots = [
            Slot(name, item, i)
            for (name, item), words in self.parts.items()
            for i, word in enumerate(words.words)
            if any(c.isalpha() for c in word) and (name, i) not in protected
        ]

    def word(self, slot: Slot) -> str:
        return self.parts[(slot.field, slot.item)].words[slot.word]

    def _answer_words(self) -> set[tuple[str, int]]:
        """Context words that overlap a gold answer span."""
        spans = _spans(self.example["target"])
        return {("context", i) for i, (s, e) in enumerate(_offsets(self.parts[("context", -1)]))
                if any(s < b and a < e for a, b in spans)}  # fmt: skip

    def render(self, edits: dict[Slot, str]) -> dict[str, Any]:
        """The example with the words of ``edits`` replaced (answers re-located, labels kept)."""
        out = dict(self.example)
        out.update({name: list(self.example[name]) for name, item in self.parts if item >= 0})
        for (name, item), words in self.parts.items():
            new = list(words.words)
            for slot, text in edits.items():
                if (slot.field, slot.item) == (name, item):
                    new[slot.word] = text
            if self.task_type == "tagging" and name == "tokens":
                out[name] = new
            elif item >= 0:
                out[name][item] = Words(new, words.gaps, words.origin).text()
            else:
                out[name] = Words(new, words.gaps, words.origin).text()
        if self.task_type == "span_qa":
            out["target"] = self._relocated(edits)
        return out

    def _relocated(self, edits: dict[Slot, str]) -> dict[str, Any]:
        target = self.example["target"]
        offsets = _offsets(self.parts[("context", -1)])
        growth = [
            (offsets[s.word][1], len(text) - len(self.word(s))) for s, text in edits.items() if s.field == "context"
        ]
        starts = [start + sum(d for end, d in growth if end <= start) for start in target["answer_start"]]
        return {**target, "answer_start": starts}


def _offsets(words: Words) -> list[tuple[int, int]]:
    """Each word's ``[start, end)`` characters in the text."""
    out, at = [], 0
    for gap, word in zip(words.gaps, words.words):
        at += len(gap)
        out.append((at, at + len(word)))
        at += len(word)
    return out


def _spans(target: dict[str, Any]) -> list[tuple[int, int]]:
    return [(int(s), int(s) + len(t)) for t, s in zip(target["text"], target["answer_start"])]

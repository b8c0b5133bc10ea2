"""Readers for the retrieval tasks' files, laid out as google-research/xtreme's ``download/`` has them.

- ``parallel``: line-aligned text files (Tatoeba's ``tatoeba.deu-eng.deu`` + ``.eng``), one doc per line.
- ``bucc``: BUCC 2018 (``de-en.dev.de`` / ``.en`` / ``.gold``: ``id<TAB>sentence`` and gold id pairs).
- ``lareqa``: XQuAD-R (``lareqa/xquad-r/<lang>.json``, SQuAD JSON with ``sentence_breaks``), as questions
  or as the multilingual pool of answer sentences, exactly as ``utils_lareqa.load_data`` builds them.
- ``mewslix``: Mewsli-X JSON lines as ``get-mewsli-x.sh`` writes them (mentions, entities, training pairs).

Column names follow the Hugging Face copies where one exists (``google/xtreme``'s ``source_sentence``,
``target_sentence``, ...), so one spec reads the hub and a local folder with the same templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from ..errors import DataError
from .base import register_reader


def _lines(path: str) -> list[str]:
    """A file's lines without their line ends (universal newlines, as XTREME's ``open()`` reads them)."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


@register_reader("parallel")
def read_parallel(files: list[str], columns: list[str] | None = None) -> datasets.Dataset:
    """Line-aligned files, one column each: ``tatoeba.xxx-eng.xxx`` and ``tatoeba.xxx-eng.eng``."""
    columns = columns or [f"text{i}" for i in range(len(files))]
    if len(columns) != len(files):
        raise DataError(f"The parallel reader got {len(files)} files ({', '.join(files)}) for columns {columns}.")
    texts = [_lines(f) for f in files]
    if len({len(t) for t in texts}) > 1:
        sizes = ", ".join(f"{f}: {len(t)} lines" for f, t in zip(files, texts))
        raise DataError(f"Parallel files must have one line per pair, but {sizes}.")
    return datasets.Dataset.from_dict(dict(zip(columns, texts)))


def _id_sentences(path: str) -> list[tuple[str, str]]:
    """``id<TAB>sentence`` lines; the sentence is the second field, as ``cut -f2`` takes it."""
    rows = []
    for n, line in enumerate(_lines(path), 1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{path}, line {n}: expected 'id<TAB>sentence', got {line[:80]!r}.")
        rows.append((fields[0], fields[1]))
    return rows


@register_reader("bucc")
def read_bucc(files: list[str]) -> datasets.Dataset:
    """BUCC 2018: ``[<lang> file, en file, gold file]`` -> one doc per gold pair, then the unpaired sentences.

    Columns as ``google/xtreme``'s ``bucc18`` configs (whose ``*_lang`` columns hold sentence ids):
    ``source_sentence``/``source_lang`` (None on English-only docs) and ``target_sentence``/``target_lang``
    (None on docs with a source sentence outside the gold). The hub copy has the gold pairs only, so mining
    there is far easier than on the full files.
    """
    if len(files) != 3:
        raise DataError(f"The bucc reader takes [source file, English file, gold file], got {files}.")
    source, target = dict(_id_sentences(files[0])), dict(_id_sentences(files[1]))
    gold = _id_sentences(files[2])
    rows: list[dict[str, Any]] = []
    for sid, tid in gold:
        if sid not in source or tid not in target:
            raise DataError(f"{files[2]}: gold pair {sid}\t{tid} names a sentence missing from {files[0]}/{files[1]}.")
        rows.append(
            {"source_lang": sid, "source_sentence": source[sid], "target_lang": tid, "target_sentence": target[tid]}
        )
    paired_source, paired_target = {s for s, _ in gold}, {t for _, t in gold}
    rows += [_bucc_row(sid, text, None, None) for sid, text in source.items() if sid not in paired_source]
    rows += [_bucc_row(None, None, tid, text) for tid, text in target.items() if tid not in paired_target]
    return datasets.Dataset.from_list(rows)


def _bucc_row(sid: str | None, source: str | None, tid: str | None, target: str | None) -> dict[str, Any]:
    return {"source_lang": sid, "source_sentence": source, "target_lang": tid, "target_sentence": target}


# --------------------------------------------------------------------------- LAReQA (XQuAD-R)

_BREAK = re.compile(r"""[.?!]['")\]\u201d]*(\s+)(?=['"(\[\u201c]?[A-Z0-9])|[\u3002\uff01\uff1f\u0964](\s*)""")
_NO_BREAK_AFTER = re.compile(r"(?:\b(?:Mrs?|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|U\.S|No)|\b[A-Z])\.$")


def sentence_breaks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, for SQuAD paragraphs that come without XQuAD-R's ``sentence_breaks``.

    A break follows ``.?!`` (and closing quotes or brackets) before whitespace and an upper-case letter or
    digit, or follows CJK/Devanagari full stops; not after common abbreviations and initials. A simple
    stand-in for XTREME's SQuAD-tuned ``sb_sed`` breaker, used for training pairs and hub copies only.
    """
    spans, start = [], 0
    for match in _BREAK.finditer(text):
        space = 1 if match.group(1) is not None else 2
        end = match.start(space)
        if _NO_BREAK_AFTER.search(text[start:end]) or match.end() >= len(text):
            continue
        spans.append((start, end))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    trimmed = []
    for s, e in spans:
        piece = text[s:e]
        if piece.strip():
            trimmed.append((s + len(piece) - len(piece.lstrip()), e - len(piece) + len(piece.rstrip())))
    return trimmed


def candidate_text(sentence: str, context: str) -> str:
    """What XTREME embeds for an answer: the sentence followed by its whole paragraph, newlines removed."""
    return (sentence + context).replace("\n", "")


def lareqa_records(squad: dict[str, Any], language: str) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(question, the paragraph's candidate sentences) per question, as ``utils_lareqa.generate_examples``.

    Paragraphs are numbered per file from 1 (candidate ids ``<lang>_<paragraph>_<sentence>``); a question
    whose answer starts outside every sentence is skipped, as the official loader skips it. Paragraphs
    without ``sentence_breaks`` (SQuAD itself) are split by ``sentence_breaks()``.
    """
    paragraph_no = 0
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            paragraph_no += 1
            context = paragraph["context"]
            breaks = paragraph.get("sentence_breaks") or sentence_breaks(context)
            sentences = [
                {"uid": f"{language}_{paragraph_no}_{pos}", "sentence": context[s:e], "context": context}
                for pos, (s, e) in enumerate(breaks)
            ]
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                answer = next((context[s:e] for s, e in breaks if s <= start < e), None)
                if answer:
                    yield {"id": qa["id"], "question": qa["question"], "answer": answer}, sentences


def lareqa_pool(squad_by_language: dict[str, dict[str, Any]]) -> tuple[dict[str, list], list[dict], dict[str, list]]:
    """Questions per language, the multilingual pool, and each question id's relevant candidates.

    As ``utils_lareqa.load_data``: the pool holds every sentence of every paragraph that has a question;
    a question's relevant candidates are the sentences equal to its answer sentence, in every language.
    """
    questions: dict[str, list[dict[str, Any]]] = {}
    pool: dict[str, dict[str, Any]] = {}
    relevant: dict[str, list[str]] = {}
    for lang, squad in sorted(squad_by_language.items()):
        for question, sentences in lareqa_records(squad, lang):
            for c in sentences:
                pool.setdefault(
                    c["uid"],
                    {"uid": c["uid"], "candidate": candidate_text(c["sentence"], c["context"]), "language": lang},
                )
                if c["sentence"] == question["answer"]:
                    relevant.setdefault(question["id"], []).append(c["uid"])
            positive = candidate_text(question["answer"], sentences[0]["context"])  # trains the smoke fallback
            questions.setdefault(lang, []).append({**question, "candidate": positive})
    return questions, list(pool.values()), relevant


@register_reader("lareqa")
def read_lareqa(files: list[str], records: str = "questions", language: str | None = None) -> datasets.Dataset:
    """XQuAD-R (``lareqa/xquad-r/*.json``: all languages, the pool is multilingual), or SQuAD for training.

    ``records: questions`` -> the questions of ``language``: ``id`` (shared by a question's translations),
    ``question``, ``relevant`` (candidate ids), ``candidate`` (its answer sentence + paragraph: what a dual
    encoder trains on when the English questions stand in for SQuAD, the smoke fallback).
    ``records: candidates`` -> the pool: ``uid``, ``candidate`` (sentence + paragraph, as XTREME embeds
    it), ``language``. ``records: pairs`` -> training pairs from
    SQuAD JSON: ``id``, ``question``, ``candidate`` (its answer sentence + paragraph).
    """
    squad_by_language = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            squad_by_language[Path(path).stem] = json.load(f)
    if records == "pairs":
        return datasets.Dataset.from_list(
            [
                {"id": q["id"], "question": q["question"], "candidate": candidate_text(q["answer"], context)}
                for squad in squad_by_language.values()
                for q, context in _squad_answers(squad)
            ]
        )
    questions, pool, relevant = lareqa_pool(squad_by_language)
    if records == "candidates":
        return datasets.Dataset.from_list(pool)
    if records != "questions":
        raise DataError(f"The lareqa reader reads records 'questions', 'candidates' or 'pairs', not {records!r}.")
    if language not in questions:
        raise DataError(f"No XQuAD-R questions for language {language!r} in {', '.join(files)}.")
    return datasets.Dataset.from_list([{**q, "relevant": relevant[q["id"]]} for q in questions[language]])


def _squad_answers(squad: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for question, sentences in lareqa_records(squad, "train"):
        yield question, sentences[0]["context"]


# --------------------------------------------------------------------------- Mewsli-X

_MARKER = re.compile(r"\{(.*?)\}")


def _squash(text: str) -> str:
    """Newlines to spaces, double spaces to single (once), trimmed: Mewsli-X's light normalisation."""
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mention_query(context: dict[str, Any], mention: dict[str, Any]) -> str:
    """A mention in its sentence, as ``utils_mewslix.preprocess_mention`` writes it.

    ``"<mention>: <left> { <mention> } <right>"`` over the one sentence that contains the mention; braces
    already in the text become parentheses. A mention crossing sentence boundaries is an error there too.
    """
    span = mention["mention_span"]
    sentence = next(
        (s for s in context["sentence_spans"] if s["start"] <= span["start"] < s["end"] and span["end"] <= s["end"]),
        None,
    )
    if sentence is None:
        raise DataError(f"Mewsli-X mention {mention['example_id']} is not inside one sentence of its context.")
    text = context["text"][sentence["start"] : sentence["end"]]
    start, end = span["start"] - sentence["start"], span["end"] - sentence["start"]
    left, right = _MARKER.sub(r"(\1)", text[:start]), _MARKER.sub(r"(\1)", text[end:])
    return _squash(f"{span['text']}: {left} {{ {span['text']} }} {right}")


def entity_description(entity: dict[str, Any]) -> str:
    """An entity's description sentences joined by spaces (``preprocess_entity_description``)."""
    return _squash(" ".join(entity["description"][s["start"] : s["end"]] for s in entity["sentence_spans"]))


def _jsonl(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def mewslix_rows(record: dict[str, Any], records: str) -> list[dict[str, Any]]:
    """Flat docs from one Mewsli-X JSON record: mentions, training pairs or candidate entities."""
    if records == "mentions":
        context = record["context"]
        return [
            {
                "example_id": m["example_id"],
                "query": mention_query(context, m),
                "entity_id": m["entity_id"],
                "language": context["language"],
            }
            for m in record["mentions"]
        ]
    if records == "pairs":
        mention = record["contextual_mention"]
        return [
            {
                "example_id": mention["mention"]["example_id"],
                "query": mention_query(mention["context"], mention["mention"]),
                "entity_id": record["entity"]["entity_id"],
                "description": entity_description(record["entity"]),
            }
        ]
    if records == "entities":
        return [
            {
                "entity_id": record["entity_id"],
                "description": entity_description(record),
                "language": record["description_language"],
            }
        ]
    raise DataError(f"The mewslix reader reads records 'mentions', 'pairs' or 'entities', not {records!r}.")


@register_reader("mewslix")
def read_mewslix(files: list[str], records: str = "mentions", language: str | None = None) -> datasets.Dataset:
    """Mewsli-X JSON lines; ``language`` keeps the mentions of one language (the WikiNews files hold all)."""
    rows = [row for path in files for record in _jsonl(path) for row in mewslix_rows(record, records)]
    if language is not None and records == "mentions":
        rows = [row for row in rows if row["language"] == language]
    if not rows:
        raise DataError(f"No Mewsli-X {records} {'for ' + language if language else ''} in {', '.join(files)}.")
    return datasets.Dataset.from_list(rows)

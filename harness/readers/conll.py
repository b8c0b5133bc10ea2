"""Word-level tagging files: XTREME's ``token<TAB>tag`` files, raw CoNLL-U, CCGbank's AUTO trees.

Each reader yields one doc per sentence with two list columns, the words and
their tags (named by ``columns``, so a spec's ``doc_to_tokens``/``doc_to_target``
read local files and the hub's ``tokens``/``pos_tags``/``ner_tags`` alike).
Sentences keep every word the file has, in order: a dropped or merged word
would shift every later tag against XTREME's gold files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import datasets
import pyarrow as pa

from ..errors import DataError
from .base import register_reader

Sentence = tuple[list[str], list[str]]


def _dataset(sentences: list[Sentence], columns: list[str], ids: list[str] | None = None) -> datasets.Dataset:
    """Columns built as Arrow arrays directly: ``from_dict`` on Python lists encodes every word in Python."""
    if len(columns) != 2:
        raise DataError(f"Tagging readers take two column names (words, tags), got columns: {columns}.")
    words, tags = columns
    strings = pa.list_(pa.string())
    data = {
        words: pa.array([s[0] for s in sentences], type=strings),
        tags: pa.array([s[1] for s in sentences], type=strings),
    }
    if ids is not None:
        data["id"] = pa.array(ids, type=pa.string())
    return datasets.Dataset.from_dict(data)


def _token_tag_sentences(path: str, lang_prefix: bool) -> Iterator[Sentence]:
    """XTREME's reader (``utils_tag.read_examples_from_file``): the first field is the word, the last the tag."""
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("-DOCSTART-"):
                if words:
                    yield words, tags
                words, tags = [], []
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise DataError(
                    f"{path}, line {number}: {line!r} has no tab-separated tag. Tagging files have one "
                    f"`word<TAB>tag` per line; XTREME's download strips the tags of its test files, so score "
                    f"the validation split or supply labelled test files."
                )
            word = fields[0]
            if lang_prefix and ":" in word:  # raw WikiANN files: ``en:Sioux`` (XTREME cuts at the first ':')
                word = word.split(":", 1)[1]
            words.append(word)
            tags.append(fields[-1].strip())
    if words:
        yield words, tags


@register_reader("conll")
def read_conll(
    files: list[str], columns: Sequence[str] = ("tokens", "tags"), lang_prefix: bool = False
) -> datasets.Dataset:
    """``word<TAB>tag`` lines, a blank line between sentences (XTREME's udpos/ and panx/ files).

    Whitespace-only lines also end a sentence, runs of blank lines and a missing
    final blank line are fine, and ``-DOCSTART-`` lines are skipped, as XTREME's
    reader does. Words are kept byte for byte (zero-width and combining-mark
    "words" occur in PAN-X and must keep their tag). ``lang_prefix`` strips the
    ``xx:`` prefix of raw WikiANN files.
    """
    sentences = [s for path in files for s in _token_tag_sentences(path, lang_prefix)]
    return _dataset(sentences, list(columns))


def _conllu_sentences(path: str) -> Iterator[Sentence]:
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    yield words, tags
                words, tags = [], []
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise DataError(
                    f"{path}, line {number}: a CoNLL-U word line has 10 tab-separated fields, not {len(fields)}."
                )
            if not fields[0].isdigit():  # 1-2: a multi-word token's surface form; 8.1: an empty node
                continue
            words.append(fields[1])
            tags.append(fields[3])
    if words:
        yield words, tags


def _forms_withheld(words: list[str]) -> bool:
    """Treebanks whose licence withholds the text write ``_`` as FORM (UD_Arabic-NYUAD, UD_English-ESL, ...).

    XTREME's ``udpos_preprocess`` drops a sentence when all or all but one of
    its words are ``_``; this keeps that rule.
    """
    empty = sum(w == "_" for w in words)
    return empty > 0 and empty >= len(words) - 1


@register_reader("conllu")
def read_conllu(files: list[str], columns: Sequence[str] = ("tokens", "pos_tags")) -> datasets.Dataset:
    """Universal Dependencies CoNLL-U: FORM and UPOS of each syntactic word.

    Comments, multi-word token ranges (``1-2 zum``) and empty nodes (``8.1``)
    are skipped, so ``zum`` is read as its words ``zu`` ``dem`` with their own
    tags. XTREME's conversion instead keeps the fused form with the tag of the
    span's head, so on languages with multi-word tokens (de, fr, es, it, pt, ar,
    he, ...) scores on raw CoNLL-U are not comparable to scores on XTREME's
    udpos/ files. Sentences whose forms are withheld are dropped, as XTREME does.
    """
    sentences = [s for path in files for s in _conllu_sentences(path) if not _forms_withheld(s[0])]
    return _dataset(sentences, list(columns))


#: a CCGbank leaf: ``(<L category modified-POS original-POS word predicate-argument-category>)``
_CCG_LEAF = re.compile(r"\(<L (\S+) \S+ \S+ (\S+) \S+>\)")


def _auto_sentences(path: str) -> Iterator[tuple[str, Sentence]]:
    sentence_id = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if line.startswith("ID="):
                sentence_id = line.split()[0][3:]
            elif line:
                leaves = _CCG_LEAF.findall(line)
                if not leaves or sentence_id is None:
                    raise DataError(f"{path}, line {number}: not a CCGbank AUTO derivation (an ID= line, then a tree).")
                yield sentence_id, ([word for _, word in leaves], [cat for cat, _ in leaves])
                sentence_id = None


@register_reader("ccgbank")
def read_ccgbank(files: list[str], columns: Sequence[str] = ("tokens", "supertags")) -> datasets.Dataset:
    """CCGbank's AUTO files (LDC2005T13, ``data/AUTO/<section>/wsj_*.auto``): words and their lexical categories.

    Each sentence is an ``ID=wsj_0001.1 ...`` header line followed by its
    derivation on one line; the leaves, left to right, give the words and their
    supertags. Docs carry the CCGbank sentence id as ``id``.
    """
    ids: list[str] = []
    sentences: list[Sentence] = []
    for path in sorted(files, key=lambda p: Path(p).name):
        for sentence_id, sentence in _auto_sentences(path):
            ids.append(sentence_id)
            sentences.append(sentence)
    return _dataset(sentences, list(columns), ids)

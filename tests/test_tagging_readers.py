"""Readers for word-level tagging files: XTREME's token<TAB>tag files, CoNLL-U, CCGbank AUTO."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import DataError
from harness.readers import READERS

read_conll, read_conllu, read_ccgbank = READERS["conll"], READERS["conllu"], READERS["ccgbank"]


def test_conll_reader_handles_xtreme_file_quirks(toy_data):
    docs = read_conll([str(toy_data / "tagging" / "quirks.tsv")])
    # blank and whitespace-only lines end sentences, repeated blanks make no empty sentence, CRLF is stripped,
    # -DOCSTART- is skipped, a zero-width word keeps its tag, a word with a colon is not a language prefix,
    # and with more than two fields the last one is the tag (XTREME's reader)
    assert docs["tokens"] == [["The", "dog", "barks", "."], ["A", "\u200b", "cat", "sleeps"], ["bar:24", "extra"]]
    assert docs["tags"] == [["DET", "NOUN", "VERB", "PUNCT"], ["DET", "X", "NOUN", "VERB"], ["PROPN", "ADJ"]]


def test_conll_reader_names_columns_and_strips_raw_wikiann_prefixes(toy_data):
    docs = read_conll([str(toy_data / "tagging" / "raw-panx")], columns=["tokens", "ner_tags"], lang_prefix=True)
    assert docs.column_names == ["tokens", "ner_tags"]
    assert docs["tokens"] == [["Sioux", "Falls", "bar:24"], ["Paris"]]  # cut at the first ':' only
    assert docs["ner_tags"] == [["B-ORG", "I-ORG", "O"], ["B-LOC"]]


def test_conll_reader_rejects_untagged_lines_with_a_hint(tmp_path):
    path = tmp_path / "test-de.tsv"
    path.write_text("Berlin\nist\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"test-de.tsv, line 1: 'Berlin' has no tab-separated tag.*strips the tags"):
        read_conll([str(path)])


def test_conllu_reader_reads_syntactic_words_and_upos(toy_data):
    docs = read_conllu([str(toy_data / "tagging" / "sample.conllu")])
    # comments, the range 3-4 (zum) and the empty node 2.1 are skipped; the withheld sentence (all "_") is dropped
    assert docs["tokens"] == [["Er", "geht", "zu", "dem", "Markt", "."], ["I", "like", "tea"]]
    assert docs["pos_tags"] == [["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"], ["PRON", "VERB", "NOUN"]]


def test_conllu_reader_rejects_malformed_lines(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text("1\tEr\ter\tPRON\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: a CoNLL-U word line has 10 tab-separated fields, not 4"):
        read_conllu([str(path)])


def test_conllu_reader_on_real_ud_treebanks(shared_data):
    folder = shared_data / "ud-conllu"
    for path in sorted(folder.glob("*.conllu")):
        text = path.read_text(encoding="utf-8")
        docs = read_conllu([str(path)])
        assert len(docs) == text.count("# sent_id")  # EWT and GSD withhold no forms
        words = sum(1 for line in text.splitlines() if line.split("\t")[0].isdigit())
        assert sum(len(t) for t in docs["tokens"]) == words
        assert all(len(w) == len(t) for w, t in zip(docs["tokens"], docs["pos_tags"]))
    german = read_conllu([str(folder / "de_gsd-ud-dev.conllu")])
    assert german[0] == {
        "tokens": ["Manasse", "ist", "ein", "einzigartiger", "Parfümeur", "."],
        "pos_tags": ["PROPN", "AUX", "DET", "ADJ", "NOUN", "PUNCT"],
    }


def test_ccgbank_reader_reads_leaves_in_order(toy_data):
    path = Path(toy_data / "ccg" / "ccgbank_1_1" / "data" / "AUTO" / "02" / "wsj_0201.auto")
    docs = read_ccgbank([str(path)])
    assert len(docs) == 15
    assert docs[0] == {
        "tokens": ["Mary", "calls", "Tom", "."],
        "supertags": ["N", "(S[dcl]\\NP)/NP", "N", "."],
        "id": "wsj_0201.1",
    }


def test_ccgbank_reader_rejects_other_files(toy_data):
    with pytest.raises(DataError, match="not a CCGbank AUTO derivation"):
        read_ccgbank([str(toy_data / "tagging" / "quirks.tsv")])

"""Regenerate the embedded sample from full XTREME-R files: ``python harness/sample_data/make_sample.py SOURCE``.

SOURCE is a folder laid out like google-research/xtreme's ``download/`` (in this repository's development setup,
``../shared/data``). The sample is a pure function of those files: the same rows of every language (XTREME's
dev sets are parallel, so a held-out half by row number never puts a translation of an evaluated doc into
training), copied byte for byte (XQuAD: the chosen paragraphs re-serialised as compact JSON). Not installed
with the package; the files it writes are.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
XNLI = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()
PAWSX = "de en es fr ja ko zh".split()
XCOPA = "et ht id it qu sw ta th tr vi zh".split()
XQUAD = "ar de el en es hi ro ru th tr vi zh".split()
#: every Nth row of a line-per-doc dev file; XQuAD: the first paragraph of every Nth article
EVERY = {"xnli": 10, "pawsx": 10, "xquad": 3}


def every_nth_line(source: Path, dest: Path, n: int) -> None:
    lines = source.read_bytes().splitlines(keepends=True)
    dest.write_bytes(b"".join(lines[::n]))


def xquad_paragraphs(source: Path, dest: Path, n: int) -> None:
    data = json.loads(source.read_text(encoding="utf-8"))
    articles = [{**article, "paragraphs": article["paragraphs"][:1]} for article in data["data"][::n]]
    text = json.dumps({"version": data.get("version"), "data": articles}, ensure_ascii=False, separators=(",", ":"))
    dest.write_text(text + "\n", encoding="utf-8")


def build(source: Path, out: Path) -> None:
    for family in ("xnli", "pawsx", "xcopa", "xquad"):
        shutil.rmtree(out / family, ignore_errors=True)
        (out / family).mkdir(parents=True)
    for lang in XNLI:
        every_nth_line(source / f"xnli/dev-{lang}.tsv", out / f"xnli/dev-{lang}.tsv", EVERY["xnli"])
    for lang in PAWSX:
        every_nth_line(source / f"pawsx/dev-{lang}.tsv", out / f"pawsx/dev-{lang}.tsv", EVERY["pawsx"])
    for name in [*(f"val-{lang}" for lang in [*XCOPA, "en"]), "train-en"]:  # whole: 100 per language, COPA's 400
        shutil.copyfile(source / f"xcopa/{name}.jsonl", out / f"xcopa/{name}.jsonl")
    for lang in XQUAD:
        xquad_paragraphs(source / f"xquad/xquad.{lang}.json", out / f"xquad/xquad.{lang}.json", EVERY["xquad"])
    write_manifest(out)


def docs_in(path: Path) -> int:
    """Evaluation docs in one file: lines, or XQuAD's questions."""
    if path.suffix == ".json":
        return sum(len(p["qas"]) for a in json.loads(path.read_text(encoding="utf-8"))["data"] for p in a["paragraphs"])
    return len(path.read_bytes().splitlines())


def write_manifest(out: Path) -> None:
    """``manifest.json``: per task family its languages, docs per evaluated language and bytes, which the harness
    reads (without loading any data) to know what the sample covers and to say so in one line."""
    evaluated = {"xnli": ("dev-{}.tsv", XNLI), "pawsx": ("dev-{}.tsv", PAWSX), "xcopa": ("val-{}.jsonl", XCOPA),
                 "xquad": ("xquad.{}.json", XQUAD)}  # fmt: skip
    manifest = {}
    for family, (pattern, languages) in evaluated.items():
        manifest[family] = {"languages": languages,
                            "docs_per_language": docs_in(out / family / pattern.format(languages[0])),
                            "bytes": sum(f.stat().st_size for f in (out / family).iterdir())}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a folder laid out like XTREME's download/ (../shared/data)")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the sample [default: beside this file]")
    args = parser.parse_args()
    build(args.source, args.out)

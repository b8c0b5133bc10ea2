"""Throughput of the `typo` noise over every XNLI dev language, against nlpaug's KeyboardAug on English.

    python benchmarks/noise_throughput.py [--data-dir ../shared/data] [--rate 0.1] [--repeat 3]

Ours: examples per second for `typo:RATE` on premise and hypothesis of every
example of XNLI dev in all 15 languages (the path the pipeline takes: per-doc
generators, grapheme clusters, per-language layouts), best of --repeat runs.
nlpaug (a benchmark-only dependency: `pip install nlpaug`): KeyboardAug with its
defaults, then with settings matched to ours (every word eligible, --rate of the
characters), on the English examples only: it has no layout for most of these
languages (`KeyboardAug(lang="ru")` raises). The applied character error rate
(Levenshtein / length) is printed for each, so speeds are compared at known
noise levels.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from harness.noise import error_rates, parse, perturb_examples

LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


def xnli(data_dir: Path, lang: str) -> list[dict]:
    with (data_dir / "xnli" / f"dev-{lang}.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [{"id": str(i), "index": i, "text": r[0], "text_pair": r[1], "target": r[2]} for i, r in enumerate(rows)]


FIELDS = ["text", "text_pair"]


def noisy_xnli(examples: list[dict], rate: float, lang: str) -> list[dict]:
    """What the pipeline does to one language's XNLI examples for typo:RATE."""
    return perturb_examples(
        examples,
        parse(f"typo:{rate}"),
        task=f"xnli_{lang}",
        task_type="classification",
        fields=FIELDS,
        language=lang,
        seed=0,
    )


def ours(data: dict[str, list[dict]], rate: float) -> dict[str, float]:
    """Seconds per language for typo:RATE."""
    seconds = {}
    for lang, examples in data.items():
        start = time.perf_counter()
        noisy_xnli(examples, rate, lang)
        seconds[lang] = time.perf_counter() - start
    return seconds


def nlpaug_settings(rate: float) -> dict[str, dict]:
    matched = dict(aug_char_p=rate, aug_char_min=0, aug_char_max=None, aug_word_p=1.0, aug_word_max=None, min_char=1)
    return {"defaults": {}, f"matched (every word, {rate:g} of characters)": matched}


def nlpaug_keyboard(texts: list[str], kwargs: dict) -> tuple[float, list[str]]:
    import nlpaug.augmenter.char as nac

    aug = nac.KeyboardAug(**kwargs)
    random.seed(0)  # nlpaug has no seed argument: global state (nlpaug#6)
    start = time.perf_counter()
    out = aug.augment(texts)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each measure keeps its best round")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    data = {lang: xnli(args.data_dir, lang) for lang in LANGUAGES}
    english = [t for e in data["en"] for t in (e["text"], e["text_pair"])]
    settings = nlpaug_settings(args.rate)
    best: dict[str, float] = {}
    theirs: dict[str, float] = {}
    # rounds interleave the contenders, so a busy machine slows both alike
    for _ in range(args.repeat):
        for lang, seconds in ours(data, args.rate).items():
            best[lang] = min(best.get(lang, float("inf")), seconds)
        for label, kwargs in settings.items():
            seconds, _ = nlpaug_keyboard(english, kwargs)
            theirs[label] = min(theirs.get(label, float("inf")), seconds)

    print(f"ours: typo:{args.rate}, examples (premise + hypothesis) per second, best of {args.repeat}")
    for lang, examples in data.items():
        noisy = noisy_xnli(examples, args.rate, lang)
        rates = error_rates(examples, noisy, FIELDS, "classification", language=lang)
        print(f"  {lang}  {len(examples) / best[lang]:9.0f} ex/s   CER {rates['cer']:5.1f}%   WER {rates['wer']:5.1f}%")
    total = sum(len(e) for e in data.values())
    speed = total / sum(best.values())
    print(f"  all 15 languages: {speed:9.0f} ex/s ({total} examples in {sum(best.values()):.2f}s)")
    noisy = noisy_xnli(data["en"], args.rate, "en")
    start = time.perf_counter()
    error_rates(data["en"], noisy, FIELDS, "classification")
    print(f"  (measuring CER/WER afterwards: {len(data['en']) / (time.perf_counter() - start):.0f} ex/s on en)")
    for label, kwargs in settings.items():
        _, out = nlpaug_keyboard(english, kwargs)
        cer = 100 * sum(Levenshtein.distance(a, b) for a, b in zip(english, out)) / sum(map(len, english))
        rate = len(data["en"]) / theirs[label]
        print(f"nlpaug KeyboardAug {label}, en only: {rate:7.0f} ex/s   CER {cer:5.1f}% (code points)")
        print(
            f"  ours (15 languages) / nlpaug: {speed / rate:.1f}x; ours (en) / nlpaug: {len(data['en']) / best['en'] / rate:.1f}x"
        )


if __name__ == "__main__":
    main()

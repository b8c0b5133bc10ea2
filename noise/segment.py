"""Word segmentation for languages written without spaces: Chinese, Japanese, Thai.

A word rate must mean the same share of words in every language. Taking each
character (cluster) as a word makes ``drop:0.1`` remove four times as many Thai
words as English ones and ``split``/``merge`` meaningless, so word-level noise
and WER segment runs of these scripts with the maintained segmenter of each
language: jieba (zh), MeCab through fugashi with the UniDic-lite dictionary
(ja), PyThaiNLP's newmm (th). They are an optional extra (``segment``); word
noise or WER on such text without it is an error saying how to install it.
Other languages (and such runs inside them, e.g. a Chinese name in English)
keep one word per cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache

from ..errors import NoiseError
from .clusters import joins

SEGMENTERS = {"zh": "jieba", "ja": "fugashi with unidic-lite", "th": "pythainlp (newmm)"}
_PACKAGES = {"zh": "jieba", "ja": "fugashi", "th": "pythainlp"}


@cache
def _segmenter(language: str) -> Callable[[str], list[str]]:
    try:
        if language == "zh":
            import jieba

            jieba.setLogLevel(60)
            return lambda text: list(jieba.cut(text, HMM=False))
        if language == "ja":
            import fugashi

            tagger = fugashi.Tagger()  # finds the unidic-lite dictionary
            return lambda text: [word.surface for word in tagger(text)]
        from pythainlp.tokenize import word_tokenize

        return lambda text: word_tokenize(text, engine="newmm", keep_whitespace=False)
    except (ImportError, RuntimeError) as error:
        raise NoiseError(
            f"Word-level noise and WER in {language!r} segment words with {SEGMENTERS[language]}, which is not "
            f"installed ({error}). Install it with `pip install 'xtreme-noise-harness[segment]'` "
            f"(or `pip install {_PACKAGES[language]}{' unidic-lite' if language == 'ja' else ''}`)."
        ) from None


def segments(language: str) -> bool:
    """Whether ``language``'s runs without spaces are segmented into words (else: one word per cluster)."""
    return language in SEGMENTERS


@lru_cache(maxsize=1 << 16)
def split_run(language: str, run: str) -> tuple[str, ...]:
    """A run of text without spaces as its words (the segmenter's, joined back where it cut a cluster)."""
    words: list[str] = []
    for piece in _segmenter(language)(run):
        if not piece:
            continue
        if words and (joins(words[-1], piece) or piece[:1].isspace() or words[-1][-1:].isspace()):
            words[-1] += piece
        else:
            words.append(piece)
    if "".join(words) != run:  # a segmenter that normalised the text: fall back to it whole
        return (run,)
    return tuple(words)

"""TyDiQA-GoldP hooks."""

from __future__ import annotations

import datasets

#: the language names TyDi QA's question ids start with ("finnish-1438...-0")
NAMES = {
    "ar": "arabic",
    "bn": "bengali",
    "en": "english",
    "fi": "finnish",
    "id": "indonesian",
    "ko": "korean",
    "ru": "russian",
    "sw": "swahili",
    "te": "telugu",
}


def keep_language(docs: datasets.Dataset, language: str) -> datasets.Dataset:
    """The questions of one language, from the hub's all-language GoldP splits.

    XTREME's local files hold one language each, and its split of the training
    file drops the language from the ids, so docs without any language prefix
    are kept as they are.
    """
    prefix = f"{NAMES[language]}-"
    if not any(str(i).split("-")[0] in NAMES.values() for i in docs["id"]):
        return docs
    return docs.filter(lambda doc: doc["id"].startswith(prefix))

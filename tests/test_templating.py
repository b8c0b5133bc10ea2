"""Field templates: column names, native single expressions, string templates, clear errors."""

from __future__ import annotations

import pytest

from harness.errors import SpecError
from harness.templating import render

DOC = {"premise": "1984", "choice1": "a", "choice2": "b", "tokens": ["x", "y"], "n": 2}


def test_column_name_returns_the_value_unchanged() -> None:
    assert render("premise", DOC, where="w") == "1984"  # stays a string, not the number 1984
    assert render("tokens", DOC, where="w") == ["x", "y"]


def test_single_expression_keeps_its_native_type() -> None:
    assert render("{{ [choice1, choice2] }}", DOC, where="w") == ["a", "b"]
    assert render("{{ n + 1 }}", DOC, where="w") == 3
    assert render("{{ premise }}", DOC, where="w") == "1984"


def test_text_templates_render_to_strings() -> None:
    assert render("{{ premise }} What was the {{ choice1 }}?", DOC, where="w") == "1984 What was the a?"


def test_undefined_name_lists_the_fields_the_doc_has() -> None:
    with pytest.raises(SpecError) as exc:
        render("{{ hypothesis }}", DOC, where="xnli_common, line 3: doc_to_text_pair")
    assert "xnli_common, line 3: doc_to_text_pair" in str(exc.value)
    assert "'hypothesis' is undefined" in str(exc.value)
    assert "choice1, choice2, n, premise, tokens" in str(exc.value)


def test_undefined_inside_a_text_template_and_bad_syntax() -> None:
    with pytest.raises(SpecError, match="undefined"):
        render("Q: {{ missing }}", DOC, where="w")
    with pytest.raises(SpecError, match="not valid Jinja"):
        render("{{ premise ", DOC, where="w")

"""Jinja2 rendering of task fields, the way lm-evaluation-harness reads them.

A field is (1) a column name, returned as-is; (2) a template that is exactly one
``{{ expression }}``, whose *native* value is returned (so ``{{ tokens }}`` stays
a list and ``{{ [choice1, choice2] }}`` is a list); (3) any other template,
rendered to a string; (4) a ``!function`` hook called with the doc; or (5) a
literal list/number. Undefined names are errors (``StrictUndefined``), reported
with the template and the fields the doc does have.

Templates render in Jinja's sandbox: a task YAML may come from someone else's
folder, and a template is data, so it reaches the doc's fields but never Python
internals (``{{ ''.__class__.__mro__ }}``). Code in a task folder is the
``!function`` hooks, imported only from that folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .errors import SpecError
from .yamlio import FunctionRef

ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
_SINGLE_EXPR = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}).)*)\}\}$", re.DOTALL)


@lru_cache(maxsize=4096)
def _compile(template: str) -> Callable[[dict[str, Any]], Any]:
    match = _SINGLE_EXPR.match(template.strip())
    if match:
        expr = ENV.compile_expression(match["expr"].strip(), undefined_to_none=False)

        def evaluate(ctx: dict[str, Any]) -> Any:
            value = expr(**ctx)
            if isinstance(value, jinja2.Undefined):
                value._fail_with_undefined_error()  # StrictUndefined raises lazily; make it eager
            return value

        return evaluate
    compiled = ENV.from_string(template)
    return lambda ctx: compiled.render(**ctx)


def render(template: Any, context: dict[str, Any], *, where: str) -> Any:
    """Render one field against ``context`` (a doc, or ``{lang, split}`` for sources)."""
    if isinstance(template, FunctionRef):
        return call_hook(template, where, context)
    if isinstance(template, dict):
        return {k: render(v, context, where=where) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, context, where=where) for v in template]
    if not isinstance(template, str):
        return template
    if template in context:
        return context[template]
    try:
        value = _compile(template)(context)
    except jinja2.UndefinedError as exc:
        fields = ", ".join(sorted(context)) or "(none)"
        raise SpecError(
            f"{where}: template {template!r} uses an undefined name ({exc.message}). Available fields: {fields}."
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise SpecError(f"{where}: template {template!r} reaches outside the doc's fields, which task templates "
                        f"may not ({exc}). Use a !function hook for anything beyond the fields.") from None  # fmt: skip
    except jinja2.TemplateError as exc:
        raise SpecError(f"{where}: template {template!r} is not valid Jinja: {exc}.") from None
    return value


def call_hook(hook: FunctionRef, where: str, *args: Any, **kwargs: Any) -> Any:
    """Call a ``!function`` hook; its failure is the task's, so it is reported with the task, key and doc."""
    function = hook.resolve()
    try:
        return function(*args, **kwargs)
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(
            f"{where}: hook {hook.target} ({hook.module_path()}) raised {type(exc).__name__}: {exc}. "
            f"Fix the hook, or the data it was given."
        ) from exc

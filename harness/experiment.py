"""Experiment files (``harness run --config grid.yaml``): a grid written down once, in the command's own terms.

The keys are ``harness run``'s long options without the dashes (``tasks``, ``intermediate``, ``noise``,
``seeds``, ``method``, ``max-train-examples`` ...; ``_`` works for ``-``), so there is nothing new to learn and
``harness run --help`` documents the file. A list may be a YAML list or a comma-separated string. Options given
on the command line override the file. A key the command does not have is an error naming the file and line:
a typo must not silently run a different grid.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from click.core import ParameterSource

from .errors import HarnessError


def option_keys(command: click.Command) -> dict[str, click.Parameter]:
    """Experiment-file key -> the option it sets (every long option of the command but ``--config``)."""
    keys = {}
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--config":
                keys[opt[2:]] = param
    return keys


def apply_experiment_file(ctx: click.Context, path: Path) -> None:
    """Fill ``ctx.params`` from ``path`` for every option not given on the command line."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HarnessError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return
    if not isinstance(data, dict) or node is None or not isinstance(node, yaml.MappingNode):
        raise HarnessError(f"{path}: an experiment file is a mapping of option names to values (tasks: [xnli]).")
    lines = {key.value: key.start_mark.line + 1 for key, _ in node.value}
    known = option_keys(ctx.command)
    for raw, value in data.items():
        key = str(raw).replace("_", "-")
        param = known.get(key)
        if param is None or param.name is None:
            raise HarnessError(
                f"{path}:{lines.get(raw, '?')}: unknown key {raw!r}. Experiment files take the options of "
                f"`harness run` without dashes: {', '.join(sorted(known))}."
            )
        if ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE:
            continue  # the command line wins
        if isinstance(param, click.Option) and param.is_flag:
            value = param.flag_value if value else param.default  # no-mixed: true sets mixed to False
        elif isinstance(value, list) and not param.multiple:
            value = ",".join(str(v) for v in value)
        elif param.multiple and not isinstance(value, list):
            value = [value]
        try:
            ctx.params[param.name] = param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise HarnessError(f"{path}:{lines.get(raw, '?')}: {raw}: {exc.message}") from None

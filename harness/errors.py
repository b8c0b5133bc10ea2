"""User-facing errors.

Every mistake a researcher can make (a typo in a task name, a YAML key that does
not exist, a missing data file offline) raises a ``HarnessError`` whose message
is one paragraph: what is wrong, where (file, key, task, language), and how to
fix it. The CLI prints that paragraph and exits non-zero instead of showing a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """An error caused by the user's input, with a message meant for them."""

    exit_code = 2


class SpecError(HarnessError):
    """A task or group YAML is malformed (unknown key, bad include, Jinja error)."""


class TaskNotFound(HarnessError):
    """A task, group or tag name that the registry does not know."""


class DataError(HarnessError):
    """Data that cannot be found or read (offline hub, missing local file)."""


class NoiseError(HarnessError):
    """A noise spec that cannot be applied: bad syntax, unknown name, bad value, missing data."""


class ModelError(HarnessError):
    """A model that cannot be loaded (bad path, unknown hub id offline)."""


class ExportRefused(HarnessError):
    """Predictions that the official scorer could not read or would score wrongly; the message says why."""

"""Hooks of this family's specs: hub tag columns (ClassLabel ids) are decoded into tag names."""

from harness.tasktypes.tagging import tag_names

__all__ = ["tag_names"]

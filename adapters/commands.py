"""``harness adapters ls | show | rm | export | import``: the trained-artefact store from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from .store import ArtefactStore, check_key

console = Console()

store_option = click.option(
    "--adapter-dir",
    type=click.Path(path_type=Path),
    help="The store [default: ~/.cache/harness/adapters, or $HARNESS_CACHE/adapters].",
)


def _size(path: Path) -> str:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return f"{total / 1e6:.1f} MB" if total >= 1e5 else f"{total / 1e3:.1f} kB"


@click.group("adapters")
def adapters_group() -> None:
    """List, inspect, remove, export and import trained adapters and checkpoints."""


@adapters_group.command("ls")
@store_option
def ls(adapter_dir: Path | None) -> None:
    """One line per stored artefact."""
    store = ArtefactStore(adapter_dir)
    table = Table(title=f"Artefacts in {store.root}", title_justify="left")
    table.add_column("key", no_wrap=True, min_width=20)
    for col in ("role", "method", "tasks", "base model", "on top of", "seed", "size", "created"):
        table.add_column(col)
    for key in store.keys():
        m = store.meta(key)
        table.add_row(
            key,
            m.get("role", ""),
            m.get("method", ""),
            ",".join(m.get("tasks", [])),
            m.get("base_model", ""),
            m.get("intermediate") or "",
            str(m.get("seed", "")),
            _size(store.path(key)),
            m.get("created", ""),
        )
    console.print(table)


@adapters_group.command("show")
@click.argument("key")
@store_option
def show(key: str, adapter_dir: Path | None) -> None:
    """The metadata of one artefact, after checking its content hash."""
    meta = ArtefactStore(adapter_dir).verify(key)
    console.print(Syntax(json.dumps(meta, indent=2, sort_keys=True), "json"))


@adapters_group.command("rm")
@click.argument("keys", nargs=-1, required=True)
@store_option
def rm(keys: tuple[str, ...], adapter_dir: Path | None) -> None:
    """Remove artefacts (the next run that needs one trains it again)."""
    store = ArtefactStore(adapter_dir)
    for key in keys:  # every key checked before any is removed
        check_key(key)
    for key in keys:
        store.remove(key)
    console.print(f"Removed {len(keys)} artefact(s).")


@adapters_group.command("export")
@click.argument("key")
@click.argument("dest", type=click.Path(path_type=Path), default=Path("."))
@store_option
def export(key: str, dest: Path, adapter_dir: Path | None) -> None:
    """Write one artefact as a single .tar.gz (to DEST, a folder or a file name)."""
    out = ArtefactStore(adapter_dir).export(key, dest)
    console.print(f"Exported {key} to {out} ({out.stat().st_size / 1e6:.1f} MB).")


@adapters_group.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_option
def import_(archive: Path, adapter_dir: Path | None) -> None:
    """Add an exported artefact to the store (its content hash is checked)."""
    key = ArtefactStore(adapter_dir).import_archive(archive)
    console.print(f"Imported {key}.")

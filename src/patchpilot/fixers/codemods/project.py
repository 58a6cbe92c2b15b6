"""Project-scope facts for codemods: `requires-python`, locked versions, the project's files.

These back `ProjectContext` (interface.py) and are computed lazily, once per run: reading the
inventory or walking the tree costs time that a run whose codemods never ask for it should not
pay. Unreadable inputs never stop a code fix; they leave the fact unknown (None or empty),
which the guards treat conservatively.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from patchpilot.errors import PatchpilotError
from patchpilot.model import Ecosystem

if TYPE_CHECKING:
    from patchpilot.fixers.codemods.interface import ProjectContext


def read_requires_python(root: Path) -> tuple[SpecifierSet | None, tuple[str, ...]]:
    """`[project] requires-python` from pyproject.toml, else `python_requires` from setup.cfg;
    notes say why a declared one could not be used."""
    notes: list[str] = []
    pyproject = root / "pyproject.toml"
    declared: str | None = None
    where = ""
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            notes.append(f"pyproject.toml: not read ({e}); requires-python unknown")
            data = {}
        project = data.get("project")
        if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
            declared = project["requires-python"]
            where = "pyproject.toml: project.requires-python"
    setup_cfg = root / "setup.cfg"
    if declared is None and setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(setup_cfg.read_text(encoding="utf-8"))
            declared = parser.get("options", "python_requires", fallback=None)
            where = "setup.cfg: options.python_requires"
        except (OSError, UnicodeDecodeError, configparser.Error) as e:
            notes.append(f"setup.cfg: not read ({e}); requires-python unknown")
    if declared is None:
        return None, tuple(notes)
    try:
        return SpecifierSet(declared.strip()), tuple(notes)
    except InvalidSpecifier:
        notes.append(f"{where}: `{declared}` is not a valid specifier; treated as unknown")
        return None, tuple(notes)


def locked_versions(project: ProjectContext) -> Mapping[str, str]:
    """PyPI versions of the project's inventory by normalized name (empty if unreadable)."""
    inventory = project.inventory
    if inventory is None:
        from patchpilot.sources.discover import collect

        try:
            inventory = collect(project.root)
        except PatchpilotError as e:
            project.notes.append(f"locked versions unknown: {e}")
            return {}
    return {str(c.name): c.version for c in inventory.components if c.ecosystem is Ecosystem.PYPI}


def walk_files(root: Path, suffixes: tuple[str, ...]) -> Iterator[str]:
    """Files under `root` ending in one of `suffixes` (relative, `/`), in a stable order,
    pruning VCS metadata, virtualenvs, caches and build output."""
    from patchpilot.sources.discover import SKIP_DIRS

    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and not (here / d / "pyvenv.cfg").exists()
        )
        for name in sorted(filenames):
            if name.endswith(suffixes):
                yield (here / name).relative_to(root).as_posix()


def python_files(project: ProjectContext) -> tuple[str, ...]:
    return tuple(walk_files(project.root, (".py",)))


def read_text(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None

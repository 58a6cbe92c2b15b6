"""Golden and refusal cases of the codemods, read from tests/assets/codemods/<id>/<case>/.

A case directory holds `input.py` (placed at `path` in a fresh project), optionally `want.py`
(the expected rewrite; absent: the file must stay byte-identical), `case.toml` (`path`,
`requires_python` — "" for none declared —, `refusals = [[line, "reason"], ...]` or
`[[path, line, "reason"], ...]`: exactly the refusals the codemod must report) and `extra/`
(more project files: modules registering YAML constructors, YAML with tags, …).
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "codemods"
DEFAULT_PATH = "app/module.py"
DEFAULT_PYTHON = ">=3.12"


@dataclass(frozen=True)
class Case:
    codemod: str
    name: str
    directory: Path
    path: str
    requires_python: str
    refusals: frozenset[tuple[str, int, str]]

    @property
    def id(self) -> str:
        return f"{self.codemod}/{self.name}"

    @property
    def input(self) -> str:
        return (self.directory / "input.py").read_text(encoding="utf-8")

    @property
    def want(self) -> str | None:
        want = self.directory / "want.py"
        return want.read_text(encoding="utf-8") if want.is_file() else None

    def build(self, root: Path) -> Path:
        """Lay the case out as a project under `root`; returns `root`."""
        extra = self.directory / "extra"
        if extra.is_dir():
            shutil.copytree(extra, root, dirs_exist_ok=True)
        target = root / self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((self.directory / "input.py").read_bytes())
        if self.requires_python:
            (root / "pyproject.toml").write_text(
                f'[project]\nname = "case"\nversion = "0"\n'
                f'requires-python = "{self.requires_python}"\n',
                encoding="utf-8",
            )
        return root


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for directory in sorted(ASSETS.glob("*/*/input.py")):
        case_dir = directory.parent
        meta: dict[str, object] = {}
        if (case_dir / "case.toml").is_file():
            meta = tomllib.loads((case_dir / "case.toml").read_text(encoding="utf-8"))
        path = str(meta.get("path", DEFAULT_PATH))
        refusals: set[tuple[str, int, str]] = set()
        for item in meta.get("refusals", []):  # type: ignore[attr-defined]
            if len(item) == 2:
                refusals.add((path, int(item[0]), str(item[1])))
            else:
                refusals.add((str(item[0]), int(item[1]), str(item[2])))
        cases.append(
            Case(
                codemod=case_dir.parent.name,
                name=case_dir.name,
                directory=case_dir,
                path=path,
                requires_python=str(meta.get("requires_python", DEFAULT_PYTHON)),
                refusals=frozenset(refusals),
            )
        )
    return cases

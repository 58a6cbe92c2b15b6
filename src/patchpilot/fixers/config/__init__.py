"""Configuration mitigations: turn off a vulnerable feature in a project's own configuration.

`run_config_mitigations` looks at a project's nginx files (`nginx.py`: TLS protocols and
ciphers from Mozilla's vendored Server Side TLS data) and its Django settings (`django.py`:
DEBUG, cookie flags) and returns one `MitigationResult`: a `ChangeSet` of minimal, in-place
edits, each kept only after the native checker (`nginx -t`, `manage.py check --deploy`)
passed on a temporary copy before and after it, plus every refusal with its reason and every
checker run. It writes nothing; `fixers.changeset.write_changeset` does. `MITIGATIONS` lists
every mitigation with its id, tier, CWE and the Markdown explanation used as PR text.
"""

from __future__ import annotations

from pathlib import Path

from patchpilot.errors import CodefixError
from patchpilot.events import Reporter
from patchpilot.fixers.changeset import ChangeSet, FileEdit
from patchpilot.fixers.config.interface import (
    ConfigChange,
    ConfigRefusal,
    Mitigation,
    MitigationResult,
    MitigationVex,
    OracleCheck,
    Reason,
    mitigation_vex,
)

__all__ = [
    "MITIGATIONS",
    "ConfigChange",
    "ConfigRefusal",
    "Mitigation",
    "MitigationResult",
    "MitigationVex",
    "OracleCheck",
    "Reason",
    "mitigation",
    "mitigation_vex",
    "run_config_mitigations",
]


def _catalog() -> dict[str, Mitigation]:
    from patchpilot.fixers.config import django, nginx

    return {m.id: m for m in (*django.MITIGATIONS, *nginx.MITIGATIONS)}


MITIGATIONS: dict[str, Mitigation] = _catalog()


def mitigation(ident: str) -> Mitigation:
    """The mitigation with id `ident` (KeyError names the unknown id)."""
    return MITIGATIONS[ident]


def run_config_mitigations(
    root: Path | str,
    *,
    reporter: Reporter | None = None,
    nginx_binary: Path | str | None = None,
    python: Path | str | None = None,
) -> MitigationResult:
    """Every configuration mitigation of the project at `root`, validated, not written.

    `nginx_binary` is the nginx that validates edits (default: the one installed); `python`
    is an interpreter that can import Django and the project's settings (default: the
    project's `.venv`/`venv`, else this interpreter when it has Django). Without them the
    edits they would validate are refused (`no-nginx`, `no-oracle`), never applied unchecked.
    """
    from patchpilot.fixers.config.django import run_django
    from patchpilot.fixers.config.nginx import run_nginx

    report = reporter or Reporter()
    try:
        base = Path(root).resolve(strict=True)
    except OSError as e:
        raise CodefixError(root, None, f"project root cannot be used: {e.strerror or e}") from e
    if not base.is_dir():
        raise CodefixError(root, None, "project root is not a directory")
    task = "config mitigations"
    report.start(task, 2)
    web = run_nginx(base, nginx_binary=nginx_binary)
    report.advance(task, 1, "nginx")
    app = run_django(base, python=python)
    report.advance(task, 1, "django")
    report.finish(task)
    texts = {**web.texts, **app.texts}
    changes = sorted(
        (*web.changes, *app.changes), key=lambda c: (c.path, c.line, c.mitigation, c.key)
    )
    refusals = sorted(
        (*web.refusals, *app.refusals),
        key=lambda r: (r.path, r.line or 0, r.mitigation, r.reason.value, r.detail),
    )
    edits = tuple(FileEdit(path, texts[path][0], texts[path][1]) for path in sorted(texts))
    ids = tuple(dict.fromkeys(c.mitigation for c in changes))
    changeset = ChangeSet(remediation_ids=ids, edits=edits, notes=(*web.notes, *app.notes))
    return MitigationResult(
        changeset=changeset,
        changes=tuple(changes),
        refusals=tuple(refusals),
        checks=(*web.checks, *app.checks),
    )

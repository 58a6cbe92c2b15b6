"""Re-scan what is really installed in a verify environment, not what the lockfile says.

A fix is only as good as the environment it produces: a resolver marker, a stale wheel or a
build-time pin can leave a vulnerable version installed even when the lockfile is right. This
lists the environment's distributions with uv (never importing anything from it) and matches
them against the advisory store like any other inventory.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.errors import VerifyError
from patchpilot.model import (
    Component,
    Ecosystem,
    Finding,
    Location,
    Scope,
    make_purl,
    normalize_name,
)
from patchpilot.verify.envs import Env, uv_bin


@dataclass(frozen=True, slots=True)
class InstalledScan:
    """The environment's distributions and the findings that still affect them."""

    components: tuple[Component, ...]
    findings: tuple[Finding, ...]


def installed_components(env: Env, timeout: float = 120) -> tuple[Component, ...]:
    """Every distribution installed in `env`, as PyPI components located at the env."""
    argv = [uv_bin(), "pip", "list", "--python", str(env.python), "--format", "json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise VerifyError(f"{env.root}: cannot list installed packages: {e}") from e
    if proc.returncode != 0:
        raise VerifyError(f"{env.root}: uv pip list failed: {proc.stderr.strip()[:400]}")
    try:
        rows = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as e:
        raise VerifyError(f"{env.root}: uv pip list printed invalid JSON: {e}") from e
    where = (Location(path=str(env.root)),)
    out = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        name, version = row.get("name"), row.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        norm = normalize_name(Ecosystem.PYPI, name)
        out.append(
            Component(
                ecosystem=Ecosystem.PYPI,
                name=norm,
                version=version,
                purl=make_purl(Ecosystem.PYPI, norm, version),
                direct=False,
                scope=Scope.RUNTIME,
                locations=where,
            )
        )
    return tuple(sorted(out, key=lambda c: (c.name, c.version)))


def scan_installed(env: Env, store: AdvisoryStore) -> InstalledScan:
    components = installed_components(env)
    by_key = store.lookup_many({(c.ecosystem, c.name) for c in components})
    findings = tuple(
        f for c in components for f in findings_for(c, by_key.get((c.ecosystem, c.name), ()))
    )
    return InstalledScan(components=components, findings=findings)

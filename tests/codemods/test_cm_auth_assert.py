"""harden-auth-assert writes the failing condition as a person (and ruff) would — `x not in y`,
`x is not y`, `not (a and b)` — without changing when it raises.

The golden outputs pass ruff's E713/E714 (`not x in y`, `not x is y`), and the two golden
cases about negation are executed side by side, input (with its asserts) against rewrite, over
a grid of arguments: both raise the same `AssertionError` or both return the same value.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from .cases import ASSETS

CASES = ASSETS / "harden-auth-assert"


def function(path: Path, name: str) -> Callable[..., object]:
    namespace: dict[str, object] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102 - the golden files of this repository
    found = namespace[name]
    assert callable(found)
    return found


def outcome(fn: Callable[..., object], *args: object) -> tuple[str, object]:
    try:
        return "returned", fn(*args)
    except AssertionError as e:
        return "raised", e.args


def same_behaviour(case: str, name: str, grid: list[tuple[object, ...]]) -> None:
    before = function(CASES / case / "input.py", name)
    after = function(CASES / case / "want.py", name)
    seen = {outcome(before, *args)[0] for args in grid}
    assert seen == {"returned", "raised"}, "the grid exercises both outcomes"
    for args in grid:
        assert outcome(before, *args) == outcome(after, *args), args


def test_golden_outputs_have_no_negated_membership_or_identity_test() -> None:
    wants = sorted(str(p) for p in CASES.glob("*/want.py"))
    assert len(wants) >= 2
    beside = Path(sys.executable).with_name("ruff")
    command = [str(beside)] if beside.is_file() else [sys.executable, "-m", "ruff"]
    proc = subprocess.run(
        [*command, "check", "--isolated", "--no-cache", "--select", "E713,E714", *wants],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_membership_and_identity_rewrite_raises_exactly_when_the_assert_does() -> None:
    owner, other = object(), object()
    grid: list[tuple[object, ...]] = []
    for role, allowed, denied, token, permitted, same_owner in itertools.product(
        ("admin", "guest"),
        (["admin"], []),
        (["guest"], []),
        (None, "t0k3n"),
        (["admin", "guest"], ["admin"]),
        (True, False),
    ):
        user = SimpleNamespace(
            allowed_roles=allowed,
            owner=owner,
            denied_roles=denied,
            auth_token=token,
            permissions=permitted,
        )
        session = SimpleNamespace(user=owner if same_owner else other)
        grid.append((role, user, session))
    same_behaviour("membership-and-identity", "grant", grid)


def test_parenthesized_comparisons_raise_exactly_when_the_assert_does() -> None:
    owner, other = object(), object()
    grid: list[tuple[object, ...]] = []
    for access, auth, role, active, delegate, superuser, level in itertools.product(
        (1, 5), (0, 2, 4), ("admin", "guest"), (True, False), (True, False), (True, False), (3,)
    ):
        user = SimpleNamespace(
            access_level=access,
            owner=owner,
            auth_level=auth,
            role=role,
            active=active,
            delegates=[owner] if delegate else [other],
            is_superuser=superuser,
        )
        grid.append((user, SimpleNamespace(user=owner), level))
    same_behaviour("comparison-parenthesized", "approve", grid)

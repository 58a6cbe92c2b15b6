"""Aliases: grouping records that describe one vulnerability, and choosing its primary ID.

Two records belong together when their ID sets meet, an ID set being a record's `id` plus its
`aliases` (PYSEC-2021-142 lists GHSA-8q59-q68h-6hv4 and CVE-2020-14343; the GHSA record lists
the CVE; all three are one vulnerability). The grouping is transitive (union-find). `related`
is deliberately not followed: the schema defines it as "similar but different" and not
transitive.

The primary ID of a group is chosen the same way every time, from every ID the group is known
by: first an ID from the ecosystem's own database (PYSEC for PyPI, GO for Go, RUSTSEC for
crates.io), then GHSA, then CVE, then any other; among IDs of the same rank the lowest wins,
comparing the numbers inside IDs as numbers (PYSEC-2021-66 before PYSEC-2021-142).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

from patchpilot.model import Advisory, Ecosystem

OWN_DATABASE: dict[Ecosystem, str] = {
    Ecosystem.PYPI: "PYSEC",
    Ecosystem.GO: "GO",
    Ecosystem.CRATES_IO: "RUSTSEC",
}

_DIGITS = re.compile(r"(\d+)")

A = TypeVar("A", bound=Advisory)


def id_prefix(advisory_id: str) -> str:
    """The database prefix of an ID (`PYSEC` of `PYSEC-2021-142`), upper-cased."""
    return advisory_id.split("-", 1)[0].upper()


def natural_key(advisory_id: str) -> tuple[tuple[int, int | str], ...]:
    """Orders IDs with their digit runs compared as numbers."""
    return tuple(
        (1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(advisory_id)
    )


@lru_cache(maxsize=1 << 16)
def id_rank(ecosystem: Ecosystem | None, advisory_id: str) -> tuple[int, tuple[object, ...]]:
    """The sort key of the primary-ID rule (smaller is preferred)."""
    prefix = id_prefix(advisory_id)
    if ecosystem is not None and prefix == OWN_DATABASE.get(ecosystem):
        tier = 0
    elif prefix == "GHSA":
        tier = 1
    elif prefix == "CVE":
        tier = 2
    else:
        tier = 3
    return (tier, natural_key(advisory_id))


def primary_id(ecosystem: Ecosystem | None, ids: Iterable[str]) -> str:
    """The primary ID among `ids` (which must not be empty)."""
    return min(ids, key=lambda i: id_rank(ecosystem, i))


def ids_of(advisory: Advisory) -> set[str]:
    """Every ID a record is known by: its own and its aliases (blank ones dropped)."""
    ids = {advisory.id, *advisory.aliases}
    ids.discard("")
    return ids


def group(advisories: Sequence[A]) -> list[list[A]]:
    """Partition `advisories` into groups linked through shared IDs, in input order."""
    parent = list(range(len(advisories)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, advisory in enumerate(advisories):
        for advisory_id in ids_of(advisory):
            other = owner.setdefault(advisory_id, index)
            if other != index:
                root_a, root_b = find(index), find(other)
                if root_a != root_b:
                    parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[int, list[A]] = {}
    for index, advisory in enumerate(advisories):
        groups.setdefault(find(index), []).append(advisory)
    return list(groups.values())

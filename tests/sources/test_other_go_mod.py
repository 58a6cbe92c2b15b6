"""go.mod reader: real go.mod files from public modules, the directive syntax, and errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Location, Scope, SourceKind, SourceResult
from patchpilot.sources.go_mod import GoModSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "other"
SILK = ASSETS / "go-silk" / "go.mod"
FLIPT = ASSETS / "go-flipt-sdk" / "go.mod"
REQUIRE_RE = re.compile(r"^\s*(?:require\s+)?(\S+)\s+(v\S+)(\s*// indirect)?\s*$")


def read(path: Path) -> SourceResult:
    return GoModSource().read(path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "go.mod"
    path.write_text(text, encoding="utf-8")
    return path


def comp(res: SourceResult, name: str) -> Component:
    found = [c for c in res.components if c.name == name]
    assert len(found) == 1, found
    return found[0]


def line_of(path: Path, snippet: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, ln in enumerate(lines) if snippet in ln) + 1


def test_matches() -> None:
    assert GoModSource.matches(Path("svc/go.mod"))
    assert not GoModSource.matches(Path("go.sum"))
    assert not GoModSource.matches(Path("go.work"))


def test_requires_are_components_with_direct_from_indirect_comments() -> None:
    res = read(SILK)
    assert (res.format, res.kind) == ("go.mod", SourceKind.MANIFEST)
    # Independent reading of the require lines.
    listed: dict[str, tuple[str, bool]] = {}
    for line in SILK.read_text(encoding="utf-8").splitlines():
        found = REQUIRE_RE.match(line)
        if found and not line.startswith(("module", "go ", "replace")):
            listed[found[1]] = (found[2], found[3] is None)
    got = {c.name: (c.version, c.direct) for c in res.components if c.name != "stdlib"}
    # runtimeschema is replaced by an older pseudo-version; everything else as required.
    listed["code.cloudfoundry.org/runtimeschema"] = (
        "v0.0.0-20180622181441-7dcd19348be6",
        True,
    )
    assert got == listed
    assert len(got) == 70
    assert all(c.ecosystem is Ecosystem.GO and c.scope is Scope.RUNTIME for c in res.components)
    assert res.skipped == ()


def test_versions_lines_and_purls() -> None:
    res = read(SILK)
    net = comp(res, "golang.org/x/net")
    assert (net.version, net.direct, net.paths) == ("v0.10.0", False, ())
    assert net.purl == "pkg:golang/golang.org/x/net@v0.10.0"
    assert net.locations == (Location(str(SILK), line_of(SILK, "golang.org/x/net v0.10.0")),)
    netlink = comp(res, "github.com/vishvananda/netlink")
    assert (netlink.version, netlink.direct) == ("v1.2.1-beta.2", True)
    assert netlink.paths == (("github.com/vishvananda/netlink",),)
    assert netlink.locations[0].line == 32
    assert comp(res, "github.com/jackc/pgx").version == "v3.6.2+incompatible"


def test_replace_with_a_version_swaps_the_module() -> None:
    res = read(SILK)
    schema = comp(res, "code.cloudfoundry.org/runtimeschema")
    assert schema.version == "v0.0.0-20180622181441-7dcd19348be6"
    # Both places matter to a user: the requirement and the replacement.
    assert [loc.line for loc in schema.locations] == [
        line_of(SILK, "code.cloudfoundry.org/runtimeschema v0.0.0-20230323223330"),
        line_of(SILK, "replace code.cloudfoundry.org/runtimeschema"),
    ]


def test_stdlib_from_the_go_line_with_a_note() -> None:
    res = read(SILK)
    std = comp(res, "stdlib")
    assert (std.version, std.direct, std.purl) == ("v1.20.0", True, "pkg:golang/stdlib@v1.20.0")
    assert std.locations[0].line == line_of(SILK, "go 1.20")
    assert res.notes == (
        "stdlib version taken from the go line (1.20), the minimum Go version; "
        "the toolchain that builds the module may be newer",
    )


def test_toolchain_and_local_replacements() -> None:
    res = read(FLIPT)
    std = comp(res, "stdlib")
    assert std.version == "v1.27.1"
    assert std.locations[0].line == line_of(FLIPT, "toolchain go1.27.1")
    assert res.notes == ()
    skipped = {s.name: s for s in res.skipped}
    assert set(skipped) == {"go.flipt.io/flipt/rpc/flipt", "go.flipt.io/flipt/errors"}
    rpc = skipped["go.flipt.io/flipt/rpc/flipt"]
    assert rpc.reason == (
        f"replaced by local directory ../../rpc/flipt/ (line {line_of(FLIPT, '=> ../../rpc')})"
    )
    assert rpc.location.line == line_of(FLIPT, "go.flipt.io/flipt/rpc/flipt v1.54.0")
    assert (rpc.ecosystem, rpc.requirement) == (Ecosystem.GO, "v1.54.0")
    names = {c.name for c in res.components}
    assert not names & set(skipped)
    assert len(res.components) == 11


SYNTAX = """\
// A module exercising the go.mod syntax: comments, quoted paths, blocks, directives.
module "example.com/demo" // the module itself is not a component

go 1.21rc2

require (
\t"golang.org/x/net" v0.0.0-20190311183353-d8887717615a // indirect; pulled in by grpc
\tgithub.com/pkg/errors v0.9.1 // fork: see replace below; not // indirect
\t`golang.org/x/text` v0.3.0
)

require golang.org/x/crypto v0.1.0 // indirect
require golang.org/x/crypto v0.0.0-20200622213623-75b288015ac9 // indirect

exclude golang.org/x/net v0.1.0
retract [v1.0.0, v1.0.5] // published by mistake
retract v1.0.6

replace golang.org/x/text v0.3.0 => golang.org/x/text v0.3.8
replace golang.org/x/text v0.1.0 => golang.org/x/text v0.1.1

replace (
\tgithub.com/pkg/errors => ./third_party/errors
)

godebug default=go1.21
tool golang.org/x/tools/cmd/stringer
frobnicate (
\tsomething v1
)
"""


def test_directive_syntax(tmp_path: Path) -> None:
    path = write(tmp_path, SYNTAX)
    res = read(path)
    got = {c.name: (c.version, c.direct) for c in res.components}
    assert got == {
        "golang.org/x/net": ("v0.0.0-20190311183353-d8887717615a", False),
        # Only a version-specific replacement that matches the required version applies.
        "golang.org/x/text": ("v0.3.8", True),
        # Two requirements: the go command selects the higher one.
        "golang.org/x/crypto": ("v0.1.0", False),
        "stdlib": ("v1.21.0-rc.2", True),
    }
    assert [s.name for s in res.skipped] == ["github.com/pkg/errors"]
    assert res.skipped[0].location.line == 8
    assert res.notes == (
        "line 28: unknown directive 'frobnicate' ignored",
        "stdlib version taken from the go line (1.21rc2), the minimum Go version; "
        "the toolchain that builds the module may be newer",
    )
    text = comp(res, "golang.org/x/text")
    assert [loc.line for loc in text.locations] == [9, 19]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("module m\n\nrequire golang.org/x/net\n", 3, "usage: require module/path v1.2.3"),
        ("module m\nrequire (\n\tgolang.org/x/net v0.1.0 extra\n)\n", 3,
         "usage: require module/path v1.2.3"),
        ("module m\nrequire (\n\tgolang.org/x/net v0.1.0\n", 2,
         "'require (' block is never closed"),
        ('module m\nrequire "golang.org/x/net v0.1.0\n', 2, "unterminated quoted string"),
        ("module m\nrequire `golang.org/x/net v0.1.0\n", 2, "unterminated raw string"),
        ("module m\ngo 1.x\n", 2, "invalid go version '1.x'"),
        ("module m\ngo\n", 2, "usage: go 1.23"),
        ("module m\ntoolchain rust1.70\n", 2, "invalid toolchain name 'rust1.70'"),
        ("module m\nreplace a => b\n", 2,
         "replacement 'b' without a version must be a directory path "
         "(rooted or starting with ./ or ../)"),
        ("module m\nreplace a v1.0.0 b v1.0.1\n", 2,
         "usage: replace module/path [v1.2.3] => other/module v1.4 | local/directory"),
        ("module m\n) \n", 2, "unexpected ')': expected a directive"),
        ("module m\nrequire (\n\tx v1.0.0\n) trailing\n", 4, "unexpected text after ')'"),
        ("module m\nrequire ( x v1.0.0\n)\n", 2, "unexpected text after '('"),
        ("module a b\n", 1, "usage: module module/path"),
        ("module m\nrequire ( ) )\n", 2, "unexpected text after '('"),
    ],
)  # fmt: skip
def test_broken_lines_name_the_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourceError) as err:
        read(path)
    assert (err.value.place, err.value.reason) == (line, reason)
    assert str(err.value) == f"{path}:{line}: {reason}"


def test_non_module_version_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "module m\n\nrequire golang.org/x/net master\n")
    res = read(path)
    (skip,) = res.skipped
    assert (skip.name, skip.reason, skip.location.line) == (
        "golang.org/x/net",
        "'master' is not a module version",
        3,
    )
    assert res.components == ()


def test_no_go_line_means_no_stdlib(tmp_path: Path) -> None:
    res = read(write(tmp_path, "module m\nrequire golang.org/x/net v0.1.0\n"))
    assert [c.name for c in res.components] == ["golang.org/x/net"]
    assert comp(res, "golang.org/x/net").direct


@pytest.mark.parametrize(
    ("toolchain", "version"),
    [
        ("toolchain go1.22.3\n", "v1.22.3"),
        ("toolchain go1.21.5-corp\n", "v1.21.5"),  # a custom build names its release
        ("toolchain default\n", "v1.20.0"),  # no release: the go line decides
        ("", "v1.20.0"),
    ],
)
def test_stdlib_version_from_toolchain_or_go_line(
    tmp_path: Path, toolchain: str, version: str
) -> None:
    res = read(write(tmp_path, f"module m\n\ngo 1.20\n{toolchain}"))
    assert comp(res, "stdlib").version == version

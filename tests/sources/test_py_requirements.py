"""requirements.txt reader: real compiled files, a hand-written file using pip's syntax, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Location, Scope, SourceKind, SourceResult
from patchpilot.sources.requirements_txt import RequirementsTxtSource, is_dev_file

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python"
COMPILED = ASSETS / "compiled"
HANDWRITTEN = ASSETS / "handwritten"


def read(path: Path) -> SourceResult:
    return RequirementsTxtSource().read(path)


def by_name(res: SourceResult) -> dict[str, list[Component]]:
    out: dict[str, list[Component]] = {}
    for comp in res.components:
        out.setdefault(comp.name, []).append(comp)
    return out


def one(res: SourceResult, name: str) -> Component:
    found = by_name(res)[name]
    assert len(found) == 1, found
    return found[0]


def line_text(location: Location) -> str:
    assert location.line is not None
    return Path(location.path).read_text(encoding="utf-8").split("\n")[location.line - 1]


def test_compiled_file_reads_every_pin_with_via_annotations_as_graph() -> None:
    res = read(COMPILED / "requirements.txt")
    assert res.format == "requirements.txt"
    assert res.kind is SourceKind.MANIFEST
    comps = by_name(res)
    assert set(comps) == {
        "certifi", "chardet", "idna", "jinja2", "markupsafe", "pyyaml", "requests", "urllib3",
    }  # fmt: skip
    assert res.skipped == ()
    # `# via -r requirements.in` marks the packages asked for; `# via requests` a transitive one.
    assert {c.name for c in res.components if c.direct} == {
        "jinja2",
        "pyyaml",
        "requests",
        "urllib3",
    }
    certifi = one(res, "certifi")
    assert not certifi.direct
    assert certifi.parents == ("requests",)
    assert certifi.paths == (("requests", "certifi"),)
    assert one(res, "markupsafe").paths == (("jinja2", "markupsafe"),)
    # urllib3 is both asked for and needed by requests (multi-line `# via`): direct wins.
    urllib3 = one(res, "urllib3")
    assert urllib3.direct
    assert urllib3.paths == (("urllib3",),)
    assert urllib3.version == "1.23"
    assert urllib3.purl == "pkg:pypi/urllib3@1.23"
    assert urllib3.ecosystem is Ecosystem.PYPI
    assert urllib3.locations == (Location(str(COMPILED / "requirements.txt"), 17),)
    assert all(c.scope is Scope.RUNTIME for c in res.components)


def test_hashed_file_gives_the_same_components_at_its_own_lines() -> None:
    plain = read(COMPILED / "requirements.txt")
    hashed = read(COMPILED / "requirements-hashes.txt")
    assert [(c.name, c.version, c.direct, c.paths) for c in hashed.components] == [
        (c.name, c.version, c.direct, c.paths) for c in plain.components
    ]
    # Each pin starts a `\`-continued block of `--hash` lines; the pin's own line is reported.
    assert one(hashed, "pyyaml").locations[0].line == 171
    assert one(hashed, "urllib3").locations[0].line == 188
    for comp in hashed.components:
        assert line_text(comp.locations[0]).lower().startswith(f"{comp.name}==")


def test_handwritten_file_pins_extras_markers_and_continuations() -> None:
    top = HANDWRITTEN / "requirements.txt"
    res = read(top)
    comps = by_name(res)
    jinja2 = one(res, "jinja2")
    assert (jinja2.version, jinja2.direct, jinja2.locations) == (
        "2.10",
        True,
        (Location(str(top), 11),),
    )
    # The `\` continuation with two --hash options: the line the requirement starts on.
    assert one(res, "requests").locations == (Location(str(top), 12),)
    assert one(res, "requests").version == "2.19.1"
    # Markers are kept as written, never evaluated: both urllib3 pins are components.
    assert sorted((c.version, c.locations[0].line) for c in comps["urllib3"]) == [
        ("1.24.1", 15),
        ("1.24.2", 16),
    ]
    assert one(res, "pyyaml").version == "5.3"  # `PyYAML===5.3`, name normalised
    assert one(res, "click").locations == (
        Location(str(HANDWRITTEN / "requirements" / "base.txt"), 2),
    )
    assert one(res, "click").direct


def test_handwritten_file_resolves_bare_names_through_constraints() -> None:
    top = HANDWRITTEN / "requirements.txt"
    constraints = HANDWRITTEN / "constraints.txt"
    res = read(top)
    idna = one(res, "idna")
    # `idna` is listed bare; `-c constraints.txt` pins it, so it is exact and still direct.
    assert (idna.version, idna.direct) == ("2.7", True)
    assert idna.locations == (Location(str(top), 20), Location(str(constraints), 2))
    # A pin only the constraints file holds is transitive, scoped like its includer.
    certifi = one(res, "certifi")
    assert (certifi.version, certifi.direct, certifi.scope) == ("2018.8.24", False, Scope.RUNTIME)
    assert certifi.paths == ()
    assert res.includes == (str(HANDWRITTEN / "requirements" / "base.txt"), str(constraints))


def test_handwritten_file_skips_what_has_no_exact_version_with_reasons() -> None:
    top = HANDWRITTEN / "requirements.txt"
    res = read(top)
    reasons = {(s.name, s.location.line): s.reason for s in res.skipped}
    assert reasons == {
        ("django", 18): "not pinned: Django>=2.2,<3 (a constraint, not a version)",
        ("flask", 19): "not pinned: flask==1.* (a constraint, not a version)",
        ("helper", 21): "editable install: version not pinned in the file",
        ("markupsafe", 22): "editable install: version not pinned in the file",
        ("itsdangerous", 23): "VCS requirement: version not pinned in the file",
        ("six", 24): "direct URL: version not pinned in the file",
        ("localpkg", 25): "local path: version not pinned in the file",
    }
    assert all(s.location.path == str(top) for s in res.skipped)
    assert all(s.ecosystem is Ecosystem.PYPI for s in res.skipped)
    flask = next(s for s in res.skipped if s.name == "flask")
    assert flask.requirement == "flask==1.*"
    # Nothing the file names is dropped silently: every name is a component or a skip.
    named = {c.name for c in res.components} | {s.name for s in res.skipped}
    assert {"jinja2", "requests", "urllib3", "pyyaml", "django", "flask", "idna", "six"} <= named


def test_index_urls_are_noted_without_credentials() -> None:
    res = read(HANDWRITTEN / "requirements.txt")
    notes = "\n".join(res.notes)
    assert "https://pypi.example.org/simple" in notes
    assert "https://mirror.example.org/simple/" in notes
    assert "s3cret" not in notes
    assert "deploy" not in notes
    assert "s3cret" not in repr(res)


def test_dev_file_is_dev_and_its_includes_keep_their_own_scope() -> None:
    dev = HANDWRITTEN / "requirements" / "dev.txt"
    res = read(dev)
    assert one(res, "pytest").scope is Scope.DEV
    assert one(res, "pytest").locations == (Location(str(dev), 2),)
    assert one(res, "coverage").scope is Scope.DEV
    assert one(res, "coverage").version == "6.3"
    # `--requirement=../requirements.txt` is a runtime file: its pins stay runtime.
    assert one(res, "requests").scope is Scope.RUNTIME
    assert one(res, "click").scope is Scope.RUNTIME
    assert res.includes[0] == str(HANDWRITTEN / "requirements.txt")
    assert set(res.includes) == {
        str(HANDWRITTEN / "requirements.txt"),
        str(HANDWRITTEN / "requirements" / "base.txt"),
        str(HANDWRITTEN / "constraints.txt"),
    }
    assert any("development requirements" in n for n in res.notes)


def test_constraints_included_by_a_dev_file_take_its_scope(tmp_path: Path) -> None:
    shutil.copy(HANDWRITTEN / "constraints.txt", tmp_path / "constraints.txt")
    dev = tmp_path / "requirements-test.txt"
    dev.write_text("-c constraints.txt\nidna\npytest==7.0.0\n", encoding="utf-8")
    res = read(dev)
    assert one(res, "certifi").scope is Scope.DEV
    assert not one(res, "certifi").direct
    assert (one(res, "idna").version, one(res, "idna").direct) == ("2.7", True)


def test_include_cycle_reads_each_file_once(tmp_path: Path) -> None:
    first = tmp_path / "requirements.txt"
    second = tmp_path / "requirements-base.txt"
    first.write_text("-r requirements-base.txt\njinja2==2.10\n", encoding="utf-8")
    second.write_text("-r requirements.txt\npyyaml==5.3\n", encoding="utf-8")
    res = read(first)
    assert [(c.name, c.version) for c in res.components] == [("jinja2", "2.10"), ("pyyaml", "5.3")]
    assert res.includes == (str(second),)
    assert any("already read" in n for n in res.notes)


def test_crlf_comments_and_comment_ending_a_continuation(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_bytes(
        b"# header\r\n"
        b"jinja2==2.10 \\\r\n"
        b"# a comment line ends the continuation\r\n"
        b"pyyaml==5.3  # trailing comment\r\n"
        b"\r\n"
        b"requests==2.19.1 --hash=sha256:"
        b"63b52e3c866428a224f97cab011de738c36aec0185aa91cfacd418b5d58911d1\r\n"
    )
    res = read(req)
    assert [(c.name, c.locations[0].line) for c in res.components] == [
        ("jinja2", 2),
        ("pyyaml", 4),
        ("requests", 6),
    ]


def test_remote_include_and_unknown_option_are_noted_not_fatal(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(
        "-r https://user:pw@example.org/reqs.txt\n--some-future-option\njinja2==2.10\n",
        encoding="utf-8",
    )
    res = read(req)
    assert [c.name for c in res.components] == ["jinja2"]
    notes = "\n".join(res.notes)
    assert "remote include https://example.org/reqs.txt not read" in notes
    assert "pw@" not in notes
    assert "--some-future-option" in notes


def test_environment_variable_in_a_requirement_is_skipped(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("jinja2==${JINJA_VERSION}\n", encoding="utf-8")
    res = read(req)
    assert res.components == ()
    assert res.skipped[0].name == "jinja2"
    assert "environment variable" in res.skipped[0].reason


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("jinja2==2.10\n\nrequests ==> 2\n", 3, "invalid requirement 'requests ==> 2'"),
        ("# x\n-r\n", 2, "option -r needs a value"),
        ("-r missing.txt\n", 1, "included file 'missing.txt' not found"),
        ("--index-url 'https://unclosed\n", 1, "cannot split options"),
        ("jinja2==2.10 \\\n  [broken\n", 1, "invalid requirement"),
    ],
)
def test_malformed_lines_raise_source_error_at_the_line(
    tmp_path: Path, content: str, line: int, fragment: str
) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(req)
    assert info.value.path == req
    assert info.value.place == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{req}:{line}: ")


def test_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r base-requirements.txt\n", encoding="utf-8")
    base = tmp_path / "base-requirements.txt"
    base.write_text("jinja2==2.10\nflask[\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(tmp_path / "requirements.txt")
    assert (info.value.path, info.value.place) == (base, 2)


def test_not_utf8_is_a_source_error(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_bytes(b"jinja2==2.10\n\xff\xfe\n")
    with pytest.raises(SourceError, match="not UTF-8"):
        read(req)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("requirements.txt", True),
        ("requirements-dev.txt", True),
        ("requirements_test.txt", True),
        ("dev-requirements.txt", True),
        ("test_requirements.txt", True),
        ("constraints.txt", True),
        ("constraints-py311.txt", True),
        ("requirements/docs.txt", True),
        ("requirements/prod.txt", True),
        ("requirements.in", False),
        ("notes.txt", False),
        ("docs/readme.txt", False),
        ("pyproject.toml", False),
    ],
)
def test_matches_by_file_name(name: str, expected: bool) -> None:
    assert RequirementsTxtSource.matches(Path("project") / name) is expected


@pytest.mark.parametrize(
    ("name", "dev"),
    [
        ("requirements.txt", False),
        ("requirements-dev.txt", True),
        ("requirements_tests.txt", True),
        ("test-requirements.txt", True),
        ("requirements.lint.txt", True),
        ("docs.txt", True),
        ("requirements-docker.txt", False),
        ("requirements-devices.txt", False),
        ("constraints.txt", False),
    ],
)
def test_dev_scope_heuristic_uses_whole_words_of_the_file_name(name: str, dev: bool) -> None:
    assert is_dev_file(Path(name)) is dev

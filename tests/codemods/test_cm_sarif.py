"""SARIF targeting: real Bandit output (frozen) and real Ruff output (made by the installed
ruff during the test) restrict codemods to the lines their findings point at."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.errors import CodefixError
from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.sarif_targets import load_targets, parse_sarif, rule_matches

from .cases import ASSETS

SARIF = ASSETS / "_sarif"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(SARIF / "project", root)
    return root


def _bandit() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SARIF / "bandit.sarif").read_text(encoding="utf-8"))
    return data


def _changed(result_changes: object) -> set[tuple[str, str, int]]:
    return {(c.codemod, c.path, c.line) for c in result_changes}  # type: ignore[attr-defined]


def test_without_targets_every_pattern_is_fixed(demo: Path) -> None:
    result = run_codemods(demo)
    assert _changed(result.changes) == {
        ("harden-pyyaml", "app/loader.py", 6),
        ("harden-pyyaml", "app/loader.py", 11),
        ("add-requests-timeout", "app/net.py", 7),
        ("subprocess-shell-false", "app/net.py", 11),
    }


def test_bandit_sarif_targets_each_finding(demo: Path, tmp_path: Path) -> None:
    result = run_codemods(demo, targets=SARIF / "bandit.sarif")
    assert _changed(result.changes) == {
        ("harden-pyyaml", "app/loader.py", 6),
        ("harden-pyyaml", "app/loader.py", 11),
        ("add-requests-timeout", "app/net.py", 7),
        ("subprocess-shell-false", "app/net.py", 11),
    }
    assert any("B404" in n and "B607" in n for n in result.notes)

    # Keep only the first B506 result: the other load (a multi-line call) stays as it is.
    data = _bandit()
    run = data["runs"][0]
    first = next(r for r in run["results"] if r["ruleId"] == "B506")
    run["results"] = [first]
    narrowed = tmp_path / "one.sarif"
    narrowed.write_text(json.dumps(data), encoding="utf-8")
    result = run_codemods(demo, targets=narrowed)
    assert _changed(result.changes) == {("harden-pyyaml", "app/loader.py", 6)}
    assert result.files_scanned == 1
    [edit] = result.changeset.edits
    assert edit.after is not None and "Loader=yaml.FullLoader" in edit.after


def test_ruff_sarif_targets_by_line_whatever_the_column(demo: Path, tmp_path: Path) -> None:
    sarif = tmp_path / "ruff.sarif"
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--exit-zero",
         "--select", "S506", "--output-format", "sarif", "--output-file", str(sarif), "."],
        cwd=demo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"S506"}
    # Ruff points at the attribute (`yaml.load`), Bandit at the whole call: columns differ.
    columns = {r["locations"][0]["physicalLocation"]["region"]["startColumn"] for r in results}
    assert columns
    result = run_codemods(demo, targets=sarif)
    assert _changed(result.changes) == {
        ("harden-pyyaml", "app/loader.py", 6),
        ("harden-pyyaml", "app/loader.py", 11),
    }


def test_targets_respect_only(demo: Path) -> None:
    result = run_codemods(demo, only=["add-requests-timeout"], targets=SARIF / "bandit.sarif")
    assert _changed(result.changes) == {("add-requests-timeout", "app/net.py", 7)}


def test_uri_forms_resolve_to_project_files(demo: Path, tmp_path: Path) -> None:
    data = _bandit()
    results = data["runs"][0]["results"]
    forms = [
        (demo / "app" / "loader.py").as_uri(),
        "project/app/loader.py",  # relative to where the tool ran (one level up)
        "app/loader.py",
    ]
    for form in forms:
        variant = copy.deepcopy(data)
        for r in variant["runs"][0]["results"]:
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = form
        targets = parse_sarif(variant, tmp_path / "x.sarif", demo)
        assert {r.path for r in targets.results} == {"app/loader.py"}, form
    outside = copy.deepcopy(data)
    outside["runs"][0]["results"] = results[:1]
    loc = outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    loc["artifactLocation"]["uri"] = "file:///etc/passwd"
    targets = parse_sarif(outside, tmp_path / "x.sarif", demo)
    assert not targets.results and "outside" in targets.notes[0]


def test_semgrep_rule_ids_match_by_last_segment() -> None:
    rules = ("B506", "avoid-pyyaml-load")
    assert rule_matches(
        "python.lang.security.deserialization.avoid-pyyaml-load.avoid-pyyaml-load", rules
    )
    assert rule_matches("b506", rules)
    assert not rule_matches("B5066", rules)


@pytest.mark.parametrize(
    ("document", "place"),
    [
        ("[]", None),
        ("{}", "runs"),
        ('{"runs": [{"results": [{"locations": []}]}]}', "runs[0].results[0].ruleId"),
        (
            '{"runs": [{"results": [{"ruleId": "B506", "locations": [{"physicalLocation": '
            '{"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 0}}}]}]}]}',
            "runs[0].results[0].locations[0].physicalLocation.region.startLine",
        ),
        (
            '{"runs": [{"results": [{"ruleId": "B506", "locations": [{"physicalLocation": '
            '{"region": {"startLine": 3}}}]}]}]}',
            "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri",
        ),
    ],
)
def test_bad_sarif_names_file_and_key(tmp_path: Path, document: str, place: str | None) -> None:
    path = tmp_path / "bad.sarif"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(CodefixError) as info:
        load_targets(path, tmp_path)
    assert info.value.path == path
    assert info.value.place == place


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.sarif"
    path.write_text('{\n  "runs": [,]\n}\n', encoding="utf-8")
    with pytest.raises(CodefixError) as info:
        load_targets(path, tmp_path)
    assert info.value.place == 2


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(
            ["runs", "results", "ruleId", "locations", "physicalLocation", "artifactLocation",
             "uri", "region", "startLine", "endLine", "ruleIndex", "tool", "originalUriBaseIds"]
        ),
        inner,
        max_size=4,
    ),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(_json)
def test_junk_sarif_gives_only_codefix_errors(data: object) -> None:
    root = SARIF / "project"
    try:
        targets = parse_sarif(data, Path("junk.sarif"), root)
    except CodefixError as e:
        assert e.path == Path("junk.sarif")
    else:
        assert all(r.path == "app/loader.py" or r.path.endswith(".py") for r in targets.results)

"""The npm fixer's package.json edits: ranges relaxed in their own style, text kept as it was.

These are the pure text functions of `fixers.npm_lock` (no npm runs): a declaration's range
rewritten to admit a target, one string value replaced, one `overrides` member added. Every
edit must read back as the intended JSON and leave the rest of the file byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.errors import FixError
from patchpilot.fixers.npm_lock import (
    EditRefused,
    NpmLockFixer,
    add_override,
    exact_spec,
    relaxed_spec,
    set_string,
)
from patchpilot.fixers.registry import fixer_for

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "npm"


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("4.17.15", "4.17.21"),
        ("=4.17.15", "=4.17.21"),
        ("v4.17.15", "4.17.21"),
        ("^4.16.0", "^4.17.21"),
        ("~4.16.2", "~4.17.21"),
        (">=4.0.0", ">=4.17.21"),
        ("4.16.x", "^4.17.21"),
        (">=4.0.0 <4.17.20", "^4.17.21"),
        ("^3.0.0 || ^4.0.0", "^4.17.21"),
        ("*", "^4.17.21"),
        ("npm:lodash@4.17.15", "npm:lodash@4.17.21"),
        ("npm:@scope/lodash@~4.17.0", "npm:@scope/lodash@~4.17.21"),
        ("latest", None),
        ("github:lodash/lodash", None),
        ("git+https://example.org/lodash.git#4.17.15", None),
        ("file:../lodash", None),
        ("npm:lodash", None),
    ],
)
def test_relaxed_spec_keeps_the_operator_style(spec: str, want: str | None) -> None:
    assert relaxed_spec(spec, "4.17.21") == want


@pytest.mark.parametrize(
    ("spec", "want"),
    [("1.2.0", "1.2.0"), ("=1.2.0", "1.2.0"), ("v1.2.0", "1.2.0"), ("^1.2.0", None)],
)
def test_exact_spec_names_only_single_version_pins(spec: str, want: str | None) -> None:
    assert exact_spec(spec) == want


def test_registry_knows_the_npm_fixer() -> None:
    fixer = fixer_for("package-lock.json")
    assert isinstance(fixer, NpmLockFixer)
    assert fixer.format == "package-lock.json"


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_set_string_on_a_real_manifest_changes_one_line() -> None:
    text = (ASSETS / "direct" / "package.json").read_text()
    after = set_string(text, ("devDependencies", "minimist"), "1.2.6")
    assert json.loads(after)["devDependencies"]["minimist"] == "1.2.6"
    assert _changed_lines(text, after) == [
        ('    "minimist": "1.2.0"\n', '    "minimist": "1.2.6"\n')
    ]


def test_set_string_keeps_tabs_crlf_escapes_and_a_missing_final_newline() -> None:
    text = '{\r\n\t"name": "caf\\u00e9",\r\n\t"dependencies": {\r\n\t\t"a\\"b": "1.0.0"\r\n\t}\r\n}'
    after = set_string(text, ("dependencies", 'a"b'), "^1.0.1")
    assert after == text.replace('"1.0.0"', '"^1.0.1"')


def test_set_string_refuses_what_is_not_a_string() -> None:
    text = '{"dependencies": {"a": "1.0.0"}, "overrides": {"b": {".": "1.0.0"}}}'
    with pytest.raises(EditRefused):
        set_string(text, ("dependencies", "missing"), "1.0.0")
    with pytest.raises(EditRefused):
        set_string(text, ("overrides", "b"), "1.0.0")


def test_add_override_creates_the_object_in_the_file_style() -> None:
    text = (ASSETS / "forced" / "package.json").read_text()
    after = add_override(text, "minimist", "^0.2.4")
    assert json.loads(after)["overrides"] == {"minimist": "^0.2.4"}
    assert after == text.removesuffix("\t}\n}\n") + (
        '\t},\n\t"overrides": {\n\t\t"minimist": "^0.2.4"\n\t}\n}\n'
    )


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{"name": "x"}', '{"name": "x", "overrides": {"m": "^1.2.6"}}'),
        ("{}\n", '{"overrides": {"m": "^1.2.6"}}\n'),
        (
            '{\r\n  "name": "x"\r\n}\r\n',
            '{\r\n  "name": "x",\r\n  "overrides": {\r\n    "m": "^1.2.6"\r\n  }\r\n}\r\n',
        ),
        (
            '{\n    "name": "x",\n    "overrides": {}\n}\n',
            '{\n    "name": "x",\n    "overrides": {\n        "m": "^1.2.6"\n    }\n}\n',
        ),
        (
            '{\n  "overrides": {\n    "a": "1.0.0"\n  },\n  "name": "x"\n}\n',
            '{\n  "overrides": {\n    "a": "1.0.0",\n    "m": "^1.2.6"\n  },\n  "name": "x"\n}\n',
        ),
        ('{\n  "overrides": {"m": "1.0.0"}\n}\n', '{\n  "overrides": {"m": "^1.2.6"}\n}\n'),
    ],
)
def test_add_override_variants(text: str, want: str) -> None:
    assert add_override(text, "m", "^1.2.6") == want


def test_add_override_refuses_to_replace_an_object_or_a_non_object() -> None:
    with pytest.raises(EditRefused):
        add_override('{"overrides": {"m": {".": "1.0.0"}}}', "m", "^1.2.6")
    with pytest.raises(EditRefused):
        add_override('{"overrides": ["m"]}', "m", "^1.2.6")
    with pytest.raises(EditRefused):
        add_override("[1, 2]", "m", "^1.2.6")


_names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
_specs = st.from_regex(r"\^?[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True)
_manifests = st.fixed_dictionaries(
    {"name": _names},
    optional={
        "dependencies": st.dictionaries(_names, _specs, max_size=4),
        "devDependencies": st.dictionaries(_names, _specs, max_size=4),
        "overrides": st.dictionaries(_names, _specs, max_size=3),
        "keywords": st.lists(_names, max_size=3),
    },
)
_indents = st.sampled_from([2, 4, "\t"])


def _render(doc: dict[str, Any], indent: int | str, newline: bool) -> str:
    return json.dumps(doc, indent=indent) + ("\n" if newline else "")


@settings(max_examples=150, deadline=None)
@given(doc=_manifests, indent=_indents, newline=st.booleans(), key=_names, value=_specs)
def test_add_override_only_inserts(
    doc: dict[str, Any], indent: int | str, newline: bool, key: str, value: str
) -> None:
    text = _render(doc, indent, newline)
    existing = doc.get("overrides", {}).get(key)
    after = add_override(text, key, value)
    expected = json.loads(text)
    expected.setdefault("overrides", {})[key] = value
    assert json.loads(after) == expected
    assert after.endswith("\n") == newline
    if existing is None and doc.get("overrides") != {}:
        # Every original line survives, in order (a comma may be appended to one); an
        # empty `"overrides": {}` line is opened up instead (see the variants above).
        remaining = iter(line.rstrip(",") for line in after.splitlines())
        assert all(line.rstrip(",") in remaining for line in text.splitlines())


@settings(max_examples=150, deadline=None)
@given(doc=_manifests, indent=_indents, newline=st.booleans(), value=_specs, data=st.data())
def test_set_string_changes_only_that_value(
    doc: dict[str, Any], indent: int | str, newline: bool, value: str, data: st.DataObject
) -> None:
    places = [(f, k) for f in ("dependencies", "devDependencies") for k in doc.get(f, {})]
    if not places:
        return
    place = data.draw(st.sampled_from(places))
    text = _render(doc, indent, newline)
    after = set_string(text, place, value)
    expected = json.loads(text)
    expected[place[0]][place[1]] = value
    assert json.loads(after) == expected
    changed = _changed_lines(text, after)
    assert len(changed) <= 1


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_junk_manifests_give_only_clean_errors(text: str) -> None:
    for which in ("override", "string"):
        try:
            if which == "override":
                after = add_override(text, "m", "^1.0.0")
            else:
                after = set_string(text, ("dependencies", "m"), "^1.0.0")
        except (FixError, EditRefused):
            continue
        assert isinstance(json.loads(after), dict)

"""The alias-aware call-site scan: every import spelling resolves to the package's qualified
name, calls carry their keyword names and positional count, unparsable files are skipped with
a note, and no input makes the scanner raise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.planning.breaking.callsites import Skipped, UseKind, python_files, scan, scan_source

APP = """\
import yaml
import jinja2 as j
import urllib3.util.retry
from yaml import load as l
from urllib3.util.retry import Retry
from . import sibling


def read(text, extra):
    a = yaml.load(text)
    b = l(text, Loader=yaml.SafeLoader)
    m = j.Markup("x")
    r = Retry(3, method_whitelist=["GET"])
    s = urllib3.util.retry.Retry.DEFAULT
    return yaml.load(text, *extra, **extra)
"""


def test_every_import_spelling_resolves_to_the_qualified_name(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project({"app/config.py": APP})
    result = scan(root, ("yaml", "jinja2", "urllib3"))
    assert result.skipped == ()
    got = {(u.line, u.symbol, u.kind) for u in result.uses}
    assert (1, "yaml", UseKind.IMPORT) in got
    assert (4, "yaml.load", UseKind.IMPORT) in got
    assert (5, "urllib3.util.retry.Retry", UseKind.IMPORT) in got
    assert (10, "yaml.load", UseKind.CALL) in got
    assert (11, "yaml.load", UseKind.CALL) in got  # `l` is `yaml.load`
    assert (11, "yaml.SafeLoader", UseKind.REFERENCE) in got
    assert (12, "jinja2.Markup", UseKind.CALL) in got  # `j` is `jinja2`
    assert (13, "urllib3.util.retry.Retry", UseKind.CALL) in got
    assert (14, "urllib3.util.retry.Retry.DEFAULT", UseKind.REFERENCE) in got
    assert all(u.path == "app/config.py" for u in result.uses)
    # One entry per use: the inner `yaml` of `yaml.load(...)` is not reported again.
    assert [u.symbol for u in result.uses if u.line == 10] == ["yaml.load"]


def test_calls_record_keywords_positionals_and_stars(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project({"app.py": APP})
    calls = {u.line: u for u in scan(root, ("yaml", "urllib3")).uses if u.kind is UseKind.CALL}
    assert (calls[10].positional, calls[10].keywords) == (1, ())
    assert (calls[11].positional, calls[11].keywords) == (1, ("Loader",))
    assert (calls[13].positional, calls[13].keywords) == (1, ("method_whitelist",))
    assert calls[15].star_args and calls[15].star_kwargs and calls[15].positional == 1


def test_unparsable_files_are_skipped_with_a_note(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {"good.py": "import yaml\nyaml.safe_load('')\n", "bad.py": "import yaml\ndef f(:\n"},
    )
    result = scan(root, ("yaml",))
    assert [s.path for s in result.skipped] == ["bad.py"]
    assert "not valid Python" in result.skipped[0].reason
    assert {u.path for u in result.uses} == {"good.py"}


def test_virtualenvs_and_caches_are_not_the_project(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "src/app.py": "import yaml\n",
            ".venv/lib/yaml_user.py": "import yaml\n",
            "node_modules/x.py": "import yaml\n",
            "env2/pyvenv.cfg": "home = /usr\n",
            "env2/lib/y.py": "import yaml\n",
        },
    )
    assert [p.relative_to(root).as_posix() for p in python_files(root)] == ["src/app.py"]


def test_other_packages_and_relative_imports_are_ignored(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "m.py": "import yamlish\nfrom .yaml import load\n"
            "from yaml_extra import x\nyamlish.load()\n"
        },
    )
    assert scan(root, ("yaml",)).uses == ()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_junk_sources_never_raise(source: bytes) -> None:
    found = scan_source(b"import yaml\n" + source, "junk.py", ("yaml",))
    assert isinstance(found, Skipped | list)


def test_attributes_of_instances_made_in_the_file(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "app.py": (
                "import flask\n"
                "app = flask.Flask(__name__)\n"
                "@app.before_first_request\n"
                "def init(): ...\n"
                "app.run(debug=True)\n"
                "app = object()\n"
                "app.other\n"
            )
        }
    )
    uses = {(u.line, u.symbol, u.kind, u.instance) for u in scan(root, ("flask",)).uses}
    assert (3, "flask.Flask.before_first_request", UseKind.REFERENCE, True) in uses
    assert (5, "flask.Flask.run", UseKind.CALL, True) in uses
    # Rebinding the name to something else ends the tracking.
    assert not any(line == 7 for line, *_ in uses)

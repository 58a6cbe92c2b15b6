"""Verdicts on real upgrades from PyPI for small projects written here: each reference case of
a security upgrade that breaks callers gets `breaks-project` at the right line, and the same
project without that use gets `api-changed-unused` (or `compatible`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from patchpilot.events import RecordingReporter
from patchpilot.planning.breaking.apidiff import BreakKind
from patchpilot.planning.breaking.verdict import Verdict, VerdictKind, assess

ProjectMaker = Callable[[dict[str, str]], Path]

pytestmark = [pytest.mark.network, pytest.mark.slow]

NOT_BREAKING = (VerdictKind.API_CHANGED_UNUSED, VerdictKind.COMPATIBLE)


def _lines(verdict: Verdict) -> set[tuple[str, int]]:
    return {(s.path, s.line) for s in verdict.sites}


def test_pyyaml_load_without_loader(make_project: ProjectMaker, brk_cache: Path) -> None:
    project = make_project(
        {
            "app/__init__.py": "",
            "app/config.py": (
                "import yaml\n"
                "from yaml import load as read_yaml\n"
                "\n"
                "\n"
                "def settings(path):\n"
                "    with open(path) as f:\n"
                "        text = f.read()\n"
                "    safe = yaml.safe_load(text)\n"
                "    explicit = yaml.load(text, yaml.SafeLoader)\n"
                "    keyword = read_yaml(text, Loader=yaml.FullLoader)\n"
                "    return safe, explicit, keyword\n"
                "\n"
                "CONFIG = yaml.load(open('c.yml'))\n"
            ),
        }
    )
    reporter = RecordingReporter()
    verdict = assess(project, "PyYAML", "5.4", "6.0", cache_dir=brk_cache, reporter=reporter)
    assert verdict.verdict is VerdictKind.BREAKS_PROJECT
    assert _lines(verdict) == {("app/config.py", 13)}
    (site,) = verdict.sites
    assert site.api_break.kind is BreakKind.PARAMETER_BECAME_REQUIRED
    assert site.message == (
        "app/config.py:13 calls yaml.load without Loader; Loader became required in 6.0"
    )
    assert ("finish", "breaking-changes PyYAML 5.4→6.0") in reporter.calls

    fixed = make_project(
        {"app.py": "import yaml\nX = yaml.load(open('c'), Loader=yaml.SafeLoader)\n"}
    )
    assert assess(fixed, "PyYAML", "5.4", "6.0", cache_dir=brk_cache).verdict in NOT_BREAKING


def test_jinja2_markup_import(make_project: ProjectMaker, brk_cache: Path) -> None:
    project = make_project(
        {
            "web/render.py": (
                "from jinja2 import Environment, FileSystemLoader\n"
                "from jinja2 import Markup\n"
                "\n"
                "env = Environment(loader=FileSystemLoader('t'))\n"
            )
        }
    )
    verdict = assess(project, "Jinja2", "2.11.3", "3.1.4", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.BREAKS_PROJECT
    assert _lines(verdict) == {("web/render.py", 2)}
    assert verdict.sites[0].symbol == "jinja2.Markup"
    assert verdict.sites[0].api_break.kind.is_removal

    aliased = make_project({"m.py": "import jinja2 as j\n\nSAFE = j.Markup('<b>')\n"})
    verdict = assess(aliased, "Jinja2", "2.11.3", "3.1.4", cache_dir=brk_cache)
    assert _lines(verdict) == {("m.py", 3)}

    only_env = make_project(
        {"web/render.py": "from jinja2 import Environment\n\nenv = Environment(autoescape=True)\n"}
    )
    verdict = assess(only_env, "Jinja2", "2.11.3", "3.1.4", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.API_CHANGED_UNUSED
    assert verdict.breaks and not verdict.sites


def test_urllib3_retry_method_whitelist(make_project: ProjectMaker, brk_cache: Path) -> None:
    project = make_project(
        {
            "client.py": (
                "import urllib3\n"
                "from urllib3.util.retry import Retry\n"
                "\n"
                "ok = Retry(total=3, allowed_methods=['GET'])\n"
                "bad = Retry(\n"
                "    total=3,\n"
                "    method_whitelist=['GET'],\n"
                ")\n"
                "also = urllib3.Retry(total=1, method_whitelist=frozenset())\n"
            )
        }
    )
    verdict = assess(project, "urllib3", "1.26.19", "2.2.2", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.BREAKS_PROJECT
    assert _lines(verdict) == {("client.py", 5), ("client.py", 9)}
    assert all(s.api_break.param == "method_whitelist" for s in verdict.sites)
    assert "method_whitelist was removed in 2.2.2" in verdict.sites[0].message

    fine = make_project({"client.py": "from urllib3 import Retry\nr = Retry(total=3)\n"})
    assert assess(fine, "urllib3", "1.26.19", "2.2.2", cache_dir=brk_cache).verdict in NOT_BREAKING


def test_flask_markup_and_escape(make_project: ProjectMaker, brk_cache: Path) -> None:
    project = make_project(
        {
            "app.py": (
                "import flask\n"
                "from flask import Flask, Markup\n"
                "\n"
                "app = Flask(__name__)\n"
                "\n"
                "\n"
                "def page(name):\n"
                "    return flask.escape(name)\n"
            )
        }
    )
    verdict = assess(project, "Flask", "2.2.5", "3.0.0", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.BREAKS_PROJECT
    assert _lines(verdict) == {("app.py", 2), ("app.py", 8)}
    assert {s.symbol for s in verdict.sites} == {"flask.Markup", "flask.escape"}

    clean = make_project(
        {"app.py": "from flask import Flask, render_template\napp = Flask(__name__)\n"}
    )
    assert assess(clean, "Flask", "2.2.5", "3.0.0", cache_dir=brk_cache).verdict in NOT_BREAKING


def test_django_conf_urls_url(make_project: ProjectMaker, brk_cache: Path) -> None:
    project = make_project(
        {
            "site/urls.py": (
                "from django.conf.urls import include, url\n"
                "from django.urls import path\n"
                "\n"
                "urlpatterns = [\n"
                "    path('admin/', include('x')),\n"
                "    url(r'^old/$', include('y')),\n"
                "]\n"
            )
        }
    )
    verdict = assess(project, "Django", "3.2", "4.0", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.BREAKS_PROJECT
    assert _lines(verdict) == {("site/urls.py", 1), ("site/urls.py", 6)}
    assert {s.symbol for s in verdict.sites} == {"django.conf.urls.url"}

    modern = make_project(
        {"site/urls.py": "from django.urls import include, re_path\nurlpatterns = []\n"}
    )
    assert assess(modern, "Django", "3.2", "4.0", cache_dir=brk_cache).verdict in NOT_BREAKING


def test_project_not_using_the_package(make_project: ProjectMaker, brk_cache: Path) -> None:
    project = make_project({"main.py": "print('hello')\n"})
    verdict = assess(project, "PyYAML", "5.4", "6.0", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.API_CHANGED_UNUSED
    assert "does not use yaml" in verdict.reason or "does not use _yaml" in verdict.reason


def test_unfetchable_version_is_unknown_with_reason(
    make_project: ProjectMaker, brk_cache: Path
) -> None:
    project = make_project({"main.py": "import yaml\n"})
    verdict = assess(project, "PyYAML", "5.4", "0.0.0.999", cache_dir=brk_cache)
    assert verdict.verdict is VerdictKind.UNKNOWN
    assert "PyYAML 0.0.0.999" in verdict.reason


def test_flask_instance_methods_and_removed_keywords(
    make_project: ProjectMaker, brk_cache: Path
) -> None:
    project = make_project(
        {
            "app.py": (
                "from flask import Flask, send_file\n"
                "\n"
                "app = Flask(__name__)\n"
                "\n"
                "\n"
                "@app.before_first_request\n"
                "def init():\n"
                "    pass\n"
                "\n"
                "\n"
                "@app.route('/f')\n"
                "def download():\n"
                "    return send_file('x.txt', attachment_filename='y.txt')\n"
            )
        }
    )
    # 2.2 removed `send_file(attachment_filename=)`; `before_first_request` stayed until 2.3.
    verdict = assess(project, "Flask", "2.1.3", "2.2.5", cache_dir=brk_cache)
    assert _lines(verdict) == {("app.py", 13)}
    assert verdict.sites[0].api_break.param == "attachment_filename"
    # 3.0 removed `Flask.before_first_request`; `route` moved to a base class in
    # `flask/sansio/` (a directory without `__init__.py`) and is still there.
    verdict = assess(project, "Flask", "2.2.5", "3.0.0", cache_dir=brk_cache)
    assert _lines(verdict) == {("app.py", 6)}
    assert verdict.sites[0].symbol == "flask.Flask.before_first_request"

"""nginx TLS mitigations on real nginx configurations, validated by the real `nginx -t`.

Projects come from tests/assets/config/nginx (Debian's stock files and configurations modelled
on them); certificates are made per test with the openssl command line. Tests that need the
nginx binary skip when it is not installed (Debian package `nginx`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import crossplane
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.errors import CodefixError
from patchpilot.fixers.changeset import write_changeset
from patchpilot.fixers.config import Reason, run_config_mitigations
from patchpilot.fixers.config.interface import MitigationResult
from patchpilot.fixers.config.nginx import (
    Edit,
    apply_edits,
    cipher_names,
    find_nginx,
    lex,
    load_trees,
    mozilla_profile,
    weak_cipher_words,
)

CASES = Path(__file__).resolve().parents[1] / "assets" / "config" / "nginx" / "cases"
NGINX = find_nginx(None)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)"
)


def _certs(root: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail(
            "the openssl command is needed to make test certificates (apt-get install openssl)"
        )
    (root / "certs").mkdir(exist_ok=True)
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=example.com",
         "-keyout", str(root / "certs" / "site.key"), "-out", str(root / "certs" / "site.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _project(tmp_path: Path, case: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(CASES / case / "project", root, symlinks=True)
    _certs(root)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _wants(case: str) -> dict[str, str]:
    want = CASES / case / "want"
    return {p.relative_to(want).as_posix(): p.read_text() for p in want.rglob("*") if p.is_file()}


def _reasons(result: MitigationResult) -> set[tuple[str, str, str]]:
    return {(r.mitigation, r.path, r.reason.value) for r in result.refusals}


@needs_nginx
@pytest.mark.parametrize("case", ["debian", "site-tls", "ciphers", "letsencrypt"])
def test_golden_edit_passes_nginx_and_touches_nothing_else(tmp_path: Path, case: str) -> None:
    root = _project(tmp_path, case)
    before = _files(root)
    wants = _wants(case)

    result = run_config_mitigations(root)

    assert {e.path: e.after for e in result.changeset.edits} == wants
    for edit in result.changeset.edits:
        assert edit.before == before[edit.path].decode()
    # Each reported line holds the value written there.
    for change in result.changes:
        line = wants[change.path].splitlines()[change.line - 1]
        assert change.key in line and change.after in line
    # Every configuration was checked before, and every kept edit after, by the real nginx.
    stages = {(c.stage, c.ok) for c in result.checks}
    assert ("before", True) in stages and ("after", True) in stages
    assert all(c.tool == "nginx -t" for c in result.checks)

    write_changeset(result.changeset, root, dry_run=False)
    after = _files(root)
    for rel, data in before.items():
        if rel in wants:
            assert after[rel].decode() == wants[rel]
        else:
            assert after[rel] == data, f"{rel} changed"

    # A second run finds nothing more to change.
    again = run_config_mitigations(root)
    assert again.changes == ()
    assert not any(r.reason is Reason.POSTCONDITION_NGINX_T for r in again.refusals)


@needs_nginx
def test_debian_stock_keeps_the_comment_and_drops_tls1_and_tls11(tmp_path: Path) -> None:
    root = _project(tmp_path, "debian")
    result = run_config_mitigations(root)
    [change] = result.changes
    assert (change.mitigation, change.path, change.line) == (
        "nginx-tls-protocols",
        "nginx.conf",
        33,
    )
    assert (change.before, change.after) == ("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "TLSv1.2 TLSv1.3")
    # Debian's site listens on port 80 only: no TLS server, so no HSTS or redirect notes.
    assert result.refusals == ()
    assert result.changeset.remediation_ids == ("nginx-tls-protocols",)


@needs_nginx
def test_missing_protocols_are_added_at_server_scope(tmp_path: Path) -> None:
    root = _project(tmp_path, "site-tls")
    result = run_config_mitigations(root)
    [change] = result.changes
    assert change.before is None
    assert change.after == mozilla_profile().ssl_protocols
    assert _reasons(result) == {("nginx-hsts", "sites-available/example.com", "tier-c")}


@needs_nginx
def test_cipher_strings_keep_only_profile_suites_they_enabled(tmp_path: Path) -> None:
    root = _project(tmp_path, "ciphers")
    result = run_config_mitigations(root)
    profile = mozilla_profile()
    by_path = {c.path: c for c in result.changes}
    # The legacy list enabled one intermediate suite: only that one stays.
    assert by_path["conf.d/legacy.conf"].after == "ECDHE-RSA-AES256-GCM-SHA384"
    # nginx's default string enables every intermediate suite and more: the full profile list.
    assert by_path["conf.d/default-ciphers.conf"].after == profile.ssl_ciphers
    assert _reasons(result) == {("nginx-https-redirect", "conf.d/default-ciphers.conf", "tier-c")}


@needs_nginx
def test_missing_certificates_get_stand_ins_for_the_check(tmp_path: Path) -> None:
    root = _project(tmp_path, "letsencrypt")
    result = run_config_mitigations(root)
    assert [c.after for c in result.changes] == ["TLSv1.2"]
    notes = result.checks[0].notes
    assert any("/etc/letsencrypt/live/app.example.com/fullchain.pem" in n for n in notes)
    assert any("ssl_dhparam" in n for n in notes)
    # Certbot's `if ($host = …) { return 301 https://… }` counts as a redirect.
    assert _reasons(result) == set()


@needs_nginx
def test_stricter_settings_are_never_lowered(tmp_path: Path) -> None:
    root = _project(tmp_path, "stricter")
    before = _files(root)
    result = run_config_mitigations(root)
    assert result.changes == ()
    assert _reasons(result) == {
        ("nginx-tls-protocols", "conf.d/modern.conf", "already-stricter"),
        ("nginx-tls-ciphers", "conf.d/modern.conf", "already-stricter"),
    }
    write_changeset(result.changeset, root, dry_run=False)
    assert _files(root) == before


@needs_nginx
def test_configuration_failing_nginx_before_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "invalid")
    result = run_config_mitigations(root)
    assert result.changes == ()
    [refusal] = [r for r in result.refusals if r.mitigation == "nginx-tls-protocols"]
    assert refusal.reason is Reason.INVALID_BEFORE
    assert 'no "ssl_certificate" is defined' in refusal.detail
    assert [(c.stage, c.ok) for c in result.checks] == [("before", False)]


def test_unbalanced_braces_are_refused_before_nginx_runs(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "app.conf").write_text("server {\n    listen 443 ssl;\n    ssl_protocols TLSv1;\n")
    result = run_config_mitigations(tmp_path, nginx_binary=NGINX or "/nonexistent/nginx")
    reasons = {r.reason for r in result.refusals if r.mitigation == "nginx-tls-protocols"}
    expected = Reason.INVALID_BEFORE if NGINX else Reason.NO_NGINX
    assert reasons == {expected}
    assert result.checks == ()


def test_lua_blocks_are_read_but_never_edited(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(CASES / "lua" / "project", root)
    result = run_config_mitigations(root, nginx_binary=NGINX or "/nonexistent/nginx")
    assert result.changes == ()
    assert ("nginx-tls-protocols", "conf.d/lua.conf", "unsupported-syntax") in _reasons(result)


@needs_nginx
@pytest.mark.parametrize(
    ("outside", "problem"),
    [
        ("ssl-params.conf", 'nginx -t warns with the edit: duplicate value "TLSv1.2"'),
        ("ssl-params-legacy.conf", "still enables TLSv1 TLSv1.1"),
    ],
)
def test_edit_contradicted_by_an_include_outside_the_project_is_dropped(
    tmp_path: Path, outside: str, problem: str
) -> None:
    root = _project(tmp_path, "postcondition")
    shared = tmp_path / "outside"
    shared.mkdir()
    shutil.copy(CASES / "postcondition" / "outside" / outside, shared / "ssl-params.conf")
    site = root / "sites-available" / "app"
    site.write_text(site.read_text().replace("__OUTSIDE__", str(shared)))
    before = _files(root)

    result = run_config_mitigations(root)

    assert result.changes == ()
    [refusal] = [r for r in result.refusals if r.mitigation == "nginx-tls-protocols"]
    assert refusal.reason is Reason.POSTCONDITION_NGINX_T
    assert problem in refusal.detail
    assert [c.stage for c in result.checks] == ["before", "after"]
    write_changeset(result.changeset, root, dry_run=False)
    assert _files(root) == before


def test_without_nginx_nothing_is_applied(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(CASES / "debian" / "project", root, symlinks=True)
    result = run_config_mitigations(root, nginx_binary=tmp_path / "no-such-nginx")
    assert result.changeset.edits == ()
    assert _reasons(result) == {("nginx-tls-protocols", "nginx.conf", "no-nginx")}
    assert result.checks == ()


def test_project_without_nginx_files_yields_nothing(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("no configuration here\n")
    result = run_config_mitigations(tmp_path)
    assert result.changes == () and result.refusals == () and result.checks == ()


def test_links_leaving_the_project_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.conf"
    outside.write_text("ssl_protocols TLSv1;\n")
    root = tmp_path / "project"
    (root / "conf.d").mkdir(parents=True)
    (root / "conf.d" / "linked.conf").symlink_to(outside)
    trees, notes = load_trees(root)
    assert trees == []
    assert notes == [
        "conf.d/linked.conf: not read (a link leaving the project, or not a regular file)"
    ]


def test_weak_cipher_words_ignore_negated_elements() -> None:
    assert weak_cipher_words("HIGH:!aNULL:!MD5") == ()
    assert weak_cipher_words("ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA:DES-CBC3-SHA") == (
        "RC4-SHA",
        "DES-CBC3-SHA",
    )
    assert weak_cipher_words("ALL:@SECLEVEL=0") == ("@SECLEVEL=0",)


def test_cipher_names_expand_with_openssl() -> None:
    profile = mozilla_profile()
    assert set(cipher_names(profile.ssl_ciphers) or ()) == set(profile.ciphers)
    assert cipher_names("NO-SUCH-CIPHER") is None


def test_not_utf8_configuration_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "bad.conf").write_bytes(b"server { ssl_protocols \xff; }\n")
    with pytest.raises(CodefixError, match=r"conf\.d/bad\.conf: not UTF-8"):
        run_config_mitigations(tmp_path)


_NGINX_TEXT = st.lists(
    st.sampled_from(
        [
            *"abc xyz$;{}#'\"\\\n\t",
            "ssl_protocols",
            "TLSv1",
            "${",
            "server",
            "listen 443 ssl",
            "\r\n",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NGINX_TEXT)
def test_lexer_matches_crossplane_and_offsets_point_at_the_tokens(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.conf"
        path.write_bytes(text.encode())
        try:
            theirs = [(t, line, q) for t, line, q in crossplane.lex(str(path))]
        except crossplane.errors.NgxParserSyntaxError:
            return
    ours = lex(text)
    assert [(t.value, t.line, t.quoted) for t in ours] == theirs
    for token in ours:
        raw = text[token.start : token.end]
        if not token.quoted:
            assert raw.replace("\r\n", "\n").replace("\r", "\n") == token.value
        else:
            assert raw[0] == raw[-1] and raw[0] in "'\""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NGINX_TEXT)
def test_junk_configuration_gives_refusals_or_nothing(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "conf.d").mkdir()
        (root / "conf.d" / "junk.conf").write_bytes(text.encode())
        result = run_config_mitigations(root, nginx_binary=root / "no-nginx")
    assert result.changeset.edits == ()
    assert all(r.reason is not Reason.POSTCONDITION_NGINX_T for r in result.refusals)


def test_apply_edits_refuses_overlaps() -> None:
    path = Path("x")
    assert apply_edits("abcdef", [Edit(path, 1, 2, "X"), Edit(path, 4, 4, "Y")]) == "aXcdYef"
    with pytest.raises(ValueError, match="overlapping"):
        apply_edits("abcdef", [Edit(path, 1, 4, "X"), Edit(path, 2, 5, "Y")])


@needs_nginx
def test_snippet_included_by_two_servers_is_edited_once(tmp_path: Path) -> None:
    (tmp_path / "snippets").mkdir()
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n"
        "    server { listen 443 ssl; server_name a.example.com; include snippets/tls.conf; }\n"
        "    server { listen 8443 ssl; server_name b.example.com; include snippets/tls.conf; }\n"
        "}\n"
    )
    (tmp_path / "snippets" / "tls.conf").write_text(
        "ssl_certificate certs/site.pem;\nssl_certificate_key certs/site.key;\n"
        "ssl_protocols TLSv1 TLSv1.2;  # shared by both sites\n"
        'add_header Strict-Transport-Security "max-age=63072000" always;\n'
    )
    _certs(tmp_path)
    result = run_config_mitigations(tmp_path)
    [change] = result.changes
    assert (change.path, change.line, change.after) == ("snippets/tls.conf", 3, "TLSv1.2")
    [edit] = result.changeset.edits
    assert edit.after is not None
    assert "ssl_protocols TLSv1.2;  # shared by both sites\n" in edit.after
    assert result.refusals == ()

"""The requirements fixer end to end: real files, real `uv pip compile`, real PyPI.

The compiled assets were written by `uv pip compile` (see tests/assets/fixers/req/README.md).
What a fix should give is checked independently of the fixer: by the real resolver (uv
compiles the pins the fixed file holds and must agree with it; uv must refuse the versions
below the co-upgrade it chose), by PyPI's own file list (hashes), by the requirements reader,
and for the hand-written files by golden `want` files edited by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from patchpilot.errors import FixError
from patchpilot.fixers.changeset import ChangeSet, write_changeset
from patchpilot.fixers.interface import Bump, FixOutcome, Strategy
from patchpilot.fixers.requirements_txt import RequirementsFixer, uv_binary
from patchpilot.model import Ecosystem, NormalizedName
from patchpilot.sources.requirements_txt import RequirementsTxtSource

pytestmark = [pytest.mark.slow, pytest.mark.network]

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "req"
PYPI = Ecosystem.PYPI


def bump(name: str, current: str, target: str, *, direct: bool = False) -> Bump:
    return Bump(PYPI, NormalizedName(name), current, target, direct)


def project(tmp_path: Path, asset: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ASSETS / asset, root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))}


def fix(root: Path, lockfile: str, bumps: Sequence[Bump]) -> FixOutcome:
    """Run the fixer and check that the user's files are byte-identical afterwards."""
    before = snapshot(root)
    outcome = RequirementsFixer().fix(root, Path(lockfile), bumps)
    assert snapshot(root) == before
    return outcome


def applied(tmp_path: Path, root: Path, outcome: FixOutcome) -> Path:
    """A copy of the project with the outcome's edits written by the changeset writer."""
    out = tmp_path / "applied"
    shutil.copytree(root, out)
    write_changeset(ChangeSet(("test",), outcome.edits), out, dry_run=False)
    return out


def pins(path: Path) -> dict[str, str]:
    read = RequirementsTxtSource().read(path)
    return {c.name: c.version for c in read.components}


def uv_compile(folder: Path, lines: Sequence[str], *extra: str) -> subprocess.CompletedProcess[str]:
    source = folder / "oracle.in"
    source.write_text("".join(f"{line}\n" for line in lines))
    return subprocess.run(
        [uv_binary(), "pip", "compile", str(source), "--no-header", "--no-annotate",
         "--python-version", "3.11", *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def resolved(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    pairs = (line.split("==", 1) for line in result.stdout.splitlines() if "==" in line)
    return {name.strip(): version.strip() for name, version in pairs}


def pypi_hashes(name: str, version: str) -> list[str]:
    """sha256 of every file PyPI lists for `name` `version` (PEP 691 JSON), sorted."""
    url = f"https://pypi.org/simple/{name}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https literal
        files = json.load(response)["files"]
    out = []
    for entry in files:
        filename = entry["filename"]
        if filename.endswith(".whl"):
            found = parse_wheel_filename(filename)[1]
        elif filename.endswith((".tar.gz", ".zip")):
            found = parse_sdist_filename(filename)[1]
        else:
            continue
        if found == Version(version):
            out.append(f"sha256:{entry['hashes']['sha256']}")
    return sorted(out)


def test_a_transitive_pin_moves_in_place(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    outcome = fix(root, "requirements.txt", [bump("urllib3", "1.26.4", "1.26.19")])
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.IN_PLACE
    assert result.resolved == "1.26.19"
    assert result.co_upgrades == ()
    (edit,) = outcome.edits
    text = (root / "requirements.txt").read_text()
    assert edit.path == "requirements.txt"
    assert edit.before == text
    assert edit.after == text.replace("urllib3==1.26.4\n", "urllib3==1.26.19\n")
    assert all(c.startswith("uv pip compile requirements.txt") for c in outcome.commands)
    # The Python version comes from the header uv wrote into the file.
    assert all("--python-version 3.11" in c for c in outcome.commands)
    read = RequirementsTxtSource().read(applied(tmp_path, root, outcome) / "requirements.txt")
    urllib3 = next(c for c in read.components if c.name == "urllib3")
    assert (urllib3.version, urllib3.direct, urllib3.parents) == ("1.26.19", False, ("requests",))


def test_a_forbidden_transitive_pin_co_upgrades_its_parent(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    outcome = fix(root, "requirements.txt", [bump("idna", "2.10", "3.7")])
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.CO_UPGRADE
    assert result.resolved == "3.7"
    ((parent, old, new),) = result.co_upgrades
    assert (parent, old) == ("requests", "2.25.1")
    # The real resolver refuses every requests below the one chosen, and accepts it.
    below = uv_compile(tmp_path, [f"requests>=2.25.1,<{new}", "idna==3.7"])
    assert below.returncode != 0
    after = pins(applied(tmp_path, root, outcome) / "requirements.txt")
    assert after["requests"] == new
    # The fixed file holds exactly what uv resolves for its direct pins plus the kept pins.
    kept = ["urllib3==1.26.4", f"certifi=={after['certifi']}"]
    assert after == resolved(uv_compile(tmp_path, [f"requests=={new}", "idna==3.7", *kept]))
    assert "chardet" not in after
    assert any("charset-normalizer" in n and "added" in n for n in outcome.notes)
    text = outcome.edits[0].after or ""
    assert "charset-normalizer==" in text.split("idna==")[0]  # kept in name order
    assert "chardet" not in text


def test_a_direct_pin_is_relaxed_and_the_file_stays_complete(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    outcome = fix(root, "requirements.txt", [bump("requests", "2.25.1", "2.31.0", direct=True)])
    (result,) = outcome.outcomes
    assert (result.strategy, result.resolved) == (Strategy.RELAX, "2.31.0")
    after = pins(applied(tmp_path, root, outcome) / "requirements.txt")
    kept = ["urllib3==1.26.4", "idna==2.10", f"certifi=={after['certifi']}"]
    assert after == resolved(uv_compile(tmp_path, ["requests==2.31.0", *kept]))


def test_hashes_are_regenerated_from_the_index(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    bumps = [bump("idna", "2.10", "3.7"), bump("urllib3", "1.26.4", "1.26.19")]
    outcome = fix(root, "requirements-hashes.txt", bumps)
    assert [o.strategy for o in outcome.outcomes] == [Strategy.CO_UPGRADE, Strategy.IN_PLACE]
    (edit,) = outcome.edits
    text = edit.after or ""
    blocks = {}
    for block in text.split("\n    # via")[:-1]:
        head, *hashes = block.strip().split(" \\\n")
        name, version = head.rsplit("\n", 1)[-1].split("==")
        blocks[name] = (version, [h.strip().removeprefix("--hash=") for h in hashes])
        assert all(h.startswith("    --hash=sha256:") for h in hashes)
    for name in ("idna", "urllib3", "requests", "charset-normalizer"):
        version, hashes = blocks[name]
        assert hashes == pypi_hashes(name, version), name
    # Untouched pins keep their hash lines byte for byte.
    original = (root / "requirements-hashes.txt").read_text()
    certifi = original[original.index("certifi==") : original.index("chardet==")]
    assert certifi in text
    # pip's hash-checking mode accepts the result: every pin has hashes, and the index
    # serves files with exactly those hashes (checked above); uv resolves it as written.
    fixed = applied(tmp_path, root, outcome) / "requirements-hashes.txt"
    assert resolved(uv_compile(tmp_path, [f"-r {fixed}"])) == pins(fixed)


def test_a_hashed_file_without_annotations_gets_new_packages_hashed(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    outcome = fix(root, "requirements-hashes-plain.txt", [bump("idna", "2.10", "3.7")])
    assert outcome.outcomes[0].strategy is Strategy.CO_UPGRADE
    text = outcome.edits[0].after or ""
    assert "# via" not in text
    block = text[text.index("charset-normalizer==") : text.index("idna==")]
    head, *hashes = block.strip().split(" \\\n")
    version = head.split("==")[1]
    assert [h.strip().removeprefix("--hash=") for h in hashes] == pypi_hashes(
        "charset-normalizer", version
    )
    # chardet stays pinned (the file cannot say it only served requests), with a note.
    assert "chardet==4.0.0" in text
    assert any(n.startswith("chardet 4.0.0") and "no longer" in n for n in outcome.notes)


def test_hand_written_files_keep_comments_markers_and_order(tmp_path: Path) -> None:
    root = project(tmp_path, "handwritten")
    bumps = [
        bump("jinja2", "2.11.2", "2.11.3", direct=True),
        bump("requests", "2.25.1", "2.31.0", direct=True),
        bump("urllib3", "1.26.4", "1.26.19"),
    ]
    outcome = fix(root, "requirements.txt", bumps)
    strategies = [o.strategy for o in outcome.outcomes]
    assert strategies == [Strategy.RELAX, Strategy.RELAX, Strategy.OVERRIDE]
    want = ASSETS / "handwritten-want"
    got = {e.path: e.after for e in outcome.edits}
    assert got == {p.name: p.read_text() for p in sorted(want.iterdir())}
    befores = {e.path: e.before for e in outcome.edits}
    assert befores["constraints.txt"] is None
    assert outcome.outcomes[0].reason.endswith("in base.txt")
    # The override holds: the resolution of the fixed files has urllib3 at or above 1.26.19.
    fixed = applied(tmp_path, root, outcome)
    final = resolved(uv_compile(tmp_path, [f"-r {fixed / 'requirements.txt'}"]))
    assert Version(final["urllib3"]) >= Version("1.26.19")
    assert outcome.outcomes[2].resolved == final["urllib3"]


def test_an_override_a_pinned_parent_forbids_moves_that_parent(tmp_path: Path) -> None:
    root = project(tmp_path, "handwritten")
    outcome = fix(root, "requirements.txt", [bump("idna", "2.10", "3.7")])
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.CO_UPGRADE
    assert result.co_upgrades == (("requests", "2.25.1", "2.26.0"),)
    got = {e.path: e.after for e in outcome.edits}
    assert got["constraints.txt"] == "idna>=3.7\n"
    assert "Requests[socks] == 2.26.0 ;" in (got["requirements.txt"] or "")


def test_an_existing_constraints_file_is_reused_and_raised(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "requirements.txt").write_text("-c constraints.txt\nrequests==2.25.1\n")
    (root / "constraints.txt").write_text("# keep urllib3 old\nurllib3<1.26.5\n")
    outcome = fix(root, "requirements.txt", [bump("urllib3", "1.26.4", "1.26.19")])
    (result,) = outcome.outcomes
    assert (result.strategy, result.resolved) == (Strategy.OVERRIDE, "1.26.19")
    (edit,) = outcome.edits
    assert edit.path == "constraints.txt"
    assert edit.after == "# keep urllib3 old\nurllib3>=1.26.19,<1.26.20\n"


def test_a_bump_the_resolver_refuses_fails_alone(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    bumps = [
        bump("idna", "2.10", "99.0"),
        Bump(Ecosystem.NPM, NormalizedName("left-pad"), "1.0.0", "1.3.0", True),
        bump("urllib3", "1.26.4", "1.26.19"),
    ]
    outcome = fix(root, "requirements.txt", bumps)
    bad, npm, good = outcome.outcomes
    assert bad.strategy is None
    assert "idna" in bad.reason
    assert "99.0" in bad.reason
    assert npm.strategy is None
    assert good.strategy is Strategy.IN_PLACE
    assert not outcome.ok
    (edit,) = outcome.edits
    assert edit.after == (edit.before or "").replace("urllib3==1.26.4", "urllib3==1.26.19")


def test_no_network_is_a_fix_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # uv's offline mode with an empty cache: the index cannot be reached, as without network.
    root = project(tmp_path, "compiled")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    before = snapshot(root)
    with pytest.raises(FixError, match="does not resolve as it is"):
        RequirementsFixer().fix(root, Path("requirements.txt"), [bump("idna", "2.10", "3.7")])
    assert snapshot(root) == before


def test_projects_the_fixer_cannot_work_on(tmp_path: Path) -> None:
    root = project(tmp_path, "compiled")
    fixer = RequirementsFixer()
    (tmp_path / "elsewhere.txt").write_text("idna==2.10\n")
    with pytest.raises(FixError, match="not inside the project"):
        fixer.fix(root, tmp_path / "elsewhere.txt", [])
    (root / "outside.txt").write_text("-r ../elsewhere.txt\n")
    with pytest.raises(FixError, match="outside the project"):
        fixer.fix(root, Path("outside.txt"), [])
    # A continuation uv's parser refuses (pip accepts it): the file cannot be resolved.
    (root / "continued.txt").write_text('idna==2.10 \\\n    ; python_version >= "3"\n')
    with pytest.raises(FixError, match="does not resolve as it is"):
        fixer.fix(root, Path("continued.txt"), [bump("idna", "2.10", "3.7")])
    with pytest.raises(FixError, match=r"not a file|cannot be read"):
        fixer.fix(root, Path("missing.txt"), [])


def test_a_python_version_file_sets_the_target_python(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / ".python-version").write_text("3.12.4\n")
    (root / "requirements.txt").write_text("idna==2.10\n")
    outcome = fix(root, "requirements.txt", [bump("idna", "2.10", "3.7", direct=True)])
    assert outcome.outcomes[0].strategy is Strategy.RELAX
    assert all("--python-version 3.12" in c for c in outcome.commands)
    assert outcome.edits[0].after == "idna==3.7\n"

"""The requirements fixer's line model and line edits, on the real compiled assets.

No resolver runs here: these check that reading and editing a requirements file changes
exactly the version text (and hash lines) of one pin and nothing else, in every layout the
real tools write. Expected texts are built from the input by plain string operations.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.fixers.requirements_txt import parse_requirements, set_pin

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "req"
COMPILED = ASSETS / "compiled"
HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64
HASH_C = "sha256:" + "c" * 64


def test_reads_the_compiled_file_as_uv_wrote_it() -> None:
    text = (COMPILED / "requirements.txt").read_text()
    parsed = parse_requirements(text)
    pins = {r.name: r.version for r in parsed.reqs}
    # The same pins a line-by-line reading of `name==version` lines gives.
    want = dict(
        line.split("==", 1) for line in text.splitlines() if "==" in line and line[0].isalpha()
    )
    assert pins == want
    assert parsed.compiled
    assert not parsed.hashed
    urllib3 = parsed.find("urllib3")[0]
    assert urllib3.via == ("-c pins.in", "requests")
    assert urllib3.package_parents == ("requests",)
    assert parsed.find("requests")[0].file_refs == ("-r requirements.in",)


def test_reads_hash_lines_and_their_via_blocks() -> None:
    text = (COMPILED / "requirements-hashes.txt").read_text()
    parsed = parse_requirements(text)
    assert parsed.hashed
    idna = parsed.find("idna")[0]
    lines = text.splitlines()
    hashes = [
        line.strip().removesuffix("\\").strip().removeprefix("--hash=")
        for line in lines[idna.start + 1 : idna.end]
    ]
    assert idna.hashes == tuple(hashes)
    assert len(hashes) == 2
    assert idna.via == ("-c pins.in", "requests")
    assert lines[idna.block_end - 1].strip() == "#   requests"


def test_set_pin_changes_only_the_version_text() -> None:
    text = (COMPILED / "requirements.txt").read_text()
    req = parse_requirements(text).find("urllib3")[0]
    after = set_pin(text, req, "1.26.19")
    assert after == text.replace("urllib3==1.26.4\n", "urllib3==1.26.19\n")


def test_set_pin_rewrites_hash_lines_in_the_same_layout() -> None:
    text = (COMPILED / "requirements-hashes.txt").read_text()
    req = parse_requirements(text).find("idna")[0]
    after = set_pin(text, req, "3.7", [HASH_A, HASH_B, HASH_C])
    old_block = "".join(text.splitlines(keepends=True)[req.start : req.end])
    new_block = (
        f"idna==3.7 \\\n    --hash={HASH_A} \\\n    --hash={HASH_B} \\\n    --hash={HASH_C}\n"
    )
    assert after == text.replace(old_block, new_block)
    again = parse_requirements(after).find("idna")[0]
    assert again.hashes == (HASH_A, HASH_B, HASH_C)
    assert again.via == req.via


def test_hashes_on_one_line_stay_on_one_line_before_a_comment() -> None:
    text = f"six==1.15.0 --hash={HASH_A} --hash={HASH_B}  # pinned\nzope==1\n"
    req = parse_requirements(text).find("six")[0]
    assert req.hashes == (HASH_A, HASH_B)
    after = set_pin(text, req, "1.16.0", [HASH_C])
    assert after == f"six==1.16.0 --hash={HASH_C}  # pinned\nzope==1\n"


def test_markers_extras_comments_and_crlf_survive() -> None:
    text = (
        "# top\r\n"
        'Requests[socks] == 2.25.1 ; python_version >= "3.8"  # note ==2.25.1\r\n'
        "idna===2.10\r\n"
    )
    parsed = parse_requirements(text)
    assert parsed.newline == "\r\n"
    req = parsed.find("requests")[0]
    assert req.version == "2.25.1"
    after = set_pin(text, req, "2.31.0")
    assert after == text.replace("== 2.25.1 ;", "== 2.31.0 ;")
    idna = parse_requirements(after).find("idna")[0]
    assert set_pin(after, idna, "3.7") == after.replace("===2.10", "===3.7")


def test_a_version_that_is_a_prefix_of_another_is_not_matched() -> None:
    text = "pkg==1.2.3 ; python_version >= '1.2'\n"
    req = parse_requirements(text).find("pkg")[0]
    assert set_pin(text, req, "1.2.4") == "pkg==1.2.4 ; python_version >= '1.2'\n"
    text = "pkg==1.2\n"
    req = parse_requirements(text).find("pkg")[0]
    assert set_pin(text, req, "1.3") == "pkg==1.3\n"


def test_options_paths_and_ranges_are_not_pins() -> None:
    text = (
        "-c constraints.txt\n--constraint=more.txt\n-e ./libs/helper\n"
        "./local.whl\nflask>=2\nwerkzeug==2.*\nhttps://example.org/x.whl\n"
    )
    parsed = parse_requirements(text)
    assert parsed.constraints == ("constraints.txt", "more.txt")
    assert [r.name for r in parsed.reqs] == ["flask", "werkzeug"]
    assert all(r.version is None for r in parsed.reqs)
    assert parsed.option_ends == (1, 2, 3)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab=1.#\\ \n;-[]<>~@:/'\"\r\t")), max_size=80))
def test_junk_is_read_without_exceptions(text: str) -> None:
    parsed = parse_requirements(text)
    for req in parsed.reqs:
        assert 0 <= req.start < req.end <= req.block_end <= len(parsed.lines)
        if req.version is not None:
            edited = set_pin(text, req, "9.9")
            assert parse_requirements(edited).find(req.name)

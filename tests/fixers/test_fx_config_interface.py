"""The configuration-mitigation catalog, the vendored Mozilla TLS data and the VEX helper."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from importlib import resources

import pytest

from patchpilot.fixers.config import MITIGATIONS, ConfigChange, mitigation, mitigation_vex
from patchpilot.fixers.config.nginx import PROFILE_FILE, mozilla_profile

PROFILES = resources.files("patchpilot.fixers.config").joinpath("profiles")


def test_vendored_profile_is_the_documented_file() -> None:
    data = PROFILES.joinpath(PROFILE_FILE).read_bytes()
    readme = PROFILES.joinpath("README.md").read_text(encoding="utf-8")
    digest = re.search(r"SHA-256\s+`([0-9a-f]{64})`", readme)
    assert digest is not None
    assert hashlib.sha256(data).hexdigest() == digest.group(1)
    assert f"{len(data):,} bytes" in readme
    assert json.loads(data)["version"] == 5.1


def test_nginx_values_are_derived_from_the_intermediate_profile() -> None:
    raw = json.loads(PROFILES.joinpath(PROFILE_FILE).read_text(encoding="utf-8"))
    conf = raw["configurations"]["intermediate"]
    profile = mozilla_profile()
    assert profile.version == "5.1"
    assert profile.ssl_protocols == " ".join(conf["tls_versions"]) == "TLSv1.2 TLSv1.3"
    assert profile.ssl_ciphers == ":".join(conf["ciphers"]["openssl"])
    assert profile.hsts_min_age == conf["hsts_min_age"]
    assert mozilla_profile("modern").protocols == ("TLSv1.3",)
    with pytest.raises(ValueError, match="no usable 'nosuch' configuration"):
        mozilla_profile("nosuch")


def test_catalog_ids_tiers_and_texts() -> None:
    tiers = {ident: m.tier for ident, m in MITIGATIONS.items()}
    assert tiers == {
        "django-debug-env": "B",
        "django-secure-cookies": "B",
        "django-hsts": "C",
        "django-ssl-redirect": "C",
        "nginx-tls-protocols": "B",
        "nginx-tls-ciphers": "B",
        "nginx-hsts": "C",
        "nginx-https-redirect": "C",
    }
    for m in MITIGATIONS.values():
        assert m.explanation.startswith("### ")
        assert m.cwe and all(re.fullmatch(r"CWE-\d+", c) for c in m.cwe)
    assert mitigation("django-debug-env").packages == ("pkg:pypi/django",)
    assert set(mitigation("django-secure-cookies").cwe) == {"CWE-614", "CWE-1004"}


def test_mitigation_vex_ties_the_statement_to_the_change_and_an_expiry() -> None:
    change = ConfigChange(
        mitigation="django-debug-env",
        path="mysite/settings.py",
        line=27,
        key="DEBUG",
        before="True",
        after='os.environ.get("DJANGO_DEBUG") == "1"',
        description="DEBUG True → off unless DJANGO_DEBUG=1",
    )
    vex = mitigation_vex(
        change, ["PYSEC-2023-100", "CVE-2023-1", "PYSEC-2023-100", " "], date(2027, 1, 31)
    )
    assert vex.vulnerabilities == ("PYSEC-2023-100", "CVE-2023-1")
    assert (vex.status, vex.justification) == ("not_affected", "inline_mitigations_already_exist")
    assert vex.expires == date(2027, 1, 31)
    assert "mysite/settings.py:27" in vex.impact_statement
    assert "2027-01-31" in vex.action_statement
    with pytest.raises(ValueError, match="at least one finding id"):
        mitigation_vex(change, [], date(2027, 1, 31))

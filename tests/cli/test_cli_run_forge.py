"""`run --forge`: which forge adapter the CLI builds from the CI environment."""

from __future__ import annotations

import pytest

from patchpilot.cli.run import forge_from
from patchpilot.deliver.forge import GitHubForge, GitLabForge
from patchpilot.errors import UsageError


def test_local_is_plain_git() -> None:
    assert forge_from("local") is None


def test_github_from_the_actions_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/widget")
    monkeypatch.setenv("GITHUB_TOKEN", "t0k3n")
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    assert isinstance(forge_from("github"), GitHubForge)


def test_gitlab_from_the_ci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_PROJECT_ID", "42")
    monkeypatch.setenv("GITLAB_TOKEN", "t0k3n")
    assert isinstance(forge_from("gitlab"), GitLabForge)


@pytest.mark.parametrize("name", ["github", "gitlab"])
def test_missing_settings_are_a_usage_error(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    for var in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "CI_PROJECT_ID", "GITLAB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError, match="needs"):
        forge_from(name)

"""Render message templates with Jinja2."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Markup, select_autoescape


def environment(template_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(template_dir)),
        autoescape=select_autoescape(["html", "xml"]),
    )
    env.filters["badge"] = badge
    return env


def badge(text: str) -> Markup:
    """A small HTML badge; the text is escaped, the markup around it is trusted."""
    return Markup('<span class="badge">%s</span>') % text


def render(env: Environment, template: str, **context: object) -> str:
    return env.get_template(template).render(**context)

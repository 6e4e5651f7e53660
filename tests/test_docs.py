"""The documentation is self-contained: every link resolves inside the repository, nothing points
at files a user's clone does not have, and no command advertises a tool xborder does not install."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests import REPO_ROOT

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _markdown() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [REPO_ROOT / line for line in listed.stdout.split()]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    body = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", body, flags=re.M)}


@pytest.mark.parametrize("path", _markdown(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_links_resolve_inside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{path.name} points at ../shared, which a user's clone does not have"
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.is_relative_to(REPO_ROOT), f"{path.name}: {target} leaves the repository"
        assert resolved.exists(), f"{path.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{path.name}: no heading #{anchor} in {file or path.name}"


def test_no_command_needs_a_duckdb_cli() -> None:
    for path in _markdown():
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not re.match(r"\s*duckdb\s+-", line), (
                f"{path.name} runs a duckdb CLI xborder does not install: {line}"
            )


def test_design_is_in_the_repository_with_every_section() -> None:
    design = (REPO_ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (\d+)\. ", design, flags=re.M)
    assert sections == [str(n) for n in range(1, 11)]
    cited = set()
    for path in [
        *REPO_ROOT.glob("pipelines/**/*.py"),
        *REPO_ROOT.glob("pipelines/resources/sql/**/*.sql"),
        *_markdown(),
    ]:
        cited |= set(re.findall(r"design(?:\.md)? §(\d+)", path.read_text(encoding="utf-8")))
    assert cited and cited <= set(sections)

"""The README is a front door: short, every link resolves, and its quoted stepper output is real."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_is_a_front_door():
    assert len(README.splitlines()) <= 250


def test_every_relative_link_in_readme_and_docs_resolves():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to a missing {target}"


def test_readme_stepper_excerpt_is_in_the_tested_transcript():
    excerpt = re.search(r"```text\n(step \d+ of \d+: matmul.*?)```", README, re.S).group(1)
    assert excerpt in (ROOT / "docs" / "stepping.md").read_text(encoding="utf-8")

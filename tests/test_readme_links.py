"""The README's links work in a clone: every relative link names a file inside the project."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_relative_link_in_the_readme_and_docs_stays_in_the_project():
    """A link such as ../shared/DESIGN.md points outside a clone; every relative link resolves to a file or
    folder of the project, and the design is the project's own docs/design.md."""
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue   # http:, mailto: …
            path = (doc.parent / target).resolve()
            if not path.is_relative_to(ROOT.resolve()) or not path.exists():
                broken.append(f"{doc.name}: {target}")
    assert broken == []
    assert "(docs/design.md)" in (ROOT / "README.md").read_text(encoding="utf-8")

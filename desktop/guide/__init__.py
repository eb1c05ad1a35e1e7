"""The user guide shipped with the app (resources/guide/): where its files are, per role.

``resources/guide`` holds cadre.md (village cadres), central.md (central staff and administrators),
their screenshots in images/, and quick-card.md with the printable quick-card.pdf made from it
(``python -m desktop.guide.quick_card``). The folder is found through ``resources.path`` so the same
code finds it in the repository, in an installed package and in the PyInstaller build (the spec ships
resources/ whole).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

import resources

CADRE_GUIDE = "cadre.md"
CENTRAL_GUIDE = "central.md"
QUICK_CARD_SOURCE = "quick-card.md"
QUICK_CARD_PDF = "quick-card.pdf"
# Central staff and administrators work in the 审核工作台 and read the same guide.
_GUIDE_OF_ROLE = {"cadre": CADRE_GUIDE, "central": CENTRAL_GUIDE, "admin": CENTRAL_GUIDE}


def guide_dir() -> Path:
    """The folder resources/guide as a real path (Qt opens the files by path and resolves images/ from it)."""
    return Path(str(resources.path("guide")))


def guide_file(role: str | None) -> Path:
    """The guide an operator of this role reads: cadre.md for cadres (and before anyone logs in),
    central.md for central staff and administrators."""
    return guide_dir() / _GUIDE_OF_ROLE.get(role or "cadre", CADRE_GUIDE)


_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def missing_images(guide: Path) -> list[str]:
    """The pictures a guide shows that are not beside it (a source checkout before
    ``python -m desktop.guide.shots`` ran: the installers always have them)."""
    text = guide.read_text(encoding="utf-8")
    return [ref for ref in _IMAGE.findall(text) if not (guide.parent / ref).is_file()]


def quick_card_pdf() -> Path:
    return guide_dir() / QUICK_CARD_PDF


def open_external(path: Path) -> bool:
    """Open a file with the system's viewer (the PDF reader for the quick card); tests replace this."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

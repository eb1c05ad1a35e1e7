"""A PDF's text, page by page, read back with QtPdf: ``python -m tests.desktop.pdf_text FILE`` prints a JSON
list of pages. Tests outside desktop/ run it as a child process, so Qt stays in the desktop's tests."""

from __future__ import annotations

import json
import os
import sys


def pages(path: str) -> list[str]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtPdf import QPdfDocument

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QtPdf needs an application
    pdf = QPdfDocument()
    if pdf.load(path) != QPdfDocument.Error.None_:
        raise SystemExit(f"error: cannot read {path}")
    try:
        return [pdf.getAllText(i).text() for i in range(pdf.pageCount())]
    finally:
        pdf.close()


if __name__ == "__main__":
    print(json.dumps(pages(sys.argv[1]), ensure_ascii=False))

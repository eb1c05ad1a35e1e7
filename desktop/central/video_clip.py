"""播放视频 in 远程核验: central staff watch and hear a video attempt's clip themselves (the worker says the
digits in it; the cadre's tick is no proof). The clip is fetched from the registry (``GET /api/blobs/{sha256}``,
audited) on the workspace's lane and written there to a temp file only its owner can read (0600): the
clip shows a resident's face and voice. The player dialog deletes the file when it closes.

Imported on the first 播放视频 only (the player pulls in QtMultimedia).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from sync import verification_ops

from ..verification.player import ClipPlayer

# The container from the file's first bytes: the player's demuxer is told by the name as well as the bytes.
_MAGIC = ((4, b"ftyp", ".mp4"), (0, b"\x1a\x45\xdf\xa3", ".mkv"), (0, b"RIFF", ".avi"))


def clip_suffix(data: bytes) -> str:
    return next((suffix for at, magic, suffix in _MAGIC if data[at:at + len(magic)] == magic), ".mp4")


def write_private_clip(data: bytes) -> Path:
    """The clip in a new temp file readable by this user only (``mkstemp`` makes it 0600; said again here
    so that no umask or platform default decides it)."""
    fd, name = tempfile.mkstemp(prefix="yk-clip-", suffix=clip_suffix(data))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def fetch_clip(client: Any, sha256: str) -> Path:
    """On the lane: the clip's bytes from the registry, into a private temp file (never on the UI thread)."""
    return write_private_clip(verification_ops.video_clip(client.http, sha256))


class ClipDialog(QDialog):
    """The clip, playing with its sound as it opens; ``about`` says what the worker was asked to do.
    The temp file ``path`` is removed when the dialog closes."""

    def __init__(self, path: Path, about: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setObjectName("verificationClipDialog")
        self.setWindowTitle(self.tr("播放视频"))
        self.about = QLabel(about)
        self.about.setObjectName("clipAbout")
        self.about.setWordWrap(True)
        self.about.setStyleSheet("font-size: 14px;")
        self.note = QLabel(self.tr("请打开声音，亲自听本人念出的数字，并看是否做了要求的动作。观看记入审计日志。"))
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        self.clip_player = ClipPlayer(self)
        self.player = self.clip_player.player
        self.close_button = QPushButton(self.tr("关闭"))
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clip_player.play_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        v = QVBoxLayout(self)
        v.addWidget(self.about)
        v.addWidget(self.clip_player.view, 1)
        v.addLayout(buttons)
        v.addWidget(self.note)
        self.resize(560, 560)
        self.clip_player.load(path)
        self.player.play()

    def done(self, result: int) -> None:
        self.clip_player.stop()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        super().done(result)

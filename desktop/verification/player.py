"""The clip player both sides of the offline video path use (docs/verification-api.md): the cadre's 视频核验
dialog plays the clip the worker sent, central staff's 远程核验 plays the clip the registry kept. The worker
says the digits in it, so it plays with its sound: whoever reviews it must hear them.

QtMultimedia is imported here only, and this module only when a player is first opened, so the apps' start
does not pay for it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSizeF, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QPushButton, QWidget


class VideoView(QGraphicsView):
    """The clip's picture, scaled to fit. A ``QGraphicsVideoItem`` rather than a ``QVideoWidget``: the widget
    draws into a native child window through the GPU (nothing at all without a GPU backend, and nothing in
    a screenshot), the item through QPainter like every other widget, with Qt's CPU frame conversion."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = QGraphicsVideoItem()
        self.item.setSize(QSizeF(320, 240))
        self.setScene(QGraphicsScene(self))
        self.scene().addItem(self.item)
        self.setBackgroundBrush(QColor("#222222"))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.item.nativeSizeChanged.connect(self._native_size)

    def _native_size(self, size: QSizeF) -> None:
        if not size.isEmpty():
            self.item.setSize(size)
            self._fit()

    def _fit(self) -> None:
        self.scene().setSceneRect(self.item.boundingRect())
        self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()


class ClipPlayer(QObject):
    """One clip with its sound: ``view`` (the picture) and ``play_button`` (播放/暂停), for the owner to place
    in its layout, and ``player`` (the ``QMediaPlayer``). ``load(path)`` shows the first frame, paused; ``stop()`` before the
    file goes away. Emits ``playing(bool)`` as playback starts and stops."""

    playing = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = VideoView()
        self.view.setObjectName("videoView")
        self.view.setMinimumSize(320, 300)
        self.play_button = QPushButton(self.tr("播放"))
        self.play_button.setObjectName("videoPlay")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle_play)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)   # the worker's voice saying the digits: the reviewer must hear it
        self.player.setAudioOutput(self.audio)
        self.player.setVideoOutput(self.view.item)
        self.player.playbackStateChanged.connect(self._playback_changed)

    def load(self, path: str | Path) -> None:
        self.player.stop()
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.pause()   # paused at the start: the first frame shows before 播放 is pressed
        self.play_button.setEnabled(True)

    def stop(self) -> None:
        """Stop and let go of the file (the central player deletes it next)."""
        self.player.stop()
        self.player.setSource(QUrl())
        self.play_button.setEnabled(False)

    @Slot()
    def toggle_play(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def is_playing(self) -> bool:
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def _playback_changed(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setText(self.tr("暂停") if playing else self.tr("播放"))
        self.playing.emit(playing)

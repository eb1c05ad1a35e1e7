"""The capture dialog: live camera preview with face guidance, automatic capture, card-photo review.

Threads (the UI thread only draws):

* ``FrameGrabber`` (its own QThread, a blocking loop) reads the camera source at its frame rate
  (at most 30 fps), turns each frame into a display-sized QImage and emits it with the newest
  face box and guidance code. When the analyser is idle it hands it the frame; when it is busy the
  frame is simply not analysed (dropped), so the preview never waits for face work.
* ``FrameAnalyzer`` (its own QThread, event driven) loads the face models, runs
  ``capture.quality.assess(purpose="preview")`` on the frames it is given (detection on a downscaled
  copy, as the limits say), and when every check passes a few frames running, takes the sharpest of
  them through ``capture.pipeline.process_photo`` (the full card checks, the card photo, the template).
  Manual capture and import from file take the same path.

Neither worker touches a widget; results come back by signal. A machine without a camera gets a
clear message and the import-from-file path, never a crash.

Background: by default the person is segmented from the room and put on the standard white
(``capture.pipeline`` REPLACE); the review page shows the photo as taken beside the result, and the
cadre can switch to 「白布背景拍摄（不替换背景）」 (AS_SHOT: the photo was shot against a white sheet,
its own background is kept and checked as before). Switching on the review page re-runs the photo
on the analyser thread. The choice belongs to the dialog (one photo's scene), not to the settings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .errors import describe, guidance_text

log = logging.getLogger(__name__)

PREVIEW_SIZE = QSize(640, 480)
MAX_FPS = 30.0
AUTO_BEST_OF = 3          # passing frames collected before the sharpest one is captured
AUTO_WINDOW_S = 1.0       # ... or this long after the first passing frame
AUTO_COOLDOWN_S = 1.5     # after an automatic capture failed the card checks
GUIDANCE_CARD_ORDER = ("face.multiple", "face.none", "face.too_small", "card_photo.head_out_of_frame",
                       "image.too_dark", "image.too_bright", "pose.yaw", "pose.pitch", "pose.roll",
                       "eyes.closed", "image.blurry", "image.low_contrast", "background.not_plain")

# capture.pipeline's background modes (the desktop imports capture lazily, on the worker threads)
REPLACE, AS_SHOT = "replace", "as_shot"

_ENGINE: Any = None
_ENGINE_LOCK = threading.Lock()


def shared_engine() -> Any:
    """The app's one FaceEngine (models load lazily, on the analyser thread)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            from capture.faces import FaceEngine

            _ENGINE = FaceEngine()
        return _ENGINE


def _native_on_this_thread() -> None:
    """dlib's first use on the UI thread, before the analyser thread exists. A first use inside a
    QThread slot crashed the app (SIGSEGV; the cause is in capture/native.py, which also makes a
    first use on any thread safe): this keeps the one-time cost (~20 ms) off the analyser too."""
    from capture.native import dlib

    try:
        dlib()
    except Exception:  # noqa: BLE001 - the analyser's model load reports it in the dialog
        log.exception("dlib unavailable")


def default_camera() -> Any:
    """The camera the app uses: $YIKATONG_CAMERA (a webcam index, a video file or a folder), else webcam 0."""
    import os

    from capture.sources import WebcamSource, open_source

    spec = os.environ.get("YIKATONG_CAMERA", "").strip()
    return open_source(spec) if spec else WebcamSource(0)


def bgr_to_qimage(image: np.ndarray, max_side: int | None = None) -> tuple[QImage, float]:
    """A deep-copied RGB QImage of a BGR frame (safe to build off the UI thread) and the scale used."""
    h, w = image.shape[:2]
    scale = 1.0
    if max_side and max(h, w) > max_side:
        scale = max_side / float(max(h, w))
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    qimg = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
    return qimg.copy(), scale


@dataclass(frozen=True)
class LiveFrame:
    """What the grabber hands the UI for one frame."""

    image: QImage                    # display size
    box: tuple[float, float, float, float] | None   # face box in display coordinates
    code: str | None                 # the one guidance code (None: every preview check passes)
    analysed: int                    # 1 when a face analysis has run since the preview started
    frame: np.ndarray                # the full-resolution BGR frame (for a manual capture)
    index: int


class _Shared:
    """State the two workers share (under one lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.busy = False                 # the analyser is working on something
        self.paused = False               # a photo was taken: no more analysis until a retake
        self.box: Any = None              # newest face box (source coordinates)
        self.code: str | None = "face.none"
        self.analysed = 0
        self.generation = 0               # bumped by a retake: older analyser results are ignored
        self.ui_pending = False           # a frame is on its way to the UI: newer ones are dropped
        self.background = REPLACE         # how the card photo is made (the cadre's choice)

    def try_claim(self) -> bool:
        with self.lock:
            if self.busy or self.paused:
                return False
            self.busy = True
            return True


class FrameGrabber(QObject):
    frame_ready = Signal(object)          # LiveFrame
    failed = Signal(object)               # the exception (camera.unavailable ...)
    ended = Signal()                      # the source has no more frames
    analyse = Signal(object, int, int)    # frame, index, generation -> the analyser

    def __init__(self, source_factory: Callable[[], Any], shared: _Shared) -> None:
        super().__init__()
        self._factory = source_factory
        self._shared = shared

    @Slot()
    def run(self) -> None:
        shared = self._shared
        source = None
        try:
            source = self._factory()
            source.open()
            interval = 1.0 / min(MAX_FPS, float(getattr(source, "fps", 0) or MAX_FPS))
            next_due = time.monotonic()
            while not shared.stop.is_set():
                if shared.paused:
                    shared.stop.wait(0.05)
                    next_due = time.monotonic()
                    continue
                frame = source.read()
                if frame is None:
                    self.ended.emit()
                    break
                image = frame.image
                if shared.try_claim():
                    self.analyse.emit(image, frame.index, shared.generation)
                qimg, scale = bgr_to_qimage(image, max(PREVIEW_SIZE.width(), PREVIEW_SIZE.height()))
                with shared.lock:
                    box, code, analysed = shared.box, shared.code, shared.analysed
                disp = None if box is None else (box.left * scale, box.top * scale, box.right * scale,
                                                 box.bottom * scale)
                with shared.lock:
                    drop, shared.ui_pending = shared.ui_pending, True
                if not drop:
                    self.frame_ready.emit(LiveFrame(qimg, disp, code, analysed, image, frame.index))
                next_due += interval
                delay = next_due - time.monotonic()
                if delay > 0:
                    shared.stop.wait(delay)
                else:
                    next_due = time.monotonic()
        except Exception as e:  # noqa: BLE001 - the UI words it (camera.unavailable ...)
            log.warning("camera source failed: %s", getattr(e, "code", type(e).__name__))
            self.failed.emit(e)
        finally:
            if source is not None:
                try:
                    source.close()
                except Exception:  # noqa: BLE001
                    log.exception("closing the camera source")
            QThread.currentThread().quit()


class FrameAnalyzer(QObject):
    ready = Signal(object)             # None, or the exception when the models could not load
    captured = Signal(object, object, str, object)   # CaptureResult, (display QImage, scale), how
                                                     # ("auto"/"manual"/"file"/"redo"), the source frame
    capture_failed = Signal(object, str)     # the exception, how

    def __init__(self, engine: Any, shared: _Shared, limits: Any = None, spec: Any = None,
                 auto: bool = True) -> None:
        super().__init__()
        self.engine, self._shared, self.limits, self.spec, self.auto = engine, shared, limits, spec, auto
        self._candidates: list[tuple[float, np.ndarray]] = []
        self._first_ok = 0.0
        self._cooldown_until = 0.0
        self._generation = 0

    @Slot()
    def warm_up(self) -> None:
        try:
            self.engine.load()
        except Exception as e:  # noqa: BLE001
            self.ready.emit(e)
            return
        self.ready.emit(None)

    def _release(self) -> None:
        with self._shared.lock:
            self._shared.busy = False

    @Slot(object, int, int)
    def analyse(self, image: np.ndarray, index: int, generation: int) -> None:
        from capture.quality import assess, guidance

        try:
            if generation != self._generation:
                self._generation = generation
                self._candidates = []
            if self._shared.paused or self._shared.stop.is_set():
                return
            report = assess(image, self.engine, self.limits, purpose="preview")
            code = guidance(report)
            with self._shared.lock:
                if generation == self._shared.generation:
                    self._shared.box, self._shared.code = report.face, code
                    self._shared.analysed = 1
            if not self.auto or code is not None:
                self._candidates = []
                return
            now = time.monotonic()
            if now < self._cooldown_until:
                return
            if not self._candidates:
                self._first_ok = now
            self._candidates.append((float(report.value("image.blurry") or 0.0), image))
            if len(self._candidates) >= AUTO_BEST_OF or now - self._first_ok >= AUTO_WINDOW_S:
                best = max(self._candidates, key=lambda c: c[0])[1]
                self._candidates = []
                self._process(best, "auto", generation)
        except Exception:  # noqa: BLE001 - one bad frame must not stop the preview
            log.exception("frame analysis failed")
        finally:
            self._release()

    @Slot(object, str, int)
    def capture(self, image: np.ndarray, how: str, generation: int) -> None:
        try:
            self._process(image, how, generation)
        finally:
            self._release()

    @Slot(str, int)
    def import_file(self, path: str, generation: int) -> None:
        from capture.images import load_image

        try:
            image = load_image(path)
        except Exception as e:  # noqa: BLE001
            self.capture_failed.emit(e, "file")
            self._release()
            return
        self.capture(image, "file", generation)

    @Slot(object, int)
    def redo(self, image: np.ndarray, generation: int) -> None:
        """The photo on the review page again, with the background mode now chosen."""
        try:
            self._process(image, "redo", generation)
        finally:
            self._release()

    def _process(self, image: np.ndarray, how: str, generation: int) -> None:
        from capture.errors import E_QUALITY_FAILED
        from capture.pipeline import process_photo

        with self._shared.lock:
            background = self._shared.background
        try:
            self.engine.load()
            result = process_photo(image, self.engine, limits=self.limits, spec=self.spec,
                                   background=background)
        except Exception as e:  # noqa: BLE001 - quality.failed and friends go back to the UI
            if how == "auto":
                self._cooldown_until = time.monotonic() + AUTO_COOLDOWN_S
                failed = list(getattr(e, "data", {}).get("failed") or []) if getattr(
                    e, "code", "") == E_QUALITY_FAILED else [getattr(e, "code", "")]
                code = next((c for c in GUIDANCE_CARD_ORDER if c in failed), None)
                with self._shared.lock:
                    if generation == self._shared.generation and code:
                        self._shared.code = code
            self.capture_failed.emit(e, how)
            return
        with self._shared.lock:
            if generation != self._shared.generation or self._shared.stop.is_set():
                return  # a retake or close came first
            self._shared.paused = True
        # the display copy is made here, not on the UI
        self.captured.emit(result, bgr_to_qimage(image, 1200), how, image)


def _frame_pixmap(image: QImage, box: tuple[float, float, float, float] | None, ok: bool) -> QPixmap:
    pix = QPixmap.fromImage(image)
    if box is not None:
        painter = QPainter(pix)
        pen = QPen(QColor("#2e7d32" if ok else "#f9a825"))
        pen.setWidth(max(2, round(pix.width() / 200)))
        painter.setPen(pen)
        painter.drawRect(QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1]))
        painter.end()
    return pix


class CaptureDialog(QDialog):
    """Live preview → (auto | manual | file) capture → review side by side → 使用此照片."""

    photo_accepted = Signal(object)       # capture.pipeline.CaptureResult
    guidance_changed = Signal(str)        # the guidance code ("" when every check passes)
    auto_captured = Signal()

    def __init__(self, parent: QWidget | None = None, *, source_factory: Callable[[], Any] | None = None,
                 engine: Any = None, limits: Any = None, spec: Any = None, auto: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("captureDialog")
        self.setWindowTitle(self.tr("拍摄证件照"))
        self._factory = source_factory or default_camera
        _native_on_this_thread()
        self._engine = engine if engine is not None else shared_engine()
        if limits is None:
            from capture.quality import QualityLimits

            limits = QualityLimits.load()
        self.limits = limits
        self._shared = _Shared()
        self._threads: list[QThread] = []
        self._result: Any = None
        self._source_frame: np.ndarray | None = None   # the photo on the review page, as taken
        self._last: LiveFrame | None = None
        self.captured_how = ""
        self.guidance_code: str | None = None
        self._preparing_shown = False
        self.camera_error: BaseException | None = None
        self.frames_shown = 0
        self._fps_window: list[float] = []
        self._build()

        self._analyzer = FrameAnalyzer(self._engine, self._shared, limits, spec, auto)
        self._analyzer_thread = QThread()
        self._analyzer_thread.setObjectName("capture-analyzer")
        self._analyzer.moveToThread(self._analyzer_thread)
        self._analyzer_thread.started.connect(self._analyzer.warm_up)
        self._analyzer.ready.connect(self._on_ready)
        self._analyzer.captured.connect(self._on_captured)
        self._analyzer.capture_failed.connect(self._on_capture_failed)
        self._capture_request.connect(self._analyzer.capture)
        self._import_request.connect(self._analyzer.import_file)
        self._redo_request.connect(self._analyzer.redo)
        self._threads.append(self._analyzer_thread)
        self._analyzer_thread.start()
        self._grabber_thread: QThread | None = None
        self._start_camera()

    _capture_request = Signal(object, str, int)
    _import_request = Signal(str, int)
    _redo_request = Signal(object, int)
    background_changed = Signal(str)      # REPLACE / AS_SHOT
    redone = Signal()                     # the review page shows the photo made in the newly chosen mode

    # ---- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.pages = QStackedWidget()

        live = QWidget()
        self.preview_label = QLabel()
        self.preview_label.setObjectName("preview")
        self.preview_label.setFixedSize(PREVIEW_SIZE)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview_label.setWordWrap(True)
        self.preview_label.setStyleSheet("background: #222; color: #eee;")
        self.preview_label.setMargin(0)
        self.preview_label.setText(self.tr("正在打开摄像头…"))
        self.guidance_label = QLabel()
        self.guidance_label.setObjectName("guidance")
        self.guidance_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        big = QFont(self.font())
        big.setPointSize(big.pointSize() + 7)
        big.setBold(True)
        self.guidance_label.setFont(big)
        self.guidance_label.setMinimumHeight(44)
        self.status_label = QLabel()
        self.status_label.setObjectName("captureStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #555;")
        self.capture_button = QPushButton(self.tr("拍照"))
        self.capture_button.setObjectName("captureButton")
        self.capture_button.setEnabled(False)
        self.capture_button.clicked.connect(self.capture_now)
        self.import_button = QPushButton(self.tr("从文件导入…"))
        self.import_button.setObjectName("importButton")
        self.import_button.clicked.connect(self._pick_file)
        self.cancel_button = QPushButton(self.tr("取消"))
        self.cancel_button.clicked.connect(self.reject)
        self.replace_choice = QRadioButton(self.tr("替换为白色背景（在家中拍摄）"))
        self.replace_choice.setObjectName("backgroundReplace")
        self.replace_choice.setToolTip(self.tr("自动把人像从背景中分离出来，放到标准白色背景上"))
        self.sheet_choice = QRadioButton(self.tr("白布背景拍摄（不替换背景）"))
        self.sheet_choice.setObjectName("backgroundAsShot")
        self.sheet_choice.setToolTip(self.tr("人站在白布或白墙前拍摄：保留原背景，并检查背景是否为纯白"))
        self.replace_choice.setChecked(True)
        self.background_group = QButtonGroup(self)
        self.background_group.addButton(self.replace_choice)
        self.background_group.addButton(self.sheet_choice)
        self.replace_choice.toggled.connect(self._on_background_toggled)
        choice = QHBoxLayout()
        choice.addWidget(QLabel(self.tr("背景：")))
        choice.addWidget(self.replace_choice)
        choice.addWidget(self.sheet_choice)
        choice.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.status_label, 1)
        row.addWidget(self.import_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.capture_button)
        lv = QVBoxLayout(live)
        lv.addWidget(self.preview_label, 0, Qt.AlignmentFlag.AlignHCenter)
        lv.addWidget(self.guidance_label)
        lv.addLayout(row)
        self.live_page = live

        review = QWidget()
        self.source_view = QLabel()
        self.source_view.setObjectName("sourceView")
        self.source_view.setFixedSize(QSize(360, 441))
        self.source_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.source_view.setStyleSheet("background: #222;")
        self.card_view = QLabel()
        self.card_view.setObjectName("cardView")
        self.card_view.setFixedSize(QSize(358, 441))
        self.card_view.setStyleSheet("border: 1px solid #999;")
        self.card_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.card_view.setWordWrap(True)
        self.card_info = QLabel()
        self.card_info.setObjectName("cardInfo")
        self.card_info.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(QLabel(self.tr("原照片（拍摄的画面）")))
        left.addWidget(self.source_view)
        right = QVBoxLayout()
        self.card_title = QLabel(self.tr("替换背景后的证件照（358×441）"))
        self.card_title.setObjectName("cardTitle")
        right.addWidget(self.card_title)
        right.addWidget(self.card_view)
        pair = QHBoxLayout()
        pair.addLayout(left)
        pair.addSpacing(16)
        pair.addLayout(right)
        self.retake_button = QPushButton(self.tr("重拍"))
        self.retake_button.setObjectName("retakeButton")
        self.retake_button.clicked.connect(self.retake)
        self.accept_button = QPushButton(self.tr("使用此照片"))
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.setDefault(True)
        self.accept_button.setStyleSheet("QPushButton { font-weight: bold; }")
        self.accept_button.clicked.connect(self._accept_photo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.card_info, 1)
        buttons.addWidget(self.retake_button)
        buttons.addWidget(self.accept_button)
        rv = QVBoxLayout(review)
        rv.addLayout(pair)
        rv.addLayout(buttons)

        self.pages.addWidget(live)
        self.pages.addWidget(review)
        outer = QVBoxLayout(self)
        outer.addWidget(self.pages)
        outer.addLayout(choice)        # under both pages: chosen before the photo, changed on review

    # ---- camera -------------------------------------------------------------------------
    def _start_camera(self) -> None:
        grabber = FrameGrabber(self._factory, self._shared)
        thread = QThread()
        thread.setObjectName("capture-grabber")
        grabber.moveToThread(thread)
        thread.started.connect(grabber.run)
        grabber.frame_ready.connect(self._on_frame)
        grabber.failed.connect(self._on_camera_failed)
        grabber.ended.connect(self._on_camera_ended)
        grabber.analyse.connect(self._analyzer.analyse)
        self._grabber, self._grabber_thread = grabber, thread
        self._threads.append(thread)
        thread.start()

    @Slot(object)
    def _on_ready(self, error: object) -> None:
        if error is not None:
            self.status_label.setText(describe(error))  # type: ignore[arg-type]
            self.capture_button.setEnabled(False)
            self.import_button.setEnabled(False)
            return
        self.capture_button.setEnabled(self._last is not None)

    @Slot(object)
    def _on_frame(self, live: LiveFrame) -> None:
        with self._shared.lock:
            self._shared.ui_pending = False
        if self.pages.currentIndex() != 0:
            return
        self._last = live
        self.frames_shown += 1
        now = time.monotonic()
        self._fps_window = [t for t in self._fps_window if now - t < 2.0] + [now]
        self.preview_label.setPixmap(_frame_pixmap(live.image, live.box, live.code is None).scaled(
            self.preview_label.contentsRect().size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation))
        if self._engine.loaded:
            self.capture_button.setEnabled(True)
        if not live.analysed:
            self.guidance_label.setText(self.tr("正在准备人脸识别…"))
            self._preparing_shown = True
            return
        # The first analysed frame always replaces 正在准备…, also when it is already good (code None).
        if live.code != self.guidance_code or not self.guidance_label.text() or self._preparing_shown:
            self._preparing_shown = False
            self.guidance_code = live.code
            self.guidance_label.setText(guidance_text(live.code))
            self.guidance_label.setStyleSheet("color: #2e7d32;" if live.code is None else "color: #b26a00;")
            self.guidance_changed.emit(live.code or "")

    @property
    def displayed_fps(self) -> float:
        """Frames shown per second over the last two seconds."""
        w = self._fps_window
        return 0.0 if len(w) < 2 else (len(w) - 1) / max(1e-6, w[-1] - w[0])

    @Slot(object)
    def _on_camera_failed(self, error: object) -> None:
        self.camera_error = error  # type: ignore[assignment]
        self.capture_button.setEnabled(False)
        self.preview_label.clear()
        self.preview_label.setText(describe(error))  # type: ignore[arg-type]
        self.guidance_label.setText("")
        self.import_button.setStyleSheet("QPushButton { font-weight: bold; }")
        self.import_button.setFocus()

    @Slot()
    def _on_camera_ended(self) -> None:
        self.status_label.setText(self.tr("摄像头没有更多画面；可以拍下最后一帧，或从文件导入"))

    # ---- capture ------------------------------------------------------------------------
    @Slot()
    def capture_now(self) -> None:
        """Manual capture of the newest frame (the same checks as the automatic one)."""
        if self._last is None:
            return
        with self._shared.lock:
            self._shared.busy = True
        self.status_label.setText(self.tr("正在检查照片…"))
        self._capture_request.emit(self._last.frame, "manual", self._shared.generation)

    def import_file(self, path: str) -> None:
        """Import a photo from a file (the same checks as a camera capture)."""
        with self._shared.lock:
            self._shared.busy = True
        self.status_label.setText(self.tr("正在检查照片…"))
        self._import_request.emit(path, self._shared.generation)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("选择照片"), "",
                                              self.tr("图片 (*.jpg *.jpeg *.png *.bmp *.webp)"))
        if path:
            self.import_file(path)

    # ---- background ---------------------------------------------------------------------
    @property
    def background(self) -> str:
        """REPLACE or AS_SHOT: how the next (or the shown) card photo is made."""
        return REPLACE if self.replace_choice.isChecked() else AS_SHOT

    def set_background(self, mode: str) -> None:
        (self.replace_choice if mode == REPLACE else self.sheet_choice).setChecked(True)

    @Slot(bool)
    def _on_background_toggled(self, _checked: bool) -> None:
        mode = self.background
        with self._shared.lock:
            if self._shared.background == mode:
                return
            self._shared.background = mode
        self.card_title.setText(self.tr("替换背景后的证件照（358×441）") if mode == REPLACE
                                else self.tr("证件照（358×441，保留原背景）"))
        self.background_changed.emit(mode)
        if self.pages.currentIndex() == 1 and self._source_frame is not None:
            self._result = None
            self.accept_button.setEnabled(False)
            self.card_view.clear()
            self.card_view.setText(self.tr("正在重新生成证件照…"))
            self.card_info.clear()
            with self._shared.lock:
                self._shared.busy = True
            self._redo_request.emit(self._source_frame, self._shared.generation)

    @Slot(object, object, str, object)
    def _on_captured(self, result: Any, shown: tuple[QImage, float], how: str, frame: Any = None) -> None:
        if how == "redo":
            if self.pages.currentIndex() != 1 or result.background != self.background:
                return      # a retake, or another switch, came first
            self._result = result
            self._show_card(result)
            self.redone.emit()
            return
        self._result, self.captured_how, self._source_frame = result, how, frame
        qimg, scale = shown
        face = result.report.face
        box = None if face is None else (face.left * scale, face.top * scale, face.right * scale,
                                         face.bottom * scale)
        self.source_view.setPixmap(_frame_pixmap(qimg, box, True).scaled(
            self.source_view.contentsRect().size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        self._show_card(result)
        self.status_label.clear()
        self.pages.setCurrentIndex(1)
        self.accept_button.setFocus()
        if how == "auto":
            self.auto_captured.emit()

    def _show_card(self, result: Any) -> None:
        card = QPixmap()
        card.loadFromData(result.card_photo.jpeg, "JPEG")
        self.card_view.setPixmap(card)
        photo = result.card_photo
        self.card_info.setText(self.tr("{w}×{h} 像素，{dpi} dpi，{kb:.1f} KB").format(
            w=photo.width, h=photo.height, dpi=photo.dpi, kb=photo.size / 1024))
        self.accept_button.setEnabled(True)

    @Slot(object, str)
    def _on_capture_failed(self, error: object, how: str) -> None:
        if how == "auto":
            return  # the guidance line already says what to fix
        if how == "redo":
            if self.pages.currentIndex() == 1 and self._result is None:
                # e.g. 白布背景 chosen for a photo taken in a room: say why; 使用此照片 stays off
                self.card_view.clear()
                self.card_view.setText(describe(error))  # type: ignore[arg-type]
                self.redone.emit()
            return
        self.status_label.setStyleSheet("color: #c62828;")
        self.status_label.setText(describe(error))  # type: ignore[arg-type]

    @Slot()
    def retake(self) -> None:
        """Back to the live preview; the photo taken is dropped."""
        self._result = None
        self._source_frame = None
        self.captured_how = ""
        self.accept_button.setEnabled(True)
        with self._shared.lock:
            self._shared.generation += 1
            self._shared.paused = False
            self._shared.box, self._shared.code, self._shared.analysed = None, "face.none", 0
        self.guidance_code = None
        self.guidance_label.clear()
        self.status_label.setStyleSheet("color: #555;")
        self.status_label.clear()
        self.pages.setCurrentIndex(0)

    def result_capture(self) -> Any:
        """The CaptureResult on the review page (None on the live page)."""
        return self._result

    def _accept_photo(self) -> None:
        if self._result is None:
            return
        result = self._result
        self.accept()
        self.photo_accepted.emit(result)

    # ---- shutdown -----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the camera and the analyser (waits for a capture in progress)."""
        self._shared.stop.set()
        for thread in self._threads:
            thread.quit()
        for thread in self._threads:
            if not thread.wait(10_000):
                log.error("capture thread %s did not stop", thread.objectName())
        self._threads = []

    def done(self, r: int) -> None:
        self.stop()
        super().done(r)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.stop()
        super().closeEvent(event)


def limits_for_preview(limits: Any, max_side: int) -> Any:
    """The same limits with live detection on a larger (or smaller) downscaled frame."""
    return replace(limits, preview_max_side=int(max_side))

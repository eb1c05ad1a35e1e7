"""Capture refusals with stable codes (worded for people by ``desktop/errors.py``).

Codes: camera.unavailable, source.not_found, source.unreadable, image.empty, image.unreadable,
image.too_large, quality.failed (data: failed=[codes]), face.none, face.multiple (from compare and
template extraction), template.invalid, model.unavailable, card_photo.head_out_of_frame,
card_photo.size_window. Codes are part of the protocol: never rename one.
"""

from __future__ import annotations

from enrollment.errors import DomainError

E_CAMERA_UNAVAILABLE = "camera.unavailable"
E_SOURCE_NOT_FOUND = "source.not_found"
E_SOURCE_UNREADABLE = "source.unreadable"
E_IMAGE_EMPTY = "image.empty"
E_IMAGE_UNREADABLE = "image.unreadable"
E_IMAGE_TOO_LARGE = "image.too_large"
E_QUALITY_FAILED = "quality.failed"
E_FACE_NONE = "face.none"
E_FACE_MULTIPLE = "face.multiple"
E_TEMPLATE_INVALID = "template.invalid"
E_MODEL_UNAVAILABLE = "model.unavailable"
E_HEAD_OUT_OF_FRAME = "card_photo.head_out_of_frame"
E_SIZE_WINDOW = "card_photo.size_window"
E_SETTINGS_INVALID = "settings.invalid"


class CaptureError(DomainError):
    """A capture refusal: ``code`` is stable, ``data`` carries what a person needs to act."""

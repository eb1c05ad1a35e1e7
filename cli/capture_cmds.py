"""``yikatong capture …``: face checks, card photos and comparisons from a terminal (the app's code paths).

    capture check IMAGE... [--purpose card|preview] [--limits quality.json] [--white-sheet]
        every check's value, limit and verdict as JSON; exit 1 if any image fails (all are printed);
        for a card the background is judged as card-photo judges it (after replacement, or --white-sheet)
    capture card-photo IMAGE -o OUT.jpg [--limits quality.json] [--spec card_photo_spec.json] [--white-sheet]
        writes the card photo (the background replaced by white; --white-sheet: the photo was shot
        against a white sheet, keep it and check it), or exits 1 with the reasons (one line, code first)
    capture compare IMAGE_A IMAGE_B [--json] [--threshold 0.6]
        {"distance": d, "threshold": t, "same_person": bool}; exit 1 when either has no usable face
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .main import EXIT_FAILURE, EXIT_OK, CliError, print_json


def register(sub: Any) -> None:
    cap = sub.add_parser("capture", help="face quality checks, card photos, face comparison")
    csub = cap.add_subparsers(dest="capture_command", required=True)

    p = csub.add_parser("check", help="run every quality check on each image; JSON out")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--purpose", choices=["card", "preview"], default="card",
                   help="card (default): judged as card-photo would, the background after replacing it "
                        "by white; preview: the camera preview's checks (no background)")
    p.add_argument("--limits", metavar="FILE", help="quality limits (default resources/capture/quality.json)")
    p.add_argument("--white-sheet", action="store_true",
                   help="with --purpose card: the photo was shot against a white sheet, judge its own background")
    p.set_defaults(handler=cmd_check)

    p = csub.add_parser("card-photo", help="write the card-standard photo (358x441, 350 dpi JPEG)")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-o", "--output", required=True, metavar="OUT.jpg")
    p.add_argument("--limits", metavar="FILE")
    p.add_argument("--spec", metavar="FILE", help="card photo spec (default resources/capture/card_photo_spec.json)")
    p.add_argument("--json", action="store_true", help="print the checks and the file's properties")
    p.add_argument("--white-sheet", action="store_true",
                   help="the photo was shot against a white sheet: keep its background (no replacement) "
                        "and check that it is plain white")
    p.set_defaults(handler=cmd_card_photo)

    p = csub.add_parser("compare", help="distance between the faces of two photos")
    p.add_argument("image_a", metavar="IMAGE_A")
    p.add_argument("image_b", metavar="IMAGE_B")
    p.add_argument("--threshold", type=float, default=None, help="match threshold (default 0.6)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_compare)


def _limits(path: str | None):
    from capture.quality import QualityLimits

    try:
        return QualityLimits.load(path)
    except (OSError, ValueError, TypeError) as e:
        raise CliError("capture.limits_invalid", f"cannot use quality limits {path or 'default'}: {e}") from e


def _load(path: str) -> Any:
    """The image at ``path``; a path with no file is ``source.not_found`` (as documented), not a decoder error."""
    from capture.errors import E_SOURCE_NOT_FOUND
    from capture.images import load_image

    if not Path(path).is_file():
        raise CliError(E_SOURCE_NOT_FOUND, f"no such file: {path}")
    return load_image(path)


def cmd_check(args: Any) -> int:
    from capture.errors import CaptureError
    from capture.faces import FaceEngine
    from capture.pipeline import AS_SHOT, REPLACE, card_photo_report
    from capture.quality import assess

    limits = _limits(args.limits)
    engine = FaceEngine()
    results = []
    for path in args.images:
        try:
            image = _load(path)
        except CaptureError as e:
            results.append({"image": path, "ok": False, "failed": [e.code], "error": e.to_dict()})
            continue
        except CliError as e:
            results.append({"image": path, "ok": False, "failed": [e.code],
                            "error": {"code": e.code, "message": e.message, "field": None, "data": {}}})
            continue
        if args.purpose == "card":
            background = AS_SHOT if args.white_sheet else REPLACE
            report = card_photo_report(image, engine, limits=limits, background=background)
            results.append({"image": path, "purpose": args.purpose, "background": background, **report.to_dict()})
        else:
            report = assess(image, engine, limits, purpose=args.purpose)
            results.append({"image": path, "purpose": args.purpose, **report.to_dict()})
    print_json(results)
    return EXIT_OK if all(r["ok"] for r in results) else EXIT_FAILURE


def cmd_card_photo(args: Any) -> int:
    from capture.card_photo import CardPhotoSpec
    from capture.faces import FaceEngine
    from capture.pipeline import AS_SHOT, REPLACE, process_photo

    limits = _limits(args.limits)
    try:
        spec = CardPhotoSpec.load(args.spec)
    except (OSError, ValueError, TypeError) as e:
        raise CliError("capture.spec_invalid", f"cannot use card photo spec {args.spec or 'default'}: {e}") from e
    image = _load(args.image)
    result = process_photo(image, FaceEngine(), limits=limits, spec=spec,
                           background=AS_SHOT if args.white_sheet else REPLACE)
    out = Path(args.output)
    # write beside the target, then rename: never a half-written photo under the real name
    fd, tmp = tempfile.mkstemp(prefix=".card-", suffix=".jpg", dir=out.parent if str(out.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(result.card_photo.jpeg)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    card = result.card_photo
    if args.json:
        print_json({"output": str(out), "width": card.width, "height": card.height, "dpi": card.dpi,
                    "bytes": card.size, "jpeg_quality": card.quality, "background": result.background,
                    **result.report.to_dict()})
    else:
        sys.stdout.write(f"{out}: {card.width}x{card.height}, {card.dpi} dpi, {card.size} bytes, "
                         f"JPEG quality {card.quality}\n")
    return EXIT_OK


def cmd_compare(args: Any) -> int:
    from capture.faces import DEFAULT_THRESHOLD, FaceEngine
    from capture.pipeline import compare

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    a, b = _load(args.image_a), _load(args.image_b)
    result = compare(a, b, FaceEngine(), threshold=threshold)
    if args.json:
        print_json(result)
    else:
        verdict = "same person" if result["same_person"] else "different people"
        sys.stdout.write(f"distance {result['distance']:.4f} (threshold {threshold}): {verdict}\n")
    return EXIT_OK

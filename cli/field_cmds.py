"""``yikatong field …``: the laptop side from a terminal (same code paths as the app).

    field login  --store PATH --registry URL --username U        (password on stdin)
    field enroll --store PATH --from FILE.csv [--encoding gbk] [--village CODE]
                 [--confirm-region-warnings]
    field sync   --store PATH [--json] [--registry URL] [--batch-size N] [--max-retries N]
    field status --store PATH [--json [--review]]
    field verify-video ID_NUMBER CLIP --store PATH [--digits-heard] [--json]

Bulk-enrollment CSV: the roster columns, plus optional ``consent_form``, ``id_front`` and
``id_back`` columns naming image files (relative to the CSV) to attach, and an optional ``photo``
column: a face photo (relative to the CSV) that goes through the same path as the desktop's
capture dialog (``capture.pipeline.process_photo``: every quality check, the card photo, the face
template) and the laptop duplicate check (``sync.duplicates``, against this laptop's records and
the file's earlier rows). A likely duplicate is not asked about: it is recorded on the record as
``duplicate_review`` with decision "unreviewed" (decided_by "bulk_import") for central review.
The whole file is checked first and applied in one transaction: one bad row (its photo included,
reported with its line and every failed check) and nothing is stored. An optional ``subsidies``
column lists the subsidy items applied for as catalogue codes separated by ``;`` (protocol v3,
``resources/subsidies/catalogue.json``); an unknown code fails the row with ``subsidies.unknown``.

``field verify-video`` is the desktop's 视频核验 (the offline video path, docs/verification-api.md): the
resident's newest request that takes a video, the liveness checks run on the clip here against the
resident's face template on this laptop (a preview: the registry runs them again and decides), the
clip and the check recorded in the store and sent by the next ``field sync``. It prints the local
decision; exit 0 when the local check passed and the digits were heard (``--digits-heard``), else 1.

``field status`` shows the records per send state and, after a sync with a v3 registry, per review
state (received, checked, needs_review, cleared, approved, rejected, returned; "none" = not reviewed
yet); ``--json`` keeps its earlier shape unless ``--review`` adds the review counts under "review".
"""

from __future__ import annotations

import logging
import mimetypes
import sys
from pathlib import Path
from typing import Any

from enrollment.errors import DomainError, ValidationErrors
from enrollment.records import (
    CARD_PHOTO,
    CARD_PHOTO_MIME,
    DOCUMENT_KINDS,
    FACE_TEMPLATE,
    FACE_TEMPLATE_MIME,
    REGION_UNCONFIRMED,
    face_info,
    new_record_id,
    validate_subsidies,
    validate_village_code,
)
from enrollment.roster_csv import CsvFileError, RowError, read_rows
from enrollment.vocabulary import SendState

from .main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError, print_json, read_password

E_DUPLICATE = "record.duplicate_id_number"
E_ATTACHMENT_FILE = "attachment.file_unreadable"
E_VILLAGE_NOT_ASSIGNED = "village.not_assigned"
E_PHOTO_FILE = "photo.file_unreadable"
E_CLIP_FILE = "video.file_not_found"
PHOTO_COLUMN = "photo"
SUBSIDIES_COLUMN = "subsidies"
SUBSIDY_SEPARATORS = (";", "；")   # the full-width one is what a Chinese keyboard types


def register(sub: Any) -> None:
    field = sub.add_parser("field", help="the laptop: log in, enroll offline, sync, status")
    fsub = field.add_subparsers(dest="field_command", required=True)

    p = fsub.add_parser("login", help="log in at the registry (password on stdin); cached for offline use")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--registry", required=True, metavar="URL")
    p.add_argument("--username", required=True)
    p.set_defaults(handler=cmd_login)

    p = fsub.add_parser("enroll", help="enroll residents offline from a CSV file (all or nothing)")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--from", dest="source", required=True, metavar="FILE.csv")
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default) or gbk")
    p.add_argument("--village", metavar="CODE", help="default: the operator's only village")
    p.add_argument("--confirm-region-warnings", action="store_true",
                   help="record unknown/anachronistic region codes as confirmed instead of refusing the row")
    p.add_argument("--duplicate-threshold", type=float, default=None, metavar="D",
                   help="face distance at or under which two photos are a likely duplicate "
                        "(default: the store's setting, else 0.6)")
    p.add_argument("--json", action="store_true",
                   help="a refused file's error as JSON on stderr (every bad row with its line, field, code, data)")
    p.set_defaults(handler=cmd_enroll)

    p = fsub.add_parser("sync", help="send queued records and attachments, pull the roster, compare digests")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--registry", metavar="URL", help="use (and remember) this registry address")
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="records per push request")
    p.add_argument("--max-retries", type=int, default=5, metavar="N")
    p.set_defaults(handler=cmd_sync)

    p = fsub.add_parser("status", help="records per send state and per review state")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.add_argument("--review", action="store_true",
                   help="with --json: add the review counts under \"review\" (the text always shows them)")
    p.set_defaults(handler=cmd_status)

    p = fsub.add_parser("verify-video", help="check a clip the worker sent (offline video path); sent at the next sync")
    p.add_argument("id_number", metavar="ID_NUMBER")
    p.add_argument("clip", metavar="CLIP")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--digits-heard", action="store_true",
                   help="the worker says the request's 4 digits in the clip (a person listened)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_verify_video)


def _open(path: str, *, must_exist: bool = True):
    from sync.store import Store

    if must_exist and not Path(path).exists():
        raise CliError("store.not_found", f"no store at {path}; run `yikatong field login` first", EXIT_USAGE)
    return Store.open(path)


def cmd_login(args: Any) -> int:
    from enrollment import error_codes
    from sync.client import login_online
    from sync.http import ApiError, TransportError

    password = read_password()
    with _open(args.store, must_exist=False) as store:
        try:
            op = login_online(store, args.registry, args.username, password)
        except ApiError as e:
            raise CliError(e.code, e.message or "login refused") from None
        except TransportError as e:
            raise CliError(error_codes.SYNC_NETWORK, f"registry not reachable: {e.message}") from None
    villages = ", ".join(v["code"] for v in op.get("villages") or [])
    sys.stdout.write(f"logged in as {op.get('username')} ({op.get('role')}); villages: {villages or '-'}\n")
    return EXIT_OK


def _village(store: Any, explicit: str | None) -> str:
    assigned = store.operator_villages()
    if explicit:
        try:
            code = validate_village_code(explicit)
        except DomainError as e:
            raise CliError(e.code, f"not a 12-digit village code: {explicit}", EXIT_USAGE) from None
        if store.operator() and code not in assigned:
            raise CliError(E_VILLAGE_NOT_ASSIGNED, f"village {code} is not assigned to this operator",
                           assigned=assigned)
        return code
    if len(assigned) == 1:
        return assigned[0]
    raise CliError("village_code.required", "give --village CODE (the operator has "
                   f"{len(assigned)} villages)", EXIT_USAGE, assigned=assigned)


def cmd_enroll(args: Any) -> int:
    source = Path(args.source)
    if not source.is_file():
        raise CliError("csv.not_found", f"no such file: {source}", EXIT_USAGE)
    with _open(args.store) as store:
        village = _village(store, args.village)
        rows = read_rows(source, village_code=village, encoding=args.encoding,
                         optional_columns=(*DOCUMENT_KINDS, PHOTO_COLUMN, SUBSIDIES_COLUMN))
        errors: list[RowError] = []
        prepared = []
        photos = _PhotoCheck(store, args.duplicate_threshold) if any(
            (r.extra.get(PHOTO_COLUMN) or "").strip() for r in rows) else None
        for row in rows:
            warnings = list(row.warnings)
            if warnings and not args.confirm_region_warnings:
                errors.extend(RowError(row.line, REGION_UNCONFIRMED, "id_number", {"warning": w}) for w in warnings)
                continue
            if store.record_for_id_number(row.person["id_number"]) is not None:
                errors.append(RowError(row.line, E_DUPLICATE, "id_number"))
                continue
            attachments = []
            for kind in DOCUMENT_KINDS:
                name = (row.extra.get(kind) or "").strip()
                if not name:
                    continue
                path = (source.parent / name).resolve()
                try:
                    data = path.read_bytes()
                except OSError:
                    errors.append(RowError(row.line, E_ATTACHMENT_FILE, kind))
                    continue
                attachments.append((kind, data, mimetypes.guess_type(path.name)[0] or "application/octet-stream"))
            fields = {**row.person, "consent": True, "confirmed_warnings": warnings, "record_id": new_record_id()}
            try:
                subsidies = _subsidies(row.extra.get(SUBSIDIES_COLUMN))
            except ValidationErrors as e:
                errors.extend(RowError(row.line, x.code, SUBSIDIES_COLUMN, dict(x.data)) for x in e.errors)
                continue
            if subsidies:
                fields["subsidies"] = subsidies
            photo = (row.extra.get(PHOTO_COLUMN) or "").strip()
            if photo and photos is not None:
                try:
                    face_attachments, face_fields = photos.check(source.parent / photo, fields)
                except _RowPhotoError as e:
                    errors.extend(RowError(row.line, code, PHOTO_COLUMN, data) for code, data in e.problems)
                    continue
                attachments += face_attachments
                fields.update(face_fields)
            prepared.append((row.line, fields, attachments))
        if errors:
            raise CsvFileError("csv.rows_invalid", errors, count=len(errors))
        from sync import enrollment_ops

        with store.transaction():  # one transaction: the whole file or nothing
            for line, fields, attachments in prepared:
                try:
                    # the desktop form's own steps: draft, attach, queue
                    enrollment_ops.enroll(store, fields, attachments)
                except ValidationErrors as e:
                    rows_err = [RowError(line, x.code, x.field, {}) for x in e.errors]
                    raise CsvFileError("csv.rows_invalid", rows_err, count=len(rows_err)) from None
                except DomainError as e:
                    raise CsvFileError("csv.rows_invalid", [RowError(line, e.code, e.field, {})], count=1) from None
        counts = store.counts_by_state()
    n_att = sum(len(a) for _l, _f, a in prepared)
    n_dup = sum(1 for _l, f, _a in prepared if f.get("duplicate_review"))
    dup_note = f"; {n_dup} with a likely duplicate face recorded for central review" if n_dup else ""
    sys.stdout.write(f"enrolled {len(prepared)} residents of village {village} ({n_att} attachments{dup_note}); "
                     f"queued for sync: {counts['queued']}\n")
    return EXIT_OK


def _subsidies(cell: str | None) -> list[str]:
    """A CSV cell such as ``dibao;farmland`` → the payload's sorted distinct codes; empty → []."""
    text = cell or ""
    for sep in SUBSIDY_SEPARATORS[1:]:
        text = text.replace(sep, SUBSIDY_SEPARATORS[0])
    codes = [c.strip() for c in text.split(SUBSIDY_SEPARATORS[0]) if c.strip()]
    return validate_subsidies(codes) if codes else []


class _RowPhotoError(Exception):
    def __init__(self, problems: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(", ".join(code for code, _d in problems))
        self.problems = problems


class _PhotoCheck:
    """The capture dialog's path for a CSV row's photo: checks, card photo, template, duplicate check."""

    def __init__(self, store: Any, threshold: float | None) -> None:
        from capture.faces import FaceEngine
        from sync.duplicates import LocalFaces

        self.engine = FaceEngine()
        self.faces = LocalFaces.from_store(store, threshold=threshold)

    def check(self, path: Path, fields: dict[str, Any]) -> tuple[list[tuple[str, bytes, str]], dict[str, Any]]:
        from capture.errors import E_QUALITY_FAILED, CaptureError
        from capture.images import load_image
        from capture.pipeline import process_photo

        if not path.resolve().is_file():
            raise _RowPhotoError([(E_PHOTO_FILE, {})])
        try:
            result = process_photo(load_image(path.resolve()), self.engine)
        except CaptureError as e:
            if e.code == E_QUALITY_FAILED:
                values = e.data.get("values") or {}
                raise _RowPhotoError([(code, {"value": values[code]} if code in values else {})
                                      for code in e.data.get("failed") or []]) from None
            raise _RowPhotoError([(e.code, dict(e.data))]) from None
        template = result.template
        matches = self.faces.matches(template)
        self.faces.add(fields["record_id"], fields["id_number"], fields.get("name") or "", template)
        quality = {c.code: c.value for c in result.report.checks}
        out: dict[str, Any] = {"face": face_info(template.model, template.version, quality)}
        if matches:
            out["duplicate_review"] = [m.unreviewed() for m in matches]
        return [(CARD_PHOTO, result.card_photo.jpeg, CARD_PHOTO_MIME),
                (FACE_TEMPLATE, template.to_bytes(), FACE_TEMPLATE_MIME)], out


def cmd_sync(args: Any) -> int:
    from sync import protocol
    from sync.client import SyncClient

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with _open(args.store) as store:
        if args.registry:
            store.set_registry_url(args.registry)
        client = SyncClient(store, max_retries=args.max_retries,
                            batch_size=args.batch_size or protocol.PUSH_BATCH_MAX)
        try:
            report = client.run()
        finally:
            client.close()
        counts = store.counts_by_state()
    out = {**report.to_dict(), "counts": counts}
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(
            f"accepted {report.accepted}, unchanged {report.unchanged}, conflicts {report.conflicts}, "
            f"refused {report.refused}; blobs {report.blobs_sent} ({report.bytes_sent} bytes); "
            f"pulled {report.pulled} (review changed on {report.reviews_changed}, newly returned "
            f"{report.returned}); digest {_digest_word(report)}"
            f" ({report.local_count} records); left to send {report.left_to_send}; "
            f"needs attention {counts[SendState.NEEDS_ATTENTION]}"
            + (f"; video checks sent {report.video_sent}, refused {report.video_refused}, "
               f"left {report.video_left}" if report.video_sent or report.video_refused or report.video_left
               else "") + "\n")
    if report.error:
        sys.stderr.write(f"error: {report.error}\n")
    elif not report.ok:
        reasons = []
        if report.digest_checked and not report.digest_match:
            reasons.append("digest mismatch")
        if report.conflicts or report.refused or counts[SendState.NEEDS_ATTENTION]:
            reasons.append(f"{counts[SendState.NEEDS_ATTENTION]} records need attention")
        if report.left_to_send:
            reasons.append(f"{report.left_to_send} records not sent")
        sys.stderr.write(f"error: sync.incomplete: {'; '.join(reasons) or 'see the report'}\n")
    return EXIT_OK if report.ok and counts[SendState.NEEDS_ATTENTION] == 0 else EXIT_FAILURE


def _digest_word(report: Any) -> str:
    if not report.digest_checked:
        return "not checked"
    return "matches" if report.digest_match else "DOES NOT MATCH"


def cmd_status(args: Any) -> int:
    with _open(args.store) as store:
        counts = store.counts_by_state()
        review = store.counts_by_review_state()
    if args.json:
        # The JSON keeps its pre-v3 shape (scripts read it) unless --review asks for the review counts too.
        print_json({**counts, "review": review} if args.review else counts)
    else:
        width = max(len(k) for k in (*counts, *review))
        for state, n in counts.items():
            sys.stdout.write(f"{state:<{width}}  {n}\n")
        sys.stdout.write("review (the registry's, as of the last sync):\n")
        for state, n in review.items():
            sys.stdout.write(f"  {state:<{width}}  {n}\n")
    return EXIT_OK




def cmd_verify_video(args: Any) -> int:
    import os

    # FFmpeg (inside OpenCV) writes its own complaints about a broken file to stderr ("moov atom not
    # found"): only fatal ones, so an error is the one line with its code, as every command's is.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")
    from sync import verification_ops

    clip = Path(args.clip)
    if not clip.is_file():
        raise CliError(E_CLIP_FILE, f"no such clip: {clip}", EXIT_USAGE)
    with _open(args.store) as store:
        task = verification_ops.video_task(store, args.id_number)
        local = verification_ops.check_video(task, clip)
        check = verification_ops.record_video_check(store, task, local, args.digits_heard)
    passed = local.passed and bool(args.digits_heard)
    if args.json:
        print_json({"check_id": check["check_id"], "request": task.request_id, "id_number": task.id_number,
                    "digits": task.digits, "actions": task.actions, "clip_sha256": check["clip_sha256"],
                    "digits_heard": check["digits_heard"], "local_passed": local.passed, "passed": passed,
                    "send_state": check["send_state"], "decision": local.decision})
    else:
        out = sys.stdout
        out.write(f"request {task.request_id}: digits {' '.join(task.digits)}, actions {', '.join(task.actions)}\n")
        for c in local.decision.get("checks") or []:
            mark = "ok  " if c.get("passed") else "FAIL"
            reason = f"  ({c['reason']})" if c.get("reason") and not c.get("passed") else ""
            out.write(f"  {mark} {c.get('name')}: {c.get('value')} (threshold {c.get('threshold')}){reason}\n")
        out.write(f"local check: {'passed' if local.passed else 'failed'}"
                  f"{'' if local.passed else ' (' + ', '.join(local.decision.get('reasons') or []) + ')'}; "
                  f"digits {'heard' if args.digits_heard else 'NOT confirmed (--digits-heard)'}\n")
        out.write(f"recorded as {check['check_id']}; sent to the registry at the next `yikatong field sync`\n")
    return EXIT_OK if passed else EXIT_FAILURE

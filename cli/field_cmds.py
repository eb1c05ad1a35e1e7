"""``yikatong field …``: the laptop side from a terminal (same code paths as the app).

    field login  --store PATH --registry URL --username U        (password on stdin)
    field enroll --store PATH --from FILE.csv [--encoding gbk] [--village CODE]
                 [--confirm-region-warnings]
    field sync   --store PATH [--json] [--registry URL] [--batch-size N] [--max-retries N]
    field status --store PATH [--json]

Bulk-enrollment CSV: the roster columns, plus optional ``consent_form``, ``id_front`` and
``id_back`` columns naming image files (relative to the CSV) to attach. The whole file is
checked first and applied in one transaction: one bad row and nothing is stored.
"""

from __future__ import annotations

import logging
import mimetypes
import sys
from pathlib import Path
from typing import Any

from enrollment.errors import DomainError, ValidationErrors
from enrollment.records import DOCUMENT_KINDS, REGION_UNCONFIRMED, validate_village_code
from enrollment.roster_csv import CsvFileError, RowError, read_rows

from .main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError, print_json, read_password

E_DUPLICATE = "record.duplicate_id_number"
E_ATTACHMENT_FILE = "attachment.file_unreadable"
E_VILLAGE_NOT_ASSIGNED = "village.not_assigned"


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
    p.set_defaults(handler=cmd_enroll)

    p = fsub.add_parser("sync", help="send queued records and attachments, pull the roster, compare digests")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--registry", metavar="URL", help="use (and remember) this registry address")
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="records per push request")
    p.add_argument("--max-retries", type=int, default=5, metavar="N")
    p.set_defaults(handler=cmd_sync)

    p = fsub.add_parser("status", help="records per send state")
    p.add_argument("--store", required=True, metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)


def _open(path: str, *, must_exist: bool = True):
    from sync.store import Store

    if must_exist and not Path(path).exists():
        raise CliError("store.not_found", f"no store at {path}; run `yikatong field login` first", EXIT_USAGE)
    return Store.open(path)


def cmd_login(args: Any) -> int:
    from sync.client import login_online
    from sync.http import ApiError, TransportError

    password = read_password()
    with _open(args.store, must_exist=False) as store:
        try:
            op = login_online(store, args.registry, args.username, password)
        except ApiError as e:
            raise CliError(e.code, e.message or "login refused") from None
        except TransportError as e:
            raise CliError("sync.network", f"registry not reachable: {e.message}") from None
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
        rows = read_rows(source, village_code=village, encoding=args.encoding, optional_columns=DOCUMENT_KINDS)
        errors: list[RowError] = []
        prepared = []
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
            fields = {**row.person, "consent": True, "confirmed_warnings": warnings}
            prepared.append((row.line, fields, attachments))
        if errors:
            raise CsvFileError("csv.rows_invalid", errors, count=len(errors))
        with store.transaction():  # one transaction: the whole file or nothing
            for line, fields, attachments in prepared:
                try:
                    store.enroll(fields, attachments)
                except ValidationErrors as e:
                    rows_err = [RowError(line, x.code, x.field, {}) for x in e.errors]
                    raise CsvFileError("csv.rows_invalid", rows_err, count=len(rows_err)) from None
                except DomainError as e:
                    raise CsvFileError("csv.rows_invalid", [RowError(line, e.code, e.field, {})], count=1) from None
        counts = store.counts_by_state()
    n_att = sum(len(a) for _l, _f, a in prepared)
    sys.stdout.write(f"enrolled {len(prepared)} residents of village {village} ({n_att} attachments); "
                     f"queued for sync: {counts['queued']}\n")
    return EXIT_OK


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
            f"pulled {report.pulled}; digest {'matches' if report.digest_match else 'DOES NOT MATCH'}"
            f" ({report.local_count} records); left to send {report.left_to_send}; "
            f"needs attention {counts['needs-attention']}\n")
    if report.error:
        sys.stderr.write(f"error: {report.error}\n")
    elif not report.ok:
        reasons = []
        if not report.digest_match:
            reasons.append("digest mismatch")
        if report.conflicts or report.refused or counts["needs-attention"]:
            reasons.append(f"{counts['needs-attention']} records need attention")
        if report.left_to_send:
            reasons.append(f"{report.left_to_send} records not sent")
        sys.stderr.write(f"error: sync.incomplete: {'; '.join(reasons) or 'see the report'}\n")
    return EXIT_OK if report.ok and counts["needs-attention"] == 0 else EXIT_FAILURE


def cmd_status(args: Any) -> int:
    with _open(args.store) as store:
        counts = store.counts_by_state()
    if args.json:
        print_json(counts)
    else:
        width = max(len(k) for k in counts)
        for state, n in counts.items():
            sys.stdout.write(f"{state:<{width}}  {n}\n")
    return EXIT_OK



"""The field sync client: login, and one sync = health → blobs → push → pull → video checks → digest.

Guarantees (docs/design.md, "Sync properties"):

* records are marked "sending" and that is COMMITTED before a push request goes out; they
  become "accepted" only on the registry's explicit per-record answer naming their id;
* blobs go first, by SHA-256, each resumed from the offset the registry already holds;
* a 4xx for one record puts that record in needs-attention with the registry's reason and
  the others continue; a 409 conflict keeps both versions;
* pull is by the registry's counter, one transaction + checkpoint per batch;
* network errors, timeouts, 5xx and answers that are not ours (captive portals) are retried
  with capped, jittered exponential backoff; after ``max_retries`` the sync ends with an
  error and whatever is still "sending" goes out again next time (the registry answers
  "unchanged" for a repeat);
* a whole-request 401 stops the sync (log in again); 426 stops it (update the app);
* the sync ends by comparing digests; a mismatch is reported, never hidden;
* cancellation (a ``threading.Event``) is honoured between units of work.

Logs carry counts, record ids (random UUIDs) and masked ID numbers only.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from enrollment import error_codes
from enrollment.errors import DomainError, Kind

from . import protocol
from .http import ApiError, RegistryHttp, TransportError
from .store import Store

log = logging.getLogger("yikatong.sync.client")

E_NOT_CONFIGURED = error_codes.SYNC_NOT_CONFIGURED
E_NETWORK = error_codes.SYNC_NETWORK
E_SERVER_ERROR = error_codes.SYNC_SERVER_ERROR
E_CANCELLED = error_codes.SYNC_CANCELLED
E_REFUSED_REQUEST = error_codes.SYNC_REFUSED

# The meta key under which each sync's end leaves {"finished_at": ISO UTC, "report": SyncReport.to_dict()},
# so the app shows the last sync's time and outcome after a restart.
LAST_SYNC_META = "last_sync"


def last_sync(store: Store) -> dict[str, Any] | None:
    """The last sync this laptop ran (app or CLI), or None before the first."""
    value = store.get_meta(LAST_SYNC_META)
    return value if isinstance(value, dict) and isinstance(value.get("report"), dict) else None


WAIT_SLICE_S = 0.25


@dataclass
class SyncProgress:
    phase: str   # "blobs" | "push" | "pull" | "video" | "digest" | "waiting" (a retry after a network error)
    done: int
    total: int
    # With phase "waiting": how long the consumer should let pass before the next step. The client
    # never sleeps inside a step, so a desktop's store thread stays free for autosaves meanwhile.
    wait_s: float = 0.0
    # With phase "waiting": the code of the failure being retried (``network.<kind>``), so a consumer
    # can tell "the registry is failing" (network.server_error) from "no network".
    reason: str | None = None


@dataclass
class SyncReport:
    accepted: int = 0
    unchanged: int = 0
    conflicts: int = 0
    refused: int = 0
    blobs_sent: int = 0
    bytes_sent: int = 0
    pulled: int = 0
    digest_match: bool = False
    # True once the registry answered the digest step: a sync that ended before it says nothing about a
    # mismatch (digest_match stays False, but "not checked" is not "different").
    digest_checked: bool = False
    cancelled: bool = False
    error: str | None = None
    # additions (see docs/store-and-client-api.md)
    error_code: str | None = None
    retries: int = 0
    push_batches: int = 0
    pull_batches: int = 0
    left_to_send: int = 0
    local_digest: str | None = None
    local_count: int | None = None
    server_digest: str | None = None
    server_count: int | None = None
    # protocol v3: records whose registry review changed in this sync's pull, and those newly returned
    reviews_changed: int = 0
    returned: int = 0
    # protocol v4: remote verification requests whose state this sync's pull brought, counted by state
    verifications: dict[str, int] = field(default_factory=dict)
    # protocol v6: failed payments whose news this sync's pull brought; those that still need the resident's help
    payment_failures: int = 0
    payment_failures_open: int = 0
    # issue 11 item 4: the cadre's offline video checks decided by the registry, refused, still to send
    video_sent: int = 0
    video_refused: int = 0
    video_left: int = 0

    @property
    def ok(self) -> bool:
        """Everything sent, nothing refused or in conflict, the digests agree."""
        return (self.error is None and not self.cancelled and self.digest_match and self.refused == 0
                and self.conflicts == 0 and self.left_to_send == 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _count_verifications(report: SyncReport, latest: dict[str, str], changes: list[Any]) -> None:
    """Tally the pulled verification requests by their latest state (the batch was applied, so its shape is
    valid); a request pulled twice in one sync (again after a video check was decided) counts once."""
    for change in changes:
        if isinstance(change, dict) and change.get("kind") == protocol.KIND_VERIFICATION:
            latest[str(change.get("key"))] = str((change.get("data") or {}).get("state") or "")
    report.verifications = dict(Counter(latest.values()))


class _Stop(Exception):
    """Control flow, not an error shape: unwinds a sync to ``run_steps``, which writes the report."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class _Cancelled(Exception):
    pass


# ------------------------------------------------------------------------------------------ login

def login_online(store: Store, registry_url: str, username: str, password: str, *,
                 http: RegistryHttp | None = None) -> dict:
    """Log in at the registry; cache the credential for offline logins; return the operator.

    Raises ApiError (e.g. ``auth.bad_credentials``) or TransportError (registry unreachable).
    """
    own = http is None
    http = http or RegistryHttp(registry_url)
    try:
        resp = http.request("POST", protocol.LOGIN, json={
            "username": username, "password": password, "device_id": store.device_id})
    finally:
        if own:
            http.close()
    if not isinstance(resp.get("token"), str):
        raise TransportError("login answer without a token", kind=Kind.BAD_RESPONSE)
    store.save_login(registry_url, username, password, resp)
    return store.operator()


def logout_online(store: Store, registry_url: str | None, *, timeout: float = 3) -> bool:
    """Revoke this laptop's token at the registry when it answers, and forget the token here in any
    case (the cached credential stays for offline logins). True when the registry revoked it."""
    token = store.token()
    revoked = False
    if token and registry_url:
        try:
            with RegistryHttp(registry_url, token, timeout=(timeout, timeout)) as http:
                http.request("POST", protocol.LOGOUT)
            revoked = True
        except (TransportError, ApiError):
            pass  # offline, or the token is already dead: forgetting it is all that is left
    store.logout()
    return revoked


def check_online(registry_url: str, timeout: float = 2) -> bool:
    """True when the registry itself answers /api/health (not a captive portal)."""
    try:
        with RegistryHttp(registry_url, timeout=(timeout, timeout)) as http:
            http.request("GET", protocol.HEALTH)
        return True
    except (TransportError, ApiError):
        return False


# ------------------------------------------------------------------------------------------- sync

class SyncClient:
    def __init__(self, store: Store, http: RegistryHttp | None = None, *,
                 sleep: Callable[[float], Any] | None = None, max_retries: int = 5,
                 cancel: threading.Event | None = None, batch_size: int = protocol.PUSH_BATCH_MAX,
                 pull_limit: int = 500, backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 rng: Callable[[], float] = random.random,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.store = store
        self.now = now
        self._http = http
        self.cancel = cancel or threading.Event()
        # The default wait between retries ends early when the sync is cancelled.
        self.sleep = sleep if sleep is not None else self.cancel.wait
        self.max_retries = max_retries
        self.batch_size = max(1, min(int(batch_size), protocol.PUSH_BATCH_MAX))
        self.pull_limit = max(1, min(int(pull_limit), protocol.PULL_LIMIT_MAX))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rng = rng
        self.report = SyncReport()

    # -- plumbing
    @property
    def http(self) -> RegistryHttp:
        if self._http is None:
            url = self.store.registry_url()
            if not url:
                raise _Stop(E_NOT_CONFIGURED, "no registry address: log in online first")
            self._http = RegistryHttp(url, self.store.token())
        return self._http

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise _Cancelled()

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based): capped exponential with jitter in [½, 1]."""
        delay = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return delay * (0.5 + 0.5 * self.rng())

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[SyncProgress]:
        """Call ``fn``; on a transport error yield a "waiting" step (capped exponential backoff) and retry.

        A generator (use ``yield from``) whose return value is ``fn``'s result.
        """
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except TransportError as e:
                if attempt >= self.max_retries:
                    raise
                delay = self.backoff(attempt)
                self.report.retries += 1
                log.warning("sync: %s; retry %d/%d in %.2fs", e.message, attempt + 1, self.max_retries, delay)
                # In slices, so a cancel is noticed within a quarter second whoever consumes the steps.
                remaining = delay
                while remaining > 0:
                    wait = min(WAIT_SLICE_S, remaining)
                    yield SyncProgress("waiting", attempt + 1, self.max_retries, wait_s=wait, reason=e.code)
                    self._check_cancel()
                    remaining -= wait
                attempt += 1
            except ApiError as e:
                if e.status == 401:
                    raise _Stop(e.code, "the registry refused the login token; log in online again") from e
                if e.status == 426 or e.code == protocol.E_VERSION:
                    raise _Stop(protocol.E_VERSION, f"this app's protocol version is not accepted: {e.message}"
                                ) from e
                raise

    def _request(self, method: str, path: str, **kwargs: Any) -> Iterator[SyncProgress]:
        return (yield from self._call(self.http.request, method, path, **kwargs))

    # -- the run
    def run(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncReport:
        for step in self.run_steps():
            if step.phase == "waiting":
                self.sleep(step.wait_s)
            if progress is not None:
                progress(step)
        return self.report

    def run_steps(self) -> Iterator[SyncProgress]:
        """One sync, yielding after each unit of work; the outcome is in ``self.report``."""
        self.report = rep = SyncReport()
        self._pulled_verifications: dict[str, str] = {}
        try:
            self._check_cancel()
            if self._http is None and not self.store.token():
                raise _Stop(protocol.E_AUTH_MISSING, "not logged in online on this laptop")
            yield from self._health()
            yield from self._blobs()
            yield from self._push()
            yield from self._pull()
            yield from self._video_checks()
            self._check_cancel()
            yield from self._digest()
            yield SyncProgress("digest", 1, 1)
        except _Cancelled:
            rep.cancelled = True
            rep.error_code = E_CANCELLED
            log.info("sync cancelled")
        except _Stop as e:
            rep.error, rep.error_code = f"{e.code}: {e.message}", e.code
        except TransportError as e:
            # The registry answered 5xx (it is there but failing) or nothing usable came back.
            code = E_SERVER_ERROR if e.kind is Kind.SERVER_ERROR else E_NETWORK
            rep.error, rep.error_code = f"{code}: {e.message} (after {self.max_retries} retries)", code
        except ApiError as e:
            rep.error, rep.error_code = f"{e.code}: {e.message}", e.code
        finally:
            counts = self.store.counts_by_state()
            rep.left_to_send = counts["queued"] + counts["sending"]
            rep.video_left = len(self.store.video_checks_to_send())
            rep.payment_failures_open = self.store.payment_failures_needing_help()
            self.store.set_meta(LAST_SYNC_META, {"finished_at": self.now().isoformat(timespec="seconds"),
                                                 "report": rep.to_dict()})
            log.info("sync finished: accepted=%d unchanged=%d conflicts=%d refused=%d blobs=%d pulled=%d "
                     "digest_match=%s left=%d error=%s", rep.accepted, rep.unchanged, rep.conflicts,
                     rep.refused, rep.blobs_sent, rep.pulled, rep.digest_match, rep.left_to_send,
                     rep.error_code)

    def _health(self) -> Iterator[SyncProgress]:
        body = yield from self._request("GET", protocol.HEALTH)
        lo = body.get("min_protocol_version", protocol.MIN_PROTOCOL_VERSION)
        hi = body.get("protocol_version", protocol.PROTOCOL_VERSION)
        if isinstance(lo, int) and isinstance(hi, int) and not lo <= protocol.PROTOCOL_VERSION <= hi:
            raise _Stop(protocol.E_VERSION, f"the registry speaks protocol {lo}..{hi}, "
                        f"this app {protocol.PROTOCOL_VERSION}")

    # -- blobs
    def _blobs(self) -> Iterator[SyncProgress]:
        todo = self.store.blobs_to_send()
        if todo:
            yield from self._upload_blobs(todo, self.store.blob_bytes)

    def _upload_blobs(self, todo: list[tuple[str, int]], read: Callable[[str], bytes]) -> Iterator[SyncProgress]:
        """Ask which of ``todo`` (sha256, size) the registry lacks, then send each missing one in chunks from
        the offset it holds; ``read(sha256)`` gives a blob's bytes (the records' blobs or a video clip)."""
        self._check_cancel()
        sizes = dict(todo)
        status = yield from self._request("POST", protocol.BLOB_STATUS,
                               json={"blobs": [{"sha256": s, "size": n} for s, n in todo]})
        entries = status.get("blobs") or []
        pending = []
        for e in entries:
            sha = e.get("sha256")
            if sha not in sizes:
                continue
            if e.get("complete"):
                self.store.mark_blob_uploaded(sha)
            else:
                pending.append((sha, sizes[sha], int(e.get("received") or 0)))
        total = sum(size - received for _sha, size, received in pending)
        done = 0
        for sha, size, received in pending:
            data = read(sha)
            offset = received if 0 <= received <= size else 0
            while True:
                self._check_cancel()
                chunk = data[offset:offset + protocol.BLOB_CHUNK]
                try:
                    answer = yield from self._call(self.http.put_chunk, sha, offset, size, chunk)
                except ApiError as e:
                    if e.code == protocol.E_BLOB_OFFSET and isinstance(e.data.get("received"), int):
                        offset = e.data["received"]  # the registry has more (or less): resume there
                        continue
                    log.warning("blob %s… refused: %s", sha[:12], e.code)
                    break  # the record's push (or the video check) will be refused and shown to the cadre
                self.report.bytes_sent += len(chunk)
                done += len(chunk)
                offset = int(answer.get("received", offset + len(chunk)))
                yield SyncProgress("blobs", min(done, total), total)
                if answer.get("complete"):
                    self.store.mark_blob_uploaded(sha)
                    self.report.blobs_sent += 1
                    break
                if offset >= size and not chunk:
                    break  # pragma: no cover - a registry that never says complete

    # -- push
    def _push(self) -> Iterator[SyncProgress]:
        counts = self.store.counts_by_state()
        total = counts["queued"] + counts["sending"]
        done = 0
        after = 0
        while True:
            self._check_cancel()
            batch = self.store.records_to_send(self.batch_size, after_seq=after)
            if not batch:
                break
            after = batch[-1]["seq"]
            yield from self._push_batch(batch)
            self.report.push_batches += 1
            done += len(batch)
            yield SyncProgress("push", done, max(total, done))

    def _push_batch(self, batch: list[dict]) -> Iterator[SyncProgress]:
        ids = [b["record_id"] for b in batch]
        self.store.mark_sending(ids)  # committed before the request leaves
        try:
            body = yield from self._request("POST", protocol.PUSH, json={
                "device_id": self.store.device_id, "records": [b["item"] for b in batch]})
        except ApiError as e:
            # The whole request was refused (not 401/426): find the record that causes it.
            if len(batch) > 1:
                mid = len(batch) // 2
                yield from self._push_batch(batch[:mid])
                yield from self._push_batch(batch[mid:])
                return
            self.store.mark_results([(ids[0], {"status": protocol.REFUSED, "error": e.to_error()})])
            self.report.refused += 1
            return
        answers = {r.get("record_id"): r for r in body.get("results") or [] if isinstance(r, dict)}
        pairs = []
        for b in batch:
            r = answers.get(b["record_id"])
            if r is None:
                log.warning("push: no answer for record %s; it stays 'sending' and goes again", b["record_id"])
                continue
            pairs.append((b["record_id"], r))
        try:
            states = self.store.mark_results(pairs)
        except protocol.BadWireShape as e:  # nothing applied: the batch stays "sending" and goes again
            raise _Stop(e.code, f"the registry's push answer is not protocol {protocol.PROTOCOL_VERSION}: {e}"
                        ) from e
        for (rid, r), state in zip(pairs, states, strict=True):
            status = r.get("status")
            if state is None:
                continue
            if status == protocol.ACCEPTED:
                self.report.accepted += 1
            elif status == protocol.UNCHANGED:
                self.report.unchanged += 1
            elif status == protocol.CONFLICT:
                self.report.conflicts += 1
                log.info("push: record %s in conflict with server version %s", rid,
                         (r.get("server") or {}).get("version"))
            else:
                self.report.refused += 1
                log.info("push: record %s refused: %s", rid, (r.get("error") or {}).get("code"))

    # -- pull
    def _pull(self) -> Iterator[SyncProgress]:
        while True:
            self._check_cancel()
            since = self.store.last_counter()
            body = yield from self._request("GET", protocol.PULL, params={"since": since, "limit": self.pull_limit})
            changes = body.get("changes") or []
            last = int(body.get("last_counter", since))
            if changes:
                try:
                    applied = self.store.apply_pull(changes, max(last, since))
                except protocol.BadWireShape as e:  # nothing applied, the counter included: pulled again
                    raise _Stop(e.code, f"the registry's pull answer is not protocol "
                                f"{protocol.PROTOCOL_VERSION}: {e}") from e
                self.report.reviews_changed += applied.get("reviews", 0)
                self.report.returned += applied.get("returned", 0)
                self.report.payment_failures += applied.get("payment_failures", 0)
                _count_verifications(self.report, self._pulled_verifications, changes)
            self.report.pulled += len(changes)
            self.report.pull_batches += 1
            more = bool(body.get("more")) and bool(changes) and last > since
            yield SyncProgress("pull", self.report.pulled, self.report.pulled + (self.pull_limit if more else 0))
            if not more:
                break

    # -- offline video checks (issue 11 item 4)
    def _video_checks(self) -> Iterator[SyncProgress]:
        """Send each pending video check: its clip as a blob, then the submission; store the answer. A 4xx
        refusal is stored (``refused``, with its code) and not sent again; a network failure or a 5xx ends
        the sync with the check still pending. A pull follows when any was decided, so the request's new
        state is on the laptop at the end of this sync."""
        from .verification_ops import submit_video_check

        todo = self.store.video_checks_to_send()
        decided = 0
        for index, check in enumerate(todo):
            self._check_cancel()
            check_id, sha = check["check_id"], check["clip_sha256"]
            try:
                clip = self.store.video_clip_bytes(check)
            except DomainError as e:
                self.store.mark_video_check_refused(check_id, e.code, "the clip's copy on this laptop is missing")
                self.report.video_refused += 1
                continue
            yield from self._upload_blobs([(sha, len(clip))], lambda _sha, clip=clip: clip)
            try:
                answer = yield from self._call(submit_video_check, self.http, check["request"], sha,
                                               check["digits_heard"])
            except ApiError as e:
                self.store.mark_video_check_refused(check_id, e.code, e.message)
                self.report.video_refused += 1
                log.info("video check %s refused: %s", check_id, e.code)
            else:
                self.store.mark_video_check_sent(check_id, answer)
                self.report.video_sent += 1
                decided += 1
            yield SyncProgress("video", index + 1, len(todo))
        if decided:
            yield from self._pull()

    # -- digest
    def _digest(self) -> Iterator[SyncProgress]:
        local, count = self.store.local_digest()
        body = yield from self._request("POST", protocol.DIGEST, json={"digest": local, "count": count})
        rep = self.report
        rep.local_digest, rep.local_count = local, count
        rep.server_digest, rep.server_count = body.get("server_digest"), body.get("server_count")
        rep.digest_match = bool(body.get("match")) and rep.server_digest == local and rep.server_count == count
        rep.digest_checked = True
        if not rep.digest_match:
            log.warning("sync digest mismatch: laptop %d records, registry %s", count, rep.server_count)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

"""Where learning statements go: a local JSON-Lines journal, and a real LRS when configured.

Every statement (built by `incubo.xapi.statement`) is appended to the
learner's own journal (`INCUBO_EVENTS_FILE`, by default
`~/.incubo/evenements.jsonl`): it is the default store, and what the
progress widget reads. When `INCUBO_LRS_URL` is set, the statement is also
written to a durable spool (one file per statement, `INCUBO_SPOOL_DIR`,
by default `~/.incubo/file-attente/`) and a background thread delivers
the spool to the LRS (xAPI `POST /xAPI/statements`, Basic auth from
`INCUBO_LRS_AUTH="user:password"`). A statement leaves the spool only once
the LRS has accepted it; ids are UUIDs fixed at creation, so a retry after a
lost answer never stores a statement twice. Recording never raises and never
waits for the network.

What the LRS answers decides what happens to a batch: 429 (too fast) and
other temporary answers keep it for later, after at least the server's
`Retry-After`; a refusal of the statements themselves (400, 403 with the
gate's final-refusal header, 409, 413) sends the batch again one statement
at a time, and only the statement refused on its own is set aside in
`refusees/`, never deleted. A batch never exceeds `MAX_BODY_BYTES` nor
`MAX_STATEMENTS` (the room gate's limits); a single statement larger than
that is set aside without being sent.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incubo import course_layout, lrs
from incubo.config import settings

log = logging.getLogger(__name__)
log.addHandler(
    logging.NullHandler()
)  # in a kernel, never print our warnings into the learner's notebook

BATCH_SIZE = 50
#: The largest request body the room's LRS gate accepts (1 MiB), and statements per request.
MAX_BODY_BYTES = 1024 * 1024
MAX_STATEMENTS = 1000
#: Longest wait a server's `Retry-After` may impose on the sender.
RETRY_AFTER_MAX = 300.0
HTTP_TIMEOUT = 5.0
RETRY_MIN, RETRY_MAX = 1.0, 30.0
EXIT_GRACE = 3.0  # seconds a finishing process (kernel, grading run) gives its last deliveries


def events_file() -> Path:
    """The learner's own journal of statements (JSON Lines, `INCUBO_EVENTS_FILE`)."""
    return settings().journal


#: A room's journals gathered in one folder (one file per learner).
ROOM_EVENTS_DIR = course_layout.EVENTS


def room_journals(course_dir: Path | None) -> list[Path]:
    """Every journal the trainer's dashboard reads on this machine, with no option to give.

    `INCUBO_EVENTS_DIR` when set, else the course's `evenements/` folder (journals
    gathered there, `incubo demo-data`); plus the journal `events_file()` of this
    account when it exists: on one machine the learner who runs `make run` and
    the trainer who runs `incubo apps` share it. (On a room hub, learners'
    statements go to the hub's LRS, which the hub's dashboard reads.)
    """
    found: list[Path] = []
    env = settings().events_dir
    if env:
        found.append(env)
    elif course_dir is not None:
        found.append(Path(course_dir) / ROOM_EVENTS_DIR)
    own = events_file()
    if own.is_file() and not any(
        own.resolve().is_relative_to(p.resolve()) for p in found if p.is_dir()
    ):
        found.append(own)
    return [p for p in found if p.exists()]


def spool_dir() -> Path:
    """Statements waiting for the LRS, one file each (`INCUBO_SPOOL_DIR`)."""
    return settings().spool_dir


def rejected_dir() -> Path:
    """Statements the LRS refused for good (kept, never deleted)."""
    return spool_dir() / "refusees"


def lrs_url() -> str | None:
    """The statements endpoint of the configured LRS, or None."""
    return lrs.configured_endpoint()


# --- recording -------------------------------------------------------------


def record(stmt: dict[str, Any]) -> bool:
    """Store one statement: journal always, spool + background delivery with an LRS.

    Returns False (and logs) if it could not be stored; never raises, so a
    full disk never breaks a learner's notebook.
    """
    ok = True
    try:
        append_jsonl(events_file(), stmt)
    except Exception:
        log.warning("could not write the events journal", exc_info=True)
        ok = False
    if lrs_url():
        try:
            _spool(stmt)
            ensure_sender().wake()
        except Exception:
            log.warning("could not spool a statement", exc_info=True)
            ok = False
    return ok


def append_jsonl(path: Path, obj: dict[str, Any]) -> None:
    """Append one line, under an advisory lock (several kernels may share the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0, os.SEEK_END)
            if fh.tell():  # a crash may have left a partial last line: never glue onto it
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = b"\n" + line
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_jsonl(path: Path | None = None) -> list[dict[str, Any]]:
    """The statements of a journal, skipping unreadable lines."""
    path = path or events_file()
    out: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    log.debug("skipping a broken journal line")
    except FileNotFoundError:
        pass
    return out


def _spool(stmt: dict[str, Any]) -> Path:
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{stmt['id']}.json"
    tmp = folder / f".{name}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(json.dumps(stmt, ensure_ascii=False).encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)  # atomic: a reader never sees half a statement
    return folder / name


def pending_files() -> list[Path]:
    """Spooled statements, oldest first."""
    try:
        return sorted(p for p in spool_dir().glob("*.json") if not p.name.startswith("."))
    except OSError:
        return []


# --- delivery --------------------------------------------------------------


@dataclass
class FlushReport:
    """What one delivery round did."""

    sent: int = 0
    pending: int = 0
    rejected: int = 0
    error: str | None = None
    rejected_reasons: list[str] = field(default_factory=list)
    retry_after: float | None = None  # seconds the LRS asked us to wait (429)


#: Client errors that say nothing about the statements themselves: keep them, retry later.
_TEMPORARY = {401, 403, 404, 405, 407, 408, 425, 429}
#: Header of a refusal about the statements themselves (the hub's LRS gate: someone else's actor).
FINAL_REFUSAL_HEADER = "X-Incubo-Refus-Definitif"


class _Unreachable(Exception):
    """The LRS could not be reached or answered with a temporary error."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(headers) -> float | None:
    """A `Retry-After` in seconds (the HTTP-date form is not used by our gate), bounded."""
    raw = headers.get("Retry-After") if headers else None
    try:
        return min(max(float(raw), 0.0), RETRY_AFTER_MAX) if raw else None
    except ValueError:
        return None


def _body(statements: list[dict[str, Any]]) -> bytes:
    return json.dumps(statements, ensure_ascii=False).encode("utf-8")


def _post(url: str, statements: list[dict[str, Any]]) -> int:
    body = _body(statements)
    request = urllib.request.Request(
        url, data=body, method="POST", headers=lrs.headers(json_body=True)
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        detail = err.read()[:300].decode("utf-8", "replace")
        final = bool(err.headers.get(FINAL_REFUSAL_HEADER)) if err.headers else False
        if 400 <= err.code < 500 and (err.code not in _TEMPORARY or final):
            return err.code  # this batch is refused for good: isolate the culprit
        if err.code in (401, 403):
            raise _Unreachable(
                f"identifiants refusés par le LRS (HTTP {err.code}) : vérifiez INCUBO_LRS_AUTH"
            ) from err
        if err.code == 429:
            raise _Unreachable(
                "le LRS demande d'attendre (HTTP 429)", _retry_after(err.headers)
            ) from err
        raise _Unreachable(f"HTTP {err.code} {detail}") from err
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise _Unreachable(str(getattr(err, "reason", err))) from err


def _reject(path: Path, reason: str, report: FlushReport) -> None:
    target = rejected_dir()
    target.mkdir(parents=True, exist_ok=True)
    os.replace(path, target / path.name)
    report.rejected += 1
    report.rejected_reasons.append(reason)
    log.warning("LRS refused statement %s (%s)", path.name, reason)


def _deliver(url: str, paths: list[Path], report: FlushReport) -> None:
    """Send `paths` as one batch; on a 400/409 fall back to one by one to isolate the culprit."""
    statements, readable, size = [], [], 2
    for p in paths:
        try:
            stmt = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # delivered meanwhile by another process
        except ValueError:
            _reject(p, "fichier illisible", report)
            continue
        one = len(_body([stmt]))
        if one > MAX_BODY_BYTES:  # the LRS would refuse it whatever we do: never send it
            _reject(p, f"déclaration trop volumineuse ({one} octets)", report)
            continue
        if statements and (size + one > MAX_BODY_BYTES or len(statements) >= MAX_STATEMENTS):
            break  # the rest waits for the next batch
        statements.append(stmt)
        readable.append(p)
        size += one
    if not statements:
        return
    status = _post(url, statements)
    if status in (200, 204):
        for p in readable:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        report.sent += len(readable)
        return
    if len(readable) == 1:
        _reject(readable[0], f"HTTP {status}", report)
        return
    for p in readable:
        _deliver(url, [p], report)


def flush(*, max_seconds: float | None = None) -> FlushReport:
    """Deliver the spool now (the background thread and `incubo events flush` call this)."""
    report = FlushReport()
    url = lrs_url()
    if not url:
        report.pending = len(pending_files())
        report.error = "aucun LRS configuré"
        return report
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    with open(folder / ".verrou", "a+b") as lock:
        # One deliverer at a time per spool (kernels of one learner, the CLI):
        # two concurrent POSTs of the same new statement could both be stored.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            while True:
                batch = pending_files()[:BATCH_SIZE]
                if not batch or (deadline is not None and time.monotonic() > deadline):
                    break
                try:
                    _deliver(url, batch, report)
                except _Unreachable as err:
                    report.error = str(err)
                    report.retry_after = err.retry_after
                    break
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    report.pending = len(pending_files())
    return report


class _Sender(threading.Thread):
    """Background delivery: woken by each new statement; while the LRS is away, retries with backoff.

    New statements during a backoff do not shorten it (they wait in the
    spool); only `retry_now()` does.
    """

    def __init__(self) -> None:
        super().__init__(name="incubo-lrs", daemon=True)
        self._wake = threading.Event()
        self._force = threading.Event()
        self.idle = threading.Event()

    def wake(self) -> None:
        self.idle.clear()
        self._wake.set()

    def retry_now(self) -> None:
        self._force.set()
        self.wake()

    def run(self) -> None:
        delay = RETRY_MIN
        while True:
            self._wake.clear()
            try:
                report = flush()
            except Exception:
                log.warning("LRS delivery round failed", exc_info=True)
                report = FlushReport(pending=len(pending_files()), error="erreur interne")
            if report.pending and report.error:
                log.info(
                    "LRS unreachable (%s); %d statement(s) wait; retry in %.0fs",
                    report.error,
                    report.pending,
                    delay,
                )
                # a 429's Retry-After is a floor: even retry_now() does not cut it short
                floor = report.retry_after or 0.0
                if floor:
                    time.sleep(floor)
                self._force.wait(max(0.0, delay - floor))
                self._force.clear()
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_MIN
            if report.pending:
                continue
            self.idle.set()
            self._wake.wait()


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def ensure_sender() -> _Sender:
    """The process' background sender, started on first use."""
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            if _sender is None:
                atexit.register(_deliver_before_exit)
            _sender = _Sender()
            _sender.start()
        return _sender


def _deliver_before_exit() -> None:
    """A short last chance at exit; what is not delivered stays spooled for next time."""
    try:
        if pending_files():
            wait_delivered(EXIT_GRACE)
    except Exception:
        pass


def start_background_delivery() -> None:
    """Deliver statements left from an earlier session (called when a notebook starts)."""
    try:
        if lrs_url() and pending_files():
            ensure_sender().wake()
    except Exception:
        log.debug("could not start background delivery", exc_info=True)


def wait_delivered(timeout: float = 10.0, *, retry_now: bool = True) -> bool:
    """Wait until the spool is empty (before a clean shutdown); `retry_now` cuts a backoff short."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pending_files():
            return True
        if _sender is not None and _sender.is_alive():
            if retry_now:
                _sender.retry_now()
            _sender.idle.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        else:
            time.sleep(0.1)
    return not pending_files()

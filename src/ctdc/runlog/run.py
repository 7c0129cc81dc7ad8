"""One logged run of a command: its id, its start and end lines, and its last-run record.

The CLI wraps every command that changes the workspace in :func:`open_run`
(``ctdc.cli.runlog.logged``). The run writes a ``start`` line, then, however the
command ends (success, a catalogued error, ``typer.Exit``, an interrupt, a bug),
an ``end`` line with the outcome, exit code, error slug and duration, and the
facts the command noted on the way (:func:`note`, allow-listed by
``ctdc.runlog.safe``). The end line is also kept as
``<data>/logs/last/<command>.json`` (written ``running`` at the start), so that
``ctdc status`` shows each command's last outcome whatever the log file and its
rotation, and a run killed before its end shows as interrupted.

Lines wait in memory until there is somewhere to write them: ``ctdc init``'s
start line is written once its workspace exists; a command refused because
there is no workspace logs nothing (unless ``--log-file`` names a file).
A log that cannot be written never fails the command: ``on_problem`` is told
once (the CLI prints a warning).
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from ctdc import __version__
from ctdc.runlog.handler import DEFAULT_BACKUPS, DEFAULT_MAX_BYTES, LOG_DIR, LOG_FILE, open_handler
from ctdc.runlog.safe import safe

LAST_DIR = "last"
_CURRENT: ContextVar[Run | None] = ContextVar("ctdc_run", default=None)


def now_utc() -> str:
    """The current time as a log timestamp: UTC, milliseconds, ``Z``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    """Sortable by time, unique across processes: ``20250101T020000Z-3f9c0a1b``."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def command_file(command: str) -> str:
    """``key rotate`` -> ``key-rotate``: a command's last-run file name."""
    return "-".join(command.split())


def log_dir(data_dir: Path) -> Path:
    return data_dir / LOG_DIR


def is_workspace(data_dir: Path) -> bool:
    """Whether ``data_dir`` is a workspace (its key, ledger or policy is there): logs go only
    into one, never into a folder a mistyped ``--data-dir`` names. Names as in
    ``ctdc.store.workspace``, not imported: that module brings pyarrow, the log needs none."""
    return any((data_dir / name).exists() for name in ("pseudonym.key", "ledger", "policy"))


def default_log_file(data_dir: Path) -> Path:
    return log_dir(data_dir) / LOG_FILE


class Run:
    """A command being run: see the module docstring."""

    def __init__(
        self,
        command: str,
        *,
        data_dir: Path,
        log_file: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.command, self.data_dir, self.log_file = command, data_dir, log_file
        self.max_bytes, self.backups = max_bytes, backups
        self.on_problem = on_problem
        self.run_id = new_run_id()
        self.facts: dict[str, Any] = {}
        self.slug: str | None = None
        self.started_at = ""
        self._t0 = time.monotonic()
        self._pending: list[dict[str, Any]] = []
        self._told = False

    def _doc(self, event: str, level: str, fields: dict[str, Any]) -> dict[str, Any]:
        base = {"ts": now_utc(), "level": level, "run_id": self.run_id,
                "command": self.command, "event": event}  # fmt: skip
        extra = {k: v for k, v in fields.items() if k not in base}
        return {**base, **{str(k): safe(v) for k, v in extra.items()}}

    def start(self, facts: dict[str, Any] | None = None) -> None:
        """Write the ``start`` line and the ``running`` last-run record."""
        fields = {"pid": os.getpid(), "user": _user(), "ctdc_version": __version__}
        doc = self._doc("start", "info", {**fields, **(facts or {})})
        self.facts.update(facts or {})  # the end line repeats them: each line stands alone
        self.started_at = doc["ts"]
        self._write(doc)
        self._keep_last({**doc, "outcome": "running"})

    def end(self, exit_code: int, *, outcome: str | None = None, error: str | None = None) -> None:
        """Write the ``end`` line (and the last-run record): how the command ended."""
        fields: dict[str, Any] = {
            "outcome": outcome or ("ok" if exit_code == 0 else "failed"),
            "exit_code": exit_code,
            "slug": self.slug,
            "duration_s": round(time.monotonic() - self._t0, 3),
            "started": self.started_at,
            "pid": os.getpid(),
        }
        if error:
            fields["error"] = error
        doc = self._doc("end", "info" if exit_code == 0 else "error", {**fields, **self.facts})
        self._write(doc)
        self._keep_last(doc)

    def _target(self) -> Path | None:
        """The log file, or None while there is nowhere to write it yet."""
        if self.log_file is not None:
            return self.log_file
        if not is_workspace(self.data_dir):
            return None
        _private_dir(log_dir(self.data_dir))
        return default_log_file(self.data_dir)

    def _write(self, doc: dict[str, Any]) -> None:
        self._pending.append(doc)
        try:
            target = self._target()
            if target is None:
                return
            handler = open_handler(target, max_bytes=self.max_bytes, backups=self.backups)
            handler.handleError = _reraise  # type: ignore[method-assign]
            try:
                for item in self._pending:
                    level = logging.ERROR if item["level"] == "error" else logging.INFO
                    handler.handle(logging.makeLogRecord(
                        {"msg": item["event"], "levelno": level, "doc": item}))  # fmt: skip
            finally:
                handler.close()
            self._pending.clear()
        except OSError as exc:
            self._pending.clear()  # told once; the command goes on
            self._tell(f"the log {self.log_file or default_log_file(self.data_dir)} "
                       f"cannot be written: {exc.strerror or exc}")  # fmt: skip

    def _keep_last(self, doc: dict[str, Any]) -> None:
        """``<data>/logs/last/<command>.json``: only in an existing workspace."""
        if not is_workspace(self.data_dir):
            return
        try:
            folder = _private_dir(log_dir(self.data_dir) / LAST_DIR)
            _write_atomic(folder / f"{command_file(self.command)}.json", doc)
        except OSError as exc:
            self._tell(f"the last-run record in {log_dir(self.data_dir)} cannot be written: "
                       f"{exc.strerror or exc}")  # fmt: skip

    def _tell(self, problem: str) -> None:
        if self.on_problem is not None and not self._told:
            self._told = True
            self.on_problem(problem)


def _reraise(record: logging.LogRecord) -> None:
    """A handler's ``handleError``: raise, instead of printing a traceback to stderr."""
    raise


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _private_dir(path: Path) -> Path:
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    return path


def _write_atomic(target: Path, doc: dict[str, Any]) -> None:
    """A small JSON file written whole or not at all (temp file + ``os.replace``, 0600)."""
    import json

    fd, tmp = tempfile.mkstemp(prefix=".last-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=True, indent=2)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current() -> Run | None:
    """The run of the command being executed, if it is logged."""
    return _CURRENT.get()


def note(**facts: Any) -> None:
    """Add facts to the current run's end line (allow-listed when written); no run: nothing."""
    run = current()
    if run is not None:
        run.facts.update(facts)


def failed(slug: str) -> None:
    """Record the error slug the current run ends with."""
    run = current()
    if run is not None:
        run.slug = str(slug)


def exit_of(exc: BaseException) -> tuple[int, str | None, str | None]:
    """(exit code, outcome, error type) of a command that ended by raising ``exc``.

    Duck-typed, so that the library needs no click: ``typer.Exit`` carries
    ``exit_code``, ``SystemExit`` its ``code``; click's ``Abort`` (a prompt
    answered no) exits 1; an interrupt 130; anything else is a bug (exit 1,
    its type logged, never its text, which may quote a value).
    """
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code, None, None
    if isinstance(exc, SystemExit):
        return (exc.code if isinstance(exc.code, int) else int(exc.code is not None)), None, None
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted", None
    if type(exc).__name__ == "Abort":
        return 1, "aborted", None
    slug = getattr(exc, "slug", None)
    if slug is not None:
        failed(str(slug))
    return 1, "failed", type(exc).__name__


@contextmanager
def open_run(command: str, *, data_dir: Path, log_file: Path | None = None,
             max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS,
             start: dict[str, Any] | None = None,
             on_problem: Callable[[str], None] | None = None) -> Iterator[Run]:  # fmt: skip
    """Log ``command`` around the block: a start line now, an end line however it ends."""
    run = Run(command, data_dir=data_dir, log_file=log_file, max_bytes=max_bytes,
              backups=backups, on_problem=on_problem)  # fmt: skip
    token = _CURRENT.set(run)
    try:
        run.start(start)
        try:
            yield run
        except BaseException as exc:
            code, outcome, error = exit_of(exc)
            run.end(code, outcome=outcome, error=error)
            raise
        run.end(0)
    finally:
        _CURRENT.reset(token)

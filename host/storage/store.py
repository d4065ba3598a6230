"""The recording store: one SQLite file per wearer holding everything a recording produced.

One process records (the pipeline, through one writer :class:`RecordingStore`); any
number of others read at the same time (the dashboard, the CLI, exports), each through its
own ``readonly=True`` store. SQLite's write-ahead log (WAL) lets readers see the last
committed state without ever waiting for the writer ("database is locked" does not happen
to readers).

Durability: writes are buffered in a transaction and become durable and visible at
:meth:`RecordingStore.commit`. The pipeline commits at least once a second, so a killed
process (``SIGKILL``, power button, crash) loses at most the last second of samples; the
next writer that opens the store marks the session ``interrupted``, ending at its last
stored block. With ``synchronous=NORMAL`` in WAL mode a commit survives a process crash;
a power cut or kernel crash may lose the last few commits but never corrupts the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import operator
import os
import re
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import numpy as np
from numpy.typing import NDArray

from dsp.calibration import Calibration
from host.errors import (
    ConfigError,
    StorageError,
    StorageFullError,
    StoragePermissionError,
    StoreCorruptError,
    StoreVersionError,
)
from host.protocol import DeviceInfoFrame, SampleFormat
from host.storage import schema
from host.storage._sqlite import SQLITE_MAGIC, RecorderLock, connect, storage_error
from host.storage.codec import (
    SAMPLE_FORMATS,
    SampleFormatName,
    decode_counts_view,
    encode_counts,
    format_limits,
    format_width,
)
from host.storage.paths import DEFAULT_WEARER, store_path
from host.storage.records import (
    SESSION_STATUSES,
    CalibrationRecord,
    DeviceRecord,
    EpisodeRecord,
    LabelRecord,
    LinkEventRecord,
    MarkerRecord,
    SessionRecord,
    SessionStatus,
    SignalSegment,
    StoredGap,
    Stream,
)

__all__ = [
    "DEFAULT_BLOCK_S",
    "DEFAULT_BUSY_TIMEOUT_S",
    "RecordingStore",
    "device_info_dict",
    "now_us",
]

logger = logging.getLogger(__name__)

#: How long a statement waits for a lock held by another connection, s.
DEFAULT_BUSY_TIMEOUT_S = 5.0
#: Contiguous appends are merged into stored blocks of up to this many seconds.
DEFAULT_BLOCK_S = 1.0

_TABLE: dict[str, str] = {"emg": "emg_blocks", "accel": "accel_blocks"}
_COUNTER: dict[str, str] = {"emg": "n_emg_samples", "accel": "n_accel_samples"}
_STREAMS: tuple[Stream, ...] = ("emg", "accel")
_END_STATUSES: tuple[SessionStatus, ...] = ("stopped", "interrupted", "failed")
_KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_DEFAULT_ACCEL_NAMES = ("x", "y", "z")
_SESSION_COLUMNS = (
    "id, device_id, source_url, status, reason, started_us, ended_us, sfreq, channel_names, "
    "emg_volts_per_count, sample_format, accel_sfreq, accel_channel_names, accel_g_per_count, "
    "accel_sample_format, notes, n_emg_samples, n_accel_samples, data_end_us"
)
_EPISODE_COLUMNS = (
    "id, session_id, start_sample, end_sample, start_us, end_us, involuntary, kind, side, "
    "confidence, data"
)


def now_us() -> int:
    """Return the current UTC time in microseconds since the Unix epoch."""
    return time.time_ns() // 1000


@dataclass(frozen=True)
class _StreamSpec:
    """What writing and reading one stream of a session needs."""

    sfreq: float
    ch_names: tuple[str, ...]
    sample_format: SampleFormatName
    scale: float
    unit: str

    @property
    def n_channels(self) -> int:
        return len(self.ch_names)


@dataclass(frozen=True)
class _WriteSpec:
    """A stream of a session being recorded, with what every append checks."""

    stream: _StreamSpec
    n_channels: int
    low: int
    high: int
    block_samples: int


@dataclass
class _Pending:
    """Contiguous samples appended but not yet written as a block."""

    first_sample: int
    t_start_us: int
    t_end_us: int
    parts: list[NDArray[np.int32]] = field(default_factory=list)
    n_samples: int = 0

    @property
    def end_sample(self) -> int:
        return self.first_sample + self.n_samples


def _stream_spec(record: SessionRecord, stream: Stream) -> _StreamSpec:
    if stream == "emg":
        return _StreamSpec(
            record.sfreq,
            record.channel_names,
            record.sample_format,
            record.emg_volts_per_count,
            "V",
        )
    if record.accel_sfreq is None or record.accel_g_per_count is None:
        raise ConfigError(
            f"session {record.id} was started without an accelerometer (accel_sfreq=None): "
            "pass accel_sfreq and accel_g_per_count to start_session to store accelerometer data"
        )
    return _StreamSpec(
        record.accel_sfreq,
        record.accel_channel_names,
        record.accel_sample_format,
        record.accel_g_per_count,
        "g",
    )


def _check_stream(stream: str) -> Stream:
    if stream not in _STREAMS:
        raise ConfigError(
            f"Invalid value for the 'stream' parameter. Allowed values are 'emg', 'accel', "
            f"but got {stream!r} instead."
        )
    return stream


def _as_int(name: str, value: object) -> int:
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


def _as_positive(name: str, value: float) -> float:
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _sample_format(name: str, value: str | SampleFormat) -> SampleFormatName:
    text = value.name.lower() if isinstance(value, SampleFormat) else value
    if text not in SAMPLE_FORMATS:
        raise ConfigError(
            f"Invalid value for the {name!r} parameter. Allowed values are 'int16', 'int24', "
            f"but got {value!r} instead."
        )
    return text


def _channel_names(name: str, names: Sequence[str]) -> tuple[str, ...]:
    out = tuple(names) if not isinstance(names, str) else ()
    if not out or not all(isinstance(n, str) and n for n in out) or len(set(out)) != len(out):
        raise ConfigError(
            f"{name} must be a non-empty sequence of distinct non-empty strings, got {names!r}"
        )
    return out


def _jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types: NaN/inf become None, numpy scalars Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), separators=(",", ":"), allow_nan=False)


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StoreCorruptError(f"{what} holds invalid JSON ({exc}): the store is damaged") from exc


def _ceil_div(num: int, den: int) -> int:
    return -((-num) // den)


def device_info_dict(info: DeviceInfoFrame) -> dict[str, Any]:
    """Return the JSON-ready description of a device from its DEVICE_INFO frame.

    Parameters
    ----------
    info : DeviceInfoFrame
        The frame the device sent.

    Returns
    -------
    dict
        Firmware version, device id (16 hex digits), board, rates, formats and scales.
    """
    return {
        "firmware_version": list(info.firmware_version),
        "device_id": f"{info.device_id:016x}",
        "board": info.board,
        "emg_sfreq": info.emg_sfreq,
        "channel_names": list(info.channel_names),
        "emg_format": info.emg_format.name.lower(),
        "adc_bits": info.adc_bits,
        "adc_bipolar": info.adc_bipolar,
        "vref_v": info.vref_v,
        "gain": info.gain,
        "volts_per_count": info.volts_per_count,
        "accel_sfreq": info.accel_sfreq,
        "accel_g_per_count": info.accel_g_per_count,
        "samples_per_frame": info.samples_per_frame,
    }


class RecordingStore:
    """A wearer's recordings in one SQLite file: sessions, samples, episodes, labels, ...

    Open it with :meth:`open` (or :meth:`for_wearer`), use it as a context manager or call
    :meth:`close`. One writer store per file records; readers open their own store with
    ``readonly=True``. A store object is safe to share between threads (calls are
    serialised by an internal lock).

    Writes and durability:

    ============================================  =================================
    method                                        committed
    ============================================  =================================
    ``append_emg``, ``append_accel``,             at the next :meth:`commit`
    ``add_episode``, ``add_link_event``,          (the pipeline commits at least
    ``add_marker``                                once a second)
    ``start_session``, ``end_session``,           at once (with everything pending)
    ``register_device``, ``add_label``,
    ``save_calibration``, ``set_session_notes``
    ============================================  =================================

    Contiguous appends of a stream are merged into blocks of up to ``block_s`` seconds
    before they are written, whatever the frame size of the device.

    On a full disk (or the ``max_size_bytes`` limit) a write raises
    :class:`~host.errors.StorageFullError`: the uncommitted writes since the last commit
    are dropped and everything committed before stays readable. Disk I/O errors raise the
    same exception.

    Calls block on disk I/O (a commit that triggers a WAL checkpoint can take tens of
    milliseconds), so the pipeline writes from its own sink thread, never from the event
    loop that receives the frames.

    Use :meth:`open` rather than the constructor.

    Parameters
    ----------
    conn : sqlite3.Connection
        The connection :meth:`open` set up.
    path : Path
        The store file.
    readonly, busy_timeout_s, block_s
        As for :meth:`open`.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        readonly: bool,
        busy_timeout_s: float,
        block_s: float,
    ) -> None:
        self._conn = conn
        self._path = path
        self._readonly = readonly
        self._busy_timeout_s = busy_timeout_s
        self._block_s = block_s
        self._lock = threading.RLock()
        self._recorder_lock = RecorderLock(path.with_name(path.name + ".lock"))
        self._closed = False
        self._schema_version = 0
        # Writer state (empty for readers).
        self._writing: dict[int, SessionRecord] = {}
        self._own: set[int] = set()
        self._write_specs: dict[tuple[int, Stream], _WriteSpec] = {}
        self._pending: dict[tuple[int, Stream], _Pending] = {}
        self._last_end: dict[tuple[int, Stream], int | None] = {}

    # -- opening and closing ---------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        block_s: float = DEFAULT_BLOCK_S,
        max_size_bytes: int | None = None,
    ) -> RecordingStore:
        """Open (and for a writer create or upgrade) a store file.

        A writer creates the directory and the file if missing, switches the file to WAL
        mode, applies pending schema migrations in one transaction, and marks sessions left
        ``recording`` by a process that died as ``interrupted`` (unless a live process is
        recording into the file).

        Parameters
        ----------
        path : path-like
            The store file (see :func:`~host.storage.store_path`).
        readonly : bool
            Open for reading only (``mode=ro``): the file must exist and be a store of the
            current schema version; nothing is ever written.
        busy_timeout_s : float
            How long a statement waits for a lock held by another connection, s.
        block_s : float
            Longest stored block of merged contiguous appends, s.
        max_size_bytes : int or None
            Size limit of the database: writes beyond it raise
            :class:`~host.errors.StorageFullError` as a full disk does. None: no limit.

        Returns
        -------
        RecordingStore
            The open store.

        Raises
        ------
        StoreCorruptError
            If the file is not a SQLite database, is a database of another application,
            or is damaged.
        StoreVersionError
            If the file was written by a newer spasmwatch (or, for a reader, needs an
            upgrade first).
        StoragePermissionError
            If the directory or the file cannot be created or written.
        StorageError
            If a reader's file does not exist, or another storage problem.
        ConfigError
            If ``path`` is a directory or a parameter is out of range.
        """
        busy_timeout_s = _as_positive("busy_timeout_s", busy_timeout_s)
        block_s = _as_positive("block_s", block_s)
        if max_size_bytes is not None and _as_int("max_size_bytes", max_size_bytes) <= 0:
            raise ConfigError(f"max_size_bytes must be > 0 or None, got {max_size_bytes}")
        file = Path(os.fspath(path)).expanduser().absolute()
        if file.is_dir():
            raise ConfigError(
                f"{file} is a directory: give the path of the store file inside it "
                f"(for example {file / (DEFAULT_WEARER + '.sqlite3')})"
            )
        if readonly:
            if not file.exists():
                raise StorageError(
                    f"no recording store at {file}: record a session first (the recorder "
                    "creates the file), or check the wearer name and the data directory"
                )
        else:
            _prepare_for_writing(file)
        _check_header(file)
        try:
            conn = connect(file, readonly=readonly, busy_timeout_s=busy_timeout_s)
        except sqlite3.Error as exc:
            raise storage_error(exc, file, "open") from exc
        store = cls(conn, file, readonly=readonly, busy_timeout_s=busy_timeout_s, block_s=block_s)
        try:
            store._setup(max_size_bytes)
        except BaseException:
            conn.close()
            store._closed = True
            raise
        return store

    @classmethod
    def for_wearer(
        cls,
        wearer: str = DEFAULT_WEARER,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        readonly: bool = False,
    ) -> RecordingStore:
        """Open the store of a wearer in the data directory (see :meth:`open`).

        Parameters
        ----------
        wearer : str
            Wearer name (a safe file name, see :func:`~host.storage.check_wearer`).
        data_dir : path-like or None
            Directory of the stores; None: :func:`~host.storage.default_data_dir`.
        readonly : bool
            Open for reading only.

        Returns
        -------
        RecordingStore
            The open store.
        """
        return cls.open(store_path(wearer, data_dir), readonly=readonly)

    def _setup(self, max_size_bytes: int | None) -> None:
        with self._sql_errors("open"):
            app_id = int(self._conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            n_objects = int(self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        target = schema.check_migrations(schema.MIGRATIONS)
        fresh = app_id == 0 and version == 0 and n_objects == 0
        if not fresh and app_id != schema.APPLICATION_ID:
            raise StoreCorruptError(
                f"{self._path} is not a spasmwatch store: it is a SQLite database of another "
                f"application (application_id 0x{app_id & 0xFFFFFFFF:08x}, {n_objects} schema "
                "objects). Move it away or choose another file."
            )
        if version > target:
            raise StoreVersionError(
                f"{self._path} has schema version {version}, written by a newer spasmwatch; "
                f"this version reads schema version {target} at most. Upgrade spasmwatch to "
                "open it (the file is left untouched)."
            )
        if self._readonly:
            if fresh:
                raise StorageError(
                    f"{self._path} is an empty file, not yet a recording store: open it for "
                    "writing once (readonly=False) to create the store"
                )
            if version < target:
                raise StoreVersionError(
                    f"{self._path} has schema version {version}; this spasmwatch reads version "
                    f"{target}. Open it once for writing (readonly=False) to upgrade it."
                )
            self._schema_version = version
            return
        with self._sql_errors("set up"):
            mode = str(self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if mode.lower() != "wal":
                logger.warning(
                    "%s: WAL journal mode unavailable (got %r); readers may wait for the writer",
                    self._path,
                    mode,
                )
            self._conn.execute("PRAGMA synchronous = NORMAL")
            if max_size_bytes is not None:
                page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
                pages = max(1, max_size_bytes // page_size)
                self._conn.execute(f"PRAGMA max_page_count = {pages}")
        if version < target:
            self._migrate(target)
        self._schema_version = target
        if self._recorder_lock.try_acquire():
            try:
                self._recover()
            finally:
                self._recorder_lock.release()

    def _migrate(self, target: int) -> None:
        with self._sql_errors("upgrade the schema of"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                current = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                try:
                    applied = schema.apply_migrations(self._conn, current, schema.MIGRATIONS)
                except sqlite3.Error as exc:
                    error = storage_error(exc, self._path, "upgrade the schema of")
                    if type(error) is StorageError:  # not the disk's fault: a bug
                        error = StorageError(
                            f"could not upgrade {self._path} from schema version {current} to "
                            f"{target}: {exc}. The file is unchanged; report this as a bug."
                        )
                    raise error from exc
                if current == 0:
                    self._conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [("created_us", str(now_us())), ("created_schema", str(target))],
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
        for migration in applied:
            logger.info(
                "%s: schema migrated to version %d (%s)",
                self._path,
                migration.version,
                migration.description,
            )
        self._schema_version = target

    def _recover(self) -> None:
        """Mark sessions left ``recording`` by a dead process as ``interrupted``."""
        with self._sql_errors("recover interrupted sessions in"):
            rows = self._conn.execute(
                "SELECT id, started_us FROM sessions WHERE status = 'recording'"
            ).fetchall()
            if not rows:
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for session_id, started_us in rows:
                    end = max(
                        (
                            e
                            for e in (self._last_block_end_us(session_id, s) for s in _STREAMS)
                            if e is not None
                        ),
                        default=int(started_us),
                    )
                    self._conn.execute(
                        "UPDATE sessions SET status = 'interrupted', ended_us = ?, reason = ? "
                        "WHERE id = ?",
                        (
                            end,
                            "the recording process ended without closing the session "
                            "(killed, crashed or powered off)",
                            session_id,
                        ),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
        logger.warning(
            "%s: %d session(s) left recording by a process that died marked interrupted: %s",
            self._path,
            len(rows),
            ", ".join(str(r[0]) for r in rows),
        )

    def _last_block_end_us(self, session_id: int, stream: Stream) -> int | None:
        row = self._conn.execute(
            f"SELECT max(t_end_us) FROM (SELECT t_end_us FROM {_TABLE[stream]} "
            "WHERE session_id = ? ORDER BY t_start_us DESC LIMIT 16)",
            (session_id,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def close(self) -> None:
        """Commit pending writes and close the store (idempotent).

        Sessions this store started and did not end are marked ``interrupted``.

        Raises
        ------
        StorageError
            If the last commit failed (the connection is closed anyway).
        """
        with self._lock:
            if self._closed:
                return
            error: StorageError | None = None
            try:
                if not self._readonly:
                    try:
                        self._interrupt_own("the store was closed while the session was recording")
                        self._commit()
                        with contextlib.suppress(sqlite3.Error):
                            self._conn.execute("PRAGMA optimize")
                    except StorageError as exc:
                        error = exc
            finally:
                self._closed = True
                self._conn.close()
                self._recorder_lock.release()
            if error is not None:
                raise error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except StorageError as close_error:  # do not hide the exception in flight
            logger.error("%s: closing after an error failed too: %s", self._path, close_error)

    def __repr__(self) -> str:
        mode = "readonly" if self._readonly else "writer"
        state = "closed" if self._closed else "open"
        return f"<RecordingStore {str(self._path)!r} {mode} {state}>"

    # -- properties ------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The store file."""
        return self._path

    @property
    def readonly(self) -> bool:
        """True for a reader (opened with ``readonly=True``)."""
        return self._readonly

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def schema_version(self) -> int:
        """Schema version of the file."""
        return self._schema_version

    def recorder_running(self) -> bool | None:
        """Tell whether a live process is recording into this store (holds its recorder lock).

        A session still marked ``recording`` while no process holds the lock was left by a
        recorder that died (killed, crashed, powered off): the next writer that opens the
        store marks it ``interrupted``, and readers can tell the truth before then. The
        test never waits and writes nothing, not even to the lock file: it takes a shared
        lock for an instant and lets it go.

        Returns
        -------
        bool or None
            True if this store, or another live process, holds the lock; False if none
            does; None if it cannot be told (no file locking on this file system or
            platform, or the lock file cannot be read).

        Raises
        ------
        StorageError
            If the store is closed.
        """
        with self._lock:
            self._check_open()
            if self._recorder_lock.held:
                return True
            return _recorder_lock_held(self._recorder_lock.path)

    # -- internals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _sql_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            error = storage_error(exc, self._path, action)
            if not self._readonly:
                self._abort()
            if isinstance(error, StorageFullError):
                logger.error("%s", error)
            raise error from exc

    def _abort(self) -> None:
        """Roll back the open transaction and forget what was buffered."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
        self._pending.clear()
        self._last_end.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"the recording store {self._path} is closed")

    def _check_writer(self) -> None:
        self._check_open()
        if self._readonly:
            raise StorageError(
                f"{self._path} was opened read-only (readonly=True): open it with "
                "readonly=False to write"
            )

    def _begin(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        with self._sql_errors("commit to"):
            for key in list(self._pending):
                self._flush(key)
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def _flush(self, key: tuple[int, Stream]) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        session_id, stream = key
        spec = self._write_specs[key].stream
        counts = pending.parts[0] if len(pending.parts) == 1 else np.hstack(pending.parts)
        blob = encode_counts(counts, spec.sample_format)
        self._begin()
        self._conn.execute(
            f"INSERT INTO {_TABLE[stream]} (session_id, first_sample, n_samples, t_start_us, "
            "t_end_us, counts) VALUES (?, ?, ?, ?, ?, ?)",
            (
                session_id,
                pending.first_sample,
                pending.n_samples,
                pending.t_start_us,
                pending.t_end_us,
                blob,
            ),
        )
        self._conn.execute(
            f"UPDATE sessions SET {_COUNTER[stream]} = {_COUNTER[stream]} + ?, "
            "data_end_us = max(coalesce(data_end_us, ?), ?) WHERE id = ?",
            (pending.n_samples, pending.t_end_us, pending.t_end_us, session_id),
        )
        self._last_end[key] = pending.end_sample

    def _flush_session(self, session_id: int) -> None:
        with self._sql_errors("write samples to"):
            for stream in _STREAMS:
                self._flush((session_id, stream))

    def _session_record(self, session_id: int) -> SessionRecord:
        session_id = _as_int("session_id", session_id)
        with self._sql_errors("read"):
            row = self._conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise ConfigError(f"no session with id {session_id} in {self._path}")
        return self._session_from_row(row)

    def _session_from_row(self, row: Sequence[Any]) -> SessionRecord:
        return SessionRecord(
            id=int(row[0]),
            device_id=None if row[1] is None else int(row[1]),
            source_url=str(row[2]),
            status=cast(SessionStatus, row[3]),
            reason=str(row[4]),
            started_us=int(row[5]),
            ended_us=None if row[6] is None else int(row[6]),
            sfreq=float(row[7]),
            channel_names=tuple(_loads(row[8], f"session {row[0]} channel_names")),
            emg_volts_per_count=float(row[9]),
            sample_format=cast(SampleFormatName, row[10]),
            accel_sfreq=None if row[11] is None else float(row[11]),
            accel_channel_names=tuple(_loads(row[12], f"session {row[0]} accel_channel_names")),
            accel_g_per_count=None if row[13] is None else float(row[13]),
            accel_sample_format=cast(SampleFormatName, row[14]),
            notes=str(row[15]),
            n_emg_samples=int(row[16]),
            n_accel_samples=int(row[17]),
            data_end_us=None if row[18] is None else int(row[18]),
        )

    def _recording_session(self, session_id: int) -> SessionRecord:
        """Return the session an append goes to; it must be recording."""
        record = self._writing.get(session_id)
        if record is None:
            record = self._session_record(session_id)
            if record.status != "recording":
                raise ConfigError(
                    f"session {session_id} is {record.status}, not recording: start a new "
                    "session to store more samples"
                )
            self._writing[session_id] = record
        return record

    def _write_spec(self, session_id: int, stream: Stream) -> _WriteSpec:
        spec = _stream_spec(self._recording_session(session_id), stream)
        low, high = format_limits(spec.sample_format)
        block = max(1, round(self._block_s * spec.sfreq))
        write = _WriteSpec(spec, spec.n_channels, low, high, block)
        self._write_specs[(session_id, stream)] = write
        return write

    def _stored_end(self, key: tuple[int, Stream]) -> int | None:
        if key not in self._last_end:
            with self._sql_errors("read"):
                row = self._conn.execute(
                    f"SELECT first_sample + n_samples FROM {_TABLE[key[1]]} WHERE session_id = ? "
                    "ORDER BY first_sample DESC LIMIT 1",
                    (key[0],),
                ).fetchone()
            self._last_end[key] = None if row is None else int(row[0])
        return self._last_end[key]

    def _interrupt_own(self, reason: str) -> None:
        for session_id in sorted(self._own):
            self._end(session_id, "interrupted", reason, None)

    # -- writing: sessions and devices -----------------------------------------------------

    def register_device(
        self,
        *,
        name: str,
        address: str,
        transport: str,
        info: Mapping[str, Any] | DeviceInfoFrame | None = None,
        seen_us: int | None = None,
    ) -> int:
        """Record a device (or update it when seen again) and commit.

        A device is identified by its ``transport`` and ``address``; registering it again
        updates its name, information and ``last_seen_us``.

        Parameters
        ----------
        name : str
            Human name.
        address : str
            Serial port, USB ``VID:PID``, BLE address, scenario name.
        transport : str
            URL scheme it was reached by: ``"serial"``, ``"ble"``, ``"sim"``, ``"replay"``.
        info : mapping or DeviceInfoFrame or None
            Device information, stored as JSON (a DEVICE_INFO frame is converted with
            :func:`device_info_dict`).
        seen_us : int or None
            UTC µs of the sighting; None: now.

        Returns
        -------
        int
            The device id.
        """
        with self._lock:
            self._check_writer()
            for label, text in (("name", name), ("address", address), ("transport", transport)):
                if not isinstance(text, str) or not text:
                    raise ConfigError(f"{label} must be a non-empty string, got {text!r}")
            details = device_info_dict(info) if isinstance(info, DeviceInfoFrame) else info
            seen = now_us() if seen_us is None else _as_int("seen_us", seen_us)
            with self._sql_errors("register a device in"):
                self._begin()
                self._conn.execute(
                    "INSERT INTO devices (name, address, transport, info, first_seen_us, "
                    "last_seen_us) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (transport, address) "
                    "DO UPDATE SET name = excluded.name, info = excluded.info, "
                    "last_seen_us = max(last_seen_us, excluded.last_seen_us)",
                    (name, address, transport, _dumps(details or {}), seen, seen),
                )
                row = self._conn.execute(
                    "SELECT id FROM devices WHERE transport = ? AND address = ?",
                    (transport, address),
                ).fetchone()
            self._commit()
            return int(row[0])

    def start_session(
        self,
        *,
        source_url: str,
        sfreq: float,
        channel_names: Sequence[str],
        emg_volts_per_count: float,
        sample_format: str | SampleFormat = "int16",
        accel_sfreq: float | None = None,
        accel_g_per_count: float | None = None,
        accel_channel_names: Sequence[str] = _DEFAULT_ACCEL_NAMES,
        accel_sample_format: str | SampleFormat = "int16",
        device_id: int | None = None,
        started_us: int | None = None,
        notes: str = "",
    ) -> int:
        """Start a recording session and commit; this store becomes the file's recorder.

        Parameters
        ----------
        source_url : str
            Transport URL of the source (``serial:///dev/ttyACM0``, ``ble://...``).
        sfreq : float
            EMG sampling rate, Hz.
        channel_names : sequence of str
            EMG channel names; every EMG block has this many rows.
        emg_volts_per_count : float
            Scale from EMG counts to volts (``DeviceInfoFrame.volts_per_count``).
        sample_format : {"int16", "int24"} or SampleFormat
            Storage width of EMG counts (the device's ``emg_format``).
        accel_sfreq : float or None
            Accelerometer rate, Hz; None: no accelerometer in this session.
        accel_g_per_count : float or None
            Scale from accelerometer counts to g; required with ``accel_sfreq``.
        accel_channel_names : sequence of str
            Accelerometer axes.
        accel_sample_format : {"int16", "int24"} or SampleFormat
            Storage width of accelerometer counts.
        device_id : int or None
            A device from :meth:`register_device`.
        started_us : int or None
            UTC µs of the start; None: now.
        notes : str
            Free text.

        Returns
        -------
        int
            The session id.

        Raises
        ------
        StorageError
            If another process is recording into this store.
        ConfigError
            On an invalid parameter or unknown device.
        """
        with self._lock:
            self._check_writer()
            if not isinstance(source_url, str) or not source_url:
                raise ConfigError(f"source_url must be a non-empty string, got {source_url!r}")
            sfreq = _as_positive("sfreq", sfreq)
            names = _channel_names("channel_names", channel_names)
            scale = _as_positive("emg_volts_per_count", emg_volts_per_count)
            emg_format = _sample_format("sample_format", sample_format)
            acc_format = _sample_format("accel_sample_format", accel_sample_format)
            if accel_sfreq is None:
                acc_sfreq: float | None = None
                acc_scale: float | None = None
                acc_names: tuple[str, ...] = ()
            else:
                acc_sfreq = _as_positive("accel_sfreq", accel_sfreq)
                if accel_g_per_count is None:
                    raise ConfigError("accel_g_per_count is required when accel_sfreq is given")
                acc_scale = _as_positive("accel_g_per_count", accel_g_per_count)
                acc_names = _channel_names("accel_channel_names", accel_channel_names)
            started = now_us() if started_us is None else _as_int("started_us", started_us)
            if device_id is not None:
                device_id = _as_int("device_id", device_id)
                with self._sql_errors("read"):
                    known = self._conn.execute(
                        "SELECT 1 FROM devices WHERE id = ?", (device_id,)
                    ).fetchone()
                if known is None:
                    raise ConfigError(
                        f"no device with id {device_id} in {self._path}: register it with "
                        "register_device() first"
                    )
            if not self._recorder_lock.held and not self._recorder_lock.acquire(
                self._busy_timeout_s
            ):
                raise StorageError(
                    f"another process (pid {self._recorder_lock.holder()}) is recording into "
                    f"{self._path}: stop it first, or record under another wearer name"
                )
            with self._sql_errors("start a session in"):
                self._begin()
                cursor = self._conn.execute(
                    "INSERT INTO sessions (device_id, source_url, status, started_us, sfreq, "
                    "channel_names, emg_volts_per_count, sample_format, accel_sfreq, "
                    "accel_channel_names, accel_g_per_count, accel_sample_format, notes, "
                    "writer_pid, writer_host) "
                    "VALUES (?, ?, 'recording', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        device_id,
                        source_url,
                        started,
                        sfreq,
                        _dumps(names),
                        scale,
                        emg_format,
                        acc_sfreq,
                        _dumps(acc_names),
                        acc_scale,
                        acc_format,
                        str(notes),
                        os.getpid(),
                        socket.gethostname(),
                    ),
                )
                session_id = int(cast(int, cursor.lastrowid))
            self._commit()
            self._own.add(session_id)
            self._writing[session_id] = self._session_record(session_id)
            logger.info("%s: session %d started (%s)", self._path, session_id, source_url)
            return session_id

    def start_session_from_info(
        self,
        info: DeviceInfoFrame,
        *,
        source_url: str,
        device_id: int | None = None,
        started_us: int | None = None,
        accel_sample_format: str | SampleFormat = "int16",
        notes: str = "",
    ) -> int:
        """Start a session with the rates, channels, formats and scales of a DEVICE_INFO frame.

        Parameters
        ----------
        info : DeviceInfoFrame
            What the device announced.
        source_url : str
            Transport URL of the source.
        device_id : int or None
            A device from :meth:`register_device`.
        started_us : int or None
            UTC µs of the start; None: now.
        accel_sample_format : {"int16", "int24"} or SampleFormat
            Storage width of accelerometer counts (not announced by DEVICE_INFO).
        notes : str
            Free text.

        Returns
        -------
        int
            The session id (see :meth:`start_session`).
        """
        has_accel = info.accel_sfreq > 0 and info.accel_g_per_count > 0
        return self.start_session(
            source_url=source_url,
            sfreq=info.emg_sfreq,
            channel_names=info.channel_names,
            emg_volts_per_count=info.volts_per_count,
            sample_format=info.emg_format,
            accel_sfreq=info.accel_sfreq if has_accel else None,
            accel_g_per_count=info.accel_g_per_count if has_accel else None,
            accel_sample_format=accel_sample_format,
            device_id=device_id,
            started_us=started_us,
            notes=notes,
        )

    def end_session(
        self,
        session_id: int,
        status: SessionStatus = "stopped",
        reason: str = "",
        *,
        ended_us: int | None = None,
    ) -> None:
        """End a recording session: write what is buffered, set its status and commit.

        Parameters
        ----------
        session_id : int
            A session with status ``recording``.
        status : {"stopped", "interrupted", "failed"}
            ``stopped`` for a normal end; ``failed`` when recording stopped on an error.
        reason : str
            Why (for ``interrupted`` and ``failed``): "disk full", "device gave up", ...
        ended_us : int or None
            UTC µs of the end; None: the end of the last stored block (now if none).

        Raises
        ------
        ConfigError
            If the session does not exist, is not recording, or the status is invalid.
        """
        with self._lock:
            self._check_writer()
            if status not in _END_STATUSES:
                raise ConfigError(
                    f"Invalid value for the 'status' parameter. Allowed values are "
                    f"{', '.join(map(repr, _END_STATUSES))}, but got {status!r} instead."
                )
            session_id = _as_int("session_id", session_id)
            record = self._session_record(session_id)
            if record.status != "recording":
                raise ConfigError(
                    f"session {session_id} has already ended (status {record.status!r})"
                )
            self._writing.setdefault(session_id, record)
            end = None if ended_us is None else _as_int("ended_us", ended_us)
            self._end(session_id, status, str(reason), end)
            self._commit()
            logger.info("%s: session %d %s %s", self._path, session_id, status, reason)

    def _end(
        self, session_id: int, status: SessionStatus, reason: str, ended_us: int | None
    ) -> None:
        self._flush_session(session_id)
        with self._sql_errors("end a session in"):
            if ended_us is None:
                row = self._conn.execute(
                    "SELECT data_end_us FROM sessions WHERE id = ?", (session_id,)
                ).fetchone()
                ended_us = now_us() if row is None or row[0] is None else int(row[0])
            self._begin()
            self._conn.execute(
                "UPDATE sessions SET status = ?, reason = ?, ended_us = ? WHERE id = ?",
                (status, reason, ended_us, session_id),
            )
        self._writing.pop(session_id, None)
        self._own.discard(session_id)
        for stream in _STREAMS:
            self._last_end.pop((session_id, stream), None)
            self._write_specs.pop((session_id, stream), None)
        if not self._own:
            self._recorder_lock.release()

    def set_session_notes(self, session_id: int, notes: str) -> None:
        """Replace the free-text notes of a session and commit.

        Parameters
        ----------
        session_id : int
            The session.
        notes : str
            New notes.
        """
        with self._lock:
            self._check_writer()
            self._session_record(session_id)
            with self._sql_errors("write notes to"):
                self._begin()
                self._conn.execute(
                    "UPDATE sessions SET notes = ? WHERE id = ?", (str(notes), session_id)
                )
            self._commit()

    # -- writing: samples ------------------------------------------------------------------

    def append_emg(
        self,
        session_id: int,
        first_sample: int,
        counts: NDArray[np.integer],
        t_start_us: int,
        t_end_us: int | None = None,
    ) -> None:
        """Buffer a block of EMG counts (written at the next :meth:`commit`).

        Parameters
        ----------
        session_id : int
            A session this store is recording.
        first_sample : int
            Device sample index of ``counts[:, 0]``, unwrapped to 64 bits; it must not be
            below the end of what is already stored for the session (no overlap). A jump
            forward is a gap: the missing samples read back as NaN.
        counts : ndarray of int, shape (n_channels, n_times)
            ADC counts, one row per channel of the session; every value must fit the
            session's sample format.
        t_start_us : int
            UTC µs of ``counts[:, 0]`` (from the timing module).
        t_end_us : int or None
            UTC µs just after the last sample (its time plus one sample period); None:
            ``t_start_us + n_times / sfreq``.

        Raises
        ------
        ConfigError
            On a wrong shape, dtype, value range, an overlap, or a session not recording.
        StorageFullError
            If writing a completed block hit a full disk (see the class notes).
        """
        self._append("emg", session_id, first_sample, counts, t_start_us, t_end_us)

    def append_accel(
        self,
        session_id: int,
        first_sample: int,
        counts: NDArray[np.integer],
        t_start_us: int,
        t_end_us: int | None = None,
    ) -> None:
        """Buffer a block of accelerometer counts (see :meth:`append_emg`).

        Parameters
        ----------
        session_id : int
            A session this store is recording, started with an accelerometer.
        first_sample : int
            Accelerometer sample index of ``counts[:, 0]`` (its own index, unwrapped).
        counts : ndarray of int, shape (n_axes, n_times)
            Accelerometer counts, one row per axis of the session.
        t_start_us : int
            UTC µs of ``counts[:, 0]``.
        t_end_us : int or None
            UTC µs just after the last sample; None: from ``accel_sfreq``.
        """
        self._append("accel", session_id, first_sample, counts, t_start_us, t_end_us)

    def _append(
        self,
        stream: Stream,
        session_id: int,
        first_sample: int,
        counts: NDArray[np.integer],
        t_start_us: int,
        t_end_us: int | None,
    ) -> None:
        with self._lock:
            self._check_writer()
            session_id = _as_int("session_id", session_id)
            key = (session_id, stream)
            write = self._write_specs.get(key)
            if write is None:
                write = self._write_spec(session_id, stream)
            spec = write.stream
            array = np.asarray(counts)
            if array.ndim != 2 or array.shape[0] != write.n_channels:
                raise ConfigError(
                    f"{stream} counts must have shape ({write.n_channels}, n_times) for session "
                    f"{session_id} ({', '.join(spec.ch_names)}), got shape {array.shape}"
                )
            if array.dtype.kind not in "iu":
                raise ConfigError(f"{stream} counts must be integers, got dtype {array.dtype}")
            n_times = int(array.shape[1])
            if n_times == 0:
                return
            lowest = int(np.minimum.reduce(array, axis=None))
            highest = int(np.maximum.reduce(array, axis=None))
            if lowest < write.low or highest > write.high:
                raise ConfigError(
                    f"{stream} counts must fit {spec.sample_format} [{write.low}, {write.high}] "
                    f"in session {session_id}, got values in [{lowest}, {highest}]"
                )
            first = _as_int("first_sample", first_sample)
            if first < 0:
                raise ConfigError(f"first_sample must be >= 0, got {first}")
            start = _as_int("t_start_us", t_start_us)
            if t_end_us is None:
                end = start + round(n_times * 1e6 / spec.sfreq)
            else:
                end = _as_int("t_end_us", t_end_us)
                if end < start:
                    raise ConfigError(f"t_end_us ({end}) must be >= t_start_us ({start})")
            pending = self._pending.get(key)
            known_end = pending.end_sample if pending is not None else self._stored_end(key)
            if known_end is not None and first < known_end:
                raise ConfigError(
                    f"{stream} block at sample {first} of session {session_id} overlaps samples "
                    f"already stored (up to sample {known_end - 1}): samples are stored once; a "
                    "device restart needs a new session"
                )
            block = array.astype(np.int32)  # a copy: the caller may reuse its buffer
            cap = write.block_samples
            if (
                pending is not None
                and first == pending.end_sample
                and (pending.n_samples + n_times <= cap)
            ):
                pending.parts.append(block)
                pending.n_samples += n_times
                pending.t_end_us = end
            else:
                if pending is not None:
                    with self._sql_errors(f"write {stream} samples to"):
                        self._flush(key)
                self._pending[key] = _Pending(first, start, end, [block], n_times)
            if self._pending[key].n_samples >= cap:
                with self._sql_errors(f"write {stream} samples to"):
                    self._flush(key)

    def commit(self) -> None:
        """Write the buffered blocks and commit everything since the last commit.

        After it returns, the data is visible to readers and survives the death of this
        process.

        Raises
        ------
        StorageFullError
            On a full disk, size limit or disk I/O error; the uncommitted writes are
            dropped, everything committed before stays readable.
        """
        with self._lock:
            self._check_writer()
            self._commit()

    # -- writing: annotations --------------------------------------------------------------

    def add_episode(
        self,
        session_id: int,
        episode: Mapping[str, Any],
        *,
        start_us: int | None = None,
        end_us: int | None = None,
    ) -> int:
        """Buffer a detected episode (written at the next :meth:`commit`).

        Parameters
        ----------
        session_id : int
            The session it was detected in.
        episode : mapping
            ``dsp.detector.Episode.to_dict()`` with ``start_sample`` and ``end_sample`` in
            the session's EMG sample index (the index of :meth:`append_emg`), and
            ``involuntary``, ``kind``, ``side``, ``confidence``. Stored whole as JSON.
        start_us, end_us : int or None
            UTC µs of the start and end; None: from the stored EMG block times.

        Returns
        -------
        int
            The episode id (valid once committed).

        Raises
        ------
        ConfigError
            If a key is missing, the session is unknown, or the times cannot be derived
            (no EMG stored yet and ``start_us``/``end_us`` not given).
        """
        with self._lock:
            self._check_writer()
            record = self._session_record(session_id)
            if not isinstance(episode, Mapping):
                raise ConfigError(
                    f"episode must be a mapping (Episode.to_dict()), got {type(episode).__name__}"
                )
            missing = [
                k
                for k in ("start_sample", "end_sample", "involuntary", "kind", "side")
                if k not in episode
            ]
            if missing:
                raise ConfigError(f"episode is missing the keys {missing} (see Episode.to_dict())")
            start_sample = _as_int("episode start_sample", episode["start_sample"])
            end_sample = _as_int("episode end_sample", episode["end_sample"])
            if end_sample < start_sample:
                raise ConfigError(
                    f"episode end_sample ({end_sample}) must be >= start_sample ({start_sample})"
                )
            if start_us is None or end_us is None:
                self._flush_session(record.id)  # the times come from the stored blocks
            start = (
                self._sample_time_us(record, start_sample)
                if start_us is None
                else _as_int("start_us", start_us)
            )
            end = (
                self._sample_time_us(record, end_sample)
                if end_us is None
                else _as_int("end_us", end_us)
            )
            if end < start:
                raise ConfigError(f"episode end_us ({end}) must be >= start_us ({start})")
            confidence = episode.get("confidence")
            with self._sql_errors("add an episode to"):
                self._begin()
                cursor = self._conn.execute(
                    "INSERT INTO episodes (session_id, start_sample, end_sample, start_us, "
                    "end_us, involuntary, kind, side, confidence, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        start_sample,
                        end_sample,
                        start,
                        end,
                        int(bool(episode["involuntary"])),
                        str(episode["kind"]),
                        str(episode["side"]),
                        None if confidence is None else float(confidence),
                        _dumps(episode),
                    ),
                )
            return int(cast(int, cursor.lastrowid))

    def _sample_time_us(self, record: SessionRecord, sample: int) -> int:
        """UTC µs of an EMG sample index, from the stored block times."""
        with self._sql_errors("read"):
            row = self._conn.execute(
                "SELECT first_sample, n_samples, t_start_us, t_end_us FROM emg_blocks "
                "WHERE session_id = ? AND first_sample <= ? ORDER BY first_sample DESC LIMIT 1",
                (record.id, sample),
            ).fetchone()
            if row is None:
                row = self._conn.execute(
                    "SELECT first_sample, n_samples, t_start_us, t_end_us FROM emg_blocks "
                    "WHERE session_id = ? ORDER BY first_sample LIMIT 1",
                    (record.id,),
                ).fetchone()
        if row is None:
            raise ConfigError(
                f"cannot place sample {sample} of session {record.id} in time: no EMG is stored "
                "yet; pass start_us and end_us"
            )
        first, n, t0, t1 = (int(v) for v in row)
        if first <= sample <= first + n:
            return t0 + round((sample - first) * (t1 - t0) / n)
        if sample > first + n:
            return t1 + round((sample - first - n) * 1e6 / record.sfreq)
        return t0 - round((first - sample) * 1e6 / record.sfreq)

    def add_link_event(
        self,
        session_id: int,
        t_us: int,
        kind: str,
        *,
        stream: Stream | None = None,
        first_sample: int | None = None,
        n_samples: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Buffer a link event (written at the next :meth:`commit`).

        Parameters
        ----------
        session_id : int
            The session.
        t_us : int
            UTC µs when it happened (for a gap: when the first missing sample was due).
        kind : str
            Lower-case identifier: ``"gap"``, ``"connected"``, ``"disconnected"``,
            ``"reconnecting"``, ``"gave_up"``, ``"crc_error"``, ``"frame_lost"``,
            ``"restart"``, ``"overflow"``, ...
        stream : {"emg", "accel"} or None
            The sample stream concerned (gaps).
        first_sample, n_samples : int or None
            The samples concerned: for a gap the first missing sample and how many.
        detail : mapping or None
            Anything else, stored as JSON.

        Returns
        -------
        int
            The event id.
        """
        with self._lock:
            self._check_writer()
            record = self._session_record(session_id)
            t = _as_int("t_us", t_us)
            if not isinstance(kind, str) or _KIND_RE.fullmatch(kind) is None:
                raise ConfigError(
                    f"link event kind must be a lower-case identifier such as 'gap' or "
                    f"'reconnect' (letters, digits, '_'; at most 32), got {kind!r}"
                )
            if stream is not None:
                _check_stream(stream)
            first = None if first_sample is None else _as_int("first_sample", first_sample)
            count = None if n_samples is None else _as_int("n_samples", n_samples)
            if count is not None and count < 0:
                raise ConfigError(f"n_samples must be >= 0, got {count}")
            with self._sql_errors("add a link event to"):
                self._begin()
                cursor = self._conn.execute(
                    "INSERT INTO link_events (session_id, t_us, kind, stream, first_sample, "
                    "n_samples, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (record.id, t, kind, stream, first, count, _dumps(detail or {})),
                )
            return int(cast(int, cursor.lastrowid))

    def add_marker(self, t_us: int, text: str, *, session_id: int | None = None) -> int:
        """Buffer a user marker (written at the next :meth:`commit`).

        Parameters
        ----------
        t_us : int
            UTC µs the marker points at.
        text : str
            What the wearer wrote or chose.
        session_id : int or None
            The session recording at the time, if any.

        Returns
        -------
        int
            The marker id.
        """
        with self._lock:
            self._check_writer()
            if session_id is not None:
                session_id = self._session_record(session_id).id
            t = _as_int("t_us", t_us)
            if not isinstance(text, str):
                raise ConfigError(f"marker text must be a string, got {text!r}")
            with self._sql_errors("add a marker to"):
                self._begin()
                cursor = self._conn.execute(
                    "INSERT INTO markers (session_id, t_us, text, created_us) VALUES (?, ?, ?, ?)",
                    (session_id, t, text, now_us()),
                )
            return int(cast(int, cursor.lastrowid))

    def add_label(
        self,
        episode_id: int,
        label: str,
        *,
        note: str = "",
        author: str = "",
        created_us: int | None = None,
        trigger: str = "",
    ) -> int:
        """Label an episode (the wearer's or a clinician's judgement) and commit.

        Parameters
        ----------
        episode_id : int
            The episode (:class:`~host.storage.EpisodeRecord` id).
        label : str
            The judgement: ``"spasm"``, ``"voluntary"``, ``"artefact"``, ``"unsure"``, ...
        note : str
            Free text.
        author : str
            Who labelled.
        created_us : int or None
            UTC µs; None: now.
        trigger : str
            What set the episode off, in the wearer's view (``"lifting"``, ``"stress"``,
            ...); empty when not given.

        Returns
        -------
        int
            The label id.
        """
        with self._lock:
            self._check_writer()
            episode_id = _as_int("episode_id", episode_id)
            if not isinstance(label, str) or not label.strip():
                raise ConfigError(f"label must be a non-empty string, got {label!r}")
            created = now_us() if created_us is None else _as_int("created_us", created_us)
            with self._sql_errors("add a label to"):
                if (
                    self._conn.execute(
                        "SELECT 1 FROM episodes WHERE id = ?", (episode_id,)
                    ).fetchone()
                    is None
                ):
                    raise ConfigError(f"no episode with id {episode_id} in {self._path}")
                self._begin()
                cursor = self._conn.execute(
                    'INSERT INTO labels (episode_id, label, note, author, created_us, "trigger") '
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (episode_id, label, str(note), str(author), created, str(trigger)),
                )
            self._commit()
            return int(cast(int, cursor.lastrowid))

    def save_calibration(
        self,
        calibration: Calibration | Mapping[str, Any],
        *,
        session_id: int | None = None,
        device_id: int | None = None,
        created_us: int | None = None,
    ) -> int:
        """Store a calibration and commit.

        Parameters
        ----------
        calibration : Calibration or mapping
            A :class:`~dsp.calibration.Calibration` or its ``to_dict()`` (checked by
            rebuilding it).
        session_id, device_id : int or None
            Where it was measured.
        created_us : int or None
            UTC µs; None: now.

        Returns
        -------
        int
            The calibration id.
        """
        with self._lock:
            self._check_writer()
            if isinstance(calibration, Calibration):
                data = calibration.to_dict()
            else:
                try:
                    data = Calibration.from_dict(calibration).to_dict()
                except (TypeError, ValueError) as exc:
                    raise ConfigError(f"not a valid calibration: {exc}") from exc
            if session_id is not None:
                session_id = self._session_record(session_id).id
            if device_id is not None:
                device_id = _as_int("device_id", device_id)
            created = now_us() if created_us is None else _as_int("created_us", created_us)
            with self._sql_errors("save a calibration to"):
                if (
                    device_id is not None
                    and self._conn.execute(
                        "SELECT 1 FROM devices WHERE id = ?", (device_id,)
                    ).fetchone()
                    is None
                ):
                    raise ConfigError(f"no device with id {device_id} in {self._path}")
                self._begin()
                cursor = self._conn.execute(
                    "INSERT INTO calibrations (created_us, session_id, device_id, data) "
                    "VALUES (?, ?, ?, ?)",
                    (created, session_id, device_id, _dumps(data)),
                )
            self._commit()
            return int(cast(int, cursor.lastrowid))

    # -- reading: sessions and devices -----------------------------------------------------

    def list_sessions(
        self,
        *,
        start_us: int | None = None,
        end_us: int | None = None,
        status: SessionStatus | None = None,
    ) -> list[SessionRecord]:
        """Return the sessions, oldest first, optionally those overlapping a UTC range.

        Parameters
        ----------
        start_us, end_us : int or None
            Keep sessions that overlap ``[start_us, end_us)`` (a session still recording
            extends to now).
        status : str or None
            Keep only sessions with this status.

        Returns
        -------
        list of SessionRecord
            Ordered by start time.
        """
        with self._lock:
            self._check_open()
            clauses: list[str] = []
            params: list[Any] = []
            if end_us is not None:
                clauses.append("started_us < ?")
                params.append(_as_int("end_us", end_us))
            if start_us is not None:
                clauses.append("coalesce(ended_us, max(coalesce(data_end_us, 0), ?)) > ?")
                start = _as_int("start_us", start_us)
                params += [now_us(), start]
            if status is not None:
                if status not in SESSION_STATUSES:
                    raise ConfigError(
                        f"Invalid value for the 'status' parameter. Allowed values are "
                        f"{', '.join(map(repr, SESSION_STATUSES))}, but got {status!r} instead."
                    )
                clauses.append("status = ?")
                params.append(status)
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            with self._sql_errors("read"):
                rows = self._conn.execute(
                    f"SELECT {_SESSION_COLUMNS} FROM sessions{where} ORDER BY started_us, id",
                    params,
                ).fetchall()
            return [self._session_from_row(r) for r in rows]

    def session(self, session_id: int) -> SessionRecord:
        """Return one session.

        Raises
        ------
        ConfigError
            If there is no such session.
        """
        with self._lock:
            self._check_open()
            return self._session_record(session_id)

    def devices(self) -> list[DeviceRecord]:
        """Return every registered device, by id."""
        with self._lock:
            self._check_open()
            with self._sql_errors("read"):
                rows = self._conn.execute(
                    "SELECT id, name, address, transport, info, first_seen_us, last_seen_us "
                    "FROM devices ORDER BY id"
                ).fetchall()
            return [
                DeviceRecord(
                    int(r[0]),
                    str(r[1]),
                    str(r[2]),
                    str(r[3]),
                    _loads(r[4], f"device {r[0]} info"),
                    int(r[5]),
                    int(r[6]),
                )
                for r in rows
            ]

    # -- reading: samples ------------------------------------------------------------------

    def read_emg(
        self, session_id: int, start_s: float | None = None, stop_s: float | None = None
    ) -> SignalSegment:
        """Read EMG of a session in volts, NaN where samples are missing.

        Parameters
        ----------
        session_id : int
            The session.
        start_s, stop_s : float or None
            Range in seconds from the session's first stored sample, counted in samples
            (``start_s * sfreq`` samples after it); None: from the first / to the last
            stored sample.

        Returns
        -------
        SignalSegment
            ``data`` of shape (n_channels, n_times) in volts. Memory: 8 bytes per
            sample per channel (a day of 2 x 1 kHz is 1.4 GB; use
            :meth:`iter_segments` for long ranges).
        """
        return self._read_relative("emg", session_id, start_s, stop_s)

    def read_accel(
        self, session_id: int, start_s: float | None = None, stop_s: float | None = None
    ) -> SignalSegment:
        """Read accelerometer data of a session in g, NaN where missing (see :meth:`read_emg`).

        Parameters
        ----------
        session_id : int
            The session (started with an accelerometer).
        start_s, stop_s : float or None
            Range in seconds from the session's first stored accelerometer sample.

        Returns
        -------
        SignalSegment
            ``data`` of shape (n_axes, n_times) in g.
        """
        return self._read_relative("accel", session_id, start_s, stop_s)

    def read_emg_between(self, start_us: int, end_us: int) -> list[SignalSegment]:
        """Read EMG recorded in a UTC time range, across sessions.

        Parameters
        ----------
        start_us, end_us : int
            UTC µs; samples with ``start_us <= t < end_us`` are returned.

        Returns
        -------
        list of SignalSegment
            One per session with data in the range, oldest first; each starts at its first
            stored sample in the range and ends at its last, NaN in gaps between.
        """
        return self._read_between("emg", start_us, end_us)

    def read_accel_between(self, start_us: int, end_us: int) -> list[SignalSegment]:
        """Read accelerometer data recorded in a UTC time range (see :meth:`read_emg_between`).

        Parameters
        ----------
        start_us, end_us : int
            UTC µs range.

        Returns
        -------
        list of SignalSegment
            One per session with accelerometer data in the range.
        """
        return self._read_between("accel", start_us, end_us)

    def iter_segments(
        self,
        session_id: int,
        stream: Stream = "emg",
        *,
        chunk_s: float = 600.0,
        start_s: float | None = None,
        stop_s: float | None = None,
    ) -> Iterator[SignalSegment]:
        """Yield a session's signal in consecutive chunks (exports, long analyses).

        Parameters
        ----------
        session_id : int
            The session.
        stream : {"emg", "accel"}
            Which signal.
        chunk_s : float
            Length of each chunk, s (the last one may be shorter).
        start_s, stop_s : float or None
            Range, as in :meth:`read_emg`.

        Yields
        ------
        SignalSegment
            Consecutive segments; concatenated they equal ``read_emg(session_id, start_s,
            stop_s)``.
        """
        stream = _check_stream(stream)
        chunk_s = _as_positive("chunk_s", chunk_s)
        with self._lock:
            self._check_open()
            record = self._session_record(session_id)
            spec = _stream_spec(record, stream)
            s0, s1 = self._relative_range(record, stream, spec, start_s, stop_s)
        step = max(1, round(chunk_s * spec.sfreq))
        for first in range(s0, s1, step):
            with self._lock:  # not held while the caller works on a chunk
                self._check_open()
                segment = self._read_samples(record, stream, spec, first, min(s1, first + step))
            yield segment

    def gaps(self, session_id: int, stream: Stream = "emg") -> list[StoredGap]:
        """Return the runs of samples missing between stored blocks of a session.

        Parameters
        ----------
        session_id : int
            The session.
        stream : {"emg", "accel"}
            Which signal.

        Returns
        -------
        list of StoredGap
            In sample order.
        """
        stream = _check_stream(stream)
        with self._lock:
            self._check_open()
            record = self._session_record(session_id)
            with self._sql_errors("read"):
                rows = self._conn.execute(
                    "SELECT prev_end, first_sample - prev_end, prev_t_end, t_start_us FROM ("
                    "SELECT first_sample, t_start_us, "
                    "lag(first_sample + n_samples) OVER w AS prev_end, "
                    "lag(t_end_us) OVER w AS prev_t_end "
                    f"FROM {_TABLE[stream]} WHERE session_id = ? "
                    "WINDOW w AS (ORDER BY first_sample)) "
                    "WHERE first_sample > prev_end ORDER BY first_sample",
                    (record.id,),
                ).fetchall()
            return [StoredGap(int(a), int(b), int(c), int(d)) for a, b, c, d in rows]

    def _extent(self, session_id: int, stream: Stream) -> tuple[int, int] | None:
        table = _TABLE[stream]
        with self._sql_errors("read"):
            first = self._conn.execute(
                f"SELECT first_sample FROM {table} WHERE session_id = ? "
                "ORDER BY first_sample LIMIT 1",
                (session_id,),
            ).fetchone()
            last = self._conn.execute(
                f"SELECT first_sample + n_samples FROM {table} WHERE session_id = ? "
                "ORDER BY first_sample DESC LIMIT 1",
                (session_id,),
            ).fetchone()
        if first is None or last is None:
            return None
        return int(first[0]), int(last[0])

    def _relative_range(
        self,
        record: SessionRecord,
        stream: Stream,
        spec: _StreamSpec,
        start_s: float | None,
        stop_s: float | None,
    ) -> tuple[int, int]:
        for name, value in (("start_s", start_s), ("stop_s", stop_s)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0 or None, got {value!r}")
        if start_s is not None and stop_s is not None and stop_s < start_s:
            raise ConfigError(f"stop_s ({stop_s}) must be >= start_s ({start_s})")
        extent = self._extent(record.id, stream)
        if extent is None:
            return 0, 0
        origin, end = extent
        s0 = origin if start_s is None else origin + round(start_s * spec.sfreq)
        s1 = end if stop_s is None else min(end, origin + round(stop_s * spec.sfreq))
        s0 = min(s0, end)
        return s0, max(s0, s1)

    def _read_relative(
        self, stream: Stream, session_id: int, start_s: float | None, stop_s: float | None
    ) -> SignalSegment:
        with self._lock:
            self._check_open()
            record = self._session_record(session_id)
            spec = _stream_spec(record, stream)
            s0, s1 = self._relative_range(record, stream, spec, start_s, stop_s)
            return self._read_samples(record, stream, spec, s0, s1)

    def _read_between(self, stream: Stream, start_us: int, end_us: int) -> list[SignalSegment]:
        start = _as_int("start_us", start_us)
        end = _as_int("end_us", end_us)
        if end < start:
            raise ConfigError(f"end_us ({end}) must be >= start_us ({start})")
        with self._lock:
            self._check_open()
            out: list[SignalSegment] = []
            for record in self.list_sessions(start_us=start, end_us=end):
                if stream == "accel" and not record.has_accel:
                    continue
                spec = _stream_spec(record, stream)
                s0 = self._sample_at_or_after(record.id, stream, start)
                if s0 is None:
                    continue
                s1 = self._sample_at_or_after(record.id, stream, end)
                if s1 is None:
                    extent = self._extent(record.id, stream)
                    s1 = s0 if extent is None else extent[1]
                if s1 > s0:
                    out.append(self._read_samples(record, stream, spec, s0, s1))
            return out

    def _sample_at_or_after(self, session_id: int, stream: Stream, t_us: int) -> int | None:
        """First stored sample index whose time is at or after ``t_us``, None if none."""
        table = _TABLE[stream]
        with self._sql_errors("read"):
            row = self._conn.execute(
                f"SELECT first_sample, n_samples, t_start_us, t_end_us FROM {table} "
                "WHERE session_id = ? AND t_start_us <= ? ORDER BY t_start_us DESC LIMIT 1",
                (session_id, t_us),
            ).fetchone()
            if row is not None and int(row[3]) > t_us:
                first, n, t0, t1 = (int(v) for v in row)
                return first + min(n, _ceil_div((t_us - t0) * n, t1 - t0))
            row = self._conn.execute(
                f"SELECT first_sample FROM {table} WHERE session_id = ? AND t_start_us > ? "
                "ORDER BY t_start_us LIMIT 1",
                (session_id, t_us),
            ).fetchone()
        return None if row is None else int(row[0])

    def _read_samples(
        self, record: SessionRecord, stream: Stream, spec: _StreamSpec, s0: int, s1: int
    ) -> SignalSegment:
        """Read samples ``[s0, s1)`` of a stream, NaN where no block holds them."""
        table = _TABLE[stream]
        n_ch = spec.n_channels
        data = np.empty((n_ch, max(0, s1 - s0)))
        rows: list[tuple[int, int, int, int, bytes]] = []
        if s1 > s0:
            with self._sql_errors("read"):
                rows = self._conn.execute(
                    f"SELECT first_sample, n_samples, t_start_us, t_end_us, counts FROM {table} "
                    "WHERE session_id = ? AND first_sample < ? AND first_sample >= coalesce("
                    f"(SELECT first_sample FROM {table} WHERE session_id = ? "
                    "AND first_sample <= ? ORDER BY first_sample DESC LIMIT 1), ?) "
                    "ORDER BY first_sample",
                    (record.id, s1, record.id, s0, s0),
                ).fetchall()
        rows = [r for r in rows if r[0] + r[1] > s0]
        width = format_width(spec.sample_format) * n_ch
        for first, n, _, _, blob in rows:
            if len(blob) != n * width:
                raise StoreCorruptError(
                    f"{stream} block at sample {first} of session {record.id} in {self._path} "
                    f"holds {len(blob)} bytes, expected {n * width}: the store is damaged"
                )
        filled = s0  # data[:, :filled - s0] is written
        if rows:
            firsts = np.array([r[0] for r in rows], dtype=np.int64)
            sizes = np.array([r[1] for r in rows], dtype=np.int64)
            counts = decode_counts_view(b"".join(r[4] for r in rows), n_ch, spec.sample_format)
            offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            # Consecutive blocks without a gap between them are copied in one go.
            breaks = np.flatnonzero(firsts[1:] != firsts[:-1] + sizes[:-1]) + 1
            starts = np.concatenate(([0], breaks))
            stops = np.concatenate((breaks, [len(rows)]))
            for i, j in zip(starts, stops, strict=True):
                run_first = int(firsts[i])
                run_end = int(firsts[j - 1] + sizes[j - 1])
                a, b = max(run_first, s0), min(run_end, s1)
                if b <= a:
                    continue
                data[:, filled - s0 : a - s0] = np.nan  # the gap before this run
                src = int(offsets[i]) + a - run_first
                np.multiply(counts[src : src + (b - a)].T, spec.scale, out=data[:, a - s0 : b - s0])
                filled = b
            anchor_samples = np.column_stack((firsts, firsts + sizes)).ravel()
            anchor_us = np.array([(r[2], r[3]) for r in rows], dtype=np.int64).ravel()
        else:
            anchor_samples = np.zeros(0, dtype=np.int64)
            anchor_us = np.zeros(0, dtype=np.int64)
        data[:, filled - s0 :] = np.nan
        return SignalSegment(
            session_id=record.id,
            stream=stream,
            data=data,
            sfreq=spec.sfreq,
            ch_names=spec.ch_names,
            first_sample=s0,
            unit="V" if stream == "emg" else "g",
            anchor_samples=anchor_samples,
            anchor_us=anchor_us,
        )

    # -- reading: annotations --------------------------------------------------------------

    def episodes(
        self,
        *,
        session_id: int | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
        involuntary: bool | None = None,
    ) -> list[EpisodeRecord]:
        """Return episodes by onset time.

        Parameters
        ----------
        session_id : int or None
            Only this session's.
        start_us, end_us : int or None
            Only episodes whose onset is in ``[start_us, end_us)`` (UTC µs).
        involuntary : bool or None
            Only spasms (True) or only voluntary contractions (False).

        Returns
        -------
        list of EpisodeRecord
            Ordered by onset.
        """
        clauses, params = self._time_filter("start_us", session_id, start_us, end_us)
        if involuntary is not None:
            clauses.append("involuntary = ?")
            params.append(int(bool(involuntary)))
        rows = self._select(f"SELECT {_EPISODE_COLUMNS} FROM episodes", clauses, params, "start_us")
        return [self._episode_from_row(r) for r in rows]

    def episode(self, episode_id: int) -> EpisodeRecord:
        """Return one episode.

        Raises
        ------
        ConfigError
            If there is no such episode.
        """
        rows = self._select(
            f"SELECT {_EPISODE_COLUMNS} FROM episodes",
            ["id = ?"],
            [_as_int("episode_id", episode_id)],
            "id",
        )
        if not rows:
            raise ConfigError(f"no episode with id {episode_id} in {self._path}")
        return self._episode_from_row(rows[0])

    def _episode_from_row(self, r: Sequence[Any]) -> EpisodeRecord:
        return EpisodeRecord(
            id=int(r[0]),
            session_id=int(r[1]),
            start_sample=int(r[2]),
            end_sample=int(r[3]),
            start_us=int(r[4]),
            end_us=int(r[5]),
            involuntary=bool(r[6]),
            kind=str(r[7]),
            side=str(r[8]),
            confidence=None if r[9] is None else float(r[9]),
            data=_loads(r[10], f"episode {r[0]}"),
        )

    def link_events(
        self,
        *,
        session_id: int | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
        kind: str | None = None,
    ) -> list[LinkEventRecord]:
        """Return link events by time.

        Parameters
        ----------
        session_id : int or None
            Only this session's.
        start_us, end_us : int or None
            Only events in ``[start_us, end_us)`` (UTC µs).
        kind : str or None
            Only this kind (``"gap"``, ...).

        Returns
        -------
        list of LinkEventRecord
            Ordered by time.
        """
        clauses, params = self._time_filter("t_us", session_id, start_us, end_us)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        rows = self._select(
            "SELECT id, session_id, t_us, kind, stream, first_sample, n_samples, detail "
            "FROM link_events",
            clauses,
            params,
            "t_us",
        )
        return [
            LinkEventRecord(
                id=int(r[0]),
                session_id=int(r[1]),
                t_us=int(r[2]),
                kind=str(r[3]),
                stream=cast("Stream | None", r[4]),
                first_sample=None if r[5] is None else int(r[5]),
                n_samples=None if r[6] is None else int(r[6]),
                detail=_loads(r[7], f"link event {r[0]}"),
            )
            for r in rows
        ]

    def markers(
        self,
        *,
        session_id: int | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
    ) -> list[MarkerRecord]:
        """Return user markers by time.

        Parameters
        ----------
        session_id : int or None
            Only this session's.
        start_us, end_us : int or None
            Only markers in ``[start_us, end_us)`` (UTC µs).

        Returns
        -------
        list of MarkerRecord
            Ordered by time.
        """
        clauses, params = self._time_filter("t_us", session_id, start_us, end_us)
        rows = self._select(
            "SELECT id, session_id, t_us, text, created_us FROM markers", clauses, params, "t_us"
        )
        return [
            MarkerRecord(int(r[0]), None if r[1] is None else int(r[1]), int(r[2]), r[3], int(r[4]))
            for r in rows
        ]

    def labels(self, *, episode_id: int | None = None) -> list[LabelRecord]:
        """Return episode labels, oldest first.

        Parameters
        ----------
        episode_id : int or None
            Only this episode's.

        Returns
        -------
        list of LabelRecord
            Ordered by creation.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if episode_id is not None:
            clauses.append("episode_id = ?")
            params.append(_as_int("episode_id", episode_id))
        rows = self._select(
            'SELECT id, episode_id, label, note, author, created_us, "trigger" FROM labels',
            clauses,
            params,
            "created_us",
        )
        return [
            LabelRecord(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), str(r[6]))
            for r in rows
        ]

    def calibrations(
        self, *, session_id: int | None = None, device_id: int | None = None
    ) -> list[CalibrationRecord]:
        """Return stored calibrations, oldest first.

        Parameters
        ----------
        session_id, device_id : int or None
            Only those measured in this session / with this device.

        Returns
        -------
        list of CalibrationRecord
            Ordered by creation time.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(_as_int("session_id", session_id))
        if device_id is not None:
            clauses.append("device_id = ?")
            params.append(_as_int("device_id", device_id))
        rows = self._select(
            "SELECT id, created_us, session_id, device_id, data FROM calibrations",
            clauses,
            params,
            "created_us",
        )
        return [
            CalibrationRecord(
                int(r[0]),
                int(r[1]),
                None if r[2] is None else int(r[2]),
                None if r[3] is None else int(r[3]),
                _loads(r[4], f"calibration {r[0]}"),
            )
            for r in rows
        ]

    def latest_calibration(self, *, device_id: int | None = None) -> CalibrationRecord | None:
        """Return the most recent calibration (of a device), or None.

        Parameters
        ----------
        device_id : int or None
            Only this device's.

        Returns
        -------
        CalibrationRecord or None
            The newest by creation time.
        """
        found = self.calibrations(device_id=device_id)
        return found[-1] if found else None

    def integrity_check(self, *, quick: bool = True) -> list[str]:
        """Run SQLite's consistency check over the whole file (slow on large stores).

        Parameters
        ----------
        quick : bool
            ``PRAGMA quick_check`` (no index content check) instead of ``integrity_check``.

        Returns
        -------
        list of str
            Problems found; empty when the file is sound.
        """
        with self._lock:
            self._check_open()
            pragma = "quick_check" if quick else "integrity_check"
            with self._sql_errors("check"):
                rows = self._conn.execute(f"PRAGMA {pragma}").fetchall()
            problems = [str(r[0]) for r in rows]
            return [] if problems == ["ok"] else problems

    def _time_filter(
        self, column: str, session_id: int | None, start_us: int | None, end_us: int | None
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(_as_int("session_id", session_id))
        if start_us is not None:
            clauses.append(f"{column} >= ?")
            params.append(_as_int("start_us", start_us))
        if end_us is not None:
            clauses.append(f"{column} < ?")
            params.append(_as_int("end_us", end_us))
        return clauses, params

    def _select(
        self, query: str, clauses: list[str], params: list[Any], order: str
    ) -> list[Sequence[Any]]:
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            self._check_open()
            with self._sql_errors("read"):
                rows: list[Sequence[Any]] = self._conn.execute(
                    f"{query}{where} ORDER BY {order}, id", params
                ).fetchall()
            return rows


def _recorder_lock_held(path: Path) -> bool | None:
    """Probe a recorder lock file without taking the lock for longer than an instant."""
    if sys.platform == "win32":  # pragma: no cover - msvcrt locks need a writable handle
        return None
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False  # no writer has ever opened the store under this name
    except OSError as exc:
        logger.debug("cannot read the recorder lock %s: %s", path, exc)
        return None
    try:
        try:
            # Shared: conflicts with the recorder's exclusive lock, not with other readers.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError as exc:  # no flock on this file system
            logger.debug("cannot test the recorder lock %s: %s", path, exc)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _prepare_for_writing(file: Path) -> None:
    """Create the directory of a store and check that a writer can work in it."""
    directory = file.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, directory, "create the data directory") from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoragePermissionError(
            f"cannot write in the data directory {directory}: permission denied (the store "
            "and its -wal/-shm files live there). Give this user write permission on it, or "
            "choose another data directory with SPASMWATCH_DATA_DIR."
        )
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        raise StoragePermissionError(
            f"cannot write the store {file}: permission denied. Give this user read and "
            "write permission on it (chmod u+rw), or open it with readonly=True to read."
        )


def _check_header(file: Path) -> None:
    """Refuse a non-empty file that does not start with the SQLite header."""
    try:
        with file.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise storage_error(exc, file, "read") from exc
    if head and head != SQLITE_MAGIC:
        raise StoreCorruptError(
            f"{file} is not a spasmwatch store: it is not a SQLite database (it starts with "
            f"{head[:16]!r}). Move it away or choose another file."
        )

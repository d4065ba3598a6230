"""The store's own thread: every write of the pipeline goes through one queue to it.

SQLite connections belong to one thread, and a disk that stalls must never stall
acquisition, so the pipeline hands each write to :class:`StoreWriter` and goes on. The
writer commits at least every ``commit_interval_s`` (half a second by default), so a killed
process loses at most the last second. The queue is unbounded for live sources (a
live device cannot be paused; four kilobytes a second never outrun a disk), and sources
that can wait (a replay) wait for it to drain below :data:`HIGH_WATER` operations.

Writes travel in batches (up to :data:`BATCH_OPS` operations, or what came in
:data:`BATCH_S`), so a replay at hundreds of times real time does not wake the writer
thread, and hand the interpreter over to it, for every 50-sample frame. On the writer
thread the sample appends of a stream that follow each other without a gap are merged
into one call of the store, up to the store's block length: the store writes the same
blocks as it would from the single appends, for a fraction of the per-call cost.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from host.errors import StorageError
from host.storage import DEFAULT_BLOCK_S, RecordingStore

__all__ = ["BATCH_OPS", "BATCH_S", "HIGH_WATER", "StoreWriter"]

logger = logging.getLogger(__name__)

#: Pending operations above which a source that can wait is made to wait.
HIGH_WATER = 2000
#: Operations handed to the writer thread at once, at most.
BATCH_OPS = 256
#: Longest an operation waits on the pipeline's side before it is handed over, s.
BATCH_S = 0.1

T = TypeVar("T")

_STOP = object()
#: Store methods whose calls are merged: method -> stream.
_MERGED = {"append_emg": "emg", "append_accel": "accel"}

_Op = tuple[str, tuple[Any, ...], dict[str, Any], "Future[Any]"]


@dataclass
class _Batch:
    """Operations handed over together; the appends among them share one future."""

    ops: list[_Op] = field(default_factory=list)
    appends: Future[Any] | None = None
    started: float = 0.0
    error: BaseException | None = None  # first error of an append of the batch


@dataclass
class _Run:
    """Contiguous appends of one stream of one session, merged into one store call."""

    method: str
    session_id: int
    first: int
    t_start_us: int
    t_end_us: int
    rows: int
    capacity: int
    parts: list[NDArray[Any]]
    ops: list[_Op]
    n: int

    @property
    def end(self) -> int:
        return self.first + self.n


class StoreWriter:
    """Run a :class:`~host.storage.RecordingStore` on its own thread.

    Parameters
    ----------
    open_store : callable
        Opens the store (called on the writer thread, which owns the connection).
    commit_interval_s : float
        Longest time between commits while data comes in.
    block_s : float
        The store's block length (``block_s`` of :meth:`RecordingStore.open`): merged
        appends never hold more samples than one block.

    Attributes
    ----------
    error : StorageError | None
        The first storage error (disk full, ...): the writer stops writing after it.
    operations : int
        Operations done (each append counts, merged or not).
    """

    def __init__(
        self,
        open_store: Callable[[], RecordingStore],
        *,
        commit_interval_s: float = 0.5,
        block_s: float = DEFAULT_BLOCK_S,
    ) -> None:
        self._open_store = open_store
        self._interval = commit_interval_s
        self._block_s = block_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._batch = _Batch()
        self._thread = threading.Thread(target=self._main, name="spasmwatch-store", daemon=True)
        self._ready: Future[RecordingStore] = Future()
        # Writer thread only: open runs, the store's open block per stream, block sizes.
        self._runs: dict[tuple[int, str], _Run] = {}
        self._tails: dict[tuple[int, str], tuple[int, int]] = {}  # (end sample, samples held)
        self._caps: dict[tuple[int, str], int] = {}
        self.error: StorageError | None = None
        self.operations = 0

    @property
    def backlog(self) -> int:
        """Operations queued and not yet done."""
        return self._pending

    async def start(self) -> None:
        """Start the thread and open the store.

        Raises
        ------
        StorageError
            If the store cannot be opened.
        """
        self._thread.start()
        await asyncio.wrap_future(self._ready)

    def submit(self, method: str, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``store.<method>(*args, **kwargs)``; returns its future.

        Appends (``append_emg``, ``append_accel``) travel with the operations submitted
        around them (up to :data:`BATCH_OPS`, or :data:`BATCH_S` seconds) and share one
        future per batch: it completes when all of them are written, with the first
        error if any. Any other operation hands the batch over at once, and has a future
        of its own. After a storage error nothing more is written (the futures fail with
        it).
        """
        with self._lock:
            self._pending += 1
            batch = self._batch
            ops = batch.ops
            if not ops:
                batch.started = time.monotonic()
            if method in _MERGED:
                future = batch.appends
                if future is None:
                    future = batch.appends = Future()
                ops.append((method, args, kwargs, future))
                if len(ops) < BATCH_OPS and time.monotonic() - batch.started < BATCH_S:
                    return future
            else:
                future = Future()
                ops.append((method, args, kwargs, future))
            self._hand_over()
        return future

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Queue a call and wait for its result (e.g. a new session's id)."""
        return await asyncio.wrap_future(self.submit(method, *args, **kwargs))

    async def drain(self, below: int = HIGH_WATER) -> None:
        """Wait until fewer than ``below`` operations are pending."""
        if self._pending < below:
            return
        with self._lock:
            self._hand_over()
        while self._pending >= below and self.error is None and self._thread.is_alive():
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Write everything queued, commit, close the store and stop the thread."""
        if not self._thread.is_alive():
            return
        with self._lock:
            self._hand_over()
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    def _hand_over(self) -> None:
        """Queue the batch being filled (caller holds the lock)."""
        if self._batch.ops:
            self._queue.put(self._batch)
            self._batch = _Batch()

    # ------------------------------------------------------------------ writer thread

    def _main(self) -> None:
        try:
            store = self._open_store()
        except StorageError as exc:
            self._ready.set_exception(exc)
            return
        except BaseException as exc:  # a bug: report it to the waiting pipeline
            self._ready.set_exception(exc)
            raise
        self._ready.set_result(store)
        last_commit = time.monotonic()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=min(BATCH_S, self._interval))
                except queue.Empty:
                    # Nothing handed over: queue what the pipeline has collected so far
                    # (behind anything it queued meanwhile), and commit if it is time.
                    with self._lock:
                        self._hand_over()
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    self._run_batch(store, item)
                if self.error is None and time.monotonic() - last_commit >= self._interval:
                    self._commit(store)
                    last_commit = time.monotonic()
            if self.error is None:
                self._commit(store)
        finally:
            try:
                store.close()
            except StorageError as exc:
                logger.error("closing the store: %s", exc)

    def _run_batch(self, store: RecordingStore, batch: _Batch) -> None:
        try:
            for op in batch.ops:
                stream = _MERGED.get(op[0])
                if stream is None or not self._merge(store, stream, op, batch):
                    self._write_runs(store, batch)  # what came before goes first
                    self._run(store, op, batch)
            self._write_runs(store, batch)
        finally:
            with self._lock:
                self._pending -= len(batch.ops)
            future = batch.appends
            if future is not None:
                if batch.error is not None:
                    future.set_exception(batch.error)
                else:
                    future.set_result(None)

    def _merge(self, store: RecordingStore, stream: str, op: _Op, batch: _Batch) -> bool:
        """Add an append to its stream's run (or write it); False if it cannot be merged."""
        method, args, kwargs, _ = op
        if kwargs or len(args) != 5 or self.error is not None:
            return False
        session_id, first, counts, t_start_us, t_end_us = args
        if (
            not isinstance(counts, np.ndarray)
            or counts.ndim != 2
            or counts.dtype.kind not in "iu"
            or type(first) is not int
            or type(session_id) is not int
            or type(t_start_us) is not int
            or type(t_end_us) is not int
        ):
            return False
        n = int(counts.shape[1])
        rows = int(counts.shape[0])
        key = (session_id, stream)
        run = self._runs.get(key)
        if run is not None:
            if run.end == first and run.rows == rows and run.n + n <= run.capacity:
                run.parts.append(counts)
                run.ops.append(op)
                run.n += n
                run.t_end_us = t_end_us
                if run.n >= run.capacity:
                    self._write_run(store, self._runs.pop(key), batch)
                return True
            self._write_run(store, self._runs.pop(key), batch)
        cap = self._cap(store, key)
        tail = self._tails.get(key)
        capacity = cap - tail[1] if tail is not None and tail[0] == first else cap
        if n >= capacity:
            self._run(store, op, batch)  # a block or more on its own
            return True
        self._runs[key] = _Run(
            method, session_id, first, t_start_us, t_end_us, rows, capacity, [counts], [op], n
        )
        return True

    def _cap(self, store: RecordingStore, key: tuple[int, str]) -> int:
        """Return the samples of one stored block of a session's stream (1: no merging)."""
        cap = self._caps.get(key)
        if cap is None:
            try:
                record = store.session(key[0])
            except Exception:  # the append itself will say what is wrong
                return 1
            rate = record.sfreq if key[1] == "emg" else record.accel_sfreq
            cap = max(1, round(self._block_s * rate)) if rate else 1
            self._caps[key] = cap
        return cap

    def _note_written(self, key: tuple[int, str], first: int, n: int) -> None:
        """Follow the store's open block of a stream (it is written when full)."""
        tail = self._tails.get(key)
        cap = self._caps.get(key, 1)
        held = tail[1] + n if tail is not None and tail[0] == first and tail[1] + n <= cap else n
        self._tails[key] = (first + n, 0 if held >= cap else held)

    def _write_runs(self, store: RecordingStore, batch: _Batch) -> None:
        while self._runs:
            self._write_run(store, self._runs.pop(next(iter(self._runs))), batch)

    def _write_run(self, store: RecordingStore, run: _Run, batch: _Batch) -> None:
        if len(run.ops) == 1:
            self._run(store, run.ops[0], batch)
            return
        if self.error is not None:
            self._refuse(run.ops, batch)
            return
        counts = np.concatenate(run.parts, axis=1)
        try:
            getattr(store, run.method)(
                run.session_id, run.first, counts, run.t_start_us, run.t_end_us
            )
        except StorageError as exc:
            self._failed(exc)
            batch.error = batch.error or exc
        except Exception:
            # Checked before anything is buffered: one by one, each says what it did.
            for op in run.ops:
                self._run(store, op, batch)
        else:
            self.operations += len(run.ops)
            self._note_written((run.session_id, _MERGED[run.method]), run.first, run.n)

    def _refuse(self, ops: list[_Op], batch: _Batch) -> None:
        assert self.error is not None
        for op in ops:
            if op[0] in _MERGED:
                batch.error = batch.error or self.error
            else:
                op[3].set_exception(self.error)

    def _run(self, store: RecordingStore, op: _Op, batch: _Batch) -> None:
        method, args, kwargs, future = op
        merged = method in _MERGED
        if self.error is not None:
            self._refuse([op], batch)
            return
        try:
            result = getattr(store, method)(*args, **kwargs)
        except StorageError as exc:
            self._failed(exc)
            if merged:
                batch.error = batch.error or exc
            else:
                future.set_exception(exc)
        except Exception as exc:
            logger.exception("store.%s failed", method)
            if merged:
                batch.error = batch.error or exc
            else:
                future.set_exception(exc)
        else:
            if merged:
                key = (args[0], _MERGED[method]) if len(args) >= 3 else None
                if key in self._caps and type(args[1]) is int:
                    self._note_written(key, args[1], int(np.shape(args[2])[1]))
            else:
                future.set_result(result)
            self.operations += 1

    def _commit(self, store: RecordingStore) -> None:
        self._tails.clear()  # a commit writes every open block
        try:
            store.commit()
        except StorageError as exc:
            self._failed(exc)

    def _failed(self, exc: StorageError) -> None:
        if self.error is None:
            logger.error("recording store: %s", exc)
            self.error = exc

"""The store's own thread: every write of the pipeline goes through one queue to it.

SQLite connections belong to one thread, and a disk that stalls must never stall
acquisition, so the pipeline hands each write to :class:`StoreWriter` and goes on. The
writer commits at least every ``commit_interval_s`` (half a second by default), so a killed
process loses at most the last second. The queue is unbounded for live sources (a
live device cannot be paused; four kilobytes a second never outrun a disk), and sources
that can wait (a replay) wait for it to drain below :data:`HIGH_WATER` operations.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from host.errors import StorageError
from host.storage import RecordingStore

__all__ = ["HIGH_WATER", "StoreWriter"]

logger = logging.getLogger(__name__)

#: Pending operations above which a source that can wait is made to wait.
HIGH_WATER = 2000

T = TypeVar("T")

_STOP = object()
_Op = tuple[str, tuple[Any, ...], dict[str, Any], Any]


class StoreWriter:
    """Run a :class:`~host.storage.RecordingStore` on its own thread.

    Parameters
    ----------
    open_store : callable
        Opens the store (called on the writer thread, which owns the connection).
    commit_interval_s : float
        Longest time between commits while data comes in.

    Attributes
    ----------
    error : StorageError | None
        The first storage error (disk full, ...): the writer stops writing after it.
    """

    def __init__(
        self, open_store: Callable[[], RecordingStore], *, commit_interval_s: float = 0.5
    ) -> None:
        self._open_store = open_store
        self._interval = commit_interval_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name="spasmwatch-store", daemon=True)
        self._ready: Future[RecordingStore] = Future()
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

        After a storage error nothing more is written (the futures fail with it).
        """
        future: Future[Any] = Future()
        with self._lock:
            self._pending += 1
        self._queue.put((method, args, kwargs, future))
        return future

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Queue a call and wait for its result (e.g. a new session's id)."""
        return await asyncio.wrap_future(self.submit(method, *args, **kwargs))

    async def drain(self, below: int = HIGH_WATER) -> None:
        """Wait until fewer than ``below`` operations are pending."""
        while self._pending >= below and self.error is None and self._thread.is_alive():
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Write everything queued, commit, close the store and stop the thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

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
                    op = self._queue.get(timeout=self._interval)
                except queue.Empty:
                    op = None
                if op is _STOP:
                    break
                if op is not None:
                    self._run(store, op)
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

    def _run(
        self, store: RecordingStore, op: tuple[str, tuple[Any, ...], dict[str, Any], Any]
    ) -> None:
        method, args, kwargs, future = op
        try:
            if self.error is not None:
                future.set_exception(self.error)
                return
            try:
                result = getattr(store, method)(*args, **kwargs)
            except StorageError as exc:
                self._failed(exc)
                future.set_exception(exc)
            except Exception as exc:
                logger.exception("store.%s failed", method)
                future.set_exception(exc)
            else:
                future.set_result(result)
                self.operations += 1
        finally:
            with self._lock:
                self._pending -= 1

    def _commit(self, store: RecordingStore) -> None:
        try:
            store.commit()
        except StorageError as exc:
            self._failed(exc)

    def _failed(self, exc: StorageError) -> None:
        if self.error is None:
            logger.error("recording store: %s", exc)
            self.error = exc

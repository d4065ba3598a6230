"""Fixed-capacity histories indexed by absolute sample (or frame) number."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["History"]


class History:
    """The most recent ``capacity`` columns of a stream, addressed by absolute index.

    Parameters
    ----------
    n_rows : int
        Rows per column (channels, or feature components).
    capacity : int
        Columns kept; older ones are forgotten.
    dtype : numpy dtype
        Storage type.
    fill : float
        Value returned for indices that were never written or are already forgotten.

    Notes
    -----
    ``push`` appends columns at the end of the stream; ``get(start, stop)`` returns the
    columns with absolute indices ``start .. stop - 1``, filled with ``fill`` where the
    history does not reach. Both cost O(number of columns touched).
    """

    def __init__(self, n_rows: int, capacity: int, dtype: type = np.float64, fill: float = np.nan):
        self.n_rows = n_rows
        self.capacity = max(int(capacity), 1)
        self.fill = fill
        self._data: NDArray[Any] = np.full((n_rows, self.capacity), fill, dtype=dtype)
        self._end = 0  # absolute index one past the last column written

    @property
    def end(self) -> int:
        """Absolute index one past the newest column."""
        return self._end

    @property
    def start(self) -> int:
        """Absolute index of the oldest column still held."""
        return max(self._end - self.capacity, 0)

    def reset(self, start: int = 0) -> None:
        """Forget everything; the next column pushed gets absolute index ``start``."""
        self._data[:] = self.fill
        self._end = start

    def skip_to(self, index: int) -> None:
        """Advance the end to ``index`` without data (the skipped columns read as ``fill``)."""
        if index <= self._end:
            return
        n = index - self._end
        if n >= self.capacity:
            self._data[:] = self.fill
        else:
            first = self._end % self.capacity
            head = min(n, self.capacity - first)
            self._data[:, first : first + head] = self.fill
            self._data[:, : n - head] = self.fill
        self._end = index

    def push(self, columns: NDArray[Any]) -> None:
        """Append ``columns`` (shape ``(n_rows, n)``) at the end."""
        n = columns.shape[1]
        if n == 0:
            return
        if n >= self.capacity:
            columns = columns[:, -self.capacity :]
            self._end += n - self.capacity
            n = self.capacity
        first = self._end % self.capacity
        head = self.capacity - first
        head = n if n < head else head
        self._data[:, first : first + head] = columns[:, :head]
        if head < n:
            self._data[:, : n - head] = columns[:, head:]
        self._end += n

    def get(self, start: int, stop: int) -> NDArray[Any]:
        """Return columns ``start .. stop - 1`` (a copy), ``fill`` where not held."""
        start, stop = int(start), int(stop)
        held = self._end - self.capacity if self._end > self.capacity else 0
        lo = start if start > held else held
        hi = stop if stop < self._end else self._end
        if hi <= lo:
            return np.full((self.n_rows, max(stop - start, 0)), self.fill, dtype=self._data.dtype)
        out = np.empty((self.n_rows, stop - start), dtype=self._data.dtype)
        if lo > start:
            out[:, : lo - start] = self.fill
        if stop > hi:
            out[:, hi - start :] = self.fill
        # At most two slices of the ring: up to its physical end, then from its start.
        first = lo % self.capacity
        head = self.capacity - first
        head = hi - lo if hi - lo < head else head
        out[:, lo - start : lo - start + head] = self._data[:, first : first + head]
        if head < hi - lo:
            out[:, lo - start + head : hi - start] = self._data[:, : hi - lo - head]
        return out

"""Min/max decimation of long signals into time bins, chunk by chunk.

A trace of a day of 1 kHz EMG has 86 million points per channel; a screen shows a few
thousand. Each bin keeps the smallest and largest value (so every spike stays visible,
which averaging would hide). Chunks are accumulated in order, so a day is read with a
bounded amount of memory.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError

__all__ = ["MinMaxBins"]


class MinMaxBins:
    """Accumulate the min and max of multichannel samples per time bin.

    Parameters
    ----------
    start_us : int
        Start of the first bin, UTC µs.
    end_us : int
        End of the last bin, UTC µs.
    n_bins : int
        Number of bins (each ``(end_us - start_us) / n_bins`` long).
    n_channels : int
        Channels.

    Notes
    -----
    Samples are placed in bins by index arithmetic (``t0 + i / sfreq``), not by a time
    array: a bin boundary becomes a sample index with one division, and ``numpy``'s
    ``fmin.reduceat``/``fmax.reduceat`` (which skip NaN) do the rest, so a day of 1 kHz
    EMG costs little more than reading it. Within one read (at most
    :data:`host.dashboard.routes.timeline.READ_CHUNK_US`) the device clock's drift moves a
    sample by well under a bin.
    """

    def __init__(self, start_us: int, end_us: int, n_bins: int, n_channels: int) -> None:
        if n_bins < 1 or end_us <= start_us:
            raise ConfigError(
                f"need n_bins >= 1 and end > start, got {n_bins}, {start_us}, {end_us}"
            )
        self.start_us = start_us
        self.end_us = end_us
        self.n_bins = n_bins
        self.edges_us = np.linspace(start_us, end_us, n_bins + 1)
        shape = (n_channels, n_bins)
        self.min = np.full(shape, np.inf)
        self.max = np.full(shape, -np.inf)

    def add(self, t0_us: float, sfreq: float, data: NDArray[np.float64]) -> None:
        """Add consecutive samples.

        Parameters
        ----------
        t0_us : float
            UTC µs of ``data[:, 0]``.
        sfreq : float
            Sampling rate, Hz (sample ``i`` is at ``t0_us + i * 1e6 / sfreq``).
        data : ndarray of float64, shape (n_channels, n_times)
            Values; NaN (missing samples) are ignored.
        """
        n = data.shape[1]
        if n == 0:
            return
        period_us = 1e6 / sfreq
        # Sample index of every bin edge, clipped to the data.
        idx = np.ceil((self.edges_us - t0_us) / period_us).astype(np.int64)
        idx = np.clip(idx, 0, n)
        first = max(int(np.searchsorted(idx, 0, side="right")) - 1, 0)
        last = min(int(np.searchsorted(idx, n)) - 1, self.n_bins - 1)
        if last < first:
            return
        starts = idx[first : last + 1]
        stops = idx[first + 1 : last + 2]
        keep = stops > starts  # bins holding at least one sample of this block
        if not keep.any():
            return
        which = np.arange(first, last + 1)[keep]
        starts = starts[keep]
        with np.errstate(invalid="ignore"):
            mins = np.fmin.reduceat(data, starts, axis=1)
            maxs = np.fmax.reduceat(data, starts, axis=1)
        # reduceat runs each segment to the next start; the last one to the end of data,
        # which may go past the last bin: trim that one.
        tail = int(stops[keep][-1])
        if tail < n:
            seg = data[:, starts[-1] : tail]
            with np.errstate(invalid="ignore"):
                mins[:, -1] = np.fmin.reduce(seg, axis=1)
                maxs[:, -1] = np.fmax.reduce(seg, axis=1)
        self.min[:, which] = np.fmin(self.min[:, which], mins)
        self.max[:, which] = np.fmax(self.max[:, which], maxs)

    def result(self) -> dict[str, NDArray[np.float64]]:
        """Return ``min``, ``max`` and ``t_us`` (bin starts); bins without a sample are NaN."""
        empty = ~np.isfinite(self.min)
        return {
            "min": np.where(empty, np.nan, self.min),
            "max": np.where(empty, np.nan, self.max),
            "t_us": self.edges_us[:-1].copy(),
        }

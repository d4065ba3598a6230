"""Streaming application of SOS filters: the state, and nothing else.

Follows scipy's explicit-state model (``y, zf = sosfilt(sos, x, zi=zi)``): the filter
design is a pure function (:mod:`dsp.filters`), and :class:`SosFilter` holds only the SOS
and its per-channel state. Processing a recording in blocks of any size gives the same
output as processing it at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from dsp._validation import check_block

__all__ = ["SosFilter"]


class SosFilter:
    """A causal multichannel SOS filter with its state carried across blocks.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections (from :mod:`dsp.filters`).
    n_channels : int
        Number of channels (rows) of every block.
    seed_from_first_sample : bool
        Start in the steady state for a constant input equal to the first sample
        (``sosfilt_zi`` scaled per channel, as mne-lsl does), which removes the start-up
        transient of a DC offset. Otherwise start from rest (zeros).

    Notes
    -----
    NaN samples are not accepted: a gap must be split or filled before filtering, or
    the NaN would propagate through the recursive state forever.
    """

    def __init__(
        self, sos: NDArray[np.float64], n_channels: int, *, seed_from_first_sample: bool = True
    ) -> None:
        sos = np.asarray(sos, dtype=np.float64)
        if sos.ndim != 2 or sos.shape[1] != 6 or sos.shape[0] == 0:
            raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape} instead")
        if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        self.sos = sos
        self.n_channels = n_channels
        self.seed_from_first_sample = seed_from_first_sample
        self._zi_unit = signal.sosfilt_zi(sos)  # (n_sections, 2) for a unit step
        self._zi: NDArray[np.float64] | None = None

    def reset(self) -> None:
        """Forget the state; the next block starts the filter afresh."""
        self._zi = None

    def process(self, block: NDArray[np.float64]) -> NDArray[np.float64]:
        """Filter one block.

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            The next samples (any ``n_times``, including 0).

        Returns
        -------
        ndarray of float64, shape (n_channels, n_times)
            Filtered samples.
        """
        x = check_block(block, n_channels=self.n_channels)
        if x.shape[1] == 0:
            return x.copy()
        if self._zi is None:
            n_sections = self.sos.shape[0]
            if self.seed_from_first_sample:
                # zi has shape (n_sections, n_channels, 2) for axis=-1 filtering of 2-D x.
                self._zi = self._zi_unit[:, None, :] * x[:, 0][None, :, None]
            else:
                self._zi = np.zeros((n_sections, self.n_channels, 2))
        y, self._zi = signal.sosfilt(self.sos, x, axis=-1, zi=self._zi)
        out: NDArray[np.float64] = y
        return out

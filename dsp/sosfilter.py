"""Streaming application of SOS filters: the state, and nothing else.

Follows scipy's explicit-state model (``y, zf = sosfilt(sos, x, zi=zi)``): the filter
design is a pure function (:mod:`dsp.filters`), and :class:`SosFilter` holds only the SOS
and its per-channel state. Processing a recording in blocks of any size gives the same
output as processing it at once (to rounding: ``sosfilt`` is a sample-by-sample recursion,
so in practice the outputs are bit-identical).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from dsp._validation import check_block, check_n_channels

__all__ = ["SosFilter"]


class SosFilter:
    """A causal multichannel SOS filter with its state carried across blocks.

    Parameters
    ----------
    sos : array-like of float, shape (n_sections, 6)
        Second-order sections (from :mod:`dsp.filters`), ``sos[:, 3] == 1``.
    n_channels : int
        Number of channels (rows) of every block.
    seed_from_first_sample : bool
        Start in the steady state for a constant input equal to the first sample
        (``sosfilt_zi`` scaled per channel, as mne-lsl does), which removes the start-up
        transient of a DC offset. Otherwise start from rest (zeros).

    Attributes
    ----------
    n_channels : int
        Number of channels.
    seed_from_first_sample : bool
        See above.

    Notes
    -----
    All channels are filtered by one ``scipy.signal.sosfilt`` call per block (cascaded
    Direct Form II transposed sections, Oppenheim & Schafer 2010, ch. 6; state ``zi`` of
    shape ``(n_sections, n_channels, 2)``), which
    costs about 30 us of argument handling per call plus a few ns per sample and section.

    NaN samples are not accepted: a gap must be split or filled before filtering, or
    the NaN would propagate through the recursive state forever.
    """

    def __init__(
        self, sos: ArrayLike, n_channels: int, *, seed_from_first_sample: bool = True
    ) -> None:
        sos_arr = _check_sos(sos)
        self.n_channels = check_n_channels(n_channels)
        if not isinstance(seed_from_first_sample, bool | np.bool_):
            raise TypeError(
                "seed_from_first_sample must be a bool, got "
                f"{type(seed_from_first_sample).__name__} ({seed_from_first_sample!r}) instead"
            )
        self._sos = sos_arr  # writable: scipy's sosfilt needs a writable buffer
        self.seed_from_first_sample = bool(seed_from_first_sample)
        self._zi_unit: NDArray[np.float64] = signal.sosfilt_zi(sos_arr)  # (n_sections, 2)
        self._zi: NDArray[np.float64] | None = None

    @property
    def sos(self) -> NDArray[np.float64]:
        """The sections, shape (n_sections, 6) (a read-only view)."""
        view = self._sos.view()
        view.flags.writeable = False
        return view

    @property
    def n_sections(self) -> int:
        """Number of second-order sections."""
        return int(self._sos.shape[0])

    @property
    def state(self) -> NDArray[np.float64] | None:
        """The filter state, shape (n_sections, n_channels, 2), or None before the first sample.

        Reading returns a copy. Assigning sets the state the next sample is filtered with
        (``None`` is the same as :meth:`reset`); this is how a filter chain is extended or
        shortened mid-stream while keeping the state of the sections it keeps.
        """
        return None if self._zi is None else self._zi.copy()

    @state.setter
    def state(self, zi: ArrayLike | None) -> None:
        if zi is None:
            self._zi = None
            return
        arr = np.array(zi, dtype=np.float64)
        expected = (self.n_sections, self.n_channels, 2)
        if arr.shape != expected:
            raise ValueError(
                f"state must have shape (n_sections, n_channels, 2) = {expected}, got "
                f"{arr.shape} instead"
            )
        if not np.isfinite(arr).all():
            raise ValueError("state must be finite, got NaN or infinite values")
        self._zi = arr

    def reset(self) -> None:
        """Forget the state; the next block starts the filter afresh (seeded again)."""
        self._zi = None

    def process(self, block: ArrayLike) -> NDArray[np.float64]:
        """Filter one block.

        Parameters
        ----------
        block : array-like of float, shape (n_channels, n_times)
            The next samples in volts (any ``n_times``, including 0).

        Returns
        -------
        ndarray of float64, shape (n_channels, n_times)
            Filtered samples (a new array).

        Raises
        ------
        TypeError
            If ``block`` is not a floating-point array (integer ADC counts are refused).
        ValueError
            On a wrong shape or channel count, or NaN/infinite samples.
        """
        x = check_block(block, n_channels=self.n_channels)
        if x.shape[1] == 0:
            return np.empty_like(x)
        if self._zi is None:
            if self.seed_from_first_sample:
                # zi has shape (n_sections, n_channels, 2) for axis=-1 filtering of 2-D x.
                self._zi = self._zi_unit[:, None, :] * x[:, 0][None, :, None]
            else:
                self._zi = np.zeros((self.n_sections, self.n_channels, 2))
        y, self._zi = signal.sosfilt(self._sos, x, axis=-1, zi=self._zi)
        out: NDArray[np.float64] = y
        return out

    def __repr__(self) -> str:
        return (
            f"SosFilter(n_sections={self.n_sections}, n_channels={self.n_channels}, "
            f"seed_from_first_sample={self.seed_from_first_sample})"
        )


def _check_sos(sos: Any) -> NDArray[np.float64]:
    """Return ``sos`` as a new float64 array after checking its shape and values."""
    arr = np.asarray(sos)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"sos must be a real-valued array, got dtype {arr.dtype} instead")
    if arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] == 0:
        raise ValueError(
            f"sos must have shape (n_sections, 6) with n_sections >= 1, got {arr.shape} instead"
        )
    out = np.array(arr, dtype=np.float64)
    if not np.isfinite(out).all():
        raise ValueError("sos must be finite, got NaN or infinite coefficients")
    if not (out[:, 3] == 1.0).all():
        raise ValueError(
            f"sos must be normalised with sos[:, 3] == 1 (a0 of every section), got "
            f"{out[:, 3].tolist()} instead"
        )
    return out

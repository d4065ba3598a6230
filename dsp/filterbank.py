"""The streaming surface-EMG filter chain of one stream: band-pass, then a mains notch.

:class:`EmgFilterBank` owns one :class:`~dsp.sosfilter.SosFilter` whose sections are the
band-pass (:func:`~dsp.filters.design_bandpass`) followed, once the mains frequency is
known, by the notch comb (:func:`~dsp.filters.design_mains_notch`). All channels and all
sections are filtered by a single ``scipy.signal.sosfilt`` call per block.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dsp._validation import check_n_channels, check_sfreq
from dsp.filters import (
    DEFAULT_H_FREQ,
    DEFAULT_L_FREQ,
    _check_mains_freq,
    _design_bandpass,
    design_mains_notch,
)
from dsp.sosfilter import SosFilter

__all__ = ["EmgFilterBank"]

logger = logging.getLogger(__name__)


class EmgFilterBank:
    """Causal band-pass and mains-notch filtering of a multichannel surface-EMG stream.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (no default).
    n_channels : int
        Number of channels (rows) of every block.
    l_freq, h_freq : float
        -3 dB edges of the band-pass in Hz. ``h_freq`` above 90 % of Nyquist is clipped
        there with a ``UserWarning`` (e.g. the default 450 Hz at 250 or 500 Hz sampling);
        the effective edges are the attributes ``l_freq`` and ``h_freq``.
    mains_freq : float | None
        50.0 or 60.0 to notch the mains frequency and its harmonics from the start, or
        None (no notch until :meth:`set_mains` is called).
    order : int
        Order of each side of the Butterworth band-pass (1 to 10).

    Attributes
    ----------
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of channels.
    l_freq, h_freq : float
        Effective band-pass edges in Hz (after clipping).
    order : int
        Band-pass order per side.

    Notes
    -----
    The chain is a Butterworth band-pass (Butterworth 1930; SENIAM band, Hermens et al.
    2000) followed by Butterworth band-stop notches at the mains frequency and every
    harmonic below 90 % of Nyquist (see :func:`dsp.filters.design_mains_notch`). The
    state is seeded from the first sample (steady state for a constant input equal to
    it, as mne-lsl does), so an electrode offset does not ring at start-up; the notch
    sections then start at rest, because the steady-state band-pass output of a constant
    is zero.

    Processing a recording in blocks of any size gives the same output as processing it
    at once, also across :meth:`set_mains`: a change of notch applies from the next sample
    processed, whatever the block boundaries.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        l_freq: float = DEFAULT_L_FREQ,
        h_freq: float = DEFAULT_H_FREQ,
        mains_freq: float | None = None,
        order: int = 4,
    ) -> None:
        sfreq = check_sfreq(sfreq)
        n_channels = check_n_channels(n_channels)
        mains = _check_mains_freq(mains_freq)
        # stacklevel 3: the clipping warning points at the code constructing the bank.
        sos, l_eff, h_eff = _design_bandpass(sfreq, l_freq, h_freq, order, stacklevel=3)
        self.sfreq = sfreq
        self.n_channels = n_channels
        self.l_freq = l_eff
        self.h_freq = h_eff
        self.order = int(order)
        self._bandpass_sos = sos
        self._mains_freq: float | None = None
        self._filter = SosFilter(sos, n_channels, seed_from_first_sample=True)
        if mains is not None:
            self.set_mains(mains)

    @property
    def mains_freq(self) -> float | None:
        """Mains frequency notched (50.0 or 60.0), or None when there is no notch."""
        return self._mains_freq

    @property
    def sos(self) -> NDArray[np.float64]:
        """The whole chain, band-pass rows first then notch rows, shape (n_sections, 6).

        Read-only.
        """
        return self._filter.sos

    @property
    def n_bandpass_sections(self) -> int:
        """Number of leading rows of :attr:`sos` that are the band-pass."""
        return int(self._bandpass_sos.shape[0])

    def set_mains(self, mains_freq: float | None) -> None:
        """Switch the mains notch on (50.0 or 60.0), to the other frequency, or off (None).

        The change applies from the next sample processed: the band-pass keeps its state,
        new notch sections start at rest (zero state), and sections that are removed are
        dropped. Before the first sample (or after :meth:`reset`) this is the same as
        having passed ``mains_freq`` to the constructor. Setting the frequency already in
        use does nothing (the notch state is kept), so it is safe to call on every report
        of a :class:`dsp.mains.MainsDetector`.

        Parameters
        ----------
        mains_freq : float | None
            50.0, 60.0 or None.

        Raises
        ------
        ValueError
            If ``mains_freq`` is not one of 50.0, 60.0 or None, or is not below 90 % of
            Nyquist (``sfreq`` too low for a notch there).
        """
        mains = _check_mains_freq(mains_freq)
        if mains == self._mains_freq:
            return
        if mains is None:
            sos = self._bandpass_sos
        else:
            notch = design_mains_notch(self.sfreq, mains)
            sos = np.concatenate([self._bandpass_sos, notch], axis=0)
        previous = self._filter.state
        chain = SosFilter(sos, self.n_channels, seed_from_first_sample=True)
        if previous is not None:
            state = np.zeros((sos.shape[0], self.n_channels, 2))
            n_keep = self.n_bandpass_sections
            state[:n_keep] = previous[:n_keep]
            chain.state = state
        self._filter = chain
        self._mains_freq = mains
        logger.info(
            "EMG filter bank: mains notch %s (%d sections)",
            "off" if mains is None else f"at {mains:g} Hz and harmonics",
            sos.shape[0],
        )

    def reset(self) -> None:
        """Forget the signal history; the configuration (notch included) is kept.

        The next block is filtered as by a new filter bank built with the current
        :attr:`mains_freq`.
        """
        self._filter.reset()

    def process(self, block: ArrayLike) -> NDArray[np.float64]:
        """Filter the next block.

        Parameters
        ----------
        block : array-like of float, shape (n_channels, n_times)
            Samples in volts (any ``n_times``, including 0).

        Returns
        -------
        ndarray of float64, shape (n_channels, n_times)
            Band-passed (and notched) samples in volts.

        Raises
        ------
        TypeError
            If ``block`` is not a floating-point array (integer ADC counts are refused).
        ValueError
            On a wrong shape or channel count, or NaN/infinite samples.
        """
        return self._filter.process(block)

    def __repr__(self) -> str:
        return (
            f"EmgFilterBank(sfreq={self.sfreq:g}, n_channels={self.n_channels}, "
            f"l_freq={self.l_freq:g}, h_freq={self.h_freq:g}, mains_freq={self._mains_freq!r}, "
            f"order={self.order})"
        )

"""The EMG amplitude envelope streamed over LSL: band-pass, mains notch, moving RMS, decimation.

:class:`EnvelopeStream` turns the raw EMG of the live hub's ``"emg"`` messages into a
low-rate amplitude envelope with the dsp package's streaming stages: the surface-EMG
band-pass (:class:`dsp.filterbank.EmgFilterBank`), a notch at the mains frequency once
:class:`dsp.mains.MainsDetector` has decided it (or from the start when given), and the
causal moving RMS (:class:`dsp.envelope.MovingRms`), kept at every ``decimation``-th
sample of the stream's index. A gap in the sample index (missing samples) starts the
filters again, so no filter ever runs across missing signal.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import NDArray

from dsp.envelope import DEFAULT_RMS_WINDOW_S, MovingRms
from dsp.filterbank import EmgFilterBank
from dsp.filters import DEFAULT_H_FREQ, DEFAULT_L_FREQ, MAX_EDGE_FRACTION
from dsp.mains import MainsDetector
from host.errors import ConfigError

__all__ = ["DEFAULT_ENVELOPE_SFREQ", "EnvelopeStream"]

logger = logging.getLogger(__name__)

#: Envelope rate aimed at, Hz (the actual rate is ``sfreq / decimation``).
DEFAULT_ENVELOPE_SFREQ = 100.0
#: Lowest EMG rate at which the mains frequency can be detected, Hz.
_MIN_MAINS_SFREQ = 167.0


class EnvelopeStream:
    """Streaming amplitude envelope of multichannel EMG, decimated.

    Parameters
    ----------
    sfreq : float
        EMG rate in Hz.
    n_channels : int
        EMG channels.
    envelope_sfreq : float
        Envelope rate aimed at in Hz; the decimation is ``round(sfreq / envelope_sfreq)``
        (at least 1).
    mains_freq : float | None
        50.0 or 60.0 to notch from the start; None to detect it from the signal.
    rms_window_s : float
        Moving-RMS window, s.

    Attributes
    ----------
    decimation : int
        Input samples per envelope sample.
    sfreq_out : float
        Envelope rate, Hz.
    delay_s : float
        Group delay of the moving RMS, s (the band-pass adds a few ms more).
    resets : int
        Times the filters started again (at gaps).

    Notes
    -----
    Band-pass per SENIAM (Hermens et al. 2000), RMS amplitude estimation per Clancy,
    Morin & Merletti (2002); see :mod:`dsp.filterbank` and :mod:`dsp.envelope`. The RMS
    window (150 ms by default) averages far more samples than the decimation drops, so
    keeping every ``decimation``-th output does not alias.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        envelope_sfreq: float = DEFAULT_ENVELOPE_SFREQ,
        mains_freq: float | None = None,
        rms_window_s: float = DEFAULT_RMS_WINDOW_S,
    ) -> None:
        if not (envelope_sfreq > 0 and math.isfinite(envelope_sfreq)):
            raise ConfigError(f"envelope_sfreq must be a positive rate in Hz, got {envelope_sfreq}")
        self.sfreq = float(sfreq)
        self.n_channels = int(n_channels)
        h_freq = min(DEFAULT_H_FREQ, MAX_EDGE_FRACTION * self.sfreq / 2)
        self.filterbank = EmgFilterBank(
            self.sfreq, self.n_channels, l_freq=DEFAULT_L_FREQ, h_freq=h_freq, mains_freq=mains_freq
        )
        self.mains: MainsDetector | None = None
        if mains_freq is None and self.sfreq >= _MIN_MAINS_SFREQ:
            self.mains = MainsDetector(self.sfreq, self.n_channels)
        self.rms = MovingRms(self.sfreq, self.n_channels, window_s=rms_window_s)
        self.decimation = max(1, round(self.sfreq / envelope_sfreq))
        self.sfreq_out = self.sfreq / self.decimation
        self.delay_s = self.rms.delay_s
        self.resets = 0
        self._next: int | None = None

    def process(
        self, first_sample: int, volts: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return the envelope samples of one block.

        Parameters
        ----------
        first_sample : int
            Stream index of ``volts[:, 0]``.
        volts : ndarray, shape (n_channels, n_times)
            Raw EMG in volts, finite.

        Returns
        -------
        indices : ndarray of int64, shape (n_out,)
            Stream indices of the envelope samples (multiples of :attr:`decimation`).
        envelope : ndarray, shape (n_channels, n_out)
            Moving RMS of the cleaned EMG in volts at those indices.
        """
        n = volts.shape[1]
        if self._next is not None and first_sample != self._next:
            self.reset()
        self._next = first_sample + n
        if self.mains is not None:
            for report in self.mains.process(volts):
                if (
                    report.mains_freq is not None
                    and report.mains_freq != self.filterbank.mains_freq
                ):
                    self.filterbank.set_mains(report.mains_freq)
        env = self.rms.process(self.filterbank.process(volts))
        k = self.decimation
        offset = (-first_sample) % k
        keep = np.arange(offset, n, k)
        return (first_sample + keep).astype(np.int64), env[:, keep]

    def reset(self) -> None:
        """Start the filters again (the mains decision is kept)."""
        self.filterbank.reset()
        self.rms.reset()
        self.resets += 1

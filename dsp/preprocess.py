"""The cleaning chain for one EMG stream: filter bank, ECG suppression, envelope.

:class:`EmgPreprocessor` joins the streaming stages in the order the signal needs them
and keeps their outputs aligned in time. It is what the host pipeline and the detector
use; each stage stays usable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from dsp._validation import check_block, check_option, check_sfreq
from dsp.ecg import ECG_METHODS, EcgSuppressor, Method
from dsp.envelope import DEFAULT_RMS_WINDOW_S, MovingRms
from dsp.filterbank import EmgFilterBank
from dsp.filters import DEFAULT_H_FREQ, DEFAULT_L_FREQ

__all__ = ["EmgPreprocessor", "PreprocessedBlock"]


@dataclass(frozen=True)
class PreprocessedBlock:
    """Outputs of :meth:`EmgPreprocessor.process` for one block.

    Attributes
    ----------
    cleaned : ndarray, shape (n_channels, n_times)
        Band-passed, mains-notched, ECG-suppressed EMG in volts.
    envelope : ndarray, shape (n_channels, n_times)
        Causal moving RMS of ``cleaned``, in volts.
    first_sample : int
        Index, in the input stream, of the sample that ``cleaned[:, 0]`` corresponds
        to (the chain delays its output by :attr:`EmgPreprocessor.latency_samples`).
    """

    cleaned: NDArray[np.float64]
    envelope: NDArray[np.float64]
    first_sample: int


class EmgPreprocessor:
    """Filter bank → ECG suppression → moving RMS, for one stream, block by block.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of EMG channels.
    l_freq, h_freq : float
        Band-pass edges in Hz (``h_freq`` is clipped, with a warning, at low rates).
    mains_freq : float | None
        50.0 or 60.0 to notch the mains and its harmonics, None for no notch (switch it
        on later with :meth:`set_mains`, e.g. from :class:`dsp.mains.MainsDetector`).
    ecg_method : ``"template"`` | ``"highpass"`` | None
        ECG suppression method (see :class:`dsp.ecg.EcgSuppressor`), or None to skip.
    ecg_reference : int
        Channel on which R peaks are detected (the one with the larger ECG: for lumbar
        EMG usually the left side, channel 0).
    rms_window_s : float
        Moving-RMS window in seconds.

    Notes
    -----
    The ECG suppressor receives the band-passed signal to clean and the raw signal to
    detect beats on. Its output is delayed by its latency; the envelope is computed on
    that delayed output, so ``cleaned`` and ``envelope`` are aligned sample for sample.
    Processing a recording in blocks of any size gives the same result as one block.
    """

    def __init__(
        self,
        sfreq: float,
        n_channels: int,
        *,
        l_freq: float = DEFAULT_L_FREQ,
        h_freq: float = DEFAULT_H_FREQ,
        mains_freq: float | None = None,
        ecg_method: str | None = "template",
        ecg_reference: int = 0,
        rms_window_s: float = DEFAULT_RMS_WINDOW_S,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        check_option("ecg_method", ecg_method, (*ECG_METHODS, None))
        self.filterbank = EmgFilterBank(
            self.sfreq, n_channels, l_freq=l_freq, h_freq=h_freq, mains_freq=mains_freq
        )
        self.n_channels = self.filterbank.n_channels
        self.ecg: EcgSuppressor | None = None
        if ecg_method is not None:
            method = cast(Method, ecg_method)
            self.ecg = EcgSuppressor(
                self.sfreq, self.n_channels, method=method, reference=ecg_reference
            )
        self.rms = MovingRms(self.sfreq, self.n_channels, window_s=rms_window_s)
        self._n_in = 0
        self._n_out = 0

    @property
    def latency_samples(self) -> int:
        """Delay of the outputs relative to the input, in samples."""
        return 0 if self.ecg is None else self.ecg.latency_samples

    def set_mains(self, mains_freq: float | None) -> None:
        """Switch the mains notch (from the next sample processed)."""
        self.filterbank.set_mains(mains_freq)

    def reset(self) -> None:
        """Forget all state, as for a new recording (the mains setting is kept)."""
        self.filterbank.reset()
        if self.ecg is not None:
            self.ecg.reset()
        self.rms.reset()
        self._n_in = self._n_out = 0

    def process(self, block: NDArray[np.float64]) -> PreprocessedBlock:
        """Clean one block of raw EMG.

        Parameters
        ----------
        block : ndarray of float, shape (n_channels, n_times)
            Raw EMG in volts (no NaN: split the stream at gaps and :meth:`reset`).

        Returns
        -------
        PreprocessedBlock
            Cleaned signal and envelope for input samples
            ``first_sample .. first_sample + n_times - 1``.
        """
        raw = check_block(block, n_channels=self.n_channels)
        filtered = self.filterbank.process(raw)
        cleaned = filtered if self.ecg is None else self.ecg.process(filtered, wideband=raw)
        envelope = self.rms.process(cleaned)
        first = self._n_out - self.latency_samples
        self._n_in += raw.shape[1]
        self._n_out += cleaned.shape[1]
        return PreprocessedBlock(cleaned=cleaned, envelope=envelope, first_sample=first)

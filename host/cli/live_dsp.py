"""Live signal processing for ``spasmwatch stream`` and ``spasmwatch demo``.

:class:`LiveDsp` takes the EMG sample frames as they arrive, converts counts to volts
with the device's DEVICE_INFO, and runs the ``dsp`` front end on them: mains detection
(switching the notch on once 50 or 60 Hz is decided), the cleaning chain (band-pass,
notch, ECG suppression, moving RMS) and per-channel signal quality. A sample gap resets
the chain, so missing samples never enter a filter and the signal is never joined across
a gap. Late frames are not fed (their samples were already reported missing).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsp.filters import DEFAULT_H_FREQ, MAX_EDGE_FRACTION
from dsp.mains import MainsDetector
from dsp.preprocess import EmgPreprocessor
from dsp.quality import QualityReport, SignalQuality
from host.protocol import DeviceInfoFrame, FrameType, SampleGap, SamplesFrame, StreamRestart

__all__ = ["LiveDsp"]

logger = logging.getLogger(__name__)

#: Below this rate the front end is not run (signal quality needs 200 Hz).
MIN_SFREQ = 200.0


class LiveDsp:
    """The dsp front end on a live stream of SAMPLES frames.

    Parameters
    ----------
    info : DeviceInfoFrame
        The device's description (rate, channels, counts-to-volts scale).
    """

    def __init__(self, info: DeviceInfoFrame) -> None:
        self.info = info
        sfreq, n = info.emg_sfreq, info.n_channels
        self.sfreq = sfreq
        self.chain = EmgPreprocessor(
            sfreq, n, h_freq=min(DEFAULT_H_FREQ, MAX_EDGE_FRACTION * sfreq / 2)
        )
        self.mains = MainsDetector(sfreq, n)
        self.quality = self._new_quality(mains_freq=None)
        self.mains_freq: float | None = None
        self.resets = 0
        self._env_sum = np.zeros(n)
        self._env_n = 0
        self._last_quality: QualityReport | None = None

    @classmethod
    def for_device(cls, info: DeviceInfoFrame | None) -> LiveDsp | None:
        """Build one for a device, or return None when it cannot run (no info, low rate)."""
        if info is None or info.emg_sfreq < MIN_SFREQ:
            return None
        return cls(info)

    def observe(self, item: Any) -> None:
        """Feed one transport item (frames in order, gaps and restarts)."""
        if isinstance(item, SamplesFrame):
            if item.n_channels != self.info.n_channels:
                return
            volts = item.counts.astype(np.float64) * self.info.volts_per_count
            self._process(volts)
        elif isinstance(item, SampleGap) and item.frame_type is FrameType.SAMPLES:
            self._reset()
        elif isinstance(item, StreamRestart):
            self._reset()

    def _new_quality(self, mains_freq: float | None) -> SignalQuality:
        """Return a signal-quality monitor for this device (fresh state)."""
        info = self.info
        clip = info.volts_per_count * (1 << (info.adc_bits - 1))  # full scale, volts
        return SignalQuality(
            info.emg_sfreq,
            info.n_channels,
            clip_level_v=clip,
            mains_freq=mains_freq,
            ch_names=info.channel_names,
        )

    def _reset(self) -> None:
        self.chain.reset()
        self.mains.reset()
        self.quality.reset()
        self.resets += 1
        # The notch setting survives the reset; the detector decides again.

    def _process(self, volts: NDArray[np.float64]) -> None:
        for report in self.mains.process(volts):
            if report.mains_freq is not None and report.mains_freq != self.mains_freq:
                self.mains_freq = report.mains_freq
                self.chain.set_mains(report.mains_freq)
                self.quality = self._new_quality(report.mains_freq)
        out = self.chain.process(volts)
        if out.envelope.shape[1]:
            self._env_sum += out.envelope.sum(axis=1)
            self._env_n += out.envelope.shape[1]
        reports = self.quality.process(volts)
        if reports:
            self._last_quality = reports[-1]

    def tick(self) -> dict[str, Any]:
        """Return and restart the interval's summary (JSON-ready)."""
        names = self.info.channel_names
        envelope: dict[str, float] = {}
        if self._env_n:
            mean = self._env_sum / self._env_n * 1e6
            envelope = {k: round(float(v), 2) for k, v in zip(names, mean, strict=True)}
        quality: dict[str, str] = {}
        if self._last_quality is not None:
            q = self._last_quality
            for i, name in enumerate(names):
                quality[name] = "ok" if bool(q.usable[i]) else (q.reasons[i] or "unusable")
        self._env_sum[:] = 0.0
        self._env_n = 0
        return {
            "envelope_uv": envelope,
            "mains_hz": self.mains_freq,
            "quality": quality,
            "dsp_resets": self.resets,
        }

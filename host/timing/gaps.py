"""Gap annotations: where the decoder's missing samples lie in UTC.

The decoder reports every run of missing samples as a :class:`~host.protocol.SampleGap`
(first missing index, how many). The sample index timeline stays continuous across a gap,
so the samples on either side keep their exact times; the store and the exports need the
gap itself as an annotation (onset, duration) and as a run of NaN samples of known length.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.errors import ConfigError
from host.protocol.decoder import SampleGap, unwrap_index
from host.protocol.frames import FrameType
from host.timing.clock_sync import ClockSync

__all__ = ["GapAnnotation", "annotate_gap"]


@dataclass(frozen=True)
class GapAnnotation:
    """A run of missing samples, placed in time.

    Attributes
    ----------
    stream : {"emg", "accel"}
        The sample stream with the gap.
    first_missing_sample : int
        Unwrapped index of the first missing sample.
    n_missing : int
        Number of missing sample times (the length of the NaN run).
    onset_utc : float
        UTC time (s) of the first missing sample.
    duration_s : float
        From the first missing sample to the first sample after the gap, s: exactly
        ``n_missing`` sample periods of the true (host-clock) rate.
    """

    stream: str
    first_missing_sample: int
    n_missing: int
    onset_utc: float
    duration_s: float

    @property
    def end_utc(self) -> float:
        """UTC time (s) of the first sample after the gap."""
        return self.onset_utc + self.duration_s

    @property
    def resume_sample(self) -> int:
        """Unwrapped index of the first sample after the gap."""
        return self.first_missing_sample + self.n_missing

    def description(self) -> str:
        """Return a one-line text for annotation channels (EDF+ TAL, BIDS events)."""
        return f"gap: {self.n_missing} {self.stream} samples missing"


def annotate_gap(
    gap: SampleGap,
    clock: ClockSync,
    *,
    reference_index: int | None = None,
    accel_sfreq: float | None = None,
) -> GapAnnotation:
    """Place a decoder :class:`~host.protocol.SampleGap` on the UTC timeline.

    Parameters
    ----------
    gap : SampleGap
        As reported by :class:`~host.protocol.StreamDecoder`.
    clock : ClockSync
        The clock fed with the stream's SAMPLES frames; for the best estimate, observe the
        frame that follows the gap (the decoder yields the gap just before it) first.
    reference_index : int or None
        An unwrapped index of the same stream near the gap (the index that was expected
        next is ideal), to unwrap the wire's u32 ``first_missing_sample``. For EMG gaps it
        defaults to :attr:`ClockSync.next_sample_index`; for accelerometer gaps it is
        required.
    accel_sfreq : float or None
        Nominal accelerometer rate in Hz; required for accelerometer gaps.

    Returns
    -------
    GapAnnotation
        The gap's unwrapped first index, length, UTC onset and duration. EMG gaps are
        timed on the sample index timeline (:meth:`ClockSync.sample_time_utc`);
        accelerometer gaps from the device time at which data resumed
        (:meth:`ClockSync.device_time_utc`).

    Raises
    ------
    ConfigError
        For an accelerometer gap without ``reference_index`` or ``accel_sfreq``, a gap of
        another stream type, or a clock that has observed nothing.
    """
    if gap.n_missing < 1:
        raise ConfigError(f"a SampleGap must miss at least one sample, got {gap.n_missing}")
    if gap.frame_type is FrameType.SAMPLES:
        ref = clock.next_sample_index if reference_index is None else reference_index
        first = unwrap_index(gap.first_missing_sample, ref)
        if first < 0:
            raise ConfigError(
                f"the gap's first missing sample unwraps to {first} near reference_index "
                f"{ref}: pass the unwrapped index expected next in this stream"
            )
        onset = clock.sample_time_utc(first)
        end = clock.sample_time_utc(first + gap.n_missing)
        return GapAnnotation("emg", first, gap.n_missing, onset, end - onset)
    if gap.frame_type is FrameType.ACCEL:
        if reference_index is None or accel_sfreq is None:
            raise ConfigError(
                "an accelerometer gap needs reference_index (the unwrapped accelerometer "
                "index expected next) and accel_sfreq (Hz)"
            )
        if not accel_sfreq > 0 or accel_sfreq == float("inf"):
            raise ConfigError(f"accel_sfreq must be a finite rate > 0 Hz, got {accel_sfreq!r}")
        first = unwrap_index(gap.first_missing_sample, reference_index)
        if first < 0:
            raise ConfigError(
                f"the gap's first missing sample unwraps to {first} near reference_index "
                f"{reference_index}: pass the unwrapped index expected next in this stream"
            )
        onset_us = gap.resume_timestamp_us - round(gap.n_missing * 1e6 / accel_sfreq)
        onset = clock.device_time_utc(max(onset_us, 0))
        end = clock.device_time_utc(gap.resume_timestamp_us)
        return GapAnnotation("accel", first, gap.n_missing, onset, end - onset)
    raise ConfigError(
        f"gaps are annotated for the SAMPLES and ACCEL streams, got {gap.frame_type!r}"
    )

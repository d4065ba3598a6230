"""Gap annotations from the real decoder's SampleGap items, on the ClockSync timeline."""

from __future__ import annotations

import numpy as np
import pytest

from host.errors import ConfigError
from host.protocol import (
    AccelFrame,
    FrameType,
    SampleGap,
    SamplesFrame,
    StreamDecoder,
    encode_frame,
)
from host.protocol.decoder import unwrap_index
from host.timing import ClockSync, GapAnnotation, annotate_gap

T0_UTC = 1_700_000_000.0
SFREQ = 1000.0
ACCEL_SFREQ = 100.0
N_EMG = 50  # samples per SAMPLES frame: 50 ms
N_ACC = 5  # samples per ACCEL frame: 50 ms
DRIFT_PPM = 180.0
BOOT_US = 4_000_000
FIRST_INDEX = 2**32 - 30_000  # the u32 first_sample wraps 30 s in


def true_utc(device_us: float | np.ndarray) -> np.ndarray:
    return T0_UTC + np.asarray(device_us) * 1e-6 / (1 + DRIFT_PPM * 1e-6)


def emg_device_us(index: int | np.ndarray) -> np.ndarray:
    """Device time of the EMG sample with this *unwrapped* index."""
    return BOOT_US + (np.asarray(index) - FIRST_INDEX) * 1e6 / SFREQ


def wearable_bytes(
    duration_s: float, lost_emg_s: list[tuple[float, float]], lost_acc_s: list[tuple[float, float]]
) -> list[tuple[bytes, float]]:
    """Encoded SAMPLES and ACCEL frames with their arrival times, some never arriving."""
    rng = np.random.default_rng(0)
    out: list[tuple[bytes, float]] = []
    seq = 0
    n_frames = int(duration_s * SFREQ / N_EMG)
    for i in range(n_frames):
        t_s = i * N_EMG / SFREQ
        index = FIRST_INDEX + i * N_EMG
        ts = round(float(emg_device_us(index)))
        frames: list[SamplesFrame | AccelFrame] = [
            SamplesFrame(
                seq=seq,
                timestamp_us=ts,
                first_sample=index % 2**32,
                counts=np.zeros((2, N_EMG), dtype=np.int32),
            ),
            AccelFrame(
                seq=seq + 1,
                timestamp_us=ts,
                first_sample=i * N_ACC,
                counts=np.zeros((3, N_ACC), dtype=np.int32),
            ),
        ]
        seq += 2
        arrival = float(true_utc(ts + (N_EMG - 1) * 1e3)) + rng.exponential(5e-3)
        lost = [any(a <= t_s < b for a, b in spans) for spans in (lost_emg_s, lost_acc_s)]
        for frame, gone in zip(frames, lost, strict=True):
            if not gone:
                out.append((encode_frame(frame), arrival))
    return out


def run_pipeline(
    chunks: list[tuple[bytes, float]], *, annotate_before_resume: bool = False
) -> tuple[ClockSync, list[GapAnnotation]]:
    """What the pipeline does: unwrap, observe, and annotate each gap once the frame after
    it has been observed (or right away)."""
    decoder = StreamDecoder()
    clock = ClockSync(SFREQ)
    expected: int | None = None
    acc_expected = 0
    pending: list[SampleGap] = []
    notes: list[GapAnnotation] = []
    for data, arrival in chunks:
        for item in decoder.feed(data):
            if isinstance(item, SampleGap) and item.frame_type is FrameType.ACCEL:
                notes.append(
                    annotate_gap(item, clock, reference_index=acc_expected, accel_sfreq=ACCEL_SFREQ)
                )
            elif isinstance(item, SampleGap):
                if annotate_before_resume:
                    notes.append(annotate_gap(item, clock))
                else:
                    pending.append(item)
            elif isinstance(item, AccelFrame):
                acc_expected = unwrap_index(item.first_sample, acc_expected) + item.n_times
            elif isinstance(item, SamplesFrame):
                k = (
                    item.first_sample
                    if expected is None
                    else unwrap_index(item.first_sample, expected)
                )
                clock.observe(k, item.timestamp_us, arrival, n_times=item.n_times)
                expected = k + item.n_times
                notes += [annotate_gap(gap, clock) for gap in pending]
                pending.clear()
    return clock, notes


LOST_EMG = [(29.0, 31.5), (100.0, 103.5)]  # the first one spans the u32 wrap
LOST_ACC = [(200.0, 200.3)]


@pytest.fixture(scope="module")
def recording() -> tuple[ClockSync, list[GapAnnotation]]:
    return run_pipeline(wearable_bytes(300.0, LOST_EMG, LOST_ACC))


def test_emg_gaps_are_placed_exactly(recording: tuple[ClockSync, list[GapAnnotation]]) -> None:
    clock, notes = recording
    emg = [n for n in notes if n.stream == "emg"]
    assert len(emg) == len(LOST_EMG)
    for note, (a, b) in zip(emg, LOST_EMG, strict=True):
        first = FIRST_INDEX + round(a * SFREQ)
        assert note.first_missing_sample == first  # unwrapped, across the u32 wrap too
        assert note.n_missing == round((b - a) * SFREQ)
        assert note.resume_sample == FIRST_INDEX + round(b * SFREQ)
        assert note.onset_utc == pytest.approx(true_utc(emg_device_us(first)), abs=1e-3)
        # Exact up to the drift estimate (a few ppm after 30 s, far better later).
        true_duration = (b - a) / (1 + DRIFT_PPM * 1e-6)
        assert note.duration_s == pytest.approx(true_duration, rel=5e-6)
        assert note.end_utc == pytest.approx(note.onset_utc + note.duration_s)
        assert note.description() == f"gap: {note.n_missing} emg samples missing"


def test_samples_around_a_gap_keep_their_exact_spacing(
    recording: tuple[ClockSync, list[GapAnnotation]],
) -> None:
    clock, notes = recording
    note = notes[1]
    before, after = note.first_missing_sample - 1, note.resume_sample
    spacing = clock.sample_time_utc(after) - clock.sample_time_utc(before)
    # As if nothing were missing (to the resolution of a float64 UTC time, 0.24 µs).
    assert spacing == pytest.approx((after - before) / clock.host_sfreq, abs=1e-6)
    truth = true_utc(emg_device_us(np.array([before, after])))
    got = clock.sample_time_utc(np.array([before, after]))
    assert np.abs(got - truth).max() < 1e-3


def test_accelerometer_gap_is_timed_from_device_time(
    recording: tuple[ClockSync, list[GapAnnotation]],
) -> None:
    _, notes = recording
    (note,) = [n for n in notes if n.stream == "accel"]
    a, b = LOST_ACC[0]
    assert note.first_missing_sample == round(a * ACCEL_SFREQ)
    assert note.n_missing == round((b - a) * ACCEL_SFREQ)
    onset_us = BOOT_US + a * 1e6
    assert note.onset_utc == pytest.approx(true_utc(onset_us), abs=1e-3)
    assert note.duration_s == pytest.approx((b - a) / (1 + DRIFT_PPM * 1e-6), rel=5e-6)


def test_annotating_before_the_resume_frame_gives_the_same_gap() -> None:
    chunks = wearable_bytes(150.0, [(100.0, 103.5)], [])
    _, early = run_pipeline(chunks, annotate_before_resume=True)
    _, late = run_pipeline(chunks)
    assert [n.first_missing_sample for n in early] == [n.first_missing_sample for n in late]
    assert [n.n_missing for n in early] == [n.n_missing for n in late]
    assert early[0].onset_utc == pytest.approx(late[0].onset_utc, abs=0.5e-3)


def test_bad_gap_requests_are_named() -> None:
    clock = ClockSync(SFREQ)
    gap = SampleGap(FrameType.SAMPLES, 100, 50, 1_000_000)
    with pytest.raises(ConfigError, match="no observation yet"):
        annotate_gap(gap, clock)
    clock.observe(0, 0, T0_UTC, n_times=50)
    acc = SampleGap(FrameType.ACCEL, 10, 5, 1_000_000)
    with pytest.raises(ConfigError, match="needs reference_index.*and accel_sfreq"):
        annotate_gap(acc, clock, accel_sfreq=ACCEL_SFREQ)
    with pytest.raises(ConfigError, match="accel_sfreq must be a finite rate > 0"):
        annotate_gap(acc, clock, reference_index=10, accel_sfreq=float("nan"))
    with pytest.raises(ConfigError, match="SAMPLES and ACCEL streams"):
        annotate_gap(SampleGap(FrameType.STATUS, 10, 5, 0), clock)
    with pytest.raises(ConfigError, match="at least one sample"):
        annotate_gap(SampleGap(FrameType.SAMPLES, 10, 0, 0), clock)
    with pytest.raises(ConfigError, match="unwraps to -"):
        annotate_gap(SampleGap(FrameType.SAMPLES, 2**32 - 10, 5, 0), clock, reference_index=5)

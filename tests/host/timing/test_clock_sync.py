"""ClockSync against simulated links: crystal drift, delivery jitter, outages, restarts."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from host.errors import ConfigError
from host.timing import ClockSync

T0_UTC = 1_700_000_000.0
HOUR_S = 3600.0


@dataclass(frozen=True)
class Link:
    """Frames of one sampling run as the host receives them, with the truth."""

    sfreq: float
    n_per_frame: int
    drift_ppm: float  # device clock rate error against true (host) time
    adc_ppm: float  # ADC rate error against the device clock (0: same crystal)
    boot_us: float  # device time of sample 0
    t0: float  # true UTC at device time 0
    first_sample: NDArray[np.int64]
    timestamp_us: NDArray[np.int64]
    arrival_s: NDArray[np.float64]

    def device_us(self, k: NDArray[np.int64] | int) -> NDArray[np.float64]:
        period_us = 1e6 / (self.sfreq * (1 + self.adc_ppm * 1e-6))
        return self.boot_us + np.asarray(k, dtype=np.float64) * period_us

    def truth_utc(self, k: NDArray[np.int64] | int) -> NDArray[np.float64]:
        """True UTC time at which sample ``k`` was taken."""
        return self.t0 + self.device_us(k) * 1e-6 / (1 + self.drift_ppm * 1e-6)

    def select(self, mask: NDArray[np.bool_] | slice) -> Link:
        return replace(
            self,
            first_sample=self.first_sample[mask],
            timestamp_us=self.timestamp_us[mask],
            arrival_s=self.arrival_s[mask],
        )

    @property
    def send_s(self) -> NDArray[np.float64]:
        """True UTC time at which each frame's last sample was taken."""
        return self.truth_utc(self.first_sample + self.n_per_frame - 1)


def simulate_link(
    *,
    drift_ppm: float,
    duration_s: float,
    seed: int,
    sfreq: float = 1000.0,
    n_per_frame: int = 50,
    latency_mean_s: float = 5e-3,
    stalls: bool = False,
    congestion: bool = False,
    outages: tuple[tuple[float, float], ...] = (),
    loss: float = 0.0,
    boot_us: float = 12_345_678.0,
    adc_ppm: float = 0.0,
    t0: float = T0_UTC,
) -> Link:
    """Simulate the frames of a wearable and their arrival at the host.

    Arrival = true time of the frame's last sample + a delay: exponential (mean
    ``latency_mean_s``); with ``stalls``, every ~10 s the link stalls for 50-150 ms and
    the frames sent meanwhile arrive together when it resumes; with ``congestion``, about
    once an hour the delay grows by 50-150 ms for 2-30 s. ``outages`` are (start, duration)
    in seconds after the first frame: no frame arrives. ``loss`` drops frames at random.
    """
    rng = np.random.default_rng(seed)
    n_frames = int(duration_s * sfreq / n_per_frame)
    k = np.arange(n_frames, dtype=np.int64) * n_per_frame
    link = Link(
        sfreq,
        n_per_frame,
        drift_ppm,
        adc_ppm,
        boot_us,
        t0,
        k,
        np.zeros(n_frames, dtype=np.int64),
        np.zeros(n_frames),
    )
    timestamp_us = np.rint(link.device_us(k)).astype(np.int64)
    send = link.send_s
    delay = rng.exponential(latency_mean_s, n_frames)
    span = send[-1] - send[0]
    if stalls:
        n = int(span / 10.0)
        start = np.sort(rng.uniform(send[0], send[-1], n))
        end = start + rng.uniform(0.05, 0.15, n)
        j = np.maximum(np.searchsorted(start, send, side="right") - 1, 0)
        stalled = (send >= start[j]) & (send < end[j])
        delay = np.where(stalled, end[j] - send + rng.exponential(2e-3, n_frames), delay)
    if congestion:
        n = max(1, int(span / HOUR_S))
        start = np.sort(rng.uniform(send[0], send[-1], n))
        end = start + rng.uniform(2.0, 30.0, n)
        extra = rng.uniform(0.05, 0.15, n)
        j = np.maximum(np.searchsorted(start, send, side="right") - 1, 0)
        delay = delay + np.where((send >= start[j]) & (send < end[j]), extra[j], 0.0)
    keep = np.ones(n_frames, dtype=bool)
    for start_s, length_s in outages:
        rel = send - send[0]
        keep &= ~((rel >= start_s) & (rel < start_s + length_s))
    if loss:
        keep &= rng.random(n_frames) >= loss
    link = replace(link, timestamp_us=timestamp_us, arrival_s=send + delay)
    return link.select(keep)


def observe_link(clock: ClockSync, link: Link, **kwargs: object) -> None:
    clock.observe_many(
        link.first_sample,
        link.timestamp_us,
        link.arrival_s,
        n_times=link.n_per_frame,
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass
class Stamps:
    before: NDArray[np.float64]  # abs error, blocks stamped before any of their chunk
    locked: NDArray[np.bool_]  # whether the clock was locked then (False: NaN before)
    after: NDArray[np.float64]  # abs error, blocks stamped after their chunk
    drift_ppm: NDArray[np.float64]  # estimate after each chunk (NaN while unlocked)
    chunk_end_s: NDArray[np.float64]  # true time of each chunk's last frame


def stamp_blocks(clock: ClockSync, link: Link, chunk: int = 200) -> Stamps:
    """Observe the link chunk by chunk and measure the error of every block's end times.

    ``before`` is pessimistic: the blocks of a chunk are stamped with the clock as it was
    before any frame of the chunk arrived (up to 10 s of extrapolation, a whole outage
    after one); the pipeline stamps each block right after observing its frame.
    """
    n = link.first_sample.size
    n_times = link.n_per_frame
    all_k, all_d, all_h = link.first_sample, link.timestamp_us, link.arrival_s
    all_first, all_last = link.truth_utc(all_k), link.truth_utc(all_k + n_times - 1)
    send = link.send_s
    before, locked, after, drift, ends = [], [], [], [], []
    for i in range(0, n, chunk):
        k = all_k[i : i + chunk]
        truth_first, truth_last = all_first[i : i + chunk], all_last[i : i + chunk]
        if clock.n_observations:
            first, final = clock.block_times_utc(k, n_times)
            before.append(np.maximum(abs(first - truth_first), abs(final - truth_last)))
            locked.append(np.full(k.size, clock.is_locked))
        else:
            before.append(np.full(k.size, np.nan))
            locked.append(np.zeros(k.size, dtype=bool))
        clock.observe_many(k, all_d[i : i + chunk], all_h[i : i + chunk], n_times=n_times)
        first, final = clock.block_times_utc(k, n_times)
        after.append(np.maximum(abs(first - truth_first), abs(final - truth_last)))
        drift.append(clock.drift_ppm if clock.is_locked else math.nan)
        ends.append(send[min(i + chunk, n) - 1])
    return Stamps(
        np.concatenate(before),
        np.concatenate(locked),
        np.concatenate(after),
        np.array(drift),
        np.array(ends),
    )


# ---------------------------------------------------------------------- 24 hours
OUTAGES_24H = (
    (3 * HOUR_S, 120.0),
    (7 * HOUR_S, 300.0),
    (11 * HOUR_S, 600.0),
    (15 * HOUR_S, 2700.0),  # longer than the 20 min window
    (20 * HOUR_S, 60.0),
)


@pytest.mark.slow
@pytest.mark.parametrize("drift_ppm", [200.0, -200.0, 0.0])
def test_24h_within_a_millisecond_through_jitter_bursts_and_outages(drift_ppm: float) -> None:
    link = simulate_link(
        drift_ppm=drift_ppm,
        duration_s=24 * HOUR_S,
        seed=int(drift_ppm) + 1000,
        stalls=True,
        congestion=True,
        outages=OUTAGES_24H,
    )
    clock = ClockSync(1000.0)
    stamps = stamp_blocks(clock, link)
    locked = stamps.locked
    # The issue asks for a few ms (5 ms) over 24 h; the fit does better than 1 ms.
    assert stamps.before[locked].max() < 1e-3
    assert np.median(stamps.before[locked]) < 0.3e-3
    assert stamps.after.max() < 1e-3
    # Before the lock (the first 20 s) the nominal rate and the fastest frame so far.
    assert (~locked).sum() <= 400
    assert np.nanmax(stamps.before[~locked]) < 5e-3
    # Right after each outage: the first block, stamped by extrapolation alone.
    send = link.send_s
    resumed = np.flatnonzero(np.diff(send) > 30.0) + 1
    assert resumed.size == len(OUTAGES_24H)
    assert stamps.before[resumed].max() < 1e-3
    assert stamps.after[resumed].max() < 1e-3
    # Drift: a few ppm at lock, far better once minutes of data are in.
    settled = stamps.chunk_end_s - send[0] > 300.0
    assert np.nanmax(abs(stamps.drift_ppm - drift_ppm)) < 20.0
    assert np.nanmax(abs(stamps.drift_ppm[settled] - drift_ppm)) < 1.0
    assert abs(clock.drift_ppm - drift_ppm) < 0.1
    assert clock.host_sfreq == pytest.approx(1000.0 * (1 + drift_ppm * 1e-6), rel=1e-7)
    assert clock.device_sfreq == pytest.approx(1000.0, rel=1e-9)
    status = clock.status()
    assert status.n_reanchors == 0
    assert status.n_device_restarts == 0
    assert status.n_bins_rejected > 0  # the congestion bins were seen and left out
    assert status.residual_rms_s < 0.5e-3
    assert status.uncertainty_s < 1e-3


def test_drift_and_timing_with_heavy_frame_loss() -> None:
    link = simulate_link(drift_ppm=200.0, duration_s=2 * HOUR_S, seed=3, stalls=True, loss=0.6)
    clock = ClockSync(1000.0)
    stamps = stamp_blocks(clock, link, chunk=80)
    assert stamps.before[stamps.locked].max() < 1e-3
    assert abs(clock.drift_ppm - 200.0) < 0.2


# ---------------------------------------------------------------------- start-up
def test_unlocked_start_uses_nominal_rate_and_says_so() -> None:
    link = simulate_link(drift_ppm=200.0, duration_s=120.0, seed=4)
    clock = ClockSync(1000.0)
    observe_link(clock, link.select(slice(0, 1)))
    assert not clock.is_locked
    assert clock.drift_ppm == 0.0  # nothing but the nominal rate yet
    assert clock.uncertainty_s() >= 1e-3
    newest = int(link.first_sample[0]) + link.n_per_frame - 1
    later = newest + 10_000  # 10 s ahead: the prior drift uncertainty shows
    assert clock.uncertainty_s(later) > clock.uncertainty_s(newest) + 1e-3
    # One frame: its last sample is placed at its arrival, the rest at the nominal rate.
    assert clock.sample_time_utc(newest) == pytest.approx(link.arrival_s[0], abs=1e-6)
    assert clock.sample_time_utc(newest - 49) == pytest.approx(link.arrival_s[0] - 0.049, abs=1e-6)
    observe_link(clock, link.select(slice(1, 20 * 30)))  # 30 s
    assert clock.status().is_locked
    assert clock.uncertainty_s() < 0.5e-3
    assert abs(clock.drift_ppm - 200.0) < 20.0


def test_latency_burst_at_start_does_not_bias_the_lock() -> None:
    link = simulate_link(drift_ppm=-200.0, duration_s=300.0, seed=5)
    congested = link.arrival_s.copy()
    congested[:100] += 0.1  # the first 5 s arrive 100 ms late
    link = replace(link, arrival_s=congested)
    clock = ClockSync(1000.0)
    stamps = stamp_blocks(clock, link, chunk=20)
    late = link.send_s - link.send_s[0] > 20.0
    assert stamps.before[late].max() < 1e-3
    assert clock.n_reanchors == 0


# ---------------------------------------------------------------------- outages
def test_outage_extrapolates_and_uncertainty_grows() -> None:
    link = simulate_link(drift_ppm=150.0, duration_s=3000.0, seed=6, outages=((1800.0, 600.0),))
    resume = int(np.flatnonzero(np.diff(link.send_s) > 60.0)[0]) + 1
    clock = ClockSync(1000.0, drift_wander_ppm=1.0)
    observe_link(clock, link.select(slice(0, resume)))
    now = clock.uncertainty_s()
    k_resume = int(link.first_sample[resume])
    ahead = clock.uncertainty_s(k_resume)
    # 600 s without data at 1 ppm of possible wander: about 0.6 ms more.
    assert ahead > now + 0.4e-3
    assert ahead < now + 1.0e-3
    error = abs(clock.sample_time_utc(k_resume) - link.truth_utc(k_resume))
    assert error < 0.5e-3  # the drift did not wander in the simulation
    observe_link(clock, link.select(slice(resume, resume + 20 * 120)))
    assert clock.uncertainty_s() < ahead / 2


def test_a_few_late_frames_right_after_an_outage_do_not_decide_the_fit() -> None:
    link = simulate_link(drift_ppm=200.0, duration_s=4000.0, seed=0, outages=((1500.0, 2000.0),))
    resume = int(np.flatnonzero(np.diff(link.send_s) > 60.0)[0]) + 1
    # The 2 s bins count device time from the first frame's last sample.
    x = (link.timestamp_us - link.timestamp_us[0] + 49_000) * 1e-6
    bin_end = (np.floor(x[resume] / 2.0) + 1) * 2.0
    first_bin = (np.arange(x.size) >= resume) & (x < bin_end)
    # Only two frames make it into the first bin after the outage, both 6 ms late.
    arrival = link.arrival_s.copy()
    arrival[first_bin] += 6e-3
    keep = ~first_bin | (np.cumsum(first_bin) <= 2)
    link = replace(link, arrival_s=arrival).select(keep)
    clock = ClockSync(1000.0)
    stamps = stamp_blocks(clock, link, chunk=20)
    since = link.send_s - link.send_s[resume]
    assert stamps.after[(since > 2.0) & (since < 120.0)].max() < 0.4e-3


# ---------------------------------------------------------------------- restarts
def test_device_reboot_starts_a_new_fit_from_the_old_drift() -> None:
    first = simulate_link(drift_ppm=150.0, duration_s=600.0, seed=7, boot_us=5e6)
    # Power-up again 30 s after the last frame; sampling starts 3 s later, index 0.
    t0 = first.send_s[-1] + 30.0
    second = simulate_link(drift_ppm=150.0, duration_s=300.0, seed=8, boot_us=3e6, t0=t0)
    clock = ClockSync(1000.0)
    observe_link(clock, first)
    assert clock.status().is_locked
    with pytest.raises(ConfigError, match="went backwards.*restart=True"):
        observe_link(clock, second.select(slice(0, 1)))
    observe_link(clock, second.select(slice(0, 1)), restart=True)
    assert clock.n_device_restarts == 1
    assert clock.n_segments == 2
    assert not clock.is_locked
    assert abs(clock.drift_ppm - 150.0) < 1.0  # carried over from the first run
    rest = second.select(slice(1, None))
    stamps = stamp_blocks(clock, rest, chunk=10)
    settled = rest.send_s - second.send_s[0] > 2.0
    assert stamps.before[settled].max() < 1e-3
    assert clock.status().is_locked
    assert abs(clock.drift_ppm - 150.0) < 0.5


def test_reboot_is_detected_even_when_device_time_moved_forward() -> None:
    first = simulate_link(drift_ppm=-80.0, duration_s=60.0, seed=9, boot_us=0.0)
    # Rebooted, and streaming again at device time 120 s > the 60 s seen before.
    t0 = first.send_s[-1] + 300.0
    second = simulate_link(drift_ppm=-80.0, duration_s=120.0, seed=10, boot_us=120e6, t0=t0)
    clock = ClockSync(1000.0)
    observe_link(clock, first)
    observe_link(clock, second, restart=True)
    assert clock.n_device_restarts == 1
    k = second.first_sample[-1]
    assert abs(clock.sample_time_utc(k) - second.truth_utc(k)) < 1e-3


def test_sampling_restart_keeps_the_device_clock_fit() -> None:
    first = simulate_link(drift_ppm=200.0, duration_s=600.0, seed=11, boot_us=1e6)
    # STOP, then START 20 s later: index from 0, the device clock runs on.
    boot_us = float(first.timestamp_us[-1]) + 20e6
    second = simulate_link(drift_ppm=200.0, duration_s=120.0, seed=12, boot_us=boot_us)
    clock = ClockSync(1000.0)
    observe_link(clock, first)
    observe_link(clock, second.select(slice(0, 1)), restart=True)
    assert clock.n_device_restarts == 0
    assert clock.n_segments == 2
    assert clock.is_locked
    k = second.first_sample[0]
    assert abs(clock.sample_time_utc(k) - second.truth_utc(k)) < 1e-3
    stamps = stamp_blocks(clock, second.select(slice(1, None)))
    assert stamps.before.max() < 1e-3


def test_rate_change_restarts_the_sample_timeline() -> None:
    first = simulate_link(drift_ppm=-200.0, duration_s=300.0, seed=13, boot_us=1e6)
    boot_us = float(first.timestamp_us[-1]) + 1e6
    second = simulate_link(
        drift_ppm=-200.0, duration_s=300.0, seed=14, sfreq=500.0, n_per_frame=25, boot_us=boot_us
    )
    clock = ClockSync(1000.0)
    observe_link(clock, first)
    with pytest.raises(ConfigError, match="only change when a new sampling run starts"):
        observe_link(clock, second.select(slice(0, 1)), sfreq=500.0)
    observe_link(clock, second, restart=True, sfreq=500.0)
    assert clock.sfreq == 500.0
    assert clock.device_sfreq == pytest.approx(500.0, rel=1e-9)
    k = second.first_sample[-5:]
    assert np.abs(clock.sample_time_utc(k) - second.truth_utc(k)).max() < 1e-3
    assert clock.n_device_restarts == 0


@pytest.mark.parametrize("step_s", [2.0, -2.0])
def test_host_clock_step_is_followed_after_reanchor_after_s(step_s: float) -> None:
    link = simulate_link(drift_ppm=100.0, duration_s=1800.0, seed=15)
    i_step = link.first_sample.size // 2
    arrival = link.arrival_s.copy()
    arrival[i_step:] += step_s  # the host's UTC clock was set by step_s seconds
    link = replace(link, arrival_s=arrival)
    clock = ClockSync(1000.0, reanchor_after_s=60.0)
    stamps = stamp_blocks(clock, link)
    since = link.send_s - link.send_s[i_step]
    # Errors against the true time in the host's *old* time base. Before the step:
    # right. For reanchor_after_s after it: still the old time base, not a mixture (no
    # disagreeing bin moves the fit). Then the new time base, step_s away.
    assert stamps.after[since < 0].max() < 1e-3
    assert stamps.after[(since > 0) & (since < 50.0)].max() < 1e-3
    assert np.abs(stamps.after[since > 90.0] - abs(step_s)).max() < 1e-3
    assert clock.n_reanchors == 1
    assert abs(clock.drift_ppm - 100.0) < 0.5


# ---------------------------------------------------------------------- sample rate
def test_sample_rate_in_device_time_is_estimated_with_a_separate_adc_crystal() -> None:
    link = simulate_link(drift_ppm=-120.0, adc_ppm=80.0, duration_s=1800.0, seed=16)
    clock = ClockSync(1000.0)
    stamps = stamp_blocks(clock, link)
    assert clock.device_sfreq == pytest.approx(1000.0 * (1 + 80e-6), rel=1e-8)
    true_rate = 1000.0 * (1 + 80e-6) * (1 - 120e-6)
    assert clock.host_sfreq == pytest.approx(true_rate, rel=1e-7)
    assert stamps.before[stamps.locked].max() < 1e-3


def test_fractional_sample_period_is_exact_on_average() -> None:
    # 512 Hz: 1953.125 µs per sample, so timestamp_us is rounded.
    link = simulate_link(drift_ppm=60.0, duration_s=1200.0, seed=17, sfreq=512.0, n_per_frame=32)
    clock = ClockSync(512.0)
    stamps = stamp_blocks(clock, link)
    assert stamps.before[stamps.locked].max() < 1e-3
    assert clock.device_sfreq == pytest.approx(512.0, rel=1e-9)


def test_min_latency_is_subtracted_from_arrival_times() -> None:
    link = simulate_link(drift_ppm=50.0, duration_s=300.0, seed=18)
    plain, floored = ClockSync(1000.0), ClockSync(1000.0, min_latency_s=0.0075)
    observe_link(plain, link)
    observe_link(floored, link)
    k = link.first_sample[::50]
    diff = plain.sample_time_utc(k) - floored.sample_time_utc(k)
    np.testing.assert_allclose(diff, 0.0075, atol=1e-6)


# ---------------------------------------------------------------------- diagnostics
def test_status_and_residuals_describe_the_link() -> None:
    link = simulate_link(drift_ppm=200.0, duration_s=1800.0, seed=19)
    arrival = link.arrival_s.copy()
    congested = (link.send_s - link.send_s[0] > 1500.0) & (link.send_s - link.send_s[0] < 1520.0)
    arrival[congested] += 0.08
    link = replace(link, arrival_s=arrival)
    clock = ClockSync(1000.0, window_s=1200.0, bin_s=2.0)
    observe_link(clock, link)
    status = clock.status()
    assert status.n_observations == link.first_sample.size
    assert status.n_bins == 600
    assert status.window_span_s == pytest.approx(1200.0, abs=4.0)
    assert 9 <= status.n_bins_rejected <= 11  # the 20 s of congestion, 2 s bins
    assert status.n_bins_used == status.n_bins - status.n_bins_rejected
    # Exponential delays of mean 5 ms: the typical frame is ~5 ms above the fastest.
    assert 3e-3 < status.mean_excess_latency_s < 7e-3
    assert status.residual_rms_s < 0.5e-3
    assert status.last_latency_s >= -1e-3
    assert status.drift_uncertainty_ppm < 0.1
    time_s, residual, used = clock.residuals()
    assert time_s.shape == residual.shape == used.shape == (600,)
    assert np.all(np.diff(time_s) > 0)
    rejected = ~used
    assert residual[rejected].min() > 0.05  # the congestion, 80 ms above the floor
    assert np.abs(residual[used]).max() < 2e-3
    assert status.offset_s == pytest.approx(
        clock.device_time_utc(int(link.timestamp_us[-1])) - link.timestamp_us[-1] * 1e-6
    )


def test_device_time_utc_agrees_with_the_sample_timeline() -> None:
    link = simulate_link(drift_ppm=-150.0, duration_s=600.0, seed=20)
    clock = ClockSync(1000.0)
    observe_link(clock, link)
    k = link.first_sample[-10:]
    from_samples = clock.sample_time_utc(k)
    from_device = clock.device_time_utc(link.timestamp_us[-10:])
    np.testing.assert_allclose(from_samples, from_device, atol=1e-6)
    assert isinstance(clock.sample_time_utc(int(k[0])), float)
    assert clock.sample_time_utc([int(k[0])]).shape == (1,)


def test_one_time_queries_equal_the_array_queries_exactly() -> None:
    # A Python int takes a scalar path; it must give the array path's result to the bit.
    link = simulate_link(drift_ppm=80.0, duration_s=300.0, seed=23, adc_ppm=30.0)
    clock = ClockSync(1000.0)
    k_all, d_all, h_all = link.first_sample, link.timestamp_us, link.arrival_s
    rng = np.random.default_rng(23)
    for i, (k, d, h) in enumerate(zip(k_all.tolist(), d_all.tolist(), h_all.tolist(), strict=True)):
        clock.observe(k, d, h, n_times=link.n_per_frame)
        if i % 97:
            continue
        ks = [k, k + link.n_per_frame - 1, int(rng.integers(0, 2 * k + 1)), 0]
        ds = [d, int(rng.integers(0, 2 * d + 1))]
        assert [clock.sample_time_utc(q) for q in ks] == clock.sample_time_utc(ks).tolist()
        assert [clock.device_time_utc(q) for q in ds] == clock.device_time_utc(ds).tolist()
        assert clock.sample_time_utc(np.int64(ks[2])) == clock.sample_time_utc(ks[2])


# ---------------------------------------------------------------------- batch = one by one
@pytest.fixture(scope="module")
def bursty_link() -> Link:
    return simulate_link(
        drift_ppm=-170.0, duration_s=900.0, seed=21, stalls=True, outages=((400.0, 90.0),)
    )


@pytest.fixture(scope="module")
def one_by_one(bursty_link: Link) -> ClockSync:
    clock = ClockSync(1000.0)
    link = bursty_link
    for k, d, h in zip(
        link.first_sample.tolist(), link.timestamp_us.tolist(), link.arrival_s.tolist(), strict=True
    ):
        clock.observe(k, d, h, n_times=link.n_per_frame)
    return clock


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=17_999), max_size=12, unique=True))
def test_observe_many_equals_observe_for_any_chunking(
    bursty_link: Link, one_by_one: ClockSync, cuts: list[int]
) -> None:
    link = bursty_link
    edges = [0, *sorted(c for c in cuts if c < link.first_sample.size), link.first_sample.size]
    clock = ClockSync(1000.0)
    for i, j in zip(edges[:-1], edges[1:], strict=True):
        observe_link(clock, link.select(slice(i, j)))
    query = np.arange(0, int(link.first_sample[-1]), 997)
    np.testing.assert_array_equal(clock.sample_time_utc(query), one_by_one.sample_time_utc(query))
    assert clock.drift_ppm == one_by_one.drift_ppm
    assert clock.n_observations == one_by_one.n_observations
    assert clock.is_locked == one_by_one.is_locked


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sfreq": 0.0}, "sfreq must be a finite sampling rate > 0"),
        ({"sfreq": math.nan}, "sfreq must be a finite sampling rate > 0"),
        ({"sfreq": math.inf}, "sfreq must be a finite sampling rate > 0"),
        ({"sfreq": "1000"}, "sfreq must be a sampling rate in Hz"),
        ({"sfreq": True}, "sfreq must be a sampling rate in Hz"),
        ({"sfreq": 1000.0, "bin_s": 0.0}, "bin_s must be finite and > 0"),
        ({"sfreq": 1000.0, "window_s": 10.0}, "window_s must be at least 10 bins"),
        ({"sfreq": 1000.0, "min_latency_s": -0.001}, "min_latency_s must be finite and >= 0"),
        ({"sfreq": 1000.0, "max_drift_ppm": 0.0}, "max_drift_ppm must be finite and > 0"),
        ({"sfreq": 1000.0, "max_drift_ppm": 20_000.0}, "at most 10000 ppm"),
        ({"sfreq": 1000.0, "drift_wander_ppm": math.nan}, "drift_wander_ppm must be finite"),
        ({"sfreq": 1000.0, "reanchor_after_s": 5.0}, "reanchor_after_s must cover at least 8"),
    ],
)
def test_bad_configuration_is_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ClockSync(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first_sample", "timestamp_us", "host_time_s", "n_times", "match"),
    [
        (0, 0, math.nan, 50, "host_time_s must be finite UTC seconds"),
        (0, 0, math.inf, 50, "host_time_s must be finite UTC seconds"),
        (0, 0, "now", 50, r"host_time_s must be the arrival time in UTC seconds \(time.time"),
        (-1, 0, T0_UTC, 50, r"first_sample must be >= 0 \(the unwrapped sample index\)"),
        (1.5, 0, T0_UTC, 50, "first_sample must be an integer"),
        (True, 0, T0_UTC, 50, "first_sample must be an integer"),
        (0, -5, T0_UTC, 50, "timestamp_us must be >= 0"),
        (0, 2**63, T0_UTC, 50, "timestamp_us must be below 2\\*\\*63"),
        (0, 0, T0_UTC, 0, r"n_times must be >= 1"),
    ],
)
def test_bad_observation_is_named(
    first_sample: object, timestamp_us: object, host_time_s: object, n_times: object, match: str
) -> None:
    clock = ClockSync(1000.0)
    with pytest.raises(ConfigError, match=match):
        clock.observe(first_sample, timestamp_us, host_time_s, n_times=n_times)  # type: ignore[arg-type]
    assert clock.n_observations == 0


@pytest.fixture
def started() -> ClockSync:
    clock = ClockSync(1000.0)
    clock.observe(1000, 2_000_000, T0_UTC, n_times=50)
    return clock


@pytest.mark.parametrize(
    ("first_sample", "timestamp_us", "match"),
    [
        (950, 1_950_000, "first_sample went backwards from 1000 to 950.*restart=True"),
        (1020, 2_020_000, r"overlaps the previous frame \(samples 1000..1049\)"),
        (1050, 1_990_000, "timestamp_us went backwards.*restart=True"),
        (1050, 3_050_000, "sample index and device time disagree.*check sfreq"),
        # The wire's u32 first_sample passed without unwrapping, after the wrap:
        (1050 + 2**32, 2_050_000, "sample index and device time disagree.*unwrapped"),
    ],
)
def test_discontinuity_without_restart_is_named(
    started: ClockSync, first_sample: int, timestamp_us: int, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        started.observe(first_sample, timestamp_us, T0_UTC + 0.05, n_times=50)
    assert started.n_observations == 1
    started.observe(1050, 2_050_000, T0_UTC + 0.05, n_times=50)  # the real next frame
    assert started.n_observations == 2


def test_wrong_nominal_rate_is_caught_at_the_second_frame() -> None:
    clock = ClockSync(500.0)  # the device samples at 1000 Hz
    clock.observe(0, 0, T0_UTC, n_times=50)
    with pytest.raises(ConfigError, match="sfreq=500 Hz"):
        clock.observe(50, 50_000, T0_UTC + 0.05, n_times=50)


def test_bad_batch_names_the_frame_and_observes_nothing(started: ClockSync) -> None:
    k = np.array([1050, 1100, 1150, 1200])
    d = k * 1000 + 1_000_000
    h = T0_UTC + (k - 1000) / 1000.0
    bad_h = h.copy()
    bad_h[2] = math.nan
    with pytest.raises(ConfigError, match="host_time_s must be finite.*position 2"):
        started.observe_many(k, d, bad_h, n_times=50)
    bad_k = k.copy()
    bad_k[3] = 1100
    with pytest.raises(ConfigError, match=r"went backwards from 1150 to 1100.*observation 3"):
        started.observe_many(bad_k, d, h, n_times=50)
    with pytest.raises(ConfigError, match="same length"):
        started.observe_many(k, d[:3], h, n_times=50)
    with pytest.raises(ConfigError, match="must hold integers"):
        started.observe_many(k.astype(float), d, h, n_times=50)
    with pytest.raises(ConfigError, match="n_times must be one integer or 4"):
        started.observe_many(k, d, h, n_times=[50, 50])
    assert started.n_observations == 1
    started.observe_many(k, d, h, n_times=50)
    assert started.n_observations == 5


def test_queries_need_an_observation_and_valid_indices(started: ClockSync) -> None:
    with pytest.raises(ConfigError, match="no observation yet"):
        ClockSync(1000.0).sample_time_utc(0)
    with pytest.raises(ConfigError, match="no observation yet"):
        _ = ClockSync(1000.0).drift_ppm
    with pytest.raises(ConfigError, match="sample_index must be >= 0"):
        started.sample_time_utc(-1)
    with pytest.raises(ConfigError, match="sample_index must be an integer"):
        started.sample_time_utc(1.5)  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match="sample_index must be an integer"):
        started.sample_time_utc(True)
    with pytest.raises(ConfigError, match="timestamp_us must be >= 0"):
        started.device_time_utc(-3)
    with pytest.raises(ConfigError, match=r"n_times must be >= 1 \(samples in the block\)"):
        started.block_times_utc([1000], [0])


def test_reset_forgets_everything(started: ClockSync) -> None:
    started.reset()
    assert started.n_observations == 0
    with pytest.raises(ConfigError, match="no observation yet"):
        started.sample_time_utc(1000)
    started.observe(5, 123, T0_UTC, n_times=10)  # any first frame is fine again
    assert started.next_sample_index == 15


def test_sample_span_matches_two_single_queries() -> None:
    sync = ClockSync(1000.0)
    for i in range(200):
        sync.observe(i * 50, i * 50_000 + (i % 7), 1.7e9 + i * 0.05 + 0.001 * (i % 3), n_times=50)
    for first, last in [(0, 49), (5000, 5049), (9950, 9999), (123_456, 123_505)]:
        span = sync.sample_span_utc(first, last)
        assert span == (sync.sample_time_utc(first), sync.sample_time_utc(last))

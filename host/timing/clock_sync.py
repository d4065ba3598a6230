"""Map the device's sample indices and microsecond clock to host UTC, drift included.

The wearable stamps every SAMPLES frame with the index of its first sample and the
device time of that sample (``docs/protocol.md``, sections 3-4); its crystal may run up to
a few hundred ppm fast or slow. The host knows when the bytes of each frame arrived, which
is the true time plus a delivery delay that is never negative and sometimes large (USB
polling, BLE connection events and retransmissions, a busy event loop). :class:`ClockSync`
turns those observations into the UTC time of any sample, causally and in O(1) per frame.

The model has two straight lines, both refitted over a sliding window of device time:

1. **sample index → device time**: ``d(k) = d_ref + (k - k_ref) * 1e6 / sfreq + w(k)``
   with ``w`` a least-squares line (the device-time sample rate, exactly nominal when the
   ADC and the clock share a crystal);
2. **device time → host UTC**: ``utc(x) = h_ref + x + c + m (x - xc)``, ``x`` in device
   seconds, fitted to the *lower envelope* of the arrival times: the frame that arrived
   fastest in each time bin, with bins far above (latency bursts) or below (host clock
   steps) the line rejected.

See ``docs/timing.md`` for the method, its references and its measured accuracy.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from host.errors import ConfigError
from host.timing._linefit import LineFit, RunningLine, fit_line, lower_envelope_line

__all__ = ["ClockSync", "ClockSyncStatus"]

logger = logging.getLogger(__name__)

#: Prior scale (s) of the lowest arrival delay per bin around the fitted line, before data.
_PRIOR_SCALE_S = 1e-3
#: Weight of that prior scale, in equivalent bins.
_PRIOR_WEIGHT = 2.0
#: A bin is rejected when its residual exceeds this many standard uncertainties...
_GATE_K = 4.0
#: ...and this many seconds (whichever is larger).
_GATE_FLOOR_S = 2e-3
#: Accepted bins, and the device seconds they span, before the fit is declared locked.
_LOCK_BINS = 8
_LOCK_SPAN_S = 15.0
#: A bin with fewer frames than this fraction of the median of the last bins (the first and
#: last around an outage) is not used: the fastest of a few frames is a poor estimate of
#: the delay floor next to its neighbours' fastest of many.
_MIN_BIN_FILL = 0.5
_FILL_HISTORY = 15
#: After restart=True, a residual within this many seconds means the device clock went on.
_CONTINUITY_S = 1.0
#: Prior uncertainty of the drift after a device restart, when the old drift is carried over.
_CARRYOVER_DRIFT_PPM = 10.0
#: Prior scale (µs) of the sample-index line's residuals (rounding to whole microseconds).
_SAMPLE_SCALE_US = 1.0
#: Running sums are recomputed from scratch after this many updates.
_REBUILD_OPS = 4096
_ROBUST_MAX_ITER = 10
_MAX_TIMESTAMP_US = (1 << 63) - 1


@dataclass(slots=True)
class _Bin:
    """The fastest-arriving frame of one time bin, and what the bin's other frames say."""

    index: int  # floor(x / bin_s)
    x: float  # device seconds since the epoch reference, of the frame's last sample
    y: float  # arrival time - epoch reference - x: apparent offset, seconds
    det: float  # y - m_open * x: what "fastest" is judged on
    k: int  # unwrapped first_sample of that frame
    d: int  # its timestamp_us
    m_open: float  # slope of the host line when the bin opened
    segment: int  # sample segment the frame belongs to
    n_obs: int
    sum_det: float
    sparse: bool = False
    accepted: bool = False
    residual: float = math.nan


@dataclass(frozen=True)
class ClockSyncStatus:
    """A snapshot of a :class:`ClockSync`, for logs, the dashboard and the store.

    Attributes
    ----------
    is_locked : bool
        The device→UTC line is fitted from enough data (see :attr:`ClockSync.is_locked`).
    n_observations : int
        Frames observed since construction (or :meth:`ClockSync.reset`).
    n_segments : int
        Sampling runs seen (1 + restarts of the sample index).
    n_device_restarts : int
        Restarts of the device clock (reboots), each starting a new fit.
    n_reanchors : int
        Times the fit was rebuilt because every bin for ``reanchor_after_s`` disagreed
        with it (a host clock step, or a lasting change of the delivery delay).
    drift_ppm : float
        Estimated rate error of the device clock against the host clock, ppm (> 0: fast).
    drift_uncertainty_ppm : float
        Standard uncertainty of ``drift_ppm``.
    offset_s : float
        UTC minus device time (s) at the newest observation.
    device_sfreq : float
        Estimated samples per device second.
    host_sfreq : float
        Estimated samples per host (UTC) second: the true sampling rate.
    uncertainty_s : float
        Standard uncertainty of the UTC time of the newest observed sample.
    n_bins : int
        Time bins in the sliding window.
    n_bins_used : int
        Of those, bins the fit uses.
    n_bins_rejected : int
        Bins rejected since the last device restart or re-anchoring.
    residual_rms_s : float
        Root mean square of the used bins' residuals (their fastest frame's delay above
        the fitted line), NaN before any.
    residual_max_s : float
        Largest absolute residual of the used bins, NaN before any.
    mean_excess_latency_s : float
        Mean delivery delay of the frames above the fastest of their bin, over the window.
    last_latency_s : float
        Delivery delay of the newest frame according to the fit (its last sample's UTC time
        to its arrival).
    window_span_s : float
        Device seconds between the oldest and the newest bin in the window.
    """

    is_locked: bool
    n_observations: int
    n_segments: int
    n_device_restarts: int
    n_reanchors: int
    drift_ppm: float
    drift_uncertainty_ppm: float
    offset_s: float
    device_sfreq: float
    host_sfreq: float
    uncertainty_s: float
    n_bins: int
    n_bins_used: int
    n_bins_rejected: int
    residual_rms_s: float
    residual_max_s: float
    mean_excess_latency_s: float
    last_latency_s: float
    window_span_s: float


class ClockSync:
    """Estimate the UTC time of every sample from frame timestamps and arrival times.

    Feed it one observation per received SAMPLES frame, in stream order: the frame's
    unwrapped ``first_sample``, its ``timestamp_us`` and the host UTC time at which its
    bytes arrived. Ask it for the UTC time of any sample of the current sampling run. It
    never reads a clock: host times are always passed in.

    Parameters
    ----------
    sfreq : float
        Nominal EMG sampling rate in Hz, as announced by DEVICE_INFO.
    window_s : float
        Length of the sliding window over which both lines are fitted: the last
        ``window_s / bin_s`` time bins that received frames, i.e. ``window_s`` of device
        time while frames flow; after an outage the bins from before it stay until new
        ones replace them. Long enough to average the delivery jitter, short enough to
        follow the crystal's temperature drift; 10-30 min is typical.
    bin_s : float
        Width of the time bins (device seconds); only the fastest frame of each bin is
        used for the device→UTC line.
    min_latency_s : float
        Known smallest delay between the last sample of a frame and the arrival of its
        bytes (device buffering, a BLE connection interval's floor). It cannot be told
        apart from a clock offset, so it is subtracted from every arrival time.
    max_drift_ppm : float
        Largest plausible crystal error: the prior uncertainty of the drift before data,
        and the tolerance when checking sample indices against device times.
    drift_wander_ppm : float
        How far the drift may wander (temperature) while no frame arrives; makes
        :meth:`uncertainty_s` grow during outages.
    reanchor_after_s : float
        When every bin for this long (device seconds) disagrees with the locked fit, the
        fit is rebuilt from those bins: the host clock was stepped, or the delivery delay
        changed for good.

    Notes
    -----
    The device→UTC line is a least-squares fit, over the window, of the *minimum* arrival
    delay per time bin: the lower envelope of one-way delays. Taking the minimum delay as
    the one closest to the truth is Cristian's (1989) probabilistic clock reading and the
    NTP clock filter's choice of the lowest-delay sample (Mills 1991; RFC 5905, 2010);
    estimating the skew from minima or from the lower envelope of one-way delays is
    Paxson's (1998) and Moon, Skelly & Towsley's (1999); fitting a rate over a long
    window while rejecting samples whose delay is far above the floor follows the
    RADclock of Veitch, Babu & Pásztor (2004). The slope has a Gaussian prior (ridge
    regression, Hoerl & Kennard 1970) so that the first seconds fall back to the nominal
    rate; the fit is *locked* once it rests on enough data.

    References
    ----------
    .. [1] F. Cristian, "Probabilistic clock synchronization", Distributed Computing 3,
       146-158, 1989.
    .. [2] D. L. Mills, "Internet time synchronization: the Network Time Protocol", IEEE
       Trans. Commun. 39(10), 1482-1493, 1991; D. Mills et al., RFC 5905, 2010.
    .. [3] V. Paxson, "On calibrating measurements of packet transit times", Proc. ACM
       SIGMETRICS, 11-21, 1998.
    .. [4] S. B. Moon, P. Skelly, D. Towsley, "Estimation and removal of clock skew from
       network delay measurements", Proc. IEEE INFOCOM, 227-234, 1999.
    .. [5] D. Veitch, S. Babu, A. Pásztor, "Robust synchronization of software clocks
       across the Internet", Proc. ACM SIGCOMM Internet Measurement Conference, 2004.
    .. [6] A. E. Hoerl, R. W. Kennard, "Ridge regression: biased estimation for
       nonorthogonal problems", Technometrics 12(1), 55-67, 1970.
    """

    def __init__(
        self,
        sfreq: float,
        *,
        window_s: float = 1200.0,
        bin_s: float = 2.0,
        min_latency_s: float = 0.0,
        max_drift_ppm: float = 500.0,
        drift_wander_ppm: float = 1.0,
        reanchor_after_s: float = 60.0,
    ) -> None:
        self._sfreq = _check_sfreq(sfreq)
        self.bin_s = _check_positive("bin_s", bin_s)
        self.window_s = _check_positive("window_s", window_s)
        if self.window_s < 10 * self.bin_s:
            raise ConfigError(
                f"window_s must be at least 10 bins (10 * bin_s = {10 * self.bin_s} s), "
                f"got window_s={window_s}"
            )
        self.min_latency_s = _check_non_negative("min_latency_s", min_latency_s)
        self.max_drift_ppm = _check_positive("max_drift_ppm", max_drift_ppm)
        if self.max_drift_ppm > 10_000:
            raise ConfigError(f"max_drift_ppm must be at most 10000 ppm, got {max_drift_ppm}")
        self.drift_wander_ppm = _check_non_negative("drift_wander_ppm", drift_wander_ppm)
        self.reanchor_after_s = _check_positive("reanchor_after_s", reanchor_after_s)
        if self.reanchor_after_s < _LOCK_BINS * self.bin_s:
            raise ConfigError(
                f"reanchor_after_s must cover at least {_LOCK_BINS} bins "
                f"({_LOCK_BINS * self.bin_s} s), got {reanchor_after_s}"
            )
        self._initial_sfreq = self._sfreq
        self._max_bins = math.ceil(self.window_s / self.bin_s)
        self._m_max = self.max_drift_ppm * 1e-6
        self.reset()

    # ------------------------------------------------------------------ life cycle
    def reset(self) -> None:
        """Forget every observation, as for a new device (the nominal ``sfreq`` is kept)."""
        self._sfreq = self._initial_sfreq
        self._period_us = 1e6 / self._sfreq
        self._n_obs = 0
        self._last: tuple[int, int, float, int] | None = None  # k, d, h_eff, n_times
        # Epoch: one run of the device clock (ends with a reboot).
        self._d_ref = 0
        self._h_ref = 0.0
        self._m0 = 0.0
        self._lam = (_PRIOR_SCALE_S / (self.max_drift_ppm * 1e-6)) ** 2
        self._bins: deque[_Bin] = deque()
        self._recent_counts: deque[int] = deque(maxlen=_FILL_HISTORY)
        self._open: _Bin | None = None
        self._hline = RunningLine()
        self._locked = False
        self._reject_run_x: float | None = None
        self._reject_run_n = 0
        self._n_rejected = 0
        # Sample segment: one run of the sample index (ends with START, SET_RATE, reboot).
        self._segment = 0
        self._k_ref = 0
        self._ds_ref = 0
        self._sline = RunningLine()
        self._n_segments = 0
        self._n_device_restarts = 0
        self._n_reanchors = 0

    # ------------------------------------------------------------------ observations
    def observe(
        self,
        first_sample: int,
        timestamp_us: int,
        host_time_s: float,
        *,
        n_times: int,
        restart: bool = False,
        sfreq: float | None = None,
    ) -> None:
        """Account for one received SAMPLES frame (O(1) amortised, a few µs).

        Parameters
        ----------
        first_sample : int
            Unwrapped index of the frame's first sample (the wire's u32 ``first_sample``
            unwrapped, e.g. with :func:`host.protocol.decoder.unwrap_index`), >= 0.
        timestamp_us : int
            The frame's ``timestamp_us``: device time of its first sample, µs.
        host_time_s : float
            Host UTC time (``time.time()``, not ``time.monotonic()``, which stops while
            the computer sleeps) at which the frame's bytes arrived.
        n_times : int
            Samples in the frame, >= 1.
        restart : bool
            True for the first frame after the decoder reported a
            :class:`~host.protocol.StreamRestart` (a reboot, START after STOP, a new
            rate): a new sampling run starts; if the device clock itself restarted (it
            went backwards, or no longer agrees with the fit), the device→UTC fit starts
            again too, from the drift estimated so far.
        sfreq : float or None
            New nominal sampling rate (Hz) of the run that starts; only with
            ``restart=True``.

        Raises
        ------
        ConfigError
            For a value out of range or not finite, and for a frame that does not follow
            the previous one without ``restart=True``: sample index or device time going
            backwards, frames overlapping, or index and device time that disagree.

        Notes
        -----
        Do not observe :class:`~host.protocol.LateFrame` items: they arrived after later
        frames and add nothing but a long delay.
        """
        if (
            type(first_sample) is int
            and type(timestamp_us) is int
            and type(n_times) is int
            and type(host_time_s) is float
            and first_sample >= 0
            and 0 <= timestamp_us <= _MAX_TIMESTAMP_US
            and n_times >= 1
            and math.isfinite(host_time_s)
        ):
            k, d, h, n = first_sample, timestamp_us, host_time_s, n_times  # all valid
        else:
            k = _check_int("first_sample", first_sample, "the unwrapped sample index")
            d = _check_int("timestamp_us", timestamp_us, "device time in microseconds")
            if d > _MAX_TIMESTAMP_US:
                raise ConfigError(f"timestamp_us must be below 2**63 µs, got {timestamp_us}")
            h = _check_host_time(host_time_s)
            n = _check_int("n_times", n_times, "the number of samples in the frame", low=1)
        period_us = self._restart_period(restart, sfreq)
        if restart or self._last is None:
            self._begin(k, d, h - self.min_latency_s, n, period_us)
        else:
            lk, ld, _, ln = self._last
            if (
                k < lk + ln
                or d <= ld
                or abs((d - ld) - (k - lk) * period_us) > self._tol_us(k - lk, period_us)
            ):
                raise ConfigError(self._pair_error(lk, ld, ln, k, d, period_us))
        h_eff = h - self.min_latency_s
        x = (float(d - self._d_ref) + (n - 1) * self._period_us) * 1e-6
        y = (h_eff - self._h_ref) - x
        b = math.floor(x / self.bin_s)
        op = self._open
        if op is not None and b <= op.index:
            det = y - op.m_open * x
            op.n_obs += 1
            op.sum_det += det
            if det < op.det:
                op.x, op.y, op.det, op.k, op.d = x, y, det, k, d
        else:
            if op is not None:
                self._close(op)
            m = self._slope()
            det = y - m * x
            self._open = _Bin(b, x, y, det, k, d, m, self._segment, 1, det)
        self._last = (k, d, h_eff, n)
        self._n_obs += 1

    def observe_many(
        self,
        first_sample: ArrayLike,
        timestamp_us: ArrayLike,
        host_time_s: ArrayLike,
        *,
        n_times: ArrayLike,
        restart: bool = False,
        sfreq: float | None = None,
    ) -> None:
        """Account for many SAMPLES frames at once (a replayed file, a simulation).

        The result is exactly that of calling :meth:`observe` for each frame in turn.

        Parameters
        ----------
        first_sample : array-like of int, shape (n_frames,)
            Unwrapped first sample indices.
        timestamp_us : array-like of int, shape (n_frames,)
            Device times of the frames' first samples, µs.
        host_time_s : array-like of float, shape (n_frames,)
            Arrival times, host UTC seconds.
        n_times : int or array-like of int, shape (n_frames,)
            Samples per frame.
        restart : bool
            As in :meth:`observe`, for the first frame of the batch. A restart inside the
            batch is an error: split the batch there.
        sfreq : float or None
            As in :meth:`observe`.

        Raises
        ------
        ConfigError
            As :meth:`observe`, naming the first offending frame; nothing is observed.
        """
        k = _int_array("first_sample", first_sample)
        d = _int_array("timestamp_us", timestamp_us)
        h = np.asarray(host_time_s)
        if h.ndim != 1 or h.dtype.kind not in "iuf":
            raise ConfigError(
                f"host_time_s must be a 1-D array of UTC seconds, got dtype {h.dtype} "
                f"and shape {h.shape}"
            )
        h = h.astype(np.float64)
        n_size = k.size
        if d.size != n_size or h.size != n_size:
            raise ConfigError(
                "first_sample, timestamp_us and host_time_s must have the same length, got "
                f"{k.size}, {d.size} and {h.size}"
            )
        nt = np.asarray(n_times)
        if nt.ndim == 0:
            nt = np.full(n_size, nt)
        nt = _int_array("n_times", nt)
        if nt.size != n_size:
            raise ConfigError(f"n_times must be one integer or {n_size} of them, got {nt.size}")
        if n_size == 0:
            return
        _first_bad(k < 0, "first_sample must be >= 0 (the unwrapped sample index)", k)
        _first_bad(d < 0, "timestamp_us must be >= 0 (device time in microseconds)", d)
        _first_bad(~np.isfinite(h), "host_time_s must be finite UTC seconds", h)
        _first_bad(nt < 1, "n_times must be >= 1 (samples in the frame)", nt)
        period_us = self._restart_period(restart, sfreq)
        # Every frame must follow the one before it (the previous batch's last included).
        begin = restart or self._last is None
        if begin:
            pk, pd, pn = k[:-1], d[:-1], nt[:-1]
            ck, cd, offset = k[1:], d[1:], 1
        else:
            assert self._last is not None
            lk, ld, _, ln = self._last
            pk = np.concatenate([[lk], k[:-1]])
            pd = np.concatenate([[ld], d[:-1]])
            pn = np.concatenate([[ln], nt[:-1]])
            ck, cd, offset = k, d, 0
        dk = ck - pk
        dd = cd - pd
        tol = 2e-6 * self.max_drift_ppm * np.abs(dk) * period_us + 2 * period_us + 2.0
        bad = (ck < pk + pn) | (dd <= 0) | (np.abs(dd - dk * period_us) > tol)
        if bad.any():
            i = int(np.argmax(bad))
            raise ConfigError(
                self._pair_error(
                    int(pk[i]),
                    int(pd[i]),
                    int(pn[i]),
                    int(ck[i]),
                    int(cd[i]),
                    period_us,
                    position=i + offset,
                )
            )
        h_eff = h - self.min_latency_s
        if begin:
            self._begin(int(k[0]), int(d[0]), float(h_eff[0]), int(nt[0]), period_us)
        x = ((d - self._d_ref).astype(np.float64) + (nt - 1) * self._period_us) * 1e-6
        y = (h_eff - self._h_ref) - x
        b = np.floor(x / self.bin_s).astype(np.int64)
        cuts = np.flatnonzero(b[1:] != b[:-1]) + 1
        starts = np.concatenate([[0], cuts])
        stops = np.concatenate([cuts, [n_size]])
        for i, j in zip(starts.tolist(), stops.tolist(), strict=True):
            bi = int(b[i])
            op = self._open
            if op is not None and bi <= op.index:
                det = y[i:j] - op.m_open * x[i:j]
                a = int(np.argmin(det))
                if det[a] < op.det:
                    op.x, op.y, op.det = float(x[i + a]), float(y[i + a]), float(det[a])
                    op.k, op.d = int(k[i + a]), int(d[i + a])
                op.n_obs += j - i
                op.sum_det += float(det.sum())
            else:
                if op is not None:
                    self._close(op)
                m = self._slope()
                det = y[i:j] - m * x[i:j]
                a = int(np.argmin(det))
                self._open = _Bin(
                    bi,
                    float(x[i + a]),
                    float(y[i + a]),
                    float(det[a]),
                    int(k[i + a]),
                    int(d[i + a]),
                    m,
                    self._segment,
                    j - i,
                    float(det.sum()),
                )
        self._last = (int(k[-1]), int(d[-1]), float(h_eff[-1]), int(nt[-1]))
        self._n_obs += n_size

    # ------------------------------------------------------------------ queries
    @overload
    def sample_time_utc(self, sample_index: int | np.integer[Any]) -> float: ...

    @overload
    def sample_time_utc(
        self, sample_index: NDArray[np.integer[Any]] | list[int]
    ) -> NDArray[np.float64]: ...

    def sample_time_utc(
        self, sample_index: int | np.integer[Any] | NDArray[np.integer[Any]] | list[int]
    ) -> float | NDArray[np.float64]:
        """Return the UTC time of samples of the current sampling run.

        Parameters
        ----------
        sample_index : int or array-like of int
            Unwrapped sample indices (>= 0), any shape.

        Returns
        -------
        float or ndarray of float
            UTC seconds, same shape as ``sample_index``. Samples separated by a gap keep
            their exact distance: the index timeline is continuous, a gap is only
            missing indices.

        Raises
        ------
        ConfigError
            Before the first observation, or for a negative or non-integer index.
        """
        if type(sample_index) is int and 0 <= sample_index <= _MAX_TIMESTAMP_US:
            # One sample (the pipeline's case, twice per frame): the same arithmetic in
            # Python floats, without the array round trip.
            self._require_observation()
            z = float(sample_index - self._k_ref)
            s = self._sample_fit()
            w = s.c + s.m * (z - s.xc)
            xs = (float(self._ds_ref - self._d_ref) + z * self._period_us + w) * 1e-6
            hf = self._host_fit()
            return self._h_ref + (xs + hf.c + hf.m * (xs - hf.xc))
        k, scalar = _index_query("sample_index", sample_index)
        self._require_observation()
        x = self._sample_x(k)
        fit = self._host_fit()
        utc = self._h_ref + (x + fit.c + fit.m * (x - fit.xc))
        return float(utc) if scalar else utc

    @overload
    def device_time_utc(self, timestamp_us: int | np.integer[Any]) -> float: ...

    @overload
    def device_time_utc(
        self, timestamp_us: NDArray[np.integer[Any]] | list[int]
    ) -> NDArray[np.float64]: ...

    def device_time_utc(
        self, timestamp_us: int | np.integer[Any] | NDArray[np.integer[Any]] | list[int]
    ) -> float | NDArray[np.float64]:
        """Return the UTC time of device clock readings (of the current device clock run).

        Use it for anything stamped in device time but not on the EMG sample index: the
        accelerometer's blocks, STATUS frames, command replies.

        Parameters
        ----------
        timestamp_us : int or array-like of int
            Device times in microseconds (>= 0), any shape.

        Returns
        -------
        float or ndarray of float
            UTC seconds, same shape as ``timestamp_us``.

        Raises
        ------
        ConfigError
            Before the first observation, or for a negative or non-integer time.
        """
        if type(timestamp_us) is int and 0 <= timestamp_us <= _MAX_TIMESTAMP_US:
            self._require_observation()  # one time, in Python floats (as below)
            xs = float(timestamp_us - self._d_ref) * 1e-6
            hf = self._host_fit()
            return self._h_ref + (xs + hf.c + hf.m * (xs - hf.xc))
        d, scalar = _index_query("timestamp_us", timestamp_us)
        self._require_observation()
        x = (d - self._d_ref).astype(np.float64) * 1e-6
        fit = self._host_fit()
        utc = self._h_ref + (x + fit.c + fit.m * (x - fit.xc))
        return float(utc) if scalar else utc

    def block_times_utc(
        self, first_sample: ArrayLike, n_times: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the UTC times of the first and last sample of many blocks at once.

        Parameters
        ----------
        first_sample : array-like of int, shape (n_blocks,)
            Unwrapped index of each block's first sample.
        n_times : int or array-like of int, shape (n_blocks,)
            Samples in each block, >= 1.

        Returns
        -------
        first_utc, last_utc : ndarray of float, shape (n_blocks,)
            UTC seconds of each block's first and last sample.

        Raises
        ------
        ConfigError
            As :meth:`sample_time_utc`, or for ``n_times < 1``.
        """
        k = _int_array("first_sample", first_sample)
        n = np.broadcast_to(np.asarray(n_times), k.shape)
        n = _int_array("n_times", n.ravel()).reshape(k.shape)
        _first_bad(n < 1, "n_times must be >= 1 (samples in the block)", n)
        return self.sample_time_utc(k), self.sample_time_utc(k + n - 1)

    @overload
    def uncertainty_s(self, sample_index: None = None) -> float: ...

    @overload
    def uncertainty_s(self, sample_index: int | np.integer[Any]) -> float: ...

    @overload
    def uncertainty_s(
        self, sample_index: NDArray[np.integer[Any]] | list[int]
    ) -> NDArray[np.float64]: ...

    def uncertainty_s(
        self,
        sample_index: int | np.integer[Any] | NDArray[np.integer[Any]] | list[int] | None = None,
    ) -> float | NDArray[np.float64]:
        """Estimate the standard uncertainty of :meth:`sample_time_utc`.

        Parameters
        ----------
        sample_index : int, array-like of int, or None
            Samples of the current run; by default the newest observed sample.

        Returns
        -------
        float or ndarray of float
            Seconds, one standard deviation: the scatter of the envelope around the fit
            (also a measure of how far the envelope may sit above the true delay floor),
            the fit's own uncertainty at that time, and ``drift_wander_ppm`` times the
            distance to the nearest data (it grows during an outage). The constant part of
            the delivery delay that ``min_latency_s`` does not remove is not included.
        """
        self._require_observation()
        if sample_index is None:
            assert self._last is not None
            sample_index = self._last[0] + self._last[3] - 1
        k, scalar = _index_query("sample_index", sample_index)
        u = self._uncertainty(self._sample_x(k), self._host_fit())
        return float(u) if scalar else u

    # ------------------------------------------------------------------ properties
    @property
    def sfreq(self) -> float:
        """Nominal sampling rate of the current run, Hz."""
        return self._sfreq

    @property
    def is_locked(self) -> bool:
        """True once the device→UTC fit rests on data rather than on the nominal rate.

        False from the first observation until the fit has at least 8 accepted bins
        spanning 15 s, and False again for as long after a device restart or a
        re-anchoring. While it is False the times are usable but less accurate
        (:meth:`uncertainty_s` says how much).
        """
        return self._locked

    @property
    def n_observations(self) -> int:
        """Frames observed since construction or :meth:`reset`."""
        return self._n_obs

    @property
    def next_sample_index(self) -> int:
        """Unwrapped index following the newest observed frame (what a gap starts at)."""
        self._require_observation()
        assert self._last is not None
        return self._last[0] + self._last[3]

    @property
    def n_segments(self) -> int:
        """Sampling runs seen: 1 for the first, +1 for each ``restart=True``."""
        return self._n_segments

    @property
    def n_device_restarts(self) -> int:
        """Restarts of the device clock detected at ``restart=True`` observations."""
        return self._n_device_restarts

    @property
    def n_reanchors(self) -> int:
        """Times the locked fit was rebuilt from a lasting disagreement (host clock steps)."""
        return self._n_reanchors

    @property
    def drift_ppm(self) -> float:
        """Device clock rate error against the host clock in ppm (> 0: the device is fast)."""
        self._require_observation()
        return _drift_ppm(self._host_fit().m)

    @property
    def drift_uncertainty_ppm(self) -> float:
        """Standard uncertainty of :attr:`drift_ppm`, ppm."""
        self._require_observation()
        fit = self._host_fit()
        return float(_scale(fit) / math.sqrt(fit.sxx) * 1e6)

    @property
    def offset_s(self) -> float:
        """UTC minus device time (s) at the newest observation.

        With no drift, the UTC time at which the device clock read zero (its power-up).
        """
        self._require_observation()
        assert self._last is not None
        d = self._last[1]
        return self.device_time_utc(d) - d * 1e-6

    @property
    def device_sfreq(self) -> float:
        """Estimated samples per second of device time (the nominal rate, ideally)."""
        self._require_observation()
        return 1e6 / (self._period_us + self._sample_fit().m)

    @property
    def host_sfreq(self) -> float:
        """Estimated samples per second of host (UTC) time: the true sampling rate."""
        return self.device_sfreq / (1.0 + self._host_fit().m)

    # ------------------------------------------------------------------ diagnostics
    def residuals(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Return the time bins of the window and their fastest frame's residual.

        Returns
        -------
        device_time_s : ndarray of float, shape (n_bins,)
            Device time (s since power-up) of each bin's fastest frame's last sample.
        residual_s : ndarray of float, shape (n_bins,)
            Its arrival time minus the fitted UTC time: the delivery delay above the
            floor (>= 0 up to the fit's scatter; large for a latency burst).
        used : ndarray of bool, shape (n_bins,)
            Whether the fit uses the bin.
        """
        self._require_observation()
        x, residual, used = self._residual_arrays(self._host_fit())
        return self._d_ref * 1e-6 + x, residual, used

    def status(self) -> ClockSyncStatus:
        """Return a snapshot of the estimates and counters.

        Raises
        ------
        ConfigError
            Before the first observation.
        """
        self._require_observation()
        assert self._last is not None
        fit = self._host_fit()
        _, residual, used = self._residual_arrays(fit)
        bins = self._bins
        excess = [b.sum_det / b.n_obs - b.det for b in bins]
        if self._open is not None:
            excess.append(self._open.sum_det / self._open.n_obs - self._open.det)
        lk, ld, lh, ln = self._last
        x_last = (float(ld - self._d_ref) + (ln - 1) * self._period_us) * 1e-6
        last_latency = (lh - self._h_ref) - x_last - (fit.c + fit.m * (x_last - fit.xc))
        used_res = residual[used]
        return ClockSyncStatus(
            is_locked=self._locked,
            n_observations=self._n_obs,
            n_segments=self._n_segments,
            n_device_restarts=self._n_device_restarts,
            n_reanchors=self._n_reanchors,
            drift_ppm=self.drift_ppm,
            drift_uncertainty_ppm=self.drift_uncertainty_ppm,
            offset_s=self.offset_s,
            device_sfreq=self.device_sfreq,
            host_sfreq=self.host_sfreq,
            uncertainty_s=self.uncertainty_s(),
            n_bins=len(bins),
            n_bins_used=int(used.sum()),
            n_bins_rejected=self._n_rejected,
            residual_rms_s=float(np.sqrt(np.mean(used_res**2))) if used_res.size else math.nan,
            residual_max_s=float(np.max(np.abs(used_res))) if used_res.size else math.nan,
            mean_excess_latency_s=float(np.mean(excess)) if excess else math.nan,
            last_latency_s=float(last_latency),
            window_span_s=float(bins[-1].x - bins[0].x) if bins else 0.0,
        )

    # ------------------------------------------------------------------ internals
    def _require_observation(self) -> None:
        if self._last is None:
            raise ConfigError(
                "ClockSync has no observation yet: call observe() with a received SAMPLES "
                "frame before asking for times"
            )

    def _restart_period(self, restart: bool, sfreq: float | None) -> float:
        if sfreq is None:
            return self._period_us
        if not restart:
            raise ConfigError(
                "sfreq can only change when a new sampling run starts: pass restart=True "
                "with the first frame at the new rate"
            )
        return 1e6 / _check_sfreq(sfreq)

    def _tol_us(self, dk: int, period_us: float) -> float:
        return 2e-6 * self.max_drift_ppm * abs(dk) * period_us + 2 * period_us + 2.0

    def _pair_error(
        self,
        lk: int,
        ld: int,
        ln: int,
        k: int,
        d: int,
        period_us: float,
        *,
        position: int | None = None,
    ) -> str:
        where = "" if position is None else f" (observation {position} of the batch)"
        fix = (
            "pass restart=True with the first frame after the decoder reports a "
            "StreamRestart, and do not observe LateFrame items"
        )
        if k < lk:
            return f"first_sample went backwards from {lk} to {k}{where}: {fix}"
        if k < lk + ln:
            return (
                f"first_sample {k} overlaps the previous frame (samples {lk}..{lk + ln - 1})"
                f"{where}: observe each frame once, in stream order"
            )
        if d <= ld:
            return (
                f"timestamp_us went backwards (or stood still) from {ld} to {d} while "
                f"first_sample advanced from {lk} to {k}{where}: {fix}"
            )
        sfreq = 1e6 / period_us
        return (
            f"sample index and device time disagree{where}: first_sample advanced by "
            f"{k - lk} samples ({(k - lk) * period_us * 1e-6:.6f} s at sfreq={sfreq:g} Hz) "
            f"but timestamp_us by {(d - ld) * 1e-6:.6f} s; check sfreq, pass the unwrapped "
            "first_sample (not the wire's u32 value), and pass restart=True (with the new "
            "sfreq) after a change of rate"
        )

    def sample_span_utc(self, first: int, last: int) -> tuple[float, float]:
        """Return the UTC times of two samples of the current run (a block's first and last).

        The same numbers as two :meth:`sample_time_utc` calls, with the fits evaluated
        once.

        Parameters
        ----------
        first, last : int
            Unwrapped sample indices (>= 0).

        Returns
        -------
        tuple of float
            UTC seconds of ``first`` and ``last``.

        Raises
        ------
        ConfigError
            Before the first observation, or for a negative or non-integer index.
        """
        if not (
            type(first) is int
            and type(last) is int
            and 0 <= first <= _MAX_TIMESTAMP_US
            and 0 <= last <= _MAX_TIMESTAMP_US
        ):
            return float(self.sample_time_utc(first)), float(self.sample_time_utc(last))
        self._require_observation()
        s = self._sample_fit()
        hf = self._host_fit()
        offset = float(self._ds_ref - self._d_ref)
        out = []
        for index in (first, last):
            z = float(index - self._k_ref)
            xs = (offset + z * self._period_us + (s.c + s.m * (z - s.xc))) * 1e-6
            out.append(self._h_ref + (xs + hf.c + hf.m * (xs - hf.xc)))
        return out[0], out[1]

    def _slope(self) -> float:
        if self._hline.n:
            return self._hline.fit(m0=self._m0, lam=self._lam, m_max=self._m_max).m
        return self._m0

    def _host_fit(self) -> LineFit:
        if self._hline.n:
            return self._hline.fit(m0=self._m0, lam=self._lam, m_max=self._m_max)
        b = self._open if self._open is not None else self._bins[-1]
        return LineFit(b.x, b.y, self._m0, 1, self._lam, 0.0)

    def _sample_fit(self) -> LineFit:
        if self._sline.n:
            # The ADC may be clocked apart from the microsecond counter: both crystals
            # within max_drift_ppm, so the period in device µs is within twice that.
            bound = 2e-6 * self.max_drift_ppm * self._period_us
            lam = (_SAMPLE_SCALE_US / bound) ** 2
            return self._sline.fit(m0=0.0, lam=lam, m_max=bound)
        return LineFit(0.0, 0.0, 0.0, 0, 1.0, 0.0)

    def _sample_x(self, k: NDArray[np.int64]) -> NDArray[np.float64]:
        """Device seconds since the epoch reference of samples ``k`` of the current run."""
        z = (k - self._k_ref).astype(np.float64)
        s = self._sample_fit()
        w = s.c + s.m * (z - s.xc)
        return (float(self._ds_ref - self._d_ref) + z * self._period_us + w) * 1e-6

    def _sample_point(self, b: _Bin) -> tuple[float, float]:
        z = float(b.k - self._k_ref)
        return z, float(b.d - self._ds_ref) - z * self._period_us

    def _uncertainty(self, x: NDArray[np.float64], fit: LineFit) -> NDArray[np.float64]:
        s = _scale(fit)
        hi, lo = self._data_range(fit)
        distance = np.maximum(x - hi, 0.0) + np.maximum(lo - x, 0.0)
        var = s * s * (1.0 + 1.0 / fit.n + (x - fit.xc) ** 2 / fit.sxx)
        wander = self.drift_wander_ppm * 1e-6 * distance
        return np.sqrt(var + wander * wander)

    def _uncertainty_at(self, x: float, fit: LineFit) -> float:
        """Scalar :meth:`_uncertainty`, for the per-bin path."""
        s = _scale(fit)
        hi, lo = self._data_range(fit)
        distance = max(x - hi, 0.0) + max(lo - x, 0.0)
        var = s * s * (1.0 + 1.0 / fit.n + (x - fit.xc) ** 2 / fit.sxx)
        wander = self.drift_wander_ppm * 1e-6 * distance
        return math.sqrt(var + wander * wander)

    def _data_range(self, fit: LineFit) -> tuple[float, float]:
        """Newest and oldest device seconds the host fit rests on."""
        if not self._hline.n:
            return fit.xc, fit.xc
        hi = lo = math.nan
        for b in reversed(self._bins):
            if b.accepted:
                hi = b.x
                break
        for b in self._bins:
            if b.accepted:
                lo = b.x
                break
        return hi, lo

    def _residual_arrays(
        self, fit: LineFit
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        x = np.array([b.x for b in self._bins], dtype=np.float64)
        y = np.array([b.y for b in self._bins], dtype=np.float64)
        used = np.array([b.accepted for b in self._bins], dtype=bool)
        return x, y - fit.c - fit.m * (x - fit.xc), used

    def _begin(self, k: int, d: int, h_eff: float, n: int, period_us: float) -> None:
        """Start a sampling run at this frame; and a device clock run if the clock restarted."""
        if self._last is None:
            self._new_epoch(d, h_eff, carry_slope=None)
        else:
            if self._open is not None:
                self._close(self._open)
                self._open = None
            rebooted = d <= self._last[1]
            if not rebooted:
                fit = self._host_fit()
                x = (float(d - self._d_ref) + (n - 1) * period_us) * 1e-6
                r = (h_eff - self._h_ref) - x - (fit.c + fit.m * (x - fit.xc))
                u = self._uncertainty_at(x, fit)
                rebooted = not (-max(_GATE_FLOOR_S, _GATE_K * u) <= r <= _CONTINUITY_S)
            if rebooted:
                carry = self._host_fit().m if self._locked else None
                self._n_device_restarts += 1
                logger.info(
                    "device clock restarted (timestamp_us %d after %d); new device->UTC fit%s",
                    d,
                    self._last[1],
                    "" if carry is None else f" from {_drift_ppm(carry):+.2f} ppm",
                )
                self._new_epoch(d, h_eff, carry_slope=carry)
            else:
                logger.info("sampling restarted at first_sample %d; device clock continues", k)
        self._period_us = period_us
        self._sfreq = 1e6 / period_us
        self._segment += 1
        self._n_segments += 1
        self._k_ref = k
        self._ds_ref = d
        self._sline.clear()

    def _new_epoch(self, d: int, h_eff: float, *, carry_slope: float | None) -> None:
        self._d_ref = d
        self._h_ref = h_eff
        if carry_slope is None:
            self._m0 = 0.0
            self._lam = (_PRIOR_SCALE_S / (self.max_drift_ppm * 1e-6)) ** 2
        else:
            self._m0 = carry_slope
            self._lam = (_PRIOR_SCALE_S / (_CARRYOVER_DRIFT_PPM * 1e-6)) ** 2
        self._bins.clear()
        self._recent_counts.clear()
        self._open = None
        self._hline.clear()
        self._locked = False
        self._reject_run_x = None
        self._reject_run_n = 0
        self._n_rejected = 0

    def _close(self, b: _Bin) -> None:
        """Move the open bin into the window and update both fits."""
        self._open = None
        self._bins.append(b)
        if b.segment == self._segment:
            self._sline.add(*self._sample_point(b))
        counts = self._recent_counts
        if counts:
            b.sparse = b.n_obs < _MIN_BIN_FILL * sorted(counts)[len(counts) // 2]
        counts.append(b.n_obs)
        if self._locked:
            if not b.sparse:
                self._gate(b)
        else:
            self._robust_refit()
        self._expire()
        if self._hline.ops_since_rebuild > _REBUILD_OPS or (
            self._sline.ops_since_rebuild > _REBUILD_OPS
        ):
            self._rebuild_sums()

    def _gate(self, b: _Bin) -> None:
        """Accept or reject a new bin against the locked fit (causal, O(1))."""
        fit = self._hline.fit(m0=self._m0, lam=self._lam, m_max=self._m_max)
        r = b.y - (fit.c + fit.m * (b.x - fit.xc))
        u = self._uncertainty_at(b.x, fit)
        limit = max(_GATE_FLOOR_S, _GATE_K * u)
        b.residual = r
        if -limit <= r <= limit:
            b.accepted = True
            self._hline.add(b.x, b.y)
            self._reject_run_x = None
            self._reject_run_n = 0
            return
        self._n_rejected += 1
        if self._reject_run_x is None:
            self._reject_run_x = b.x
        self._reject_run_n += 1
        if self._reject_run_n >= _LOCK_BINS and b.x - self._reject_run_x >= self.reanchor_after_s:
            self._reanchor()

    def _reanchor(self) -> None:
        """Rebuild the fit from the run of rejected bins (the old bins disagree with it)."""
        assert self._reject_run_x is not None
        start = self._reject_run_x
        # Sparse bins are not gated (their residual is NaN): the jump is the gated ones'.
        run = [b.residual for b in self._bins if b.x >= start and math.isfinite(b.residual)]
        jump = float(np.median(run)) if run else math.nan
        logger.warning(
            "every bin for %.0f s disagreed with the device->UTC fit by about %+.3f s "
            "(host clock step, or a lasting change of delivery delay): refitting from them",
            self._bins[-1].x - start,
            jump,
        )
        self._n_reanchors += 1
        self._m0 = self._hline.fit(m0=self._m0, lam=self._lam, m_max=self._m_max).m
        self._lam = (_PRIOR_SCALE_S / (_CARRYOVER_DRIFT_PPM * 1e-6)) ** 2
        while self._bins and self._bins[0].x < start:
            self._bins.popleft()
        self._locked = False
        self._reject_run_x = None
        self._reject_run_n = 0
        self._n_rejected = 0
        self._robust_refit()
        self._rebuild_sums()

    def _robust_refit(self) -> None:
        """Refit from every bin of the window, keeping those near the delay floor.

        Used until the fit is locked. The lower envelope of the bins (the line below all
        of them that is highest at their centre, Moon et al. 1999; slope within
        ``max_drift_ppm``) finds the floor whatever fraction of bins a latency burst
        lifted; least squares then uses the bins within ``max(2 ms, 4 s)`` of it, with
        ``s`` the scale of the kept bins, iterated until the kept set is stable.
        """
        bins = self._bins
        x = np.array([b.x for b in bins], dtype=np.float64)
        y = np.array([b.y for b in bins], dtype=np.float64)
        usable = np.array([not b.sparse for b in bins], dtype=bool)
        if not usable.any():
            usable[:] = True
        xc, c, m = lower_envelope_line(x[usable], y[usable], m_max=self._m_max)
        r = y - (c + m * (x - xc))
        keep = usable & (r <= _GATE_FLOOR_S)
        for _ in range(_ROBUST_MAX_ITER):
            fit = fit_line(x[keep], y[keep], m0=self._m0, lam=self._lam, m_max=self._m_max)
            r = y - (fit.c + fit.m * (x - fit.xc))
            limit = max(_GATE_FLOOR_S, _GATE_K * _scale(fit))
            new = usable & (np.abs(r) <= limit)
            if not new.any():
                new[int(np.argmin(np.where(usable, np.abs(r), np.inf)))] = True
            if np.array_equal(new, keep):
                break
            keep = new
        fit = fit_line(x[keep], y[keep], m0=self._m0, lam=self._lam, m_max=self._m_max)
        r = y - (fit.c + fit.m * (x - fit.xc))
        for b, used, res in zip(bins, keep.tolist(), r.tolist(), strict=True):
            b.accepted = used
            b.residual = res
        self._hline.rebuild(x[keep], y[keep])
        xk = x[keep]
        if xk.size >= _LOCK_BINS and xk[-1] - xk[0] >= _LOCK_SPAN_S:
            self._locked = True
            logger.info(
                "device->UTC fit locked after %d bins: drift %+.2f ppm",
                xk.size,
                _drift_ppm(fit.m),
            )

    def _expire(self) -> None:
        """Drop the oldest bins beyond the window's ``window_s / bin_s`` bins.

        The window counts bins, not seconds: after an outage the fit keeps the data from
        before it, and new bins take over one by one instead of one bin deciding alone.
        """
        bins = self._bins
        while len(bins) > self._max_bins:
            old = bins.popleft()
            if old.accepted:
                self._hline.remove(old.x, old.y)
            if old.segment == self._segment:
                self._sline.remove(*self._sample_point(old))

    def _rebuild_sums(self) -> None:
        used = [b for b in self._bins if b.accepted]
        self._hline.rebuild(
            np.array([b.x for b in used], dtype=np.float64),
            np.array([b.y for b in used], dtype=np.float64),
        )
        points = [self._sample_point(b) for b in self._bins if b.segment == self._segment]
        self._sline.rebuild(
            np.array([p[0] for p in points], dtype=np.float64),
            np.array([p[1] for p in points], dtype=np.float64),
        )


# ---------------------------------------------------------------------- helpers
def _drift_ppm(m: float) -> float:
    """Device rate error from the slope ``m`` of (UTC - device time) against device time."""
    return (1.0 / (1.0 + m) - 1.0) * 1e6


def _scale(fit: LineFit) -> float:
    """Residual scale of the bins around the fit, shrunk towards the prior scale."""
    dof = max(fit.n - 2, 0) + _PRIOR_WEIGHT
    return math.sqrt((fit.rss + _PRIOR_WEIGHT * _PRIOR_SCALE_S**2) / dof)


def _check_sfreq(sfreq: float) -> float:
    if isinstance(sfreq, bool) or not isinstance(sfreq, int | float | np.floating | np.integer):
        raise ConfigError(f"sfreq must be a sampling rate in Hz, got {sfreq!r}")
    value = float(sfreq)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"sfreq must be a finite sampling rate > 0 Hz, got {sfreq!r}")
    return value


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out <= 0:
        raise ConfigError(f"{name} must be finite and > 0, got {value!r}")
    return out


def _check_non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{name} must be finite and >= 0, got {value!r}")
    return out


def _check_int(name: str, value: int, meaning: str, *, low: int = 0) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer ({meaning}), got {value!r}")
    out = int(value)
    if out < low:
        raise ConfigError(f"{name} must be >= {low} ({meaning}), got {out}")
    return out


def _check_host_time(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(
            f"host_time_s must be the arrival time in UTC seconds (time.time()), got {value!r}"
        )
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(
            f"host_time_s must be finite UTC seconds (time.time() when the bytes arrived), "
            f"got {value!r}"
        )
    return out


def _int_array(name: str, value: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise ConfigError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _MAX_TIMESTAMP_US:
        raise ConfigError(f"{name} must be below 2**63, got {int(arr.max())}")
    return arr.astype(np.int64)


def _index_query(name: str, value: object) -> tuple[NDArray[np.int64], bool]:
    if isinstance(value, bool | np.bool_):
        raise ConfigError(f"{name} must be an integer or an array of integers, got {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise ConfigError(
            f"{name} must be an integer or an array of integers, got dtype {arr.dtype}"
        )
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _MAX_TIMESTAMP_US:
        raise ConfigError(f"{name} must be below 2**63, got {int(arr.max())}")
    out = arr.astype(np.int64)
    if out.size and int(out.min()) < 0:
        raise ConfigError(f"{name} must be >= 0, got {int(out.min())}")
    return out, arr.ndim == 0


def _first_bad(mask: NDArray[np.bool_], message: str, values: NDArray[Any]) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        raise ConfigError(f"{message}, got {values[i]!r} at position {i}")

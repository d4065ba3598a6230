"""The body model of the simulated wearable: volts at the electrodes, g at the accelerometer.

:class:`BodySimulator` streams what the two bipolar surface-EMG pairs over the left and right
lumbar erector spinae and the 3-axis accelerometer on the lower back see while a
:class:`~host.simulator.scenario.Scenario` plays out. The signal at each differential input
(before the amplifier) is the sum of

* surface EMG: Gaussian noise with a Shwedyk spectrum (Shwedyk et al. 1977) scaled by the
  activation in %MVC (Hogan & Mann 1980), cross-faded into a compressed spectrum during cramps,
  with slow force fluctuations and a little crosstalk between the sides;
* ECG with heart-rate variability (:mod:`host.simulator.ecg_model`);
* electrode/amplifier noise (white plus 1/f-like);
* mains interference with harmonics at a slowly varying level;
* baseline drift, motion artefacts coupled to trunk movement and heel strikes;
* scripted and random artefacts: electrode pops, lift-off (huge mains and drift, loss of
  signal), saturating deflections and motion bursts.

The front end's DC offset is not modelled: the electrode half-cell offset (tens of mV) is
assumed removed by the AC-coupled input, so the output is zero-mean apart from drift and
artefacts. No clipping is applied: the ADC (about +-1.6 mV at the electrodes) belongs to the
device model.
"""

from __future__ import annotations

import logging
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from host.simulator.artefacts import design_noise_filter, mains_waveform
from host.simulator.ecg_model import HeartBeatPlanner, render_ecg
from host.simulator.emg_model import ShapedNoise, design_emg_shaping_filter
from host.simulator.scenario import Scenario, TruthEvent
from host.simulator.script import Script

__all__ = ["BodySimulator"]

logger = logging.getLogger(__name__)

#: Internal generation block, s. All computation happens in blocks of this size, so the
#: output does not depend on how :meth:`BodySimulator.read` is called.
_FRAME_S: Final = 0.5
#: Accelerometer noise, g RMS at 100 Hz (scaled with sqrt(accel_sfreq / 100)).
_ACC_NOISE_G: Final = 0.003
#: Depth of the slow force fluctuation of an active muscle (relative RMS).
_FORCE_FLUCTUATION: Final = 0.15
_UV: Final = 1e-6


class BodySimulator:
    """Stream electrode voltages and trunk acceleration for a scenario.

    Parameters
    ----------
    scenario : Scenario
        What happens (see :func:`~host.simulator.scenario.load_scenario`).
    sfreq : float
        EMG sampling frequency in Hz (100-20000).
    accel_sfreq : float
        Accelerometer sampling frequency in Hz (up to ``sfreq``; 0 switches the
        accelerometer off and every ``acc_g`` has shape ``(3, 0)``).
    seed : int
        Seed of the noise realisation (EMG noise, heart-rate variability, mains level...).
        The script (timing of random artefacts, spasm waxing and waning) is seeded by the
        scenario's ``wearer.seed``, so truth labels do not depend on this seed.

    Notes
    -----
    Output for a given (scenario, sfreq, accel_sfreq, seed) is fully deterministic and
    independent of the block sizes passed to :meth:`read`: the model is computed in internal
    blocks of 0.5 s whose filter states (``scipy.signal.sosfilt(..., zi=...)``) and random
    streams carry over, and :meth:`read` serves samples from that stream.

    Reading past :attr:`~Scenario.duration_s` does not raise: the wearer stays at rest in the
    final posture (ECG, noise, mains and drift continue; no new episodes or artefacts), and
    :attr:`finished` is True.

    Accelerometer sample ``k`` is taken at time ``k / accel_sfreq``. A call that advances the
    EMG stream from sample ``start`` to ``end`` returns accelerometer samples
    ``floor(start * accel_sfreq / sfreq)`` up to (excluding)
    ``floor(end * accel_sfreq / sfreq)``.

    Examples
    --------
    >>> from host.simulator import BodySimulator, builtin_scenario
    >>> body = BodySimulator(builtin_scenario("quick"), sfreq=1000.0, accel_sfreq=100.0, seed=1)
    >>> emg_v, acc_g = body.read(1000)
    >>> emg_v.shape, acc_g.shape
    ((2, 1000), (3, 100))
    """

    channel_names: tuple[str, str] = ("EMG L", "EMG R")
    accel_names: tuple[str, str, str] = ("ACC X (up)", "ACC Y (left)", "ACC Z (anterior)")

    def __init__(self, scenario: Scenario, sfreq: float, accel_sfreq: float, seed: int = 0) -> None:
        if not (isinstance(sfreq, int | float) and 100.0 <= float(sfreq) <= 20000.0):
            raise ValueError(f"sfreq must be a number of Hz in [100, 20000], got {sfreq!r}.")
        if not (isinstance(accel_sfreq, int | float) and 0.0 <= float(accel_sfreq) <= float(sfreq)):
            raise ValueError(
                f"accel_sfreq must be a number of Hz in [0, sfreq={sfreq}], got {accel_sfreq!r}."
            )
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
        self.scenario = scenario
        self.sfreq = float(sfreq)
        self.accel_sfreq = float(accel_sfreq)
        self.seed = int(seed)
        self._script = Script(scenario)
        self._frame = max(32, int(round(self.sfreq * _FRAME_S)))
        self.n_times_total = int(round(scenario.duration_s * self.sfreq))
        self._init_state()
        logger.debug(
            "BodySimulator %r: %.1f s, sfreq %.1f Hz, accel %.1f Hz, seed %d",
            scenario.name,
            scenario.duration_s,
            self.sfreq,
            self.accel_sfreq,
            self.seed,
        )

    # ------------------------------------------------------------------ state

    def _init_state(self) -> None:
        wearer = self.scenario.wearer
        fs = self.sfreq
        streams = np.random.SeedSequence([self.seed, 0x5A5]).spawn(11)
        rngs = [np.random.default_rng(s) for s in streams]
        (
            emg_fresh,
            emg_compressed,
            fluct,
            white,
            pink,
            drift,
            motion,
            self._mains_rng,
            heart,
            self._acc_rng,
            params,
        ) = rngs
        median = wearer.median_freq_hz
        self._emg_fresh = ShapedNoise(design_emg_shaping_filter(median, fs), 2, emg_fresh)
        self._emg_compressed = ShapedNoise(
            design_emg_shaping_filter(median * wearer.cramp_median_ratio, fs), 2, emg_compressed
        )
        burn = int(2.0 * fs)
        self._fluct = ShapedNoise(
            design_noise_filter("bandpass", fs, l_freq=0.2, h_freq=3.0), 2, fluct, burn_in=burn
        )
        self._white_rng = white
        self._pink = ShapedNoise(design_noise_filter("pink", fs, l_freq=2.0), 2, pink, burn_in=burn)
        self._drift = ShapedNoise(
            design_noise_filter("lowpass", fs, h_freq=0.3), 2, drift, burn_in=int(20.0 * fs)
        )
        self._motion = ShapedNoise(
            design_noise_filter("bandpass", fs, l_freq=1.0, h_freq=15.0), 2, motion, burn_in=burn
        )
        self._heart = HeartBeatPlanner(
            heart,
            self._script.heart_rate_target,
            respiration_rate_bpm=wearer.respiration_rate_bpm,
        )
        self._mvc_v = np.array(wearer.mvc_uv) * _UV
        self._ecg_v = np.array([wearer.ecg_uv_left, -wearer.ecg_uv_right]) * _UV
        self._mains_gain = params.uniform(0.6, 1.4, size=2)
        self._mains_phase = float(params.uniform(0.0, 2.0 * np.pi))
        self._mains_level = self._mains_rng.normal(0.0, 0.5, size=2)
        self._motion_gain = params.uniform(0.7, 1.3, size=2)
        self._generated = 0
        self._produced = 0
        self._acc_generated = 0
        self._emg_pending = np.zeros((2, 0))
        self._acc_pending = np.zeros((3, 0))

    def reset(self) -> None:
        """Rewind to the start; the next :meth:`read` repeats the same output."""
        self._init_state()

    # ------------------------------------------------------------------ public

    @property
    def time_s(self) -> float:
        """Position in the stream, s (samples returned so far / ``sfreq``)."""
        return self._produced / self.sfreq

    @property
    def n_times_read(self) -> int:
        """Number of EMG samples returned so far."""
        return self._produced

    @property
    def finished(self) -> bool:
        """True once the scenario's duration worth of samples has been returned."""
        return self._produced >= self.n_times_total

    def truth(self) -> list[TruthEvent]:
        """Return the scenario's ground-truth labels (same as ``scenario.truth()``)."""
        return self._script.truth()

    def read(self, n_times: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the next block of electrode voltages and accelerometer samples.

        Parameters
        ----------
        n_times : int
            Number of EMG samples to return (>= 0).

        Returns
        -------
        emg_v : ndarray of float64, shape (2, n_times)
            Differential input voltages in volts, rows ``channel_names`` (left, right).
        acc_g : ndarray of float64, shape (3, n_acc)
            Acceleration in g along the sensor's x (up the spine), y (left) and z
            (anterior) axes, ``n_acc = floor(end * accel_sfreq / sfreq) -
            floor(start * accel_sfreq / sfreq)`` where ``start``/``end`` are the EMG
            sample counts before/after this call.
        """
        if isinstance(n_times, bool) or not isinstance(n_times, int | np.integer) or n_times < 0:
            raise ValueError(f"n_times must be a non-negative integer, got {n_times!r}.")
        n_times = int(n_times)
        start, end = self._produced, self._produced + n_times
        while self._generated < end:
            self._generate_frame()
        acc_start = math.floor(start * self.accel_sfreq / self.sfreq)
        acc_end = math.floor(end * self.accel_sfreq / self.sfreq)
        n_acc = acc_end - acc_start
        emg = self._emg_pending[:, :n_times]
        acc = self._acc_pending[:, :n_acc]
        self._emg_pending = self._emg_pending[:, n_times:]
        self._acc_pending = self._acc_pending[:, n_acc:]
        self._produced = end
        return np.ascontiguousarray(emg), np.ascontiguousarray(acc)

    # ------------------------------------------------------------------ generation

    def _generate_frame(self) -> None:
        n = self._frame
        k0 = self._generated
        index = np.arange(k0, k0 + n, dtype=np.int64)
        times = index / self.sfreq
        emg = self._electrodes(index, times)
        acc_start = math.floor(k0 * self.accel_sfreq / self.sfreq)
        acc_end = math.floor((k0 + n) * self.accel_sfreq / self.sfreq)
        if acc_end > acc_start:
            acc = self._accelerometer(np.arange(acc_start, acc_end) / self.accel_sfreq)
        else:
            acc = np.zeros((3, 0))
        self._emg_pending = np.concatenate((self._emg_pending, emg), axis=1)
        self._acc_pending = np.concatenate((self._acc_pending, acc), axis=1)
        self._generated += n
        self._acc_generated = acc_end

    def _electrodes(
        self, index: NDArray[np.int64], times: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        n = times.size
        wearer = self.scenario.wearer
        state = self._script.evaluate(times, need_acc=False)
        # Surface EMG: fresh and compressed spectra cross-faded by the compression weight.
        w = state.compression
        shaped = np.sqrt(1.0 - w) * self._emg_fresh.generate(n)
        shaped += np.sqrt(w) * self._emg_compressed.generate(n)
        force = np.maximum(1.0 + _FORCE_FLUCTUATION * self._fluct.generate(n), 0.0)
        emg = self._mvc_v[:, None] * state.activation * (1.0 + 0.15 * w) * force * shaped
        emg = emg + wearer.crosstalk * emg[::-1]
        beats, rr, gain = self._heart.beats_between(float(times[0]), float(times[-1]))
        ecg = self._ecg_v[:, None] * render_ecg(times, beats, rr, gain)[None, :]
        contact = state.contact_loss
        biological = (1.0 - 0.97 * contact) * (emg + ecg)
        # Electrode/amplifier noise: white plus a 1/f-like part; an open input is noisier.
        noise = 0.8 * self._white_rng.standard_normal((2, n)) + 0.6 * self._pink.generate(n)
        noise *= wearer.noise_uv * _UV * (1.0 + 9.0 * contact)
        # Mains: slowly wandering level (log-normal random walk per frame), more when moving.
        level_start = self._mains_level
        level_end = 0.98 * level_start + self._mains_rng.normal(0.0, 0.1, size=2)
        self._mains_level = level_end
        ramp = np.arange(n) / n
        level = np.exp(level_start[:, None] + (level_end - level_start)[:, None] * ramp)
        motion = np.minimum(state.motion, 3.0)
        mains_uv = wearer.mains_uv * self._mains_gain[:, None] * level * (1.0 + 0.5 * motion)
        mains_uv = mains_uv + self._script.lift_off_amplitude_uv(times)
        mains = (
            mains_uv * _UV * mains_waveform(index, self.sfreq, wearer.mains_hz, self._mains_phase)
        )
        # Baseline drift, larger while moving and huge with an electrode off the skin.
        drift_uv = wearer.drift_uv * (1.0 + 1.5 * motion) + 800.0 * contact
        drift = drift_uv * _UV * self._drift.generate(n)
        # Motion artefacts (< 20 Hz): trunk movement, heel strikes, discrete bursts.
        motion_noise = self._motion.generate(n)
        moving_uv = wearer.motion_artefact_uv * self._motion_gain[:, None] * motion
        heel_uv = 1.5 * wearer.motion_artefact_uv * self._motion_gain[:, None] * state.heel_strike
        artefact = (moving_uv + state.motion_event_uv) * motion_noise + heel_uv
        artefact = (artefact + state.deterministic_uv) * _UV
        return np.asarray(biological + noise + mains + drift + artefact, dtype=np.float64)

    def _accelerometer(self, times: NDArray[np.float64]) -> NDArray[np.float64]:
        state = self._script.evaluate(times, need_acc=True)
        if state.up is None or state.dynamic_g is None:  # pragma: no cover - need_acc=True
            raise RuntimeError("Script.evaluate returned no kinematics.")
        noise_g = _ACC_NOISE_G * math.sqrt(max(self.accel_sfreq, 1.0) / 100.0)
        noise = noise_g * self._acc_rng.standard_normal((3, times.size))
        return np.asarray(state.up + state.dynamic_g + noise, dtype=np.float64)

"""The simulated wearable's electronics: ADC, firmware framing and command handling.

:class:`SimulatedDevice` is a pure state machine over device time: it reads no clock and
does no IO. Given a :class:`~host.simulator.body.BodySimulator` (what the electrodes and
the IMU see) it quantises the signals like the real front end, packs them into protocol
v1 frames exactly as the firmware does, and answers commands. The pseudo-terminal server
(:mod:`host.simulator.pty_server`) paces it in real time and moves its bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError
from host.protocol import (
    AccelFrame,
    Command,
    CommandFrame,
    CommandReplyFrame,
    DeviceInfoFrame,
    Frame,
    ReplyCode,
    SampleFormat,
    SamplesFrame,
    StatusFrame,
    max_samples_per_frame,
)
from host.protocol.frames import volts_per_count
from host.simulator.body import BodySimulator
from host.simulator.scenario import Scenario

__all__ = ["SUPPORTED_RATES_HZ", "DeviceConfig", "SimulatedDevice"]

logger = logging.getLogger(__name__)

#: EMG rates the simulated firmware accepts with SET_RATE.
SUPPORTED_RATES_HZ = (250.0, 500.0, 1000.0, 2000.0)


@dataclass(frozen=True)
class DeviceConfig:
    """Hardware description of the simulated wearable.

    The defaults describe a wearable with a 16-bit bipolar ADC (reference 1.65 V) behind
    an instrumentation amplifier of total gain 1000: 0.05 µV per count, a ±1.65 mV range
    at the electrodes, 2 EMG channels at 1 kHz and a ±8 g accelerometer at 100 Hz.

    Parameters
    ----------
    emg_sfreq : float
        EMG sampling rate in Hz; one of :data:`SUPPORTED_RATES_HZ`.
    accel_sfreq : float
        Accelerometer rate in Hz (0 for none).
    adc_bits : int
        ADC resolution.
    adc_bipolar : bool
        ADC input span ``-vref..+vref`` (True) or ``0..vref`` (False).
    vref_v : float
        ADC reference in volts.
    gain : float
        Electrode-to-ADC gain, V/V.
    accel_g_per_count : float
        Accelerometer scale (1/4096 g for a ±8 g 16-bit IMU).
    samples_per_frame : int
        EMG sample times per SAMPLES frame.
    accel_per_frame : int
        Accelerometer sample times per ACCEL frame.
    status_interval_s : float
        Period of unsolicited STATUS frames while streaming.
    clock_ppm : float
        Crystal error of the device's clock in parts per million; the device samples at
        ``sfreq * (1 + clock_ppm * 1e-6)`` true hertz while believing it samples at sfreq.
    battery_hours : float
        Battery life while streaming (sets the battery voltage and percentage).
    device_id : int
        64-bit identifier.
    board : str
        Board name reported in DEVICE_INFO.
    """

    emg_sfreq: float = 1000.0
    accel_sfreq: float = 100.0
    adc_bits: int = 16
    adc_bipolar: bool = True
    vref_v: float = 1.65
    gain: float = 1000.0
    accel_g_per_count: float = 1.0 / 4096.0
    samples_per_frame: int = 50
    accel_per_frame: int = 10
    status_interval_s: float = 1.0
    clock_ppm: float = 0.0
    battery_hours: float = 30.0
    device_id: int = 0x5350_4153_4D53_494D
    board: str = "spasmwatch-sim"

    def __post_init__(self) -> None:
        if self.emg_sfreq not in SUPPORTED_RATES_HZ:
            raise ConfigError(
                f"Invalid value for emg_sfreq: allowed values are {SUPPORTED_RATES_HZ} Hz, "
                f"but got {self.emg_sfreq!r} instead."
            )
        if self.accel_sfreq < 0 or self.accel_sfreq > self.emg_sfreq:
            raise ConfigError(
                f"accel_sfreq must be in [0, emg_sfreq={self.emg_sfreq}] Hz, got {self.accel_sfreq}"
            )
        if not 8 <= self.adc_bits <= 16:
            raise ConfigError(f"adc_bits must be 8..16 (int16 samples), got {self.adc_bits}")
        largest = max_samples_per_frame(2, SampleFormat.INT16)
        if not 1 <= self.samples_per_frame <= largest:
            raise ConfigError(
                f"samples_per_frame must be 1..{largest} for 2 int16 channels, "
                f"got {self.samples_per_frame}"
            )
        if not 1 <= self.accel_per_frame <= max_samples_per_frame(3, SampleFormat.INT16):
            raise ConfigError(f"accel_per_frame must be 1..36, got {self.accel_per_frame}")
        if abs(self.clock_ppm) > 1000:
            raise ConfigError(f"clock_ppm must be within ±1000 ppm, got {self.clock_ppm}")
        if self.status_interval_s <= 0 or self.battery_hours <= 0:
            raise ConfigError("status_interval_s and battery_hours must be positive")

    @property
    def volts_per_count(self) -> float:
        """EMG scale, as DEVICE_INFO will state it."""
        return volts_per_count(
            adc_bits=self.adc_bits, adc_bipolar=self.adc_bipolar, vref_v=self.vref_v, gain=self.gain
        )


@dataclass
class _Counters:
    seq: int = 0
    emg_index: int = 0
    acc_index: int = 0
    overflow_samples: int = 0
    saturation_mask: int = 0
    clipped_samples: int = 0
    frames_made: dict[str, int] = field(default_factory=dict)


class SimulatedDevice:
    """Firmware of the simulated wearable, as a pure state machine over device time.

    Parameters
    ----------
    scenario : Scenario
        What the wearer does (see :mod:`host.simulator.scenario`).
    config : DeviceConfig
        The hardware.
    seed : int
        Seed of the body model; every run with the same seed gives the same bytes.
    loop : bool
        Start the scenario again (with the next seed) when it ends, so the device
        streams indefinitely. Otherwise it stops streaming at the scenario's end.
    autostart : bool
        Stream from power-up without waiting for START.
    body_factory : callable, optional
        Builds the body model from ``(scenario, sfreq, accel_sfreq, seed)``; tests use
        it to inject signals with known content.
    """

    def __init__(
        self,
        scenario: Scenario,
        config: DeviceConfig | None = None,
        *,
        seed: int = 0,
        loop: bool = False,
        autostart: bool = False,
        body_factory: Callable[[Scenario, float, float, int], BodySimulator] | None = None,
    ) -> None:
        self.scenario = scenario
        self.config = config or DeviceConfig()
        self.seed = seed
        self.loop = loop
        self._body_factory = body_factory or _default_body
        self._counters = _Counters()
        self._time_us = 0  # device clock, advanced by sampling
        self._sample_clock = 0  # EMG samples taken since power-up (sets the clock)
        self._next_status_us = 0
        self._acc_pending: list[NDArray[np.int32]] = []
        self._stream_origin_us = 0
        self._lift_offs = [e for e in scenario.truth() if e.kind == "lift_off"]
        self._body = self._new_body(seed)
        self._lap = 0
        self.streaming = False
        self.finished = False
        self._outbox: list[Frame] = [self._device_info()]
        if autostart:
            self._outbox += self._start()

    # ------------------------------------------------------------------ public API
    @property
    def time_us(self) -> int:
        """Device clock in microseconds since power-up."""
        return self._time_us

    @property
    def sfreq(self) -> float:
        """Current EMG sampling rate in Hz."""
        return self.config.emg_sfreq

    @property
    def scenario_time_s(self) -> float:
        """Position in the scenario (true seconds of the wearer's day)."""
        return self._body.time_s

    @property
    def overflow_samples(self) -> int:
        """Sample times discarded on the device (reported in STATUS)."""
        return self._counters.overflow_samples

    @property
    def frame_period_s(self) -> float:
        """Device seconds between two SAMPLES frames."""
        return self.config.samples_per_frame / self.config.emg_sfreq

    def true_seconds(self, device_us: int) -> float:
        """Convert device microseconds to true seconds, given the crystal error."""
        return device_us * 1e-6 / (1.0 + self.config.clock_ppm * 1e-6)

    def take_pending(self) -> list[Frame]:
        """Return (and forget) frames made by commands or start-up, not yet sent."""
        out, self._outbox = self._outbox, []
        return out

    def discard_samples(self, n_frames: int) -> None:
        """Account for SAMPLES frames the device could not send (buffer overflow).

        Parameters
        ----------
        n_frames : int
            Frames produced but discarded; their sample times are added to the
            STATUS frame's ``overflow_samples`` counter.
        """
        self._counters.overflow_samples += n_frames * self.config.samples_per_frame

    def step(self) -> list[Frame]:
        """Advance device time by one SAMPLES frame and return the frames made.

        Returns
        -------
        list of Frame
            Pending command replies first, then the SAMPLES frame, any ACCEL frame
            completed in the same interval, and a STATUS frame when one is due. Empty
            (but time still advances) while not streaming.
        """
        out = self.take_pending()
        n = self.config.samples_per_frame
        period_us = 1e6 / self.config.emg_sfreq
        if not self.streaming:
            self._sample_clock += n
            self._time_us = round(self._sample_clock * period_us)
            return out
        if self._body.finished:
            if not self.loop:
                self.streaming = False
                self.finished = True
                logger.info("scenario %s ended; device stops streaming", self.scenario.name)
                return out
            self._lap += 1
            self._body = self._new_body(self.seed + self._lap)
        start_us = self._time_us
        emg_v, acc_g = self._body.read(n)
        counts = self._quantise(emg_v)
        out.append(self._make_samples(start_us, counts))
        if acc_g.shape[1] and self.config.accel_sfreq > 0:
            out += self._collect_accel(acc_g)
        self._sample_clock += n
        self._time_us = round(self._sample_clock * period_us)
        if start_us >= self._next_status_us:
            out.append(self._status())
            self._next_status_us = start_us + round(self.config.status_interval_s * 1e6)
        return out

    def handle(self, command: CommandFrame) -> None:
        """Process a COMMAND frame; its reply and effects go to the pending frames."""
        c = Command(command.command)
        ok = ReplyCode.OK
        if c is Command.IDENTIFY:
            self._reply(command, ok)
            self._outbox.append(self._device_info())
        elif c is Command.START:
            if self.streaming:
                self._reply(command, ok, "already streaming")
            elif self.finished:
                self._reply(command, ReplyCode.NOT_ALLOWED, "scenario has ended")
            else:
                self._reply(command, ok)
                self._outbox += self._start()
        elif c is Command.STOP:
            self.streaming = False
            self._flush_accel()
            self._reply(command, ok)
        elif c is Command.SET_RATE:
            if command.rate_hz not in SUPPORTED_RATES_HZ:
                rates = ", ".join(f"{r:g}" for r in SUPPORTED_RATES_HZ)
                self._reply(command, ReplyCode.BAD_ARGUMENT, f"rate must be one of {rates} Hz")
                return
            self._reply(command, ok)
            self._set_rate(command.rate_hz)
        elif c is Command.STATUS:
            self._reply(command, ok)
            self._outbox.append(self._status())

    # ----------------------------------------------------------------- internals
    def _new_body(self, seed: int) -> BodySimulator:
        cfg = self.config
        return self._body_factory(self.scenario, cfg.emg_sfreq, cfg.accel_sfreq, seed)

    def _next_seq(self) -> int:
        seq = self._counters.seq
        self._counters.seq = (seq + 1) % (1 << 32)
        return seq

    def _count(self, frame: Frame) -> Frame:
        name = frame.frame_type.name
        self._counters.frames_made[name] = self._counters.frames_made.get(name, 0) + 1
        return frame

    def _reply(self, command: CommandFrame, result: ReplyCode, message: str = "") -> None:
        self._outbox.append(
            self._count(
                CommandReplyFrame(
                    seq=self._next_seq(),
                    timestamp_us=self._time_us,
                    command=int(command.command),
                    request_seq=command.seq,
                    result=result,
                    message=message,
                )
            )
        )

    def _start(self) -> list[Frame]:
        self.streaming = True
        self._counters.emg_index = 0
        self._counters.acc_index = 0
        self._acc_pending = []
        self._stream_origin_us = self._time_us
        self._next_status_us = self._time_us
        return [self._device_info()]

    def _set_rate(self, rate_hz: float) -> None:
        position_s = self._body.time_s
        self.config = replace(self.config, emg_sfreq=rate_hz)
        self._body = self._new_body(self.seed + self._lap)
        # Bring the new body model to where the wearer's day had got to.
        remaining = round(position_s * rate_hz)
        while remaining > 0 and not self._body.finished:
            step = min(remaining, round(60 * rate_hz))
            self._body.read(step)
            remaining -= step
        self._sample_clock = round(self._time_us * rate_hz / 1e6)
        if self.streaming:
            self._flush_accel()
            self._outbox += self._start()
        else:
            self._outbox.append(self._device_info())

    def _quantise(self, volts: NDArray[np.float64]) -> NDArray[np.int32]:
        cfg = self.config
        low, high = -(1 << (cfg.adc_bits - 1)), (1 << (cfg.adc_bits - 1)) - 1
        counts = np.rint(volts / cfg.volts_per_count)
        clipped = (counts < low) | (counts > high)
        if clipped.any():
            rows = np.flatnonzero(clipped.any(axis=1))
            for row in rows:
                self._counters.saturation_mask |= 1 << int(row)
            self._counters.clipped_samples += int(clipped.sum())
        return np.clip(counts, low, high).astype(np.int32)

    def _make_samples(self, start_us: int, counts: NDArray[np.int32]) -> Frame:
        frame = SamplesFrame(
            seq=self._next_seq(),
            timestamp_us=start_us,
            first_sample=self._counters.emg_index % (1 << 32),
            counts=counts,
        )
        self._counters.emg_index += counts.shape[1]
        return self._count(frame)

    def _collect_accel(self, acc_g: NDArray[np.float64]) -> list[Frame]:
        cfg = self.config
        counts = np.clip(np.rint(acc_g / cfg.accel_g_per_count), -32768, 32767).astype(np.int32)
        self._acc_pending.append(counts)
        pending = np.concatenate(self._acc_pending, axis=1)
        out: list[Frame] = []
        while pending.shape[1] >= cfg.accel_per_frame:
            block, pending = pending[:, : cfg.accel_per_frame], pending[:, cfg.accel_per_frame :]
            out.append(self._make_accel(block))
        self._acc_pending = [pending] if pending.shape[1] else []
        return out

    def _flush_accel(self) -> None:
        if self._acc_pending:
            pending = np.concatenate(self._acc_pending, axis=1)
            self._acc_pending = []
            if pending.shape[1]:
                self._outbox.append(self._make_accel(pending))

    def _make_accel(self, block: NDArray[np.int32]) -> Frame:
        cfg = self.config
        index = self._counters.acc_index
        frame = AccelFrame(
            seq=self._next_seq(),
            timestamp_us=self._stream_origin_us + round(index * 1e6 / cfg.accel_sfreq),
            first_sample=index % (1 << 32),
            counts=block,
        )
        self._counters.acc_index += block.shape[1]
        return self._count(frame)

    def _status(self) -> Frame:
        cfg = self.config
        hours = self.true_seconds(self._time_us) / 3600.0
        charge = max(0.0, 1.0 - hours / cfg.battery_hours)
        # Li-ion open-circuit voltage, roughly linear 3.5..4.15 V over 5..100 % charge.
        battery_mv = round(3500 + 650 * charge)
        frame = StatusFrame(
            seq=self._next_seq(),
            timestamp_us=self._time_us,
            battery_mv=battery_mv,
            battery_pct=round(100 * charge),
            streaming=self.streaming,
            usb_power=False,
            low_battery=charge < 0.1,
            lead_off_mask=self._lead_off_mask(),
            saturation_mask=self._counters.saturation_mask,
            overflow_samples=self._counters.overflow_samples % (1 << 32),
        )
        self._counters.saturation_mask = 0
        return self._count(frame)

    def _lead_off_mask(self) -> int:
        now = self._body.time_s
        mask = 0
        for event in self._lift_offs:
            if event.onset_s <= now < event.onset_s + event.duration_s:
                if event.side in ("left", "bilateral"):
                    mask |= 1
                if event.side in ("right", "bilateral"):
                    mask |= 2
        return mask

    def _device_info(self) -> Frame:
        cfg = self.config
        return self._count(
            DeviceInfoFrame(
                seq=self._next_seq(),
                timestamp_us=self._time_us,
                firmware_version=(1, 0, 0),
                device_id=cfg.device_id,
                emg_sfreq=cfg.emg_sfreq,
                channel_names=tuple(self._body.channel_names),
                adc_bits=cfg.adc_bits,
                adc_bipolar=cfg.adc_bipolar,
                vref_v=cfg.vref_v,
                gain=cfg.gain,
                emg_format=SampleFormat.INT16,
                accel_sfreq=cfg.accel_sfreq,
                accel_g_per_count=cfg.accel_g_per_count,
                samples_per_frame=cfg.samples_per_frame,
                board=cfg.board,
            )
        )


def _default_body(scenario: Scenario, sfreq: float, accel_sfreq: float, seed: int) -> BodySimulator:
    return BodySimulator(scenario, sfreq=sfreq, accel_sfreq=accel_sfreq, seed=seed)

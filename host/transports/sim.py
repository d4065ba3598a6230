"""``sim://``: the simulated wearable, in process, behind the transport contract.

:class:`SimTransport` runs the firmware model (:class:`~host.simulator.device.SimulatedDevice`)
on the simulated body and hands its encoded frames to the same decoder a serial or BLE link
feeds, so everything downstream (timing, detection, the store, the dashboard) sees exactly
what it would see from a device. Commands sent to it reach the firmware model.

Pacing: at ``speed=1`` frames arrive in real time; ``speed=20`` is twenty times faster;
``speed=0`` is as fast as the consumer takes them (the producer then waits for room in the
queue, so nothing is dropped). Arrival times (:attr:`Transport.last_arrival_utc_s`) are
those of a live device that started streaming at ``start_utc_s``: the true time of each
frame's last sample plus a fixed 2 ms of link latency, whatever the speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace

from host.errors import ConfigError, DeviceDisconnectedError, TransportError
from host.protocol import Command, CommandFrame, Frame, encode_frame
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.scenario import Scenario, resolve_scenario
from host.transports.base import DEFAULT_QUEUE_SIZE, LinkEvent, Transport

__all__ = ["SimTransport"]

logger = logging.getLogger(__name__)

#: Link latency added to the true time of each frame's last sample, s.
_LATENCY_S = 0.002
#: Device frames produced per scheduling slice at full speed.
_BATCH = 64


class SimTransport(Transport):
    """The simulated wearable as a transport (``sim://quick?speed=0``).

    Parameters
    ----------
    scenario : Scenario | str
        What the wearer does, or a built-in scenario's name or a scenario file's path
        (:func:`~host.simulator.scenario.resolve_scenario`).
    speed : float
        Real-time factor: 1 is real time, 0 as fast as possible.
    seed : int
        Seed of the body model.
    clock_ppm : float
        Crystal error of the simulated device, ppm.
    loop : bool
        Start the scenario again when it ends, streaming for ever; otherwise iteration
        ends when the scenario does.
    start_utc_s : float | None
        UTC time (s) at which the simulated device starts streaming; now when None.
    config : DeviceConfig | None
        The simulated hardware (defaults otherwise; ``clock_ppm`` above wins).
    queue_size : int
        See :class:`~host.transports.base.Transport`.
    """

    def __init__(
        self,
        scenario: Scenario | str,
        *,
        speed: float = 1.0,
        seed: int = 0,
        clock_ppm: float = 0.0,
        loop: bool = False,
        start_utc_s: float | None = None,
        config: DeviceConfig | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        super().__init__(queue_size=queue_size)
        self._lossless = True
        if not (speed >= 0.0 and speed < float("inf")):
            raise ConfigError(f"speed must be a real-time factor >= 0 (0: full speed), got {speed}")
        self._scenario = resolve_scenario(scenario) if isinstance(scenario, str) else scenario
        self._config = replace(config or DeviceConfig(), clock_ppm=clock_ppm)
        self._speed = float(speed)
        self._seed = int(seed)
        self._loop_scenario = bool(loop)
        self._start_utc_s = start_utc_s
        self._device: SimulatedDevice | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """``sim://<scenario>?speed=...``."""
        return f"sim://{self._scenario.name}?speed={self._speed:g}&seed={self._seed}"

    @property
    def scenario(self) -> Scenario:
        """The scenario being simulated (its truth labels are the episodes to find)."""
        return self._scenario

    @property
    def device(self) -> SimulatedDevice | None:
        """The firmware model, once open."""
        return self._device

    async def open(self) -> None:
        """Power the simulated device up, send IDENTIFY and START, and start streaming."""
        if self._closed:
            raise TransportError(f"{self.url}: a closed transport cannot be reopened")
        if self._opened:
            return
        self._device = SimulatedDevice(
            self._scenario, self._config, seed=self._seed, loop=self._loop_scenario
        )
        if self._start_utc_s is None:
            self._start_utc_s = time.time()
        self._mark_open()
        self._emit(LinkEvent("connected", f"simulated wearable {self._scenario.name}", 0.0))
        for command in (Command.IDENTIFY, Command.START):
            await self.send_command(command)
        self._task = asyncio.create_task(self._produce(), name=f"spasmwatch {self.url}")

    async def close(self) -> None:
        """Stop the simulation; safe to call any number of times."""
        if self._closed:
            return
        self._mark_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def send(self, frame: Frame) -> None:
        """Hand a command to the firmware model.

        Raises
        ------
        TransportError
            If the transport is not open.
        DeviceDisconnectedError
            If the simulated scenario has ended.
        """
        if not self._opened or self._closed or self._device is None:
            raise TransportError(f"{self.url}: cannot send: not open")
        if self._ended:
            raise DeviceDisconnectedError(f"{self.url}: the simulated scenario has ended")
        data = encode_frame(frame)
        self._link.bytes_sent += len(data)
        if isinstance(frame, CommandFrame):
            self._device.handle(frame)

    def _arrival(self, device: SimulatedDevice) -> float:
        assert self._start_utc_s is not None
        return self._start_utc_s + device.true_seconds(device.time_us) + _LATENCY_S

    async def _produce(self) -> None:
        device = self._device
        assert device is not None
        t0 = time.monotonic()
        try:
            while not self._closed:
                for _ in range(_BATCH if self._speed == 0.0 else 1):
                    await self._wait_for_room()
                    frames = device.step()
                    if frames:
                        data = b"".join(encode_frame(f) for f in frames)
                        self._receive_bytes(data, self._arrival(device))
                    if device.finished:
                        break
                if device.finished:
                    for frame in device.take_pending():
                        self._receive_bytes(encode_frame(frame), self._arrival(device))
                    self._emit(LinkEvent("disconnected", "scenario ended", time.monotonic()))
                    self._end_of_stream()
                    return
                if self._speed == 0.0:
                    await self._wait_for_room()
                    await asyncio.sleep(0)
                else:
                    due = t0 + device.true_seconds(device.time_us) / self._speed
                    delay = due - time.monotonic()
                    await self._wait_for_room()
                    await asyncio.sleep(max(0.0, delay))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the model must not leave the consumer hanging
            logger.exception("%s: the simulated device failed", self.url)
            self._fail(TransportError(f"{self.url}: the simulated device failed: {exc}"))

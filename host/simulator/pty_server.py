"""The simulated wearable as a live serial device on a real pseudo-terminal.

:class:`PtyWearable` runs a :class:`~host.simulator.device.SimulatedDevice` in a
background thread, paced in real time (or faster), and moves its bytes through a
pseudo-terminal: the host opens the pty's slave path with pyserial exactly as it would
open ``/dev/ttyACM0``. Commands the host writes are decoded and answered. A cable pull
closes the pty; re-plugging opens a new one and points the stable symlink
(``link_path``) at it, as udev's ``/dev/serial/by-id`` links do for a real device.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import struct
import termios
import threading
import time
import tty
from pathlib import Path

from host.errors import ConfigError
from host.protocol import CommandFrame, Frame, FrameType, StreamDecoder
from host.simulator.device import SimulatedDevice
from host.simulator.link import FaultInjector, InjectedFaults, LinkFaults

__all__ = ["PtyWearable"]

logger = logging.getLogger(__name__)

#: Bytes waiting for a reader beyond which a real-time device discards new frames
#: (its transmit buffer is full), as firmware must rather than block sampling.
TX_BUFFER_LIMIT = 16_384


class PtyWearable:
    """Serve a simulated device on a pseudo-terminal.

    Parameters
    ----------
    device : SimulatedDevice
        The firmware model to run.
    faults : LinkFaults, optional
        Link faults to inject (none by default).
    speed : float
        1.0 runs in real time, 10.0 ten times faster; 0 runs as fast as the reader
        takes the bytes (the pty's flow control then paces the device, and nothing is
        discarded).
    link_path : str or Path, optional
        A stable symlink kept pointing at the current pty (re-pointed after a replug).
    """

    def __init__(
        self,
        device: SimulatedDevice,
        *,
        faults: LinkFaults | None = None,
        speed: float = 1.0,
        link_path: str | Path | None = None,
    ) -> None:
        if speed < 0:
            raise ConfigError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self.device = device
        self.faults = faults or LinkFaults()
        self.injector = FaultInjector(self.faults)
        self.speed = speed
        self.link_path = Path(link_path) if link_path is not None else None
        self._master = -1
        self._slave = -1
        self._slave_name = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._plugged = threading.Event()
        self._lock = threading.Lock()
        self._commands = StreamDecoder()
        self._tx = bytearray()
        self._unplug_request: float | None = None
        self._host_present = False
        self.discarded_frames = 0
        self.plugs = 0
        self.inflight_bytes_lost = 0
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ public API
    @property
    def path(self) -> str:
        """Where the host opens the device: the symlink if any, else the pty itself."""
        return str(self.link_path) if self.link_path is not None else self._slave_name

    @property
    def plugged(self) -> bool:
        """True while the cable is in (the pty exists)."""
        return self._plugged.is_set()

    @property
    def injected(self) -> InjectedFaults:
        """The exact record of injected faults."""
        return self.injector.record

    @property
    def finished(self) -> bool:
        """True once the device has stopped for good (scenario over) and all is sent."""
        return self._finished.is_set()

    def start(self) -> str:
        """Open the pty and start the device thread; return :attr:`path`."""
        self._plug()
        self._thread = threading.Thread(target=self._run, name="pty-wearable", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        """Stop the thread and close the pty (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._unplug()
        if self.link_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link_path.unlink()

    def unplug(self, duration_s: float) -> None:
        """Pull the cable for ``duration_s`` seconds (device time keeps running)."""
        with self._lock:
            self._unplug_request = duration_s

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Block until the scenario has been streamed completely."""
        return self._finished.wait(timeout)

    def __enter__(self) -> PtyWearable:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- internals
    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass unchanged
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._slave_name = os.ttyname(slave)
        if self.link_path is not None:
            tmp = self.link_path.with_name(self.link_path.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(self._slave_name, tmp)
            os.replace(tmp, self.link_path)
        self._commands.discard_partial()
        self._host_present = False
        self.plugs += 1
        self._plugged.set()
        logger.info("simulated wearable on %s", self.path)

    def _unplug(self) -> None:
        self._plugged.clear()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        self._tx.clear()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # pragma: no cover - reported to the owner
            logger.exception("simulated wearable failed")
            self.error = err
            self._finished.set()

    def _loop(self) -> None:
        device = self.device
        started = time.monotonic()
        device_origin_s = device.true_seconds(device.time_us)
        next_unplug = self.faults.unplug_every_s or None
        streamed_s = 0.0
        while not self._stop.is_set():
            self._read_commands()
            with self._lock:
                request, self._unplug_request = self._unplug_request, None
            if request is None and next_unplug is not None and streamed_s >= next_unplug:
                request = self.faults.unplug_for_s
                next_unplug += self.faults.unplug_every_s
            if request is not None:
                self._cable_out(request)
                if self.speed > 0:
                    started = time.monotonic() - (
                        (device.true_seconds(device.time_us) - device_origin_s) / self.speed
                    )
                continue
            if device.finished and not self._tx:
                self._finished.set()
                time.sleep(0.01)
                continue
            if not device.streaming:
                self._flush(wait=0.01)
                if self.speed > 0:
                    # Device time runs on while idle, as a real clock would.
                    due = (time.monotonic() - started) * self.speed
                    while device.true_seconds(device.time_us) - device_origin_s < due:
                        self._send(device.step())
                continue
            if self.speed == 0:
                if len(self._tx) > TX_BUFFER_LIMIT:
                    self._flush(wait=0.05)
                    continue
                self._send(device.step())
                streamed_s += device.frame_period_s
                self._flush(wait=0.0)
                continue
            due = (time.monotonic() - started) * self.speed
            ahead = device.true_seconds(device.time_us) - device_origin_s - due
            if ahead > 0:
                self._flush(wait=min(ahead / self.speed, 0.02))
                continue
            self._send(device.step())
            streamed_s += device.frame_period_s
            self._flush(wait=0.0)

    def _unread_bytes(self) -> int:
        """Bytes written to the pty that the host has not read yet."""
        if self._slave < 0:
            return 0
        raw = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])

    def _read_commands(self) -> None:
        if self._master < 0:
            return
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EIO:  # no process has the slave open
                return
            raise
        if data:
            # Like firmware that waits for DTR, send only once the host has shown up.
            self._host_present = True
        for item in self._commands.feed(data):
            if isinstance(item, CommandFrame):
                logger.debug("command %s (seq %d)", item.command.name, item.seq)
                self.device.handle(item)
        pending = self.device.take_pending()
        if pending:
            self._send(pending)

    def _send(self, frames: list[Frame]) -> None:
        if not frames:
            return
        if not self._host_present or (self.speed > 0 and len(self._tx) > TX_BUFFER_LIMIT):
            # No host on the port yet, or it is not reading: the device's buffer is
            # full and these frames are lost (counted, as the firmware counts them).
            self.discarded_frames += len(frames)
            self.device.discard_samples(_n_samples_frames(frames))
            self.injector.unsent(frames)
            return
        for chunk, pause in self.injector.apply(frames):
            if pause:
                self._flush(wait=1.0, drain=True)
                time.sleep(pause / (self.speed or 1.0))
            self._tx += chunk

    def _flush(self, *, wait: float, drain: bool = False) -> None:
        """Write what the pty takes; wait up to ``wait`` s for room, answering commands.

        With ``drain`` it returns as soon as everything is written (or at the deadline).
        """
        deadline = time.monotonic() + wait
        while self._master >= 0:
            if self._tx:
                try:
                    n = os.write(self._master, self._tx)
                    del self._tx[:n]
                except BlockingIOError:
                    pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (drain and not self._tx):
                return
            want_write = [self._master] if self._tx else []
            readable, _, _ = select.select([self._master], want_write, [], min(remaining, 0.05))
            if readable:
                self._read_commands()

    def _cable_out(self, duration_s: float) -> None:
        logger.info("cable pulled for %.1f s", duration_s)
        self.injector.record.unplugs += 1
        held = self.injector.release_held()
        if held:
            self._tx += held
        self._flush(wait=1.0, drain=True)
        # Let the host read what is already on its way, then record what never arrives.
        deadline = time.monotonic() + 1.0
        while self._unread_bytes() and time.monotonic() < deadline:
            time.sleep(0.005)
        self.inflight_bytes_lost += self._unread_bytes() + len(self._tx)
        self._unplug()
        device = self.device
        out_until = device.true_seconds(device.time_us) + duration_s
        pause_until = time.monotonic() + (duration_s / self.speed if self.speed else 0.0)
        while device.true_seconds(device.time_us) < out_until and not self._stop.is_set():
            frames = device.step()
            if device.streaming or frames:
                self.injector.unsent(frames)
                device.discard_samples(_n_samples_frames(frames))
        while time.monotonic() < pause_until and not self._stop.is_set():
            time.sleep(0.01)
        if not self._stop.is_set():
            self._plug()


def _n_samples_frames(frames: list[Frame]) -> int:
    return sum(f.frame_type is FrameType.SAMPLES for f in frames)

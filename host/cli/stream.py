"""``spasmwatch stream``: connect to a device and watch the link, once per second.

Every second it prints frames/s, the sample rate achieved, loss, CRC and framing errors,
gaps, duplicates, reordered frames, reconnections and the RMS of each EMG channel over
that second (in microvolts once the device's DEVICE_INFO has arrived, in ADC counts
until then), then the cleaned envelope, mains and signal quality. The spasm detector runs
on the stream (:class:`host.pipeline.live_dsp.LiveDsp`): every finished contraction is printed
on a line of its own (``episode 12.3-20.6 s  left  INVOLUNTARY tonic (0.97)  peak 168 uV
at rest``; times on the device's time line) and, while a contraction has lasted long
enough to be probably a spasm, the status line says "involuntary contraction in
progress". ``--json`` prints one JSON object per line instead:

- ``{"type": "tick", ...}`` every second (the keys of :func:`StreamMonitor.tick` except
  ``episodes``; ``detector`` holds the live state of :meth:`LiveDsp.live_state`);
- ``{"type": "episode", ...}`` for every finished contraction (the keys of
  :func:`host.pipeline.live_dsp.episode_record`), just before the tick that closes its second
  and, for a contraction still open when the stream stops, before the summary;
- ``{"type": "link", "kind": ..., "detail": ..., "elapsed_s": ...}`` on link events;
- ``{"type": "device_info", ...}`` when the device describes itself;
- ``{"type": "summary", ...}`` once, at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from host.cli.devices import describe_device_info, device_info_dict
from host.errors import ConfigError, TransportError
from host.pipeline.live_dsp import LiveDsp, activity_phrase
from host.protocol import Command, DeviceInfoFrame, Frame, LateFrame, SamplesFrame
from host.transports import DEFAULT_BAUDRATE, LinkEvent, SerialTransport, Transport, TransportItem

__all__ = ["StreamMonitor", "add_parser", "format_episode", "run", "stream_transport"]

_INTERVAL_S = 1.0
#: Ask again for DEVICE_INFO every this many intervals until it arrives.
_IDENTIFY_RETRY_TICKS = 3


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "stream",
        help="connect to a device and print live link statistics every second",
        description=(
            "Connect to a spasmwatch, start streaming and print once per second: frames/s, "
            "sample rate achieved, loss, CRC/framing errors, gaps, duplicates, reordered "
            "frames, reconnections and per-channel RMS in microvolts, the cleaned envelope "
            "and signal quality, and every contraction the spasm detector finds. "
            "Reconnects automatically when the device is unplugged and plugged back."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--port", metavar="PATH", help="serial port, e.g. /dev/ttyACM0 or /dev/serial/by-id/..."
    )
    target.add_argument("--vid-pid", metavar="VID:PID", help="USB ID of the device, e.g. 2341:0043")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per line instead of a table"
    )
    parser.add_argument(
        "--baud",
        type=int,
        default=DEFAULT_BAUDRATE,
        help="line rate for UART devices, ignored over USB (default: %(default)s)",
    )
    parser.add_argument(
        "--max-reconnect-s",
        type=float,
        default=60.0,
        metavar="S",
        help="give up when an unplugged device is not back after S seconds; 0 disables "
        "reconnection, 'inf' retries forever (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Stream until ``--duration`` elapses or Ctrl-C; return 0."""
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"--duration must be a positive number of seconds, got {args.duration}")
    if math.isnan(args.max_reconnect_s) or args.max_reconnect_s < 0:
        raise ConfigError(f"--max-reconnect-s must be >= 0, got {args.max_reconnect_s}")
    max_reconnect_s = None if math.isinf(args.max_reconnect_s) else args.max_reconnect_s
    transport = SerialTransport(
        args.port,
        vid_pid=args.vid_pid,
        baudrate=args.baud,
        max_reconnect_s=max_reconnect_s,
    )
    return asyncio.run(stream_transport(transport, duration_s=args.duration, as_json=args.json))


class StreamMonitor:
    """Per-second view of a transport: rates, loss and RMS over the last interval.

    Parameters
    ----------
    transport : Transport
        The link watched; its counters are read at every :meth:`tick`.
    start_s : float
        Event-loop time (seconds) when streaming started.

    Attributes
    ----------
    dsp : LiveDsp | None
        The signal processing and spasm detection, once the device has described itself
        (rebuilt when it describes itself differently).
    episodes : list of dict
        Every episode reported so far (:func:`host.pipeline.live_dsp.episode_record`).
    """

    def __init__(self, transport: Transport, start_s: float) -> None:
        self.transport = transport
        self.start_s = start_s
        self.samples_received = 0
        self.frames_received = 0
        self._last_tick_s = start_s
        self._last_received = 0
        self._last_lost = 0
        self.dsp: LiveDsp | None = None
        self._dsp_info: DeviceInfoFrame | None = None
        self.episodes: list[dict[str, Any]] = []
        self._carried: list[dict[str, Any]] = []  # from a LiveDsp that was replaced
        self._reset_window()

    def _reset_window(self) -> None:
        self._frames = 0
        self._samples = 0
        # Per channel over the interval, of counts minus ``_shift`` (the interval's first
        # sample): shifting keeps the variance exact under large electrode offsets.
        self._shift: NDArray[np.float64] | None = None
        self._sum: NDArray[np.float64] | None = None
        self._sum_sq: NDArray[np.float64] | None = None

    def _feed_dsp(self, item: TransportItem) -> None:
        info = self.transport.device_info
        if info is not self._dsp_info:
            # A new DEVICE_INFO object: rebuild only if the device says something new.
            if self._dsp_info is None or info is None or _differs(info, self._dsp_info):
                if self.dsp is not None:
                    self._carried.extend(self.dsp.finish())
                self.dsp = LiveDsp.for_device(info)
            self._dsp_info = info
        if self.dsp is not None and not isinstance(item, LateFrame):
            self.dsp.observe(item)

    def observe(self, item: TransportItem) -> None:
        """Account for one item from the transport."""
        self._feed_dsp(item)
        frame = item.frame if isinstance(item, LateFrame) else item
        if not isinstance(frame, Frame):
            return  # link events, gaps, decode issues: the counters tell those
        self._frames += 1
        self.frames_received += 1
        if isinstance(frame, SamplesFrame):
            counts = frame.counts.astype(np.float64)
            if (
                self._shift is None
                or self._sum is None
                or self._sum_sq is None
                or len(self._sum) != len(counts)
            ):
                self._shift = counts[:, :1].copy()
                self._sum = np.zeros(len(counts))
                self._sum_sq = np.zeros(len(counts))
                self._samples = 0
            counts -= self._shift
            self._sum += counts.sum(axis=-1)
            self._sum_sq += np.square(counts).sum(axis=-1)
            self._samples += frame.n_times
            self.samples_received += frame.n_times

    def rms(self) -> tuple[dict[str, float], str]:
        """Return the RMS of each EMG channel over the current interval, and its unit.

        The mean of the interval is removed first (electrode offsets are not EMG).
        Returns ``({}, unit)`` when no samples arrived.
        """
        info = self.transport.device_info
        if self._sum is None or self._sum_sq is None or self._samples == 0:
            return {}, "uV" if info is not None else "counts"
        n = self._samples
        variance = np.maximum(self._sum_sq / n - np.square(self._sum / n), 0.0)
        rms = np.sqrt(variance)
        n_channels = rms.shape[0]
        if info is not None and info.n_channels == n_channels:
            names = list(info.channel_names)
            rms_uv = rms * info.volts_per_count * 1e6
            return {k: float(v) for k, v in zip(names, rms_uv, strict=True)}, "uV"
        return {f"ch{i}": float(v) for i, v in enumerate(rms)}, "counts"

    def tick(self, now_s: float) -> dict[str, Any]:
        """Close the current interval and return its record (JSON-ready).

        Besides the link counters and RMS it holds, once the device has described itself,
        the keys of :meth:`LiveDsp.tick`; ``episodes`` (the episodes finished in the
        interval) and ``detector`` (live detector state, or None) are always there.
        """
        transport = self.transport
        stats, link = transport.stats, transport.link
        dt = max(now_s - self._last_tick_s, 1e-9)
        rms, unit = self.rms()
        received = stats.frames_received - self._last_received
        lost = stats.frames_lost - self._last_lost
        record: dict[str, Any] = {
            "type": "tick",
            "elapsed_s": round(now_s - self.start_s, 3),
            "connected": transport.is_connected,
            "frames_per_s": round(self._frames / dt, 2),
            "sample_rate_hz": round(self._samples / dt, 2),
            "loss_pct": round(100.0 * stats.loss_fraction, 3),
            "loss_pct_interval": round(100.0 * lost / (received + lost), 3)
            if received + lost > 0
            else 0.0,
            "frames_received": stats.frames_received,
            "frames_lost": stats.frames_lost,
            "samples_lost": stats.samples_lost,
            "crc_errors": stats.crc_errors,
            "framing_errors": stats.framing_errors,
            "corrupt_frames": stats.corrupt_frames,
            "gaps": stats.gaps,
            "duplicates": stats.duplicates,
            "reordered": stats.reordered,
            "reconnects": link.reconnects,
            "disconnects": link.disconnects,
            "items_dropped": link.items_dropped,
            "rms_unit": unit,
            "rms": {k: round(v, 3) for k, v in rms.items()},
        }
        episodes, self._carried = self._carried, []
        record["detector"] = None
        if self.dsp is not None:
            dsp = self.dsp.tick()
            episodes.extend(dsp.pop("episodes"))
            record.update(dsp)
        record["episodes"] = episodes
        self.episodes.extend(episodes)
        self._last_tick_s = now_s
        self._last_received = stats.frames_received
        self._last_lost = stats.frames_lost
        self._reset_window()
        return record

    def finish(self) -> list[dict[str, Any]]:
        """End the detection (end of the stream) and return the episodes not yet reported.

        A contraction still in progress is closed and judged.
        """
        episodes, self._carried = self._carried, []
        if self.dsp is not None:
            episodes.extend(self.dsp.finish())
        self.episodes.extend(episodes)
        return episodes

    def summary(self, now_s: float) -> dict[str, Any]:
        """Return the end-of-run record (JSON-ready)."""
        transport = self.transport
        stats = transport.stats
        elapsed = max(now_s - self.start_s, 1e-9)
        return {
            "type": "summary",
            "elapsed_s": round(elapsed, 3),
            "frames_received": stats.frames_received,
            "frames_lost": stats.frames_lost,
            "loss_pct": round(100.0 * stats.loss_fraction, 3),
            "samples_received": self.samples_received,
            "mean_sample_rate_hz": round(self.samples_received / elapsed, 2),
            "crc_errors": stats.crc_errors,
            "framing_errors": stats.framing_errors,
            "gaps": stats.gaps,
            "duplicates": stats.duplicates,
            "reordered": stats.reordered,
            "reconnects": transport.link.reconnects,
            "episodes": len(self.episodes),
            "involuntary_episodes": sum(
                e["involuntary"] and e["kind"] != "twitch" for e in self.episodes
            ),
            "stats": stats.as_dict(),
            "link": transport.link.as_dict(),
        }


def _emit(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(record), flush=True)  # noqa: T201
    else:
        print(_human(record), flush=True)  # noqa: T201


def format_episode(episode: dict[str, Any]) -> str:
    """Return one readable line for an episode record.

    Parameters
    ----------
    episode : dict
        A record of :func:`host.pipeline.live_dsp.episode_record`.

    Returns
    -------
    str
        E.g. ``episode 12.3-20.6 s  left  INVOLUNTARY tonic (0.97)  peak 168 uV  at rest``;
        a twitch (a brief involuntary jerk below the episode threshold) reads
        ``twitch 30.0-30.9 s  right (0.97)  peak 21 uV``.
    """
    e = episode
    peak = "" if e["peak"] is None else f"  peak {e['peak']:.0f} {e['unit']}"
    confidence = "" if e["confidence"] is None else f" ({e['confidence']:.2f})"
    when = f"{e['start_s']:.1f}-{e['end_s']:.1f} s"
    if e["kind"] == "twitch":
        return f"twitch {when}  {e['side']}{confidence}{peak}"
    what = f"INVOLUNTARY {e['kind']}" if e["involuntary"] else "voluntary"
    flags = f"  [{', '.join(e['quality_flags'])}]" if e.get("quality_flags") else ""
    return (
        f"episode {when}  {e['side']}  {what}{confidence}{peak}  "
        f"{activity_phrase(e['activity'])}{flags}"
    )


def _detector_status(state: dict[str, Any] | None) -> str:
    if not state or not state["contraction"]:
        return ""
    where = f"{state['side']}, " if state["side"] else ""
    held = f"{where}{state['held_s']:.0f} s"
    if state["suspected_involuntary"]:
        return f" | >> involuntary contraction in progress ({held}) <<"
    return f" | contraction ({held})"


def _human(record: dict[str, Any]) -> str:
    kind = record["type"]
    if kind == "episode":
        return format_episode(record)
    if kind == "link":
        return f"[{record['elapsed_s']:7.1f} s] link {record['kind']}: {record['detail']}"
    if kind == "device_info":
        return f"device: {record['description']}"
    if kind == "summary":
        r = record
        return (
            f"summary: {r['elapsed_s']:.1f} s, {r['frames_received']} frames, "
            f"{r['samples_received']} samples ({r['mean_sample_rate_hz']:.1f} Hz), "
            f"lost {r['frames_lost']} frames ({r['loss_pct']:.2f}%), "
            f"{r['crc_errors']} CRC / {r['framing_errors']} framing errors, {r['gaps']} gaps, "
            f"{r['duplicates']} duplicates, {r['reordered']} reordered, "
            f"{r['reconnects']} reconnects, {r['episodes']} contractions detected "
            f"({r['involuntary_episodes']} involuntary)"
        )
    r = record
    if r["rms"]:
        unit = "uV" if r["rms_unit"] == "uV" else "counts (no DeviceInfo yet)"
        values = "  ".join(f"{k} {v:.1f}" for k, v in r["rms"].items())
        rms = f"RMS {unit}  {values}"
    else:
        rms = "RMS -"
    state = "" if r["connected"] else "  [disconnected]"
    clean = ""
    if r.get("envelope_uv"):
        values = "  ".join(f"{v:.1f}" for v in r["envelope_uv"].values())
        mains = f"{r['mains_hz']:g} Hz notched" if r.get("mains_hz") else "no mains yet"
        problems = {k: v for k, v in r.get("quality", {}).items() if v != "ok"}
        quality = "; ".join(problems.values()) if problems else "signal ok"
        clean = f" | clean {values} uV, {mains}, {quality}"
    return (
        f"[{r['elapsed_s']:7.1f} s] {r['frames_per_s']:6.1f} fr/s {r['sample_rate_hz']:7.1f} Hz"
        f" | loss {r['loss_pct']:5.2f}% | crc {r['crc_errors']} framing {r['framing_errors']}"
        f" | gaps {r['gaps']} dup {r['duplicates']} reord {r['reordered']}"
        f" | reconn {r['reconnects']} | {rms}{clean}{_detector_status(r.get('detector'))}"
        f"{state}"
    )


async def _consume(
    transport: Transport, monitor: StreamMonitor, as_json: bool, loop: asyncio.AbstractEventLoop
) -> None:
    announced: DeviceInfoFrame | None = None
    async for item in transport:
        monitor.observe(item)
        if isinstance(item, LinkEvent):
            elapsed = round(loop.time() - monitor.start_s, 3)
            record = {
                "type": "link",
                "kind": item.kind,
                "detail": item.detail,
                "elapsed_s": elapsed,
            }
            _emit(record, as_json)
        elif isinstance(item, DeviceInfoFrame) and _differs(item, announced):
            announced = item
            info = {"type": "device_info", "description": describe_device_info(item)}
            _emit(info | device_info_dict(item), as_json)


def _differs(info: DeviceInfoFrame, previous: DeviceInfoFrame | None) -> bool:
    if previous is None:
        return True
    # Header fields change with every answer; only what the device says matters.
    return device_info_dict(info) != device_info_dict(previous)


async def _tick(
    monitor: StreamMonitor,
    duration_s: float | None,
    as_json: bool,
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Event,
    until: Callable[[StreamMonitor], bool] | None = None,
) -> None:
    k = 1
    while True:
        due = monitor.start_s + k * _INTERVAL_S
        last = duration_s is not None and k * _INTERVAL_S >= duration_s
        if last:
            assert duration_s is not None
            due = monitor.start_s + duration_s
        await asyncio.sleep(max(0.0, due - loop.time()))
        record = monitor.tick(loop.time())
        for episode in record.pop("episodes"):
            _emit({"type": "episode"} | episode, as_json)
        _emit(record, as_json)
        if last or (until is not None and until(monitor)):
            done.set()
            return
        transport = monitor.transport
        if k % _IDENTIFY_RETRY_TICKS == 0 and transport.device_info is None:
            # The first IDENTIFY may have arrived while the device was still booting.
            with contextlib.suppress(TransportError):
                await transport.send_command(Command.IDENTIFY)
        k += 1


async def stream_transport(
    transport: Transport,
    *,
    duration_s: float | None,
    as_json: bool,
    until: Callable[[StreamMonitor], bool] | None = None,
    on_end: Callable[[StreamMonitor], None] | None = None,
) -> int:
    """Print live statistics of an open-able transport until the duration or a signal.

    Parameters
    ----------
    transport : Transport
        Not yet opened; this coroutine opens and closes it.
    duration_s : float | None
        Stop after this many seconds (None: until SIGINT/SIGTERM).
    as_json : bool
        One JSON object per line instead of the human-readable lines.
    until : callable | None
        The caller's own end condition, asked after every tick: the stream stops once it
        returns True.
    on_end : callable | None
        Called with the monitor once the stream has stopped and its summary is printed
        (the episodes are in ``monitor.episodes``).

    Returns
    -------
    int
        The exit status (0).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        async with transport:
            monitor = StreamMonitor(transport, loop.time())
            if not as_json:
                print(  # noqa: T201
                    f"streaming from {transport.url}"
                    + (f" for {duration_s:g} s" if duration_s else "; Ctrl-C to stop"),
                    flush=True,
                )
            consumer = asyncio.create_task(_consume(transport, monitor, as_json, loop))
            ticker = asyncio.create_task(_tick(monitor, duration_s, as_json, loop, stop, until))
            stopper = asyncio.create_task(stop.wait())
            finished, _ = await asyncio.wait(
                {consumer, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            error = consumer.exception() if consumer in finished else None
            for task in (consumer, ticker, stopper):
                task.cancel()
            await asyncio.gather(consumer, ticker, stopper, return_exceptions=True)
            for episode in monitor.finish():
                _emit({"type": "episode"} | episode, as_json)
            _emit(monitor.summary(loop.time()), as_json)
            if on_end is not None:
                on_end(monitor)
            if error is not None:
                raise error
    finally:
        for handled_sig in handled:
            loop.remove_signal_handler(handled_sig)
    return 0

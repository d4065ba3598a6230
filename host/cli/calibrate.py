"""``spasmwatch calibrate --source URL``: measure the wearer's rest and reference contraction.

Guides the wearer through the calibration (:mod:`host.calibration`: rest, then reference
contractions on cue, each after a countdown), shows what to do as the signal arrives,
then the result per channel (noise floor, resting tone and reference contraction in µV,
and the reference-to-rest ratio) and saves it in the wearer's store, where ``spasmwatch
run`` finds it and reports episode amplitudes in %MVC. ``--json`` prints one JSON object
per line instead: ``{"event": "device", ...}`` once the device has described itself,
``{"event": "prompt", ...}`` for every prompt (:meth:`host.calibration.Prompt.to_dict`),
``{"event": "link", ...}`` for link events, then ``{"event": "result", ...}`` or
``{"event": "error", "message": ...}``. ``docs/calibration.md`` describes the procedure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from dsp.calibration import REFERENCE_KINDS, Calibration
from host.calibration import CalibrationError, CalibrationPlan, CalibrationProcedure, Prompt
from host.cli._store_options import add_store_arguments
from host.errors import ConfigError, TransportError
from host.protocol import DeviceInfoFrame, SamplesFrame, StreamRestart
from host.protocol.decoder import unwrap_index
from host.storage import RecordingStore, device_info_dict, store_path
from host.transports import LinkEvent, Transport, open_transport

__all__ = ["add_parser", "calibration_table", "run"]

_DEFAULTS = CalibrationPlan()


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "calibrate",
        help="measure the wearer's rest and reference contraction (for %%MVC)",
        description=(
            "Guide the wearer through a rest recording and reference contractions on cue, "
            "and save the calibration in the wearer's store: `spasmwatch run` then reports "
            "episode amplitudes in %%MVC."
        ),
    )
    parser.add_argument(
        "--source",
        required=True,
        metavar="URL",
        help="serial:///dev/ttyACM0, ble://spasmwatch-1A2B, sim://calibration?speed=0, "
        "replay:///path/capture.sw1",
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--kind",
        default=_DEFAULTS.kind,
        type=str.upper,
        metavar="MVC|RVC",
        help="maximal (MVC, default) or submaximal reference (RVC) voluntary contraction",
    )
    parser.add_argument(
        "--level",
        type=float,
        metavar="PCT",
        help="with --kind RVC: the level to hold, in %% of maximum (e.g. 40)",
    )
    parser.add_argument(
        "--rest-s",
        type=float,
        default=_DEFAULTS.rest_s,
        metavar="S",
        help="rest recorded first (default: %(default)g s)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=_DEFAULTS.n_trials,
        metavar="N",
        help="reference contractions (default: %(default)d)",
    )
    parser.add_argument(
        "--contract-s",
        type=float,
        default=_DEFAULTS.contract_s,
        metavar="S",
        help="length of each contraction (default: %(default)g s)",
    )
    parser.add_argument(
        "--between-s",
        type=float,
        default=_DEFAULTS.between_s,
        metavar="S",
        help="rest from one release to the next go, countdown included (default: %(default)g s)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line instead of text"
    )
    parser.set_defaults(func=run)


def _plan(args: argparse.Namespace) -> CalibrationPlan:
    """Build the plan from the options, with errors that name the option."""
    if args.kind not in REFERENCE_KINDS:
        raise ConfigError(
            f"Invalid value for --kind: allowed values are {', '.join(REFERENCE_KINDS)}, but "
            f"got {args.kind!r} instead"
        )
    level: float | None = None
    if args.level is not None:
        if args.kind != "RVC":
            raise ConfigError(
                "--level applies to a submaximal reference (--kind RVC); an MVC is 100 % by "
                "definition"
            )
        if not 0.0 < args.level <= 100.0:
            raise ConfigError(
                f"Invalid value for --level: expected a percentage of maximum in (0, 100], "
                f"got {args.level:g} instead"
            )
        level = args.level / 100.0
    options = {
        "--rest-s": ("rest_s", args.rest_s),
        "--trials": ("n_trials", args.trials),
        "--contract-s": ("contract_s", args.contract_s),
        "--between-s": ("between_s", args.between_s),
    }
    try:
        return CalibrationPlan(
            kind=args.kind, level=level, **{name: value for name, value in options.values()}
        )
    except ConfigError as err:
        text = str(err)
        for option, (name, _) in options.items():
            text = text.replace(name, option)
        raise ConfigError(text) from None


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    plan = _plan(args)
    transport = open_transport(args.source)
    path = store_path(args.wearer, args.data_dir)
    with RecordingStore.open(path) as store:
        try:
            return asyncio.run(_calibrate(transport, plan, store, as_json=args.json))
        except CalibrationError as err:
            if args.json:
                _emit({"event": "error", "message": str(err)})
            raise


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _show_prompts(prompts: list[Prompt], as_json: bool) -> None:
    for prompt in prompts:
        if as_json:
            _emit({"event": "prompt", **prompt.to_dict()})
        else:
            _say(f"[{prompt.time_s:5.1f} s] {prompt.text}")


class _Session:
    """The procedure fed from transport items (unwrapping sample counters, gaps)."""

    def __init__(self, plan: CalibrationPlan, as_json: bool) -> None:
        self.plan = plan
        self.as_json = as_json
        self.info: DeviceInfoFrame | None = None
        self.procedure: CalibrationProcedure | None = None
        self._next: int | None = None  # device sample index expected next (unwrapped)

    def observe(self, item: Any) -> None:
        if isinstance(item, DeviceInfoFrame):
            if self.info is None:
                self._start(item)
        elif isinstance(item, SamplesFrame):
            self._samples(item)
        elif isinstance(item, StreamRestart) and self.procedure is not None:
            self._next = None  # the device counts from its new start
            self.procedure.gap(0, reason="The wearable restarted")
        elif isinstance(item, LinkEvent):
            if self.as_json:
                _emit({"event": "link", "kind": item.kind, "detail": item.detail})
            elif item.kind != "connected" and not self.finished:
                _say(f"link: {item.kind} ({item.detail})")
        # LateFrame: its samples were reported missing and the trial repeated; not used.

    @property
    def finished(self) -> bool:
        return self.procedure is not None and self.procedure.finished

    def _start(self, info: DeviceInfoFrame) -> None:
        self.info = info
        clip = info.volts_per_count * (1 << (info.adc_bits - 1))
        self.procedure = CalibrationProcedure(
            info.emg_sfreq,
            info.n_channels,
            plan=self.plan,
            clip_level_v=clip,
            ch_names=info.channel_names,
        )
        if self.as_json:
            _emit({"event": "device", **device_info_dict(info)})
        else:
            board = info.board or "spasmwatch"
            _say(
                f"{board} {info.device_id:016x}: {info.n_channels} EMG channels at "
                f"{info.emg_sfreq:g} Hz; the calibration takes {self.plan.duration_s:g} s"
            )
        _show_prompts(self.procedure.start(), self.as_json)

    def _samples(self, frame: SamplesFrame) -> None:
        info, procedure = self.info, self.procedure
        if info is None or procedure is None or frame.n_channels != info.n_channels:
            return
        n = frame.counts.shape[1]
        first = (
            frame.first_sample
            if self._next is None
            else unwrap_index(frame.first_sample, self._next)
        )
        volts = frame.counts.astype(np.float64) * info.volts_per_count
        if self._next is not None and first > self._next:
            procedure.gap(first - self._next)
        elif self._next is not None and first < self._next:
            cut = self._next - first
            if cut >= n:
                return
            volts, first = volts[:, cut:], self._next
        self._next = first + volts.shape[1]
        _show_prompts(procedure.process(volts), self.as_json)


async def _calibrate(
    transport: Transport, plan: CalibrationPlan, store: RecordingStore, *, as_json: bool
) -> int:
    session = _Session(plan, as_json)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            asyncio.ensure_future(transport.close())

    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)
            handled.append(sig)
    try:
        if not as_json:
            _say(f"calibrating from {transport.url}")
        async with transport:
            async for item in transport:
                session.observe(item)
                if session.finished or stopped.is_set():
                    break
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    procedure = session.procedure
    if stopped.is_set() and not session.finished:
        sys.stderr.write("calibration stopped before it finished: nothing was saved\n")
        return 130
    if procedure is None or session.info is None:
        raise TransportError(
            f"{transport.url} ended without describing itself (no DEVICE_INFO): is it a "
            "spasmwatch wearable streaming?"
        )
    if not procedure.finished:
        raise CalibrationError(
            f"The source ended after {procedure.n_times / procedure.sfreq:.1f} s, before the "
            f"calibration finished ({procedure.remaining_s:.1f} s more were needed). Keep the "
            "wearable connected and streaming until 'calibration complete'."
        )
    calibration = procedure.result()
    info = session.info
    device_id = store.register_device(
        name=info.board or "spasmwatch",
        address=_address(transport.url),
        transport=urlsplit(transport.url).scheme,
        info=info,
    )
    calibration_id = store.save_calibration(calibration, device_id=device_id)
    rows = _channels(calibration, info.channel_names)
    if as_json:
        _emit(
            {
                "event": "result",
                "calibration_id": calibration_id,
                "device_id": device_id,
                "store": str(store.path),
                "unit": calibration.unit,
                "channels": rows,
                "calibration": calibration.to_dict(),
            }
        )
    else:
        _say(calibration_table(calibration, info.channel_names))
        _say(f"saved as calibration {calibration_id} in {store.path}")
    return 0


def _address(url: str) -> str:
    """Where the device was reached: the URL without scheme and options."""
    parts = urlsplit(url)
    return unquote(parts.netloc + parts.path) or url


def _channels(calibration: Calibration, names: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for i in range(calibration.n_channels):
        rest = calibration.rest_rms_v[i]
        ref = calibration.reference_rms_v[i]
        out.append(
            {
                "name": names[i] if i < len(names) else f"channel {i}",
                "noise_uv": round(calibration.noise_rms_v[i] * 1e6, 3),
                "rest_uv": round(rest * 1e6, 3),
                "reference_uv": round(ref * 1e6, 3),
                "ratio": round(ref / rest, 2) if rest > 0 else None,
            }
        )
    return out


def calibration_table(calibration: Calibration, names: tuple[str, ...]) -> str:
    """Return the calibration as a table, one row per channel.

    Parameters
    ----------
    calibration : Calibration
        The result.
    names : tuple of str
        Channel names.

    Returns
    -------
    str
        Noise floor, resting tone and reference in µV and the reference-to-rest ratio per
        channel, under a line naming the reference and the band.
    """
    kind = calibration.reference_kind
    level = calibration.reference_level
    what = kind if kind == "MVC" or level is None else f"{kind} at {100 * level:g} % of MVC"
    notch = f", {calibration.mains_freq:g} Hz notch" if calibration.mains_freq else ""
    lines = [
        f"calibration: reference {what}, {calibration.l_freq:g}-{calibration.h_freq:g} Hz{notch}",
        f"{'channel':<10} {'noise uV':>9} {'rest uV':>9} {kind + ' uV':>9} {'ratio':>7}",
    ]
    for row in _channels(calibration, names):
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.0f}x"
        lines.append(
            f"{row['name']:<10} {row['noise_uv']:>9.2f} {row['rest_uv']:>9.2f} "
            f"{row['reference_uv']:>9.1f} {ratio:>7}"
        )
    return "\n".join(lines)

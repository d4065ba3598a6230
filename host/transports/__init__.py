"""Links to a device: one contract (:class:`Transport`), one module per backend.

Backends: serial (:class:`SerialTransport`), the simulated wearable in process
(:class:`~host.transports.sim.SimTransport`), capture replay
(:class:`~host.transports.replay.ReplayTransport`), replay of recordings from other
devices (:class:`~host.transports.recording_replay.RecordingReplayTransport`) and Bluetooth LE
(:class:`~host.transports.ble.BleTransport`), chosen by URL with
:func:`open_transport`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from host.errors import ConfigError
from host.transports.base import (
    DEFAULT_QUEUE_SIZE,
    LinkCounters,
    LinkEvent,
    LinkEventKind,
    Transport,
    TransportItem,
)
from host.transports.discovery import (
    SerialPortInfo,
    find_serial_port,
    list_serial_ports,
    parse_vid_pid,
    probe_device,
)
from host.transports.serial import DEFAULT_BAUDRATE, SerialTransport

__all__ = [
    "DEFAULT_BAUDRATE",
    "DEFAULT_QUEUE_SIZE",
    "SUPPORTED_SCHEMES",
    "LinkCounters",
    "LinkEvent",
    "LinkEventKind",
    "SerialPortInfo",
    "SerialTransport",
    "Transport",
    "TransportItem",
    "find_serial_port",
    "list_serial_ports",
    "open_transport",
    "parse_vid_pid",
    "probe_device",
]

#: URL schemes :func:`open_transport` understands.
SUPPORTED_SCHEMES = ("serial", "sim", "replay", "ble")

_SERIAL_OPTIONS = ("baudrate", "serial_number", "max_reconnect_s")
_SIM_OPTIONS = ("speed", "seed", "clock_ppm", "loop")


def _options(url: str, query: str, allowed: tuple[str, ...], scheme: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(parsed) - set(allowed))
    if unknown:
        raise ConfigError(
            f"Invalid option(s) {', '.join(unknown)} in {url!r}: {scheme}:// URLs accept "
            f"{', '.join(allowed) or 'no options'}"
        )
    return {key: values[-1] for key, values in parsed.items()}


def _number(url: str, options: dict[str, str], name: str, kind: type[Any]) -> Any:
    try:
        return kind(options[name])
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(
            f"Invalid value {options[name]!r} for {name!r} in {url!r}: expected {what}"
        ) from None


def _flag(url: str, options: dict[str, str], name: str) -> bool:
    value = options[name].lower()
    if value in ("1", "true", "yes", ""):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ConfigError(f"Invalid value {options[name]!r} for {name!r} in {url!r}: expected 0 or 1")


def open_transport(url: str) -> Transport:
    """Create (not yet open) the transport a URL names.

    Parameters
    ----------
    url : str
        - ``serial:///dev/ttyACM0`` (a device path, symlinks included),
          ``serial://COM3``, or ``serial://2341:0043`` (a USB VID:PID, looked up on every
          connection). Options: ``?baudrate=921600``, ``?serial_number=...`` (with a
          VID:PID), ``?max_reconnect_s=60``.
        - ``sim://quick`` (a built-in scenario, or ``sim:///path/to/scenario.toml``): the
          simulated wearable in process. Options: ``speed`` (real-time factor, 0 = as fast
          as possible; default 1), ``seed``, ``clock_ppm``, ``loop=1``.
        - ``replay:///path/to/capture.sw1``: a capture file played back. Option ``speed``
          (default 0, as fast as possible). ``replay:///path/to/rec.edf?emg=EMG1,EMG2``:
          a recording from another device (EDF+/BDF+, CSV/TSV, WFDB ``.hea``) played
          back as a device, with the channel options of
          :func:`~host.transports.recording_replay.open_replay`.
        - ``ble://C0:98:E5:49:00:01`` or ``ble://spasmwatch-1A2B``: a wearable over
          Bluetooth LE, by address or advertised name. Options ``scan_timeout_s`` (10),
          ``connect_timeout_s`` (20), ``max_reconnect_s`` (default: retry for ever).

    Returns
    -------
    Transport
        Use it as ``async with open_transport(url) as transport: ...``.

    Raises
    ------
    ConfigError
        If the scheme is not supported or the URL or its options are malformed.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SUPPORTED_SCHEMES:
        raise ConfigError(
            f"Invalid transport URL {url!r}: supported schemes are "
            f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)}, but got "
            f"{(scheme + '://') if scheme else 'no scheme'} instead"
        )
    netloc = unquote(parts.netloc)
    path = unquote(parts.path)
    if scheme == "ble":
        from host.transports.ble import BleTransport

        return BleTransport.from_url(url)
    if scheme == "sim":
        from host.transports.sim import SimTransport

        options = _options(url, parts.query, _SIM_OPTIONS, scheme)
        target = netloc + path
        if not target:
            raise ConfigError(
                f"Invalid transport URL {url!r}: expected a scenario (sim://quick) or a "
                "scenario file (sim:///path/to/scenario.toml)"
            )
        return SimTransport(
            target,
            speed=_number(url, options, "speed", float) if "speed" in options else 1.0,
            seed=_number(url, options, "seed", int) if "seed" in options else 0,
            clock_ppm=_number(url, options, "clock_ppm", float) if "clock_ppm" in options else 0.0,
            loop=_flag(url, options, "loop") if "loop" in options else False,
        )
    if scheme == "replay":
        from host.transports.recording_replay import open_replay

        return open_replay(url)
    options = _options(url, parts.query, _SERIAL_OPTIONS, scheme)
    kwargs: dict[str, Any] = {}
    if "baudrate" in options:
        kwargs["baudrate"] = _number(url, options, "baudrate", int)
    if "max_reconnect_s" in options:
        kwargs["max_reconnect_s"] = _number(url, options, "max_reconnect_s", float)
    serial_number = options.get("serial_number")
    if netloc and ":" in netloc and not path:
        return SerialTransport(vid_pid=netloc, serial_number=serial_number, **kwargs)
    port = netloc + path
    if not port:
        raise ConfigError(
            f"Invalid transport URL {url!r}: expected a device path "
            "(serial:///dev/ttyACM0, serial://COM3) or a USB ID (serial://2341:0043)"
        )
    if serial_number is not None:
        raise ConfigError(f"'serial_number' in {url!r} needs a USB VID:PID, not a device path")
    return SerialTransport(port, **kwargs)

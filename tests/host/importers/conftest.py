"""Fixtures that write recording files: EDF via pyedflib, EDF/BDF by hand, captures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyedflib
import pytest
from numpy.typing import NDArray

from host.protocol.capture import CAPTURE_SUFFIX
from host.simulator.device import DeviceConfig, SimulatedDevice
from host.simulator.link import FaultInjector, LinkFaults
from host.simulator.scenario import builtin_scenario


@dataclass
class Channel:
    """One signal for :func:`write_pyedflib`: physical values and their header."""

    label: str
    unit: str
    sfreq: float
    data: NDArray[np.float64]
    phys_min: float = -1000.0
    phys_max: float = 1000.0

    def step(self, bdf: bool) -> float:
        """One digital step in physical units."""
        return (self.phys_max - self.phys_min) / ((1 << 24) - 1 if bdf else 65535)


def write_pyedflib(
    path: Path,
    channels: Sequence[Channel],
    *,
    file_type: int = pyedflib.FILETYPE_EDFPLUS,
    start: dt.datetime = dt.datetime(2024, 3, 5, 10, 20, 30),
    annotations: Sequence[tuple[float, float, str]] = (),
) -> Path:
    """Write an EDF/EDF+/BDF/BDF+ file with pyedflib (an independent writer)."""
    bdf = file_type in (pyedflib.FILETYPE_BDF, pyedflib.FILETYPE_BDFPLUS)
    dig = (-(1 << 23), (1 << 23) - 1) if bdf else (-32768, 32767)
    writer = pyedflib.EdfWriter(str(path), len(channels), file_type=file_type)
    try:
        writer.setSignalHeaders(
            [
                {
                    "label": ch.label,
                    "dimension": ch.unit,
                    "sample_frequency": ch.sfreq,
                    "physical_min": ch.phys_min,
                    "physical_max": ch.phys_max,
                    "digital_min": dig[0],
                    "digital_max": dig[1],
                    "transducer": "",
                    "prefilter": "",
                }
                for ch in channels
            ]
        )
        writer.setStartdatetime(start)
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
        writer.writeSamples([np.ascontiguousarray(ch.data) for ch in channels])
    finally:
        writer.close()
    return path


@dataclass
class HandSignal:
    """One signal of a hand-built EDF/BDF file.

    ``records`` holds, per data record, either digital integers (``n_samples`` of them)
    or, for an annotation signal, the raw TAL bytes (zero-padded to the signal's size).
    """

    label: str
    unit: str
    n_samples: int
    records: list[Any] = field(default_factory=list)
    phys_min: float = -3276.8
    phys_max: float = 3276.7
    dig_min: int = -32768
    dig_max: int = 32767


def _field(value: object, width: int) -> bytes:
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    raw = text.encode("latin-1")
    assert len(raw) <= width, (text, width)
    return raw.ljust(width, b" ")


def edf_bytes(
    signals: Sequence[HandSignal],
    *,
    record_duration_s: float = 1.0,
    reserved: str = "EDF+C",
    start_date: str = "05.03.24",
    start_time: str = "10.20.30",
    recording: str = "Startdate 05-MAR-2024 X X X",
    n_records: int | None = None,
    bdf: bool = False,
) -> bytes:
    """Assemble an EDF (or BDF) file byte by byte, following the specification.

    Fixed header (256 bytes): version (8), patient (80), recording (80), start date
    (8), start time (8), header bytes (8), reserved (44), number of records (8), record
    duration (8), number of signals (4). Then per field, one entry per signal: label
    (16), transducer (80), physical dimension (8), physical min (8), physical max (8),
    digital min (8), digital max (8), prefiltering (80), samples per record (8),
    reserved (32). Then the records: per record, per signal, its samples as 16-bit
    (EDF) or 24-bit (BDF) little-endian two's complement.
    """
    ns = len(signals)
    count = len(signals[0].records)
    width = 3 if bdf else 2
    head = b"".join(
        [
            b"\xffBIOSEMI" if bdf else _field("0", 8),
            _field("X X X X", 80),
            _field(recording, 80),
            _field(start_date, 8),
            _field(start_time, 8),
            _field(256 * (ns + 1), 8),
            _field("24BIT" if bdf and not reserved else reserved, 44),
            _field(count if n_records is None else n_records, 8),
            _field(float(record_duration_s), 8),
            _field(ns, 4),
        ]
    )
    per_signal = [
        ("label", 16),
        ("transducer", 80),
        ("unit", 8),
        ("phys_min", 8),
        ("phys_max", 8),
        ("dig_min", 8),
        ("dig_max", 8),
        ("prefilter", 80),
        ("n_samples", 8),
        ("reserved", 32),
    ]
    for name, size in per_signal:
        for sig in signals:
            value: object = (
                "" if name in ("transducer", "prefilter", "reserved") else getattr(sig, name)
            )
            if name in ("phys_min", "phys_max"):
                value = float(value)  # type: ignore[arg-type]
            head += _field(value, size)
    assert len(head) == 256 * (ns + 1)
    data = b""
    for r in range(count):
        for sig in signals:
            payload = sig.records[r]
            if isinstance(payload, bytes):
                assert len(payload) <= sig.n_samples * width
                data += payload.ljust(sig.n_samples * width, b"\x00")
                continue
            digital = np.asarray(payload, dtype=np.int64)
            assert digital.shape == (sig.n_samples,)
            raw = digital.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width]
            data += raw.tobytes()
    return head + data


def tal(onset: float, *entries: tuple[float, float, str], timekeeping: bool = True) -> bytes:
    """The TALs of one record: a time-keeping TAL, then annotations."""
    out = f"{onset:+g}".encode() + b"\x14\x14\x00" if timekeeping else b""
    for at, duration, text in entries:
        stamp = f"{at:+g}".encode()
        if duration:
            stamp += b"\x15" + f"{duration:g}".encode()
        out += stamp + b"\x14" + text.encode("utf-8") + b"\x14\x00"
    return out


def write_capture(path: Path, *, duration_s: float = 3.0, seed: int = 0) -> Path:
    """Write a ``.sw1`` capture the way ``spasmwatch simulate --out`` does."""
    device = SimulatedDevice(builtin_scenario("quick"), DeviceConfig(), seed=seed, autostart=True)
    injector = FaultInjector(LinkFaults())
    with open(path, "wb") as fh:
        frames = device.take_pending()
        while True:
            for chunk, _pause in injector.apply(frames):
                fh.write(chunk)
            if device.finished or device.scenario_time_s >= duration_s:
                break
            frames = device.step()
        fh.write(injector.release_held())
    return path


@pytest.fixture
def kit() -> SimpleNamespace:
    """The file writers of this folder (test modules cannot import conftest)."""
    return SimpleNamespace(
        Channel=Channel,
        HandSignal=HandSignal,
        write_pyedflib=write_pyedflib,
        edf_bytes=edf_bytes,
        tal=tal,
        write_capture=write_capture,
    )


@pytest.fixture(scope="session")
def capture_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("capture") / f"quick{CAPTURE_SUFFIX}"
    return write_capture(path)

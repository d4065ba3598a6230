r"""EDF, EDF+, BDF and BDF+ files, read record by record with numpy.

Layout (Kemp et al. 1992; EDF+: Kemp & Olivan 2003; BDF: BioSemi)::

    offset            size     field
    0                 8        version: "0" (EDF) or 0xFF "BIOSEMI" (BDF)
    8                 80       local patient identification
    88                80       local recording identification (EDF+: "Startdate dd-MMM-yyyy ...")
    168               8        start date dd.mm.yy (yy 85..99 -> 19yy, 00..84 -> 20yy)
    176               8        start time hh.mm.ss
    184               8        number of bytes in the header, 256 * (ns + 1)
    192               44       reserved: "EDF+C" / "EDF+D" (BDF+: "BDF+C" / "BDF+D")
    236               8        number of data records (-1 while recording)
    244               8        duration of a data record, seconds
    252               4        ns, number of signals
    then, for each field below, one entry per signal (ns entries of that size):
    256               16 * ns  label
                      80 * ns  transducer type
                      8 * ns   physical dimension (unit)
                      8 * ns   physical minimum
                      8 * ns   physical maximum
                      8 * ns   digital minimum
                      8 * ns   digital maximum
                      80 * ns  prefiltering
                      8 * ns   number of samples in each data record
                      32 * ns  reserved
    256 * (ns + 1)             data records: per record, per signal, its samples

Samples are little-endian two's complement, 16-bit in EDF and 24-bit in BDF;
``physical = (digital - dig_min) * (phys_max - phys_min) / (dig_max - dig_min) + phys_min``.
EDF+ annotation signals (label ``EDF Annotations``, ``BDF Annotations`` in BDF+) hold
time-stamped annotation lists (TALs), ``+onset\x15duration\x14text\x14...\x14\x00``; the
first TAL of each record gives the record's onset (time keeping), which places the
records of a discontinuous (EDF+D) file on the timeline, with NaN in between.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from host.errors import RecordingError
from host.importers.channels import ChannelSelection, finish_selection
from host.importers.recording import (
    Annotation,
    ChannelOptions,
    RecordingInfo,
    WindowReader,
    accel_bound,
)

__all__ = ["EdfHeader", "EdfReader", "EdfSignal", "parse_tal", "read_edf_header"]

logger = logging.getLogger(__name__)

_FIXED_LEN = 256
#: (name, width) of the per-signal header fields, in file order.
_SIGNAL_FIELDS: tuple[tuple[str, int], ...] = (
    ("label", 16),
    ("transducer type", 80),
    ("physical dimension", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefiltering", 80),
    ("number of samples in each data record", 8),
    ("reserved", 32),
)
_ANNOTATION_LABELS = ("edf annotations", "bdf annotations")
_CHUNK_BYTES = 4 << 20  # records read at a time, at most (at least one record)
_PROBE_S = 60.0  # seconds read to infer units the header does not give
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_STARTDATE = re.compile(r"^Startdate\s+(\d{1,2})-([A-Za-z]{3})-(\d{4})\b")
_DATE = re.compile(r"^(\d{1,2})\D(\d{1,2})\D(\d{2}|yy)$")
_TIME = re.compile(r"^(\d{1,2})\D(\d{1,2})\D(\d{1,2})$")


@dataclass(frozen=True)
class EdfSignal:
    """One signal of an EDF/BDF header.

    Attributes
    ----------
    index : int
        Position among the file's signals.
    label, transducer, unit, prefilter : str
        Header text, stripped.
    phys_min, phys_max : float
        Physical range.
    dig_min, dig_max : int
        Digital range.
    n_samples : int
        Samples per data record.
    offset : int
        Byte offset of this signal's samples within a data record.
    """

    index: int
    label: str
    transducer: str
    unit: str
    phys_min: float
    phys_max: float
    dig_min: int
    dig_max: int
    prefilter: str
    n_samples: int
    offset: int

    @property
    def is_annotation(self) -> bool:
        """Whether this is an EDF+/BDF+ annotation signal."""
        return self.label.strip().lower() in _ANNOTATION_LABELS

    @property
    def gain(self) -> float:
        """Physical units per digital step."""
        return (self.phys_max - self.phys_min) / (self.dig_max - self.dig_min)

    @property
    def physical_offset(self) -> float:
        """Physical value of digital 0."""
        return self.phys_min - self.dig_min * self.gain


@dataclass(frozen=True)
class EdfHeader:
    """The header of an EDF/BDF file.

    Attributes
    ----------
    bdf : bool
        24-bit BDF rather than 16-bit EDF.
    plus : bool
        EDF+ / BDF+ (reserved field starts ``EDF+`` or ``BDF+``).
    discontinuous : bool
        EDF+D / BDF+D.
    patient, recording : str
        Identification fields.
    start_date, start_time : str
        Raw ``dd.mm.yy`` and ``hh.mm.ss`` fields.
    header_bytes : int
        Size of the header as stated.
    n_records : int
        Number of data records as stated (-1: unknown).
    record_duration_s : float
        Duration of one data record.
    signals : tuple of EdfSignal
        Every signal, annotation signals included.
    """

    bdf: bool
    plus: bool
    discontinuous: bool
    patient: str
    recording: str
    start_date: str
    start_time: str
    header_bytes: int
    n_records: int
    record_duration_s: float
    signals: tuple[EdfSignal, ...]

    @property
    def sample_bytes(self) -> int:
        """Bytes per sample: 2 (EDF) or 3 (BDF)."""
        return 3 if self.bdf else 2

    @property
    def record_bytes(self) -> int:
        """Bytes per data record."""
        return sum(s.n_samples for s in self.signals) * self.sample_bytes

    @property
    def data_offset(self) -> int:
        """Byte offset of the first data record: ``256 * (ns + 1)``."""
        return _FIXED_LEN * (len(self.signals) + 1)


def _field_error(path: Path, name: str, offset: int, raw: bytes, expected: str) -> RecordingError:
    text = raw.decode("latin-1")
    return RecordingError(
        f"{path}: header field {name!r} at byte {offset} is {text!r}; expected {expected}"
    )


def _number(path: Path, raw: bytes, name: str, offset: int, *, integer: bool) -> float:
    text = raw.decode("latin-1").strip()
    try:
        value = float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise _field_error(path, name, offset, raw, kind) from None
    if not np.isfinite(value) or (integer and value != int(value)):
        kind = "an integer" if integer else "a finite number"
        raise _field_error(path, name, offset, raw, kind)
    return value


def read_edf_header(fh: BinaryIO, path: Path) -> EdfHeader:
    """Read and check an EDF/BDF header.

    Parameters
    ----------
    fh : binary file
        The file, positioned anywhere (it is read from byte 0).
    path : Path
        The file's name, for messages.

    Returns
    -------
    EdfHeader
        The parsed header.

    Raises
    ------
    RecordingError
        If the file is too short or a field is malformed; the message names the field
        and its byte offset.
    """
    fh.seek(0)
    fixed = fh.read(_FIXED_LEN)
    if len(fixed) < _FIXED_LEN:
        raise RecordingError(
            f"{path}: the file is {len(fixed)} bytes long, shorter than the 256-byte EDF/BDF header"
        )
    version = fixed[0:8]
    if version == b"\xffBIOSEMI":
        bdf = True
    elif version.decode("latin-1").strip() == "0":
        bdf = False
    else:
        raise _field_error(path, "version", 0, version, "'0' (EDF) or 0xFF 'BIOSEMI' (BDF)")
    n_signals = int(_number(path, fixed[252:256], "number of signals", 252, integer=True))
    if n_signals < 1:
        raise _field_error(path, "number of signals", 252, fixed[252:256], "at least 1")
    header_bytes = int(
        _number(path, fixed[184:192], "number of bytes in header", 184, integer=True)
    )
    n_records = int(_number(path, fixed[236:244], "number of data records", 236, integer=True))
    if n_records < -1:
        raise _field_error(
            path, "number of data records", 236, fixed[236:244], "-1 or a count of records"
        )
    duration = _number(path, fixed[244:252], "duration of a data record", 244, integer=False)
    reserved = fixed[192:236].decode("latin-1").strip().upper()
    plus = reserved.startswith(("EDF+", "BDF+"))
    discontinuous = reserved.startswith(("EDF+D", "BDF+D"))
    block = fh.read(_FIXED_LEN * n_signals)
    if len(block) < _FIXED_LEN * n_signals:
        raise RecordingError(
            f"{path}: the header announces {n_signals} signals at byte 252, which need "
            f"{_FIXED_LEN * (n_signals + 1)} header bytes, but the file holds only "
            f"{_FIXED_LEN + len(block)}"
        )
    fields: dict[str, list[tuple[bytes, int]]] = {}
    pos = 0
    for name, width in _SIGNAL_FIELDS:
        entries = []
        for k in range(n_signals):
            start = pos + k * width
            entries.append((block[start : start + width], _FIXED_LEN + start))
        fields[name] = entries
        pos += width * n_signals

    def text(name: str, k: int) -> str:
        return fields[name][k][0].decode("latin-1").strip()

    def num(name: str, k: int, *, integer: bool) -> float:
        raw, offset = fields[name][k]
        return _number(path, raw, f"{name} of signal {k + 1}", offset, integer=integer)

    signals: list[EdfSignal] = []
    offset = 0
    width = 3 if bdf else 2
    for k in range(n_signals):
        n_samples = int(num("number of samples in each data record", k, integer=True))
        if n_samples < 0:
            raw, at = fields["number of samples in each data record"][k]
            raise _field_error(
                path,
                f"number of samples in each data record of signal {k + 1}",
                at,
                raw,
                "a count of samples (>= 0)",
            )
        signals.append(
            EdfSignal(
                index=k,
                label=text("label", k),
                transducer=text("transducer type", k),
                unit=text("physical dimension", k),
                phys_min=num("physical minimum", k, integer=False),
                phys_max=num("physical maximum", k, integer=False),
                dig_min=int(num("digital minimum", k, integer=True)),
                dig_max=int(num("digital maximum", k, integer=True)),
                prefilter=text("prefiltering", k),
                n_samples=n_samples,
                offset=offset,
            )
        )
        offset += n_samples * width
    return EdfHeader(
        bdf=bdf,
        plus=plus,
        discontinuous=discontinuous,
        patient=fixed[8:88].decode("latin-1").strip(),
        recording=fixed[88:168].decode("latin-1").strip(),
        start_date=fixed[168:176].decode("latin-1").strip(),
        start_time=fixed[176:184].decode("latin-1").strip(),
        header_bytes=header_bytes,
        n_records=n_records,
        record_duration_s=duration,
        signals=tuple(signals),
    )


def parse_tal(data: bytes) -> tuple[list[tuple[float, float, list[str]]], int]:
    r"""Parse the time-stamped annotation lists (TALs) of one annotation signal record.

    Parameters
    ----------
    data : bytes
        The bytes of an ``EDF Annotations`` signal in one data record.

    Returns
    -------
    tals : list of (onset_s, duration_s, texts)
        One entry per TAL, in order. ``duration_s`` is 0.0 when absent; ``texts`` holds
        the annotation texts (UTF-8), empty for a time-keeping TAL.
    n_bad : int
        TALs that could not be parsed (skipped).

    Notes
    -----
    A TAL is ``+onset[\x15duration]\x14[text\x14]...\x00`` (Kemp & Olivan 2003, 2.2.2);
    the rest of the signal is padded with ``\x00``.

    Examples
    --------
    >>> parse_tal(b"+0\x14\x14\x00+1.5\x151\x14blink\x14\x00\x00")
    ([(0.0, 0.0, []), (1.5, 1.0, ['blink'])], 0)
    """
    out: list[tuple[float, float, list[str]]] = []
    bad = 0
    for chunk in data.split(b"\x00"):
        if not chunk:
            continue
        parts = chunk.split(b"\x14")
        stamp = parts[0].split(b"\x15")
        try:
            onset_text = stamp[0].decode("ascii")
            if onset_text[:1] not in ("+", "-") or len(stamp) > 2 or len(parts) < 2:
                raise ValueError(onset_text)
            onset = float(onset_text)
            duration = float(stamp[1].decode("ascii")) if len(stamp) == 2 and stamp[1] else 0.0
        except (ValueError, UnicodeDecodeError):
            bad += 1
            continue
        texts = [p.decode("utf-8", errors="replace") for p in parts[1:] if p]
        out.append((onset, duration, texts))
    return out, bad


def _start_datetime(header: EdfHeader, path: Path) -> tuple[datetime | None, list[str]]:
    """Start of the recording from the header (EDF+ four-digit year when present)."""
    notes: list[str] = []
    date = _DATE.match(header.start_date)
    clock = _TIME.match(header.start_time)
    full = _STARTDATE.match(header.recording) if header.plus else None
    if clock is None:
        notes.append(
            f"start time unknown: header field 'start time' at byte 176 is "
            f"{header.start_time!r}, expected hh.mm.ss"
        )
        return None, notes
    day: int | None = None
    month: int | None = None
    year: int | None = None
    if date is not None:
        day, month = int(date.group(1)), int(date.group(2))
        if date.group(3) != "yy":
            yy = int(date.group(3))
            year = 1900 + yy if yy >= 85 else 2000 + yy
    if full is not None and full.group(2).upper() in _MONTHS:
        f_day, f_month = int(full.group(1)), _MONTHS.index(full.group(2).upper()) + 1
        f_year = int(full.group(3))
        if day is None or (day, month) == (f_day, f_month):
            day, month, year = f_day, f_month, f_year
        else:
            notes.append(
                f"the EDF+ recording field says {full.group(0)!r} but the start date at "
                f"byte 168 is {header.start_date!r}; the latter was used"
            )
    if day is None or month is None or year is None:
        notes.append(
            f"start date unknown: header field 'start date' at byte 168 is "
            f"{header.start_date!r}, expected dd.mm.yy"
        )
        return None, notes
    try:
        start = datetime(
            year,
            month,
            day,
            int(clock.group(1)),
            int(clock.group(2)),
            int(clock.group(3)),
            tzinfo=UTC,
        )
    except ValueError as err:
        notes.append(
            f"start unknown: date {header.start_date!r} (byte 168) and time "
            f"{header.start_time!r} (byte 176) do not form a valid date ({err})"
        )
        return None, notes
    return start, notes


class EdfReader(WindowReader):
    """Reader of EDF, EDF+ (C and D), BDF and BDF+ files.

    Data records are read in chunks of at most a few megabytes as they are needed, so
    memory stays bounded whatever the file size. Opening reads the header and, when
    the file has annotation signals, scans them once (annotations and record onsets).

    Parameters
    ----------
    path : Path
        The file.
    options : ChannelOptions
        Channel choices (see :func:`~host.importers.recording.open_recording`).

    Notes
    -----
    The header's start date and time carry no time zone; they are taken as UTC, as
    MNE-Python does. Kemp et al. (1992); Kemp & Olivan (2003).
    """

    def __init__(self, path: Path, options: ChannelOptions) -> None:
        self._fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._open(path, options)
        except BaseException:
            self._fh.close()
            raise

    # ------------------------------------------------------------------ opening
    def _open(self, path: Path, options: ChannelOptions) -> None:
        self._path = path
        header = read_edf_header(self._fh, path)
        self._header = header
        notes: list[str] = []
        if header.header_bytes != header.data_offset:
            notes.append(
                f"header field 'number of bytes in header' at byte 184 says "
                f"{header.header_bytes}, but {len(header.signals)} signals make "
                f"{header.data_offset}; {header.data_offset} was used"
            )
        if header.record_duration_s <= 0:
            raise RecordingError(
                f"{path}: header field 'duration of a data record' at byte 244 is "
                f"{header.record_duration_s:g}; a file with signals to analyse needs "
                "records of positive duration"
            )
        self._n_records = self._count_records(path, notes)
        data = [s for s in header.signals if not s.is_annotation and s.n_samples > 0]
        self._annotation_signals = [s for s in header.signals if s.is_annotation]
        labels = [s.label for s in data]
        units = [s.unit for s in data]
        rates = [s.n_samples / header.record_duration_s for s in data]
        selection = options.select(labels, units, rates)
        emg = [data[i] for i in selection.emg]
        self._check_ranges(path, emg)
        acc = [data[i] for i in selection.accel] if selection.accel is not None else []
        self._check_ranges(path, acc)
        self._emg = emg
        self._acc = acc
        self._cache: tuple[int, NDArray[np.uint8]] | None = None
        self._positions(notes)
        if None in selection.emg_volts_per_unit or (
            selection.accel is not None and selection.accel_g_per_unit is None
        ):
            selection = self._settle_units(selection, labels, units)
        self._emg_scale = np.array(selection.emg_volts_per_unit, dtype=np.float64)
        if selection.accel is None:
            self._acc = []
        self._acc_scale = np.array(selection.accel_g_per_unit or (1.0, 1.0, 1.0))
        self.accel_ratio = self._ratio()
        start, date_notes = _start_datetime(header, path)
        notes += date_notes
        if start is not None:
            start += timedelta(seconds=self._first_onset)
        self.info = RecordingInfo(
            path=str(path),
            format="bdf" if header.bdf else "edf",
            sfreq=selection.sfreq,
            emg_labels=tuple(s.label for s in self._emg),
            sides=selection.sides,
            accel_sfreq=selection.accel_sfreq if self._acc else None,
            accel_labels=tuple(s.label for s in self._acc),
            n_times=self._n_times,
            n_accel_times=self._n_accel if self._acc else 0,
            start=start,
            annotations=tuple(self._annotations),
            other_labels=tuple(labels[i] for i in selection.other),
            warnings=tuple(notes) + selection.warnings,
        )
        for note in self.info.warnings:
            logger.info("%s: %s", path.name, note)

    def _count_records(self, path: Path, notes: list[str]) -> int:
        header = self._header
        self._fh.seek(0, 2)
        size = self._fh.tell()
        data_bytes = size - header.data_offset
        record_bytes = header.record_bytes
        if record_bytes <= 0:
            raise RecordingError(f"{path}: the header describes data records of 0 bytes")
        complete, extra = divmod(max(data_bytes, 0), record_bytes)
        if complete == 0:
            raise RecordingError(
                f"{path}: no complete data record: the data after the {header.data_offset}-"
                f"byte header is {max(data_bytes, 0)} bytes, one record is {record_bytes}"
            )
        if extra:
            notes.append(
                f"the file ends {extra} bytes into data record {complete + 1} "
                f"(truncated); the {complete} complete records were read"
            )
        if header.n_records == -1:
            notes.append(
                f"the header gives no record count (-1, recording not closed); the "
                f"{complete} complete records in the file were read"
            )
        elif header.n_records != complete:
            notes.append(
                f"the header says {header.n_records} data records but the file holds "
                f"{complete} complete records; {complete} were read"
            )
        return int(complete)

    @staticmethod
    def _check_ranges(path: Path, signals: Sequence[EdfSignal]) -> None:
        for s in signals:
            if s.dig_max <= s.dig_min:
                raise RecordingError(
                    f"{path}: signal {s.index + 1} ({s.label!r}) has digital maximum "
                    f"{s.dig_max} <= digital minimum {s.dig_min}"
                )
            if s.phys_max == s.phys_min:
                raise RecordingError(
                    f"{path}: signal {s.index + 1} ({s.label!r}) has physical minimum equal "
                    f"to physical maximum ({s.phys_min:g}), so its values cannot be scaled"
                )

    def _positions(self, notes: list[str]) -> None:
        """Place the records on the timeline; collect annotations and the start offset.

        Records of an EDF+D file go where their time-keeping TAL says (NaN in between);
        all other files are contiguous. The first record's onset (sub-second start) is
        added to the start and taken off every annotation onset.
        """
        header = self._header
        n = self._n_records
        ns_e = self._emg[0].n_samples
        ns_a = self._acc[0].n_samples if self._acc else 0
        self._annotations: list[Annotation] = []
        self._first_onset = 0.0
        onsets = np.full(n, np.nan)
        if self._annotation_signals:
            onsets = self._scan_annotations(notes)
            if np.isfinite(onsets[0]):
                self._first_onset = float(onsets[0])
            if self._first_onset:
                self._annotations = [
                    Annotation(a.onset_s - self._first_onset, a.duration_s, a.text)
                    for a in self._annotations
                ]
        index = np.arange(n, dtype=np.int64)
        if header.discontinuous and self._annotation_signals:
            missing = ~np.isfinite(onsets)
            if missing.any():
                notes.append(
                    f"{int(missing.sum())} data records carry no time-keeping annotation; "
                    "each was placed right after the record before it"
                )
            rel = onsets - self._first_onset
            pos_e, shifted = self._place(rel, missing, ns_e, header.record_duration_s)
            pos_a, _ = self._place(rel, missing, ns_a, header.record_duration_s)
            if shifted:
                notes.append(
                    f"{shifted} data records start before the previous one ends; each "
                    "was placed right after the record before it"
                )
            gaps = int(np.count_nonzero(np.diff(pos_e) > ns_e))
            if gaps:
                notes.append(
                    f"discontinuous recording (EDF+D): {gaps} gap(s) between data records, "
                    "filled with NaN"
                )
        else:
            if header.discontinuous:
                notes.append(
                    "the header says EDF+D (discontinuous) but the file has no annotation "
                    "signal to place its records; records were taken as contiguous"
                )
            pos_e = index * ns_e
            pos_a = index * ns_a
        self._pos_e = pos_e
        self._pos_a = pos_a
        self._n_times = int(pos_e[-1] + ns_e)
        self._n_accel = int(pos_a[-1] + ns_a)

    @staticmethod
    def _place(
        rel: NDArray[np.float64],
        missing: NDArray[np.bool_],
        n_samples: int,
        record_duration_s: float,
    ) -> tuple[NDArray[np.int64], int]:
        """Sample index of each record: its onset, never before the previous record ends.

        Returns the positions and how many records had to be moved later than their
        onset (overlaps; records without an onset are not counted).
        """
        rate = n_samples / record_duration_s
        floor = np.iinfo(np.int64).min // 4
        wanted = np.full(rel.size, floor, dtype=np.int64)
        ok = ~missing
        wanted[ok] = np.rint(rel[ok] * rate).astype(np.int64)
        index = np.arange(rel.size, dtype=np.int64)
        # pos[r] >= pos[r - 1] + n  <=>  pos[r] - r * n >= pos[r - 1] - (r - 1) * n
        lowest = np.maximum(np.maximum.accumulate(wanted - index * n_samples), 0)
        positions = lowest + index * n_samples
        moved = int(np.count_nonzero(ok & (positions != wanted)))
        return positions, moved

    def _scan_annotations(self, notes: list[str]) -> NDArray[np.float64]:
        """Read every annotation signal once: record onsets and annotations."""
        header = self._header
        n = self._n_records
        onsets = np.full(n, np.nan)
        width = header.sample_bytes
        per_chunk = max(1, _CHUNK_BYTES // header.record_bytes)
        bad = 0
        for r0 in range(0, n, per_chunk):
            r1 = min(n, r0 + per_chunk)
            buf = self._read_records(r0, r1)
            for k, sig in enumerate(self._annotation_signals):
                raw = buf[:, sig.offset : sig.offset + sig.n_samples * width]
                for i in range(r1 - r0):
                    tals, n_bad = parse_tal(raw[i].tobytes())
                    bad += n_bad
                    for j, (onset, duration, texts) in enumerate(tals):
                        if k == 0 and j == 0:
                            onsets[r0 + i] = onset
                        self._annotations.extend(
                            Annotation(onset, duration, text) for text in texts
                        )
        if bad:
            notes.append(f"{bad} malformed annotation list(s) (TALs) were skipped")
        return onsets

    def _settle_units(
        self, selection: ChannelSelection, labels: Sequence[str], units: Sequence[str]
    ) -> ChannelSelection:
        """Infer missing units from the first minute of data."""
        stop = min(self._n_times, max(1, round(_PROBE_S * selection.sfreq)))
        acc_stop = accel_bound(stop, self._ratio(), self._n_times, self._n_accel)
        ones_e = np.ones(len(self._emg))
        emg, acc = self._read(0, stop, 0, acc_stop, ones_e, np.ones(3))
        return finish_selection(selection, labels, units, emg, acc)

    def _ratio(self) -> Fraction:
        if not self._acc:
            return Fraction(1)
        return Fraction(self._acc[0].n_samples, self._emg[0].n_samples)

    # ------------------------------------------------------------------ reading
    def _read_records(self, r0: int, r1: int) -> NDArray[np.uint8]:
        size = self._header.record_bytes
        self._fh.seek(self._header.data_offset + r0 * size)
        raw = self._fh.read((r1 - r0) * size)
        if len(raw) != (r1 - r0) * size:
            raise RecordingError(f"{self._path}: the file changed while being read")
        return np.frombuffer(raw, dtype=np.uint8).reshape(r1 - r0, size)

    def _records(self, r0: int, r1: int) -> NDArray[np.uint8]:
        """Return data records ``[r0, r1)`` as raw bytes, through a read-ahead cache."""
        if self._cache is not None:
            c0, buf = self._cache
            if c0 <= r0 and r1 <= c0 + buf.shape[0]:
                return buf[r0 - c0 : r1 - c0]
        ahead = max(1, _CHUNK_BYTES // self._header.record_bytes)
        end = min(self._n_records, max(r1, r0 + ahead))
        buf = self._read_records(r0, end)
        self._cache = (r0, buf)
        return buf[: r1 - r0]

    def _digital(self, buf: NDArray[np.uint8], sig: EdfSignal) -> NDArray[np.float64]:
        """Physical values of one signal over the records in ``buf``, flattened."""
        width = self._header.sample_bytes
        cols = buf[:, sig.offset : sig.offset + sig.n_samples * width]
        if width == 2:
            digital = np.ascontiguousarray(cols).view("<i2").astype(np.float64)
        else:
            b = cols.reshape(buf.shape[0], sig.n_samples, 3).astype(np.int32)
            value = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
            digital = ((value ^ 0x800000) - 0x800000).astype(np.float64)
        return (digital * sig.gain + sig.physical_offset).reshape(-1)

    @staticmethod
    def _span(
        positions: NDArray[np.int64], n_samples: int, start: int, stop: int
    ) -> tuple[int, int]:
        """Return the range of records that overlap samples ``[start, stop)``."""
        if stop <= start or n_samples == 0:
            return 0, 0
        first = max(0, int(np.searchsorted(positions, start, side="right")) - 1)
        if positions[first] + n_samples <= start:
            first += 1
        last = int(np.searchsorted(positions, stop, side="left"))
        return first, max(first, last)

    def _fill(
        self,
        out: NDArray[np.float64],
        buf: NDArray[np.uint8],
        r0: int,
        span: tuple[int, int],
        positions: NDArray[np.int64],
        signals: Sequence[EdfSignal],
        scales: NDArray[np.float64],
        start: int,
    ) -> None:
        first, last = span
        if last <= first:
            return
        n = signals[0].n_samples
        part = buf[first - r0 : last - r0]
        where = (positions[first:last, None] + np.arange(n)).reshape(-1) - start
        keep = (where >= 0) & (where < out.shape[1])
        where = where[keep]
        for row, (sig, scale) in enumerate(zip(signals, scales, strict=True)):
            out[row, where] = self._digital(part, sig)[keep] * scale

    def _read(
        self,
        start: int,
        stop: int,
        accel_start: int,
        accel_stop: int,
        emg_scale: NDArray[np.float64],
        acc_scale: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        emg = np.full((len(self._emg), stop - start), np.nan)
        acc = np.full((3, accel_stop - accel_start), np.nan) if self._acc else None
        span_e = self._span(self._pos_e, self._emg[0].n_samples, start, stop)
        span_a = (0, 0)
        if self._acc:
            span_a = self._span(self._pos_a, self._acc[0].n_samples, accel_start, accel_stop)
        spans = [s for s in (span_e, span_a) if s[1] > s[0]]
        if not spans:
            return emg, acc
        r0 = min(s[0] for s in spans)
        r1 = max(s[1] for s in spans)
        buf = self._records(r0, r1)
        self._fill(emg, buf, r0, span_e, self._pos_e, self._emg, emg_scale, start)
        if acc is not None:
            self._fill(acc, buf, r0, span_a, self._pos_a, self._acc, acc_scale, accel_start)
        return emg, acc

    def window(
        self, start: int, stop: int, accel_start: int, accel_stop: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Return EMG samples in volts and accelerometer samples in g (NaN at gaps)."""
        self._check_open()
        return self._read(start, stop, accel_start, accel_stop, self._emg_scale, self._acc_scale)

    def close(self) -> None:
        """Close the file."""
        self._closed = True
        self._cache = None
        self._fh.close()

r"""EDF+ and BDF+ export: a small writer of its own and the export of stored sessions.

The format (Kemp et al. 1992, EDF; Kemp & Olivan 2003, EDF+; BioSemi, BDF): a 256-byte
header, 256 bytes per signal, then data records of a fixed duration, each holding a fixed
number of samples of every signal, little-endian two's complement integers of 16 bits
(EDF) or 24 bits (BDF), with
``physical = (digital - digital_min) * (physical_max - physical_min) /
(digital_max - digital_min) + physical_min``. EDF+ adds an annotation signal
(``EDF Annotations``; ``BDF Annotations`` in BDF+) holding time-stamped annotation lists
(TALs) ``+onset\x15duration\x14text\x14\x00``; the first TAL of each record keeps time
(``+onset\x14\x14\x00``) and the first record's onset gives the sub-second start.

Decisions (``docs/export.md``):

* **One EDF+C file per run** (no EDF+D): a gap in the EMG ends a file and the next
  stretch starts a new one. Where only the accelerometer is missing (its gap, its later
  start, its earlier end) the EMG goes on in an EMG-only file, so that every stored EMG
  sample is written; the accelerometer gap is an annotation. EDF+D cannot say "this
  signal is missing while that one goes on" (a record holds every signal), and every
  reader (pyedflib, edfio, MNE, spasmwatch's importer) agrees on every sample's time in
  a set of EDF+C files.
* Records last ``record_s`` (default 1 s, rounded to a whole number of samples of every
  signal). The end of a run shorter than a record goes into a small file of its own
  (``<name>_tail.edf``) holding one record of that duration, rounded down to the
  finest duration with a whole number of samples of every signal (10 ms for 1 kHz EMG
  and a 100 Hz accelerometer, 1 ms for the EMG alone). The EMG after the last whole
  accelerometer period (< 10 ms) continues in the next EMG-only file, or one of its own.
  Left out, and counted in :attr:`ExportResult.dropped_accel_samples`, are only
  accelerometer samples: where the EMG has a gap, in stretches shorter than
  :data:`MIN_JOINT_S` between two accelerometer gaps, at most 2 at the end of a run.
* Raw data are written as the stored counts when the format is wide enough (EDF for
  int16, BDF for int24): the digital range is the ADC's, the physical range its scale.
  Otherwise (filtered data; int24 forced into EDF) the physical range is the data's
  minimum and maximum of each file, so nothing is clipped; a value outside the digital
  range is an error, never clipped.
"""

from __future__ import annotations

import copy
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from dsp.filterbank import EmgFilterBank
from host.errors import ConfigError
from host.export._files import check_output_dir, check_output_file, output_error
from host.export.selection import (
    Annotation,
    Run,
    SessionSlice,
    SignalOptions,
    collect_annotations,
    count_limits,
    iter_chunks,
    make_filter,
    plan_runs,
    read_stream,
    stream_runs,
)
from host.storage import RecordingStore, SessionRecord, Stream

__all__ = [
    "MAX_RECORDS",
    "MIN_JOINT_S",
    "EdfFormat",
    "EdfSignal",
    "EdfWriter",
    "ExportResult",
    "ExportedFile",
    "PatientInfo",
    "RecordingInfo",
    "choose_record_s",
    "export_edf",
    "format_edf_number",
    "tal_bytes",
    "uses_bdf",
]

logger = logging.getLogger(__name__)

EdfFormat: TypeAlias = Literal["auto", "edf", "bdf"]
#: Largest number of data records in one file (the header field has 8 characters).
MAX_RECORDS = 99_999_999
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CHUNK_S = 600.0
#: A stretch with both streams shorter than this (s), between two accelerometer gaps of
#: the same gapless EMG, is written as EMG only (:func:`~host.export.selection.plan_runs`).
MIN_JOINT_S = 1.0


def _ascii(text: str) -> str:
    """Printable US-ASCII only (EDF header fields)."""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def _subfield(text: str | None) -> str:
    """Return an EDF+ identification subfield: no spaces, ``X`` when unknown."""
    value = _ascii(text or "").strip().replace(" ", "_")
    return value or "X"


def _edf_date(day: date) -> str:
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d}"


@dataclass(frozen=True)
class PatientInfo:
    """The EDF+ local patient identification (``code sex birthdate name``).

    Parameters
    ----------
    code : str or None
        Hospital or study code of the patient; None: unknown (``X``).
    sex : {"F", "M"} or None
        None: unknown.
    birthdate : date or None
        None: unknown.
    name : str or None
        None: unknown.
    """

    code: str | None = None
    sex: str | None = None
    birthdate: date | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        """Check the sex field."""
        if self.sex not in (None, "F", "M"):
            raise ConfigError(f"sex must be 'F', 'M' or unknown (None), got {self.sex!r}")

    def field(self, *, anonymize: bool) -> str:
        """Return the 80-character header field (without padding)."""
        if anonymize:
            return "X X X X"
        birth = _edf_date(self.birthdate) if self.birthdate else "X"
        return (f"{_subfield(self.code)} {self.sex or 'X'} {birth} {_subfield(self.name)}")[:80]


@dataclass(frozen=True)
class RecordingInfo:
    """The EDF+ local recording identification (``Startdate ... admin technician equipment``).

    Parameters
    ----------
    admin_code : str or None
        Hospital administration code of the investigation; None: unknown.
    technician : str or None
        Who made the recording; None: unknown.
    equipment : str
        The recording device (``spasmwatch`` and the board).
    """

    admin_code: str | None = None
    technician: str | None = None
    equipment: str = "spasmwatch"

    def field(self, start: datetime, *, anonymize: bool) -> str:
        """Return the 80-character header field (without padding)."""
        admin = "X" if anonymize else _subfield(self.admin_code)
        tech = "X" if anonymize else _subfield(self.technician)
        return (f"Startdate {_edf_date(start.date())} {admin} {tech} {_subfield(self.equipment)}")[
            :80
        ]


@dataclass(frozen=True)
class EdfSignal:
    """Header of one signal.

    Parameters
    ----------
    label : str
        At most 16 characters.
    transducer : str
        At most 80.
    unit : str
        Physical dimension, at most 8 (``uV``, ``g``).
    physical_min, physical_max : str
        Formatted numbers of at most 8 characters (:func:`format_edf_number`).
    digital_min, digital_max : int
        Digital range.
    prefilter : str
        At most 80.
    samples_per_record : int
        Samples in each data record.
    """

    label: str
    transducer: str
    unit: str
    physical_min: str
    physical_max: str
    digital_min: int
    digital_max: int
    prefilter: str
    samples_per_record: int

    @property
    def gain(self) -> float:
        """Physical units per digital step, from the header's (formatted) numbers."""
        return (float(self.physical_max) - float(self.physical_min)) / (
            self.digital_max - self.digital_min
        )

    def to_digital(self, values: NDArray[np.float64], what: str) -> NDArray[np.int32]:
        """Return the digital values of physical ``values`` (rounded to nearest).

        Raises
        ------
        ConfigError
            If a value is NaN or falls outside the digital range (it would be clipped).
        """
        digital = np.rint((values - float(self.physical_min)) / self.gain + self.digital_min)
        low, high = (
            np.min(digital, initial=self.digital_min),
            np.max(digital, initial=self.digital_max),
        )
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ConfigError(f"{what} holds NaN or infinite values: they cannot be written")
        if low < self.digital_min or high > self.digital_max:
            bad = values[(digital < self.digital_min) | (digital > self.digital_max)][0]
            raise ConfigError(
                f"{what}: the value {bad:g} {self.unit} is outside the range the file can hold "
                f"({self.physical_min} to {self.physical_max} {self.unit}); it would be "
                "clipped. Export in BDF (24 bit) or in physical units (the range then "
                "follows the data)."
            )
        return digital.astype(np.int32)


def format_edf_number(value: float, *, round_up: bool) -> str:
    """Format a number in at most 8 characters, rounded outward.

    Parameters
    ----------
    value : float
        The number.
    round_up : bool
        Round towards +inf (a physical maximum) instead of -inf (a minimum).

    Returns
    -------
    str
        The longest decimal representation that fits, never inside ``value``.

    Raises
    ------
    ConfigError
        If the number needs more than 8 characters even without decimals.
    """
    for decimals in range(7, -1, -1):
        step = 10.0**-decimals
        scaled = value / step
        near = round(scaled)
        if math.isclose(scaled, near, rel_tol=0, abs_tol=1e-6):
            scaled = float(near)
        rounded = (math.ceil(scaled) if round_up else math.floor(scaled)) * step
        text = f"{rounded:.{decimals}f}"
        if decimals:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        if len(text) <= 8:
            return text
    raise ConfigError(f"{value:g} does not fit the 8 characters of an EDF header number")


def tal_bytes(onset_s: float, duration_s: float | None, texts: Sequence[str]) -> bytes:
    r"""Return one EDF+ time-stamped annotation list (TAL).

    Parameters
    ----------
    onset_s : float
        Seconds from the file's start time (the header's, whole seconds).
    duration_s : float or None
        Duration, s; None or 0: none.
    texts : sequence of str
        Annotation texts (UTF-8); an empty sequence gives the time-keeping TAL.

    Returns
    -------
    bytes
        ``+onset[\x15duration]\x14text\x14...\x14\x00``.
    """
    onset = f"{onset_s:+.6f}".rstrip("0").rstrip(".")
    head = onset + (f"\x15{f'{duration_s:.6f}'.rstrip('0').rstrip('.')}" if duration_s else "")
    body = "".join(re.sub(r"[\x00-\x1f]", " ", t) + "\x14" for t in texts)
    return (head + "\x14" + (body or "\x14") + "\x00").encode("utf-8")


def choose_record_s(rates: Sequence[float], target_s: float = 1.0) -> Fraction:
    """Return the longest record duration <= ``target_s`` with whole samples at every rate.

    Parameters
    ----------
    rates : sequence of float
        Sampling rates, Hz.
    target_s : float
        Longest duration wanted, s.

    Returns
    -------
    Fraction
        The duration, s (a multiple of 1/gcd of the rates), written in at most 8
        characters.

    Raises
    ------
    ConfigError
        If no such duration exists (rates without a common period below ``target_s``).
    """
    base = _base_period(rates)
    target = Fraction(target_s).limit_denominator(1_000_000)
    k = max(1, math.floor(target / base))
    for kk in range(k, 0, -1):
        record = base * kk
        text = _duration_text(record)
        if text is not None and record <= max(target, base):
            return record
    raise ConfigError(
        f"no EDF record duration fits the sampling rates {list(rates)}: each record must "
        "hold a whole number of samples of every signal and its duration fit 8 characters"
    )


def _base_period(rates: Sequence[float]) -> Fraction:
    """Return the shortest duration with whole samples at every rate (1 / their gcd), s."""
    num = 0
    den = 1
    for rate in rates:
        f = Fraction(rate).limit_denominator(1_000_000)
        num = math.gcd(num * f.denominator, f.numerator * den)
        den = den * f.denominator
        g = math.gcd(num, den)
        num, den = num // g, den // g
    return 1 / Fraction(num, den)


def _duration_text(record: Fraction) -> str | None:
    for decimals in range(0, 8):
        text = f"{float(record):.{decimals}f}"
        if Fraction(text) == record and len(text) <= 8:
            return text
    return None


class EdfWriter:
    """Write an EDF+C or BDF+C file record by record (header first, counts known).

    Parameters
    ----------
    path : Path
        The file.
    signals : sequence of EdfSignal
        The data signals (the annotation signal is added last).
    start : datetime
        UTC start of the first record, with microseconds (the sub-second part goes to
        the first time-keeping TAL).
    record_s : Fraction
        Duration of a data record, s.
    n_records : int
        Number of records that will be written.
    annotation_bytes : int
        Bytes of the annotation signal per record.
    bdf : bool
        BDF+ (24 bit) instead of EDF+ (16 bit).
    patient, recording : str
        The identification fields (80 characters at most).
    """

    def __init__(
        self,
        path: Path,
        signals: Sequence[EdfSignal],
        *,
        start: datetime,
        record_s: Fraction,
        n_records: int,
        annotation_bytes: int,
        bdf: bool,
        patient: str,
        recording: str,
    ) -> None:
        if not 0 < n_records <= MAX_RECORDS:
            raise ConfigError(f"an EDF file holds 1 to {MAX_RECORDS} records, not {n_records}")
        self.width = 3 if bdf else 2
        n_annot = -(-annotation_bytes // self.width)
        low, high = (-(1 << 23), (1 << 23) - 1) if bdf else (-32768, 32767)
        self.annotation = EdfSignal(
            "BDF Annotations" if bdf else "EDF Annotations",
            "",
            "",
            "-1",
            "1",
            low,
            high,
            "",
            n_annot,
        )
        self.signals = tuple(signals)
        self.record_s = record_s
        self.n_records = n_records
        self.bdf = bdf
        self.start = start
        self.sub_s = start.microsecond / 1e6
        self._layout = [s.samples_per_record * self.width for s in self.signals]
        self.annotation_bytes = n_annot * self.width
        self.record_bytes = sum(self._layout) + self.annotation_bytes
        self._written = 0
        self._path = path
        header = self._header(patient, recording)
        try:
            self._file: BinaryIO = path.open("wb")
            self._file.write(header)
        except OSError as exc:
            raise output_error(exc, path) from exc

    def _header(self, patient: str, recording: str) -> bytes:
        all_signals = (*self.signals, self.annotation)
        ns = len(all_signals)
        duration = _duration_text(self.record_s)
        if duration is None:  # pragma: no cover - choose_record_s guarantees it
            raise ConfigError(f"record duration {self.record_s} does not fit 8 characters")
        start = self.start
        fields = [
            ("0", 8),
            (patient, 80),
            (recording, 80),
            (f"{start.day:02d}.{start.month:02d}.{start.year % 100:02d}", 8),
            (f"{start.hour:02d}.{start.minute:02d}.{start.second:02d}", 8),
            (str(256 * (ns + 1)), 8),
            ("BDF+C" if self.bdf else "EDF+C", 44),
            (str(self.n_records), 8),
            (duration, 8),
            (str(ns), 4),
        ]
        per_signal: list[tuple[list[str], int]] = [
            ([s.label for s in all_signals], 16),
            ([s.transducer for s in all_signals], 80),
            ([s.unit for s in all_signals], 8),
            ([s.physical_min for s in all_signals], 8),
            ([s.physical_max for s in all_signals], 8),
            ([str(s.digital_min) for s in all_signals], 8),
            ([str(s.digital_max) for s in all_signals], 8),
            ([s.prefilter for s in all_signals], 80),
            ([str(s.samples_per_record) for s in all_signals], 8),
            (["" for _ in all_signals], 32),
        ]
        out = bytearray()
        for text, size in fields:
            out += _ascii(text)[:size].ljust(size).encode("ascii")
        for texts, size in per_signal:
            for text in texts:
                value = _ascii(text)
                if len(value) > size:
                    raise ConfigError(f"EDF header field {value!r} is longer than {size}")
                out += value.ljust(size).encode("ascii")
        if self.bdf:
            out[0:8] = b"\xffBIOSEMI"
        return bytes(out)

    def timekeeping(self, first_record: int, n: int) -> list[bytes]:
        """Return the time-keeping TALs of records ``first_record`` .. ``+ n``."""
        step = float(self.record_s)
        return [tal_bytes(self.sub_s + (first_record + k) * step, None, ()) for k in range(n)]

    def write(self, digital: Sequence[NDArray[np.int32]], annotations: Sequence[bytes]) -> None:
        """Append whole records.

        Parameters
        ----------
        digital : sequence of ndarray of int32
            Per data signal, ``n * samples_per_record`` digital values in time order.
        annotations : sequence of bytes
            The annotation signal's bytes of each of the ``n`` records (time-keeping TAL
            first), each at most :attr:`annotation_bytes`.
        """
        n = len(annotations)
        buf = np.zeros((n, self.record_bytes), dtype=np.uint8)
        offset = 0
        for signal, values, size in zip(self.signals, digital, self._layout, strict=True):
            if values.size != n * signal.samples_per_record:
                raise ConfigError(
                    f"{signal.label}: {values.size} samples for {n} records of "
                    f"{signal.samples_per_record}"
                )
            target = buf[:, offset : offset + size].reshape(n, -1, self.width)
            if self.width == 2:
                target[...] = values.astype("<i2").view(np.uint8).reshape(n, -1, 2)
            else:  # the low 3 bytes of little-endian int32
                target[...] = values.astype("<i4").view(np.uint8).reshape(n, -1, 4)[:, :, :3]
            offset += size
        for k, text in enumerate(annotations):
            if len(text) > self.annotation_bytes:  # pragma: no cover - planned beforehand
                raise ConfigError("annotations do not fit the record")
            buf[k, offset : offset + len(text)] = np.frombuffer(text, dtype=np.uint8)
        try:
            buf.tofile(self._file)
        except OSError as exc:
            raise output_error(exc, self._path) from exc
        self._written += n

    def close_quietly(self) -> None:
        """Close and remove an unfinished file (after an error)."""
        self._file.close()
        self._path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file; it must hold the announced number of records."""
        self._file.close()
        if self._written != self.n_records:
            raise ConfigError(
                f"{self._path}: {self._written} records written, {self.n_records} announced"
            )


@dataclass(frozen=True)
class ExportedFile:
    """One written file of an export.

    Attributes
    ----------
    path : Path
        The file.
    session_id : int
        The session its samples come from.
    t_start_us : int
        UTC µs of its first EMG sample.
    duration_s : float
        Length of its signal, s.
    n_emg_samples, n_accel_samples : int
        Samples written per channel.
    n_annotations : int
        Annotations written (episodes, markers, link events, gaps).
    """

    path: Path
    session_id: int
    t_start_us: int
    duration_s: float
    n_emg_samples: int
    n_accel_samples: int
    n_annotations: int


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes
    ----------
    format : str
        ``"edf"``, ``"bdf"``, ``"csv"``, ``"parquet"``, ``"bids"``.
    files : list of ExportedFile
        The signal files, in time order.
    values : str
        Which values (raw or filtered, units), as stated in the files.
    dropped_emg_samples, dropped_accel_samples : int
        Stored samples in the selection not written. EMG: always 0 (kept as a check).
        Accelerometer: samples where the EMG has a gap, those of stretches shorter than
        :data:`MIN_JOINT_S` between two accelerometer gaps (written as EMG only), and at
        most 2 per run that the alignment of the two streams puts after the end of the
        EMG; 0 without accelerometer.
    max_accel_offset_us : int
        Largest offset between the first accelerometer and EMG sample of a file.
    extra_files : list of Path
        Tables, sidecars and other files written.
    with_accel : bool
        The export includes the accelerometer (a signal file without accelerometer
        samples then holds EMG only because the accelerometer is missing there).
    """

    format: str
    files: list[ExportedFile] = field(default_factory=list)
    values: str = ""
    dropped_emg_samples: int = 0
    dropped_accel_samples: int = 0
    max_accel_offset_us: int = 0
    extra_files: list[Path] = field(default_factory=list)
    with_accel: bool = False


def uses_bdf(sessions: Sequence[SessionRecord], fmt: str, with_accel: bool) -> bool:
    """Return True if an export of ``sessions`` in format ``fmt`` is BDF+ (24 bit)."""
    if fmt not in ("auto", "edf", "bdf"):
        raise ConfigError(
            f"Invalid value for the 'fmt' parameter. Allowed values are 'auto', 'edf', 'bdf', "
            f"but got {fmt!r} instead."
        )
    if fmt != "auto":
        return fmt == "bdf"
    wide = any(s.sample_format == "int24" for s in sessions) or any(
        with_accel and s.has_accel and s.accel_sample_format == "int24" for s in sessions
    )
    return wide


def _channel_label(prefix: str, name: str) -> str:
    label = name if name.upper().startswith(prefix.upper()) else f"{prefix} {name}"
    return _ascii(label)[:16]


@dataclass
class _Plan:
    """One file to write: ``n_records`` records of ``record_s`` from the start of ``run``.

    ``continues``: the file continues the previous one's run without a gap (the filter
    keeps its state); ``tail``: it holds the end of a run shorter than a record.
    """

    run: Run
    n_records: int
    record_s: Fraction
    spr: dict[str, int]
    continues: bool = False
    tail: bool = False
    path: Path = Path()
    annotations: list[Annotation] = field(default_factory=list)


def _sample_time_us(store: RecordingStore, run: Run, stream: Stream, sample: int) -> int:
    """Return the stored UTC time of one sample (as ``read_emg``/``read_accel`` give it)."""
    return int(read_stream(store, run.session, stream, sample, sample + 1).times_us()[0])


def _advance(store: RecordingStore, run: Run, n_emg: int, n_accel: int) -> Run:
    """Return the rest of ``run`` after its first ``n_emg`` / ``n_accel`` samples."""
    e0 = run.emg[0] + n_emg
    t_emg = _sample_time_us(store, run, "emg", e0)
    if run.accel is None:
        return Run(run.session, (e0, run.emg[1]), None, t_emg, continues=True)
    a0 = run.accel[0] + n_accel
    offset = 0
    if a0 < run.accel[1]:
        offset = _sample_time_us(store, run, "accel", a0) - t_emg
    return Run(run.session, (e0, run.emg[1]), (a0, run.accel[1]), t_emg, offset, True)


def _plan_run(
    store: RecordingStore, run: Run, rates: Sequence[float], rec: Fraction
) -> list[_Plan]:
    """Cut a run into files of whole ``rec`` records and a tail file of one shorter record."""
    fracs = [Fraction(r).limit_denominator(1_000_000) for r in rates]
    accel = run.accel is not None

    def fits(duration: Fraction) -> tuple[int, int, int]:
        """Return the records of ``duration`` that the run holds and the samples per record."""
        spr_e = int(duration * fracs[0])
        spr_a = int(duration * fracs[-1]) if accel else 0
        n = run.n_emg // spr_e
        if accel:
            n = min(n, run.n_accel // spr_a)
        return n, spr_e, spr_a

    plans: list[_Plan] = []
    n_rec, spr_e, spr_a = fits(rec)
    while n_rec > 0:
        take = min(n_rec, MAX_RECORDS)
        spr = {"emg": spr_e, "accel": spr_a}
        plans.append(_Plan(run, take, rec, spr, run.continues or bool(plans)))
        n_rec -= take
        if take * spr_e == run.n_emg:
            return plans
        run = _advance(store, run, take * spr_e, take * spr_a)
    # The rest is shorter than a record: one record of its length, rounded down to a whole
    # number of samples of every signal (and to a duration written in 8 characters).
    base = _base_period(rates)
    k, spr_e, spr_a = fits(base)
    while k > 0 and _duration_text(base * k) is None:
        k -= 1
    if k > 0:
        spr = {"emg": k * spr_e, "accel": k * spr_a}
        plans.append(_Plan(run, 1, base * k, spr, run.continues or bool(plans), bool(plans)))
    return plans


def _with_rest(
    store: RecordingStore,
    runs: Sequence[Run],
    rates: Sequence[float],
    emg_rates: Sequence[float],
    rec: Fraction,
    emg_rec: Fraction,
) -> Iterator[list[_Plan]]:
    """Plan the files of each run; the EMG a run with the accelerometer leaves over goes on.

    A run with both streams ends at its last whole accelerometer period (< 10 ms before its
    end at 1 kHz / 100 Hz). Its remaining EMG starts the EMG-only run that continues it,
    or is an EMG-only file of its own, so that every EMG sample is written.
    """
    rest: Run | None = None

    def plan(run: Run) -> list[_Plan]:
        joint = run.accel is not None
        return _plan_run(store, run, rates if joint else emg_rates, rec if joint else emg_rec)

    def emg_only(first: int, stop: int, like: Run) -> Run:
        t_us = _sample_time_us(store, like, "emg", first)
        return Run(like.session, (first, stop), None, t_us, continues=True)

    for run in runs:
        if rest is not None:
            if run.continues and run.accel is None and run.emg[0] == rest.emg[1]:
                run = emg_only(rest.emg[0], run.emg[1], run)
            else:
                yield plan(rest)
        rest = None
        plans = plan(run)
        written = sum(p.n_records * p.spr["emg"] for p in plans)
        if run.accel is not None and written < run.n_emg:
            rest = emg_only(run.emg[0] + written, run.emg[1], run)
        yield plans
    if rest is not None:
        yield plan(rest)


def _stream_signals(
    store: RecordingStore,
    run: Run,
    stream: Stream,
    options: SignalOptions,
    spr: int,
    n_samples: int,
    bdf: bool,
    bank: EmgFilterBank | None,
) -> list[EdfSignal]:
    session = run.session
    target = (-(1 << 23), (1 << 23) - 1) if bdf else (-32768, 32767)
    low, high = count_limits(session, stream)
    fits = target[0] <= low and high <= target[1]
    if stream == "emg":
        names = [_channel_label("EMG", n) for n in session.channel_names]
        unit = "counts" if options.units == "counts" else "uV"
        per_count = session.emg_volts_per_count * 1e6
        prefilter = options.prefilter_text(session.sfreq)
        transducer = "spasmwatch surface EMG electrodes"
        filtered = options.filtered
    else:
        names = [_channel_label("Accel", n.upper()) for n in session.accel_channel_names]
        unit = "counts" if options.units == "counts" else "g"
        per_count = float(session.accel_g_per_count or 1.0)
        prefilter = "none"
        transducer = "spasmwatch 3-axis accelerometer"
        filtered = False
    if options.units == "counts":
        d_lo, d_hi = (low, high) if fits else target
        ranges = [(str(d_lo), str(d_hi), d_lo, d_hi)] * len(names)
    elif fits and not filtered:
        p_lo = format_edf_number(low * per_count, round_up=False)
        p_hi = format_edf_number(high * per_count, round_up=True)
        ranges = [(p_lo, p_hi, low, high)] * len(names)
    else:
        mins, maxs = _scan_range(store, run, stream, options, n_samples, bank)
        ranges = []
        for lo_v, hi_v in zip(mins, maxs, strict=True):
            if hi_v - lo_v < 1e-3:
                lo_v, hi_v = lo_v - 1.0, hi_v + 1.0
            ranges.append(
                (
                    format_edf_number(lo_v, round_up=False),
                    format_edf_number(hi_v, round_up=True),
                    target[0],
                    target[1],
                )
            )
    return [
        EdfSignal(name, transducer, unit, p_lo, p_hi, d_lo, d_hi, prefilter, spr)
        for name, (p_lo, p_hi, d_lo, d_hi) in zip(names, ranges, strict=True)
    ]


def _scan_range(
    store: RecordingStore,
    run: Run,
    stream: Stream,
    options: SignalOptions,
    n_samples: int,
    bank: EmgFilterBank | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Minimum and maximum of every channel over what will be written (first pass).

    The EMG filter runs on a copy of ``bank``, whose state the writing pass then uses.
    """
    session = run.session
    s0 = run.emg[0] if stream == "emg" else (run.accel or (0, 0))[0]
    sfreq = session.sfreq if stream == "emg" else float(session.accel_sfreq or 1.0)
    bank = copy.deepcopy(bank) if stream == "emg" else None
    n_ch = session.n_channels if stream == "emg" else len(session.accel_channel_names)
    mins = np.full(n_ch, np.inf)
    maxs = np.full(n_ch, -np.inf)
    for chunk in iter_chunks(
        store,
        session,
        stream,
        s0,
        s0 + n_samples,
        options,
        chunk_samples=round(_CHUNK_S * sfreq),
        filter_bank=bank,
    ):
        np.minimum(mins, chunk.data.min(axis=1), out=mins)
        np.maximum(maxs, chunk.data.max(axis=1), out=maxs)
    return mins, maxs


def _output_paths(output: Path, plans: Sequence[_Plan], suffix: str) -> list[Path]:
    """``<stem>.edf`` or ``<stem>_partNN.edf``; a tail file adds ``_tail`` to its part's stem."""
    if output.suffix.lower() in (".edf", ".bdf"):
        if output.suffix.lower() != suffix:
            raise ConfigError(
                f"the output {output} ends in {output.suffix} but the export is "
                f"{suffix[1:].upper()}: name it *{suffix} or choose the format explicitly"
            )
        n_parts = sum(not p.tail for p in plans)
        paths: list[Path] = []
        part = 0
        for plan in plans:
            if plan.tail:
                paths.append(paths[-1].with_name(f"{paths[-1].stem}_tail{suffix}"))
                continue
            part += 1
            stem = output.stem if n_parts == 1 else f"{output.stem}_part{part:02d}"
            paths.append(output.with_name(stem + suffix))
        return paths
    raise ConfigError(f"give an output file name ending in {suffix}, got {output}")


def _assign_annotations(plans: Sequence[_Plan], annotations: Sequence[Annotation]) -> None:
    """Each annotation goes into the last file starting at or before it (else the first).

    "At or before" with one EMG sample period of tolerance: an accelerometer gap starts
    up to one EMG period before the EMG-only file that holds the EMG during the gap.
    """
    starts = [p.run.t_start_us - math.ceil(1e6 / p.run.session.sfreq) for p in plans]
    for annotation in annotations:
        index = max(0, int(np.searchsorted(starts, annotation.onset_us, side="right")) - 1)
        plans[index].annotations.append(annotation)


def _annotation_layout(
    plan: _Plan, writer_sub_s: float, record_s: Fraction, width: int
) -> tuple[int, dict[int, list[bytes]]]:
    """Bytes per record of the annotation signal and the TALs placed in each record."""
    step = float(record_s)
    n = plan.n_records
    file_start_s = plan.run.t_start_us // 1_000_000
    tals: list[tuple[int, bytes]] = []
    for a in plan.annotations:
        onset = (a.onset_us - file_start_s * 1_000_000) / 1e6
        natural = min(n - 1, max(0, math.floor((onset - writer_sub_s) / step)))
        tals.append((natural, tal_bytes(onset, a.duration_us / 1e6, [a.text])))
    keeping = len(tal_bytes(writer_sub_s + n * step, None, ()))
    longest = max((len(t) for _, t in tals), default=0)
    total = sum(len(t) for _, t in tals)
    extra = max(longest, math.ceil(2 * total / n), 0)
    while True:
        placed: dict[int, list[bytes]] = {}
        used: dict[int, int] = {}
        ok = True
        for natural, tal in tals:
            k = natural
            while k < n and used.get(k, 0) + len(tal) > extra:
                k += 1
            if k >= n:
                ok = False
                break
            placed.setdefault(k, []).append(tal)
            used[k] = used.get(k, 0) + len(tal)
        if ok:
            size = keeping + extra
            return size + (-size) % width, placed
        extra = max(2 * extra, 64)


def export_edf(
    store: RecordingStore,
    pieces: Sequence[SessionSlice],
    output: str | Path,
    *,
    fmt: EdfFormat = "auto",
    options: SignalOptions | None = None,
    patient: PatientInfo | None = None,
    recording: RecordingInfo | None = None,
    anonymize: bool = False,
    record_s: float = 1.0,
    with_accel: bool = True,
    overwrite: bool = False,
) -> ExportResult:
    """Export session slices to EDF+C or BDF+C files, one per run of gapless EMG.

    Where the accelerometer is missing but the EMG goes on, the EMG is written to an
    EMG-only file (:func:`~host.export.selection.plan_runs`): every stored EMG sample is
    in exactly one file.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    pieces : sequence of SessionSlice
        What to export (:func:`~host.export.selection.select_sessions`).
    output : path-like
        File name ending in ``.edf`` or ``.bdf``; several runs are written as
        ``<stem>_part01.edf``, ``<stem>_part02.edf``, ... (EMG-only runs too); the end
        of a run shorter than a record as ``<stem>[_partNN]_tail.edf`` (one shorter
        record).
    fmt : {"auto", "edf", "bdf"}
        ``"auto"``: BDF+ when a stored stream is 24 bit, else EDF+.
    options : SignalOptions or None
        Units and filtering; None: raw microvolts.
    patient : PatientInfo or None
        Patient identification; None: unknown.
    recording : RecordingInfo or None
        Recording identification; None: equipment ``spasmwatch``.
    anonymize : bool
        Write ``X`` for every patient subfield, the administration code and the
        technician (the times are kept).
    record_s : float
        Longest data record duration, s.
    with_accel : bool
        Include the accelerometer (when the session has one).
    overwrite : bool
        Replace existing files.

    Returns
    -------
    ExportResult
        The files and what was left out.

    Raises
    ------
    ConfigError
        On an unwritable output, nothing to write (no gapless sample period of every
        stream), or a value that does not fit the file's range.
    """
    options = options or SignalOptions()
    patient = patient or PatientInfo()
    recording = recording or RecordingInfo()
    output = Path(output)
    if not pieces:
        raise ConfigError("nothing to export: no session slice given")
    bdf = uses_bdf([p.session for p in pieces], fmt, with_accel)
    suffix = ".bdf" if bdf else ".edf"
    if output.suffix == "" or output.is_dir():
        check_output_dir(output)
        output = output / f"session{pieces[0].session.id}{suffix}"
    width = 3 if bdf else 2
    result = ExportResult(format="bdf" if bdf else "edf")
    plans: list[_Plan] = []
    annotations: list[Annotation] = []
    stored_emg = stored_acc = 0
    for piece in pieces:
        session = piece.session
        accel = with_accel and session.has_accel
        rates = [session.sfreq] + ([float(session.accel_sfreq or 0)] if accel else [])
        rec = choose_record_s(rates, record_s)
        result.with_accel = result.with_accel or accel
        annotations += collect_annotations(store, piece)
        # Every stored sample of the selection, so that what is left out is counted exactly.
        stored_emg += sum(b - a for a, b in stream_runs(store, piece, "emg"))
        if accel:
            stored_acc += sum(b - a for a, b in stream_runs(store, piece, "accel"))
        emg_rates = rates[:1]
        emg_rec = choose_record_s(emg_rates, record_s)
        for run in _with_rest(
            store,
            plan_runs(store, piece, with_accel=accel, min_joint_s=MIN_JOINT_S),
            rates,
            emg_rates,
            rec,
            emg_rec,
        ):
            for plan in run:
                plans.append(plan)
                result.dropped_emg_samples -= plan.n_records * plan.spr["emg"]
                result.dropped_accel_samples -= plan.n_records * plan.spr["accel"]
        result.max_accel_offset_us = max(
            [result.max_accel_offset_us] + [abs(p.run.accel_offset_us) for p in plans]
        )
    result.dropped_emg_samples += stored_emg
    result.dropped_accel_samples += stored_acc
    if not plans:
        raise ConfigError(
            "nothing to write: no gapless stretch of the selection holds a whole sample "
            "period of every exported stream"
        )
    paths = _output_paths(output, plans, suffix)
    for path in paths:
        check_output_file(path, overwrite=overwrite)
    for plan, path in zip(plans, paths, strict=True):
        plan.path = path
    _assign_annotations(plans, annotations)
    result.values = options.describe(pieces[0].session.sfreq)
    bank: EmgFilterBank | None = None
    for plan in plans:
        if not plan.continues:  # a new run: the filter restarts, as after a gap live
            bank = make_filter(plan.run.session, options)
        result.files.append(
            _write_plan(store, plan, options, patient, recording, anonymize, bdf, width, bank)
        )
        logger.info("wrote %s", plan.path)
    if result.dropped_emg_samples or result.dropped_accel_samples:
        logger.info(
            "not written: %d EMG and %d accelerometer samples",
            result.dropped_emg_samples,
            result.dropped_accel_samples,
        )
    return result


def _write_plan(
    store: RecordingStore,
    plan: _Plan,
    options: SignalOptions,
    patient: PatientInfo,
    recording: RecordingInfo,
    anonymize: bool,
    bdf: bool,
    width: int,
    bank: EmgFilterBank | None,
) -> ExportedFile:
    run, session = plan.run, plan.run.session
    accel = run.accel is not None
    rec = plan.record_s
    spr_e, spr_a = plan.spr["emg"], plan.spr["accel"]
    n_emg, n_acc = plan.n_records * spr_e, plan.n_records * spr_a
    signals = _stream_signals(store, run, "emg", options, spr_e, n_emg, bdf, bank)
    if accel:
        signals += _stream_signals(store, run, "accel", options, spr_a, n_acc, bdf, None)
    start = datetime.fromtimestamp(run.t_start_us // 1_000_000, tz=UTC).replace(
        microsecond=run.t_start_us % 1_000_000
    )
    sub_s = start.microsecond / 1e6
    annot_bytes, placed = _annotation_layout(plan, sub_s, rec, width)
    writer = EdfWriter(
        plan.path,
        signals,
        start=start,
        record_s=rec,
        n_records=plan.n_records,
        annotation_bytes=annot_bytes,
        bdf=bdf,
        patient=patient.field(anonymize=anonymize),
        recording=recording.field(start, anonymize=anonymize),
    )
    n_emg_ch = session.n_channels
    chunk_records = max(1, round(_CHUNK_S / float(rec)))
    try:
        emg_iter = iter_chunks(
            store,
            session,
            "emg",
            run.emg[0],
            run.emg[0] + n_emg,
            options,
            chunk_samples=chunk_records * spr_e,
            filter_bank=bank,
        )
        acc_iter: Iterator[object] = (
            iter_chunks(
                store,
                session,
                "accel",
                run.accel[0],
                run.accel[0] + n_acc,
                options,
                chunk_samples=chunk_records * spr_a,
            )
            if run.accel is not None
            else iter(())
        )
        record = 0
        for emg_chunk in emg_iter:
            n = emg_chunk.data.shape[1] // spr_e
            digital = [
                signals[i].to_digital(emg_chunk.data[i], f"{signals[i].label} of {plan.path.name}")
                for i in range(n_emg_ch)
            ]
            if accel:
                acc_chunk = next(acc_iter)
                acc_data = acc_chunk.data  # type: ignore[attr-defined]
                digital += [
                    signals[n_emg_ch + j].to_digital(
                        acc_data[j], f"{signals[n_emg_ch + j].label} of {plan.path.name}"
                    )
                    for j in range(acc_data.shape[0])
                ]
            keeping = writer.timekeeping(record, n)
            texts = [keeping[k] + b"".join(placed.get(record + k, ())) for k in range(n)]
            writer.write(digital, texts)
            record += n
    except BaseException:
        writer.close_quietly()
        raise
    writer.close()
    return ExportedFile(
        plan.path,
        session.id,
        run.t_start_us,
        plan.n_records * float(rec),
        n_emg,
        n_acc,
        len(plan.annotations),
    )

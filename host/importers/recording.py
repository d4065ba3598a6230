"""What a recording file holds, and the one entry point that opens any supported format.

:func:`open_recording` picks a reader from the file's extension (or ``format=``) and
returns a :class:`RecordingReader`: its :attr:`~RecordingReader.info` describes the
recording (a :class:`RecordingInfo`, like ``pylsl.StreamInfo`` describes a stream) and
:meth:`~RecordingReader.blocks` streams it as consecutive :class:`RecordingBlock`
objects of EMG in volts and acceleration in g, with NaN wherever the file has a gap.
:func:`read_recording` reads a whole file into memory.

Format modules are imported only inside :func:`open_recording`, the way a backend
selector imports its backends, so that this module holds the contract alone.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError, RecordingError
from host.importers.channels import ChannelSelection, select_channels

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Annotation",
    "ChannelOptions",
    "RecordingBlock",
    "RecordingInfo",
    "RecordingReader",
    "WindowReader",
    "accel_bound",
    "block_length",
    "open_recording",
    "rate_ratio",
    "read_recording",
    "resolve_format",
]

#: Formats understood, as given to ``format=`` (``"tsv"`` is read as ``"csv"``).
FORMATS = ("edf", "bdf", "csv", "tsv", "sw1", "wfdb")

#: File extensions understood (case-insensitive) and the format each implies.
SUFFIXES: dict[str, str] = {
    ".edf": "edf",
    ".bdf": "bdf",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".sw1": "sw1",
    ".hea": "wfdb",
}

ChannelSpec = Sequence[str | int]


@dataclass(frozen=True)
class ChannelOptions:
    """The channel options of :func:`open_recording`, passed on to a reader unchanged."""

    emg: ChannelSpec | None = None
    sides: Sequence[str] | None = None
    accel: ChannelSpec | None = None
    accel_unit: str | None = None
    emg_unit: str | None = None

    def select(
        self, labels: Sequence[str], units: Sequence[str], sfreqs: Sequence[float]
    ) -> ChannelSelection:
        """Apply :func:`~host.importers.channels.select_channels` with these options."""
        return select_channels(
            labels,
            units,
            sfreqs,
            emg=self.emg,
            sides=self.sides,
            accel=self.accel,
            emg_unit=self.emg_unit,
            accel_unit=self.accel_unit,
        )


@dataclass(frozen=True)
class Annotation:
    """One annotation of a recording (an EDF+ TAL entry, for instance).

    Attributes
    ----------
    onset_s : float
        Seconds from the first sample of the recording (``RecordingInfo.start``).
    duration_s : float
        Duration in seconds; 0.0 when the file gives none.
    text : str
        The annotation text.
    """

    onset_s: float
    duration_s: float
    text: str


@dataclass(frozen=True)
class RecordingInfo:
    """Description of a recording: what is in it, at which rates, since when.

    Attributes
    ----------
    path : str
        The file read.
    format : {"edf", "bdf", "csv", "sw1"}
        Its format (EDF+ is ``"edf"``, BDF+ is ``"bdf"``, TSV is ``"csv"``).
    sfreq : float
        EMG sampling rate in Hz.
    emg_labels : tuple of str
        Labels of the EMG channels used, one or two, in the order of the data rows.
    sides : tuple of str
        ``"left"`` or ``"right"``, one per EMG channel.
    accel_sfreq : float or None
        Accelerometer rate in Hz; None without accelerometer.
    accel_labels : tuple of str
        Labels of the x, y and z accelerometer channels; ``()`` without accelerometer.
    n_times : int
        EMG samples, gaps (NaN) included.
    n_accel_times : int
        Accelerometer samples, gaps included; 0 without accelerometer.
    start : datetime or None
        Time of the first sample, timezone-aware UTC; None when the file does not say.
    annotations : tuple of Annotation
        Annotations in the file, in file order.
    other_labels : tuple of str
        Channels present but not used.
    warnings : tuple of str
        Human-readable notes on assumptions made and irregularities met while opening.
    """

    path: str
    format: str
    sfreq: float
    emg_labels: tuple[str, ...]
    sides: tuple[str, ...]
    accel_sfreq: float | None
    accel_labels: tuple[str, ...]
    n_times: int
    n_accel_times: int
    start: datetime | None
    annotations: tuple[Annotation, ...]
    other_labels: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        """Duration of the EMG in seconds (``n_times / sfreq``)."""
        return self.n_times / self.sfreq


@dataclass(frozen=True, eq=False)
class RecordingBlock:
    """A stretch of a recording.

    Attributes
    ----------
    emg : ndarray, shape (n_emg, n_times)
        EMG in volts, rows as ``RecordingInfo.emg_labels``; NaN at gaps.
    accel : ndarray, shape (3, n_accel) or None
        Acceleration in g, rows x, y, z; NaN at gaps; None without accelerometer.
    first_sample : int
        Index of the block's first EMG sample in the recording.
    first_accel_sample : int
        Index of the block's first accelerometer sample (0 without accelerometer).
    """

    emg: NDArray[np.float64]
    accel: NDArray[np.float64] | None
    first_sample: int
    first_accel_sample: int


class RecordingReader(ABC):
    """An open recording: its description and its data, block by block.

    Use it as a context manager, or call :meth:`close`.

    Attributes
    ----------
    info : RecordingInfo
        What the recording holds.
    """

    info: RecordingInfo

    @abstractmethod
    def blocks(self, block_s: float = 10.0) -> Iterator[RecordingBlock]:
        """Stream the recording as consecutive blocks.

        Parameters
        ----------
        block_s : float
            Duration of each block in seconds (the last one may be shorter). Rounded to
            a whole number of EMG samples, at least one.

        Returns
        -------
        iterator of RecordingBlock
            Blocks that cover the whole recording in order, with memory bounded by the
            block size. Each accelerometer block covers the same time span as its EMG
            block: accelerometer sample ``j`` (at ``j / accel_sfreq`` s) belongs to the
            block whose EMG span ``[a, b)`` holds it, that is
            ``ceil(a * accel_sfreq / sfreq) <= j < ceil(b * accel_sfreq / sfreq)``,
            computed exactly so that long recordings never drift.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def block_length(block_s: float, sfreq: float) -> int:
    """Return the number of samples in a block of ``block_s`` seconds.

    Parameters
    ----------
    block_s : float
        Block duration in seconds.
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    int
        ``round(block_s * sfreq)``, at least 1.

    Raises
    ------
    ConfigError
        If ``block_s`` is not a positive finite number.
    """
    if not (isinstance(block_s, int | float) and math.isfinite(block_s) and block_s > 0):
        raise ConfigError(f"block_s must be a positive number of seconds, got {block_s!r}")
    return max(1, round(block_s * sfreq))


def rate_ratio(accel_sfreq: float, sfreq: float) -> Fraction:
    """Return ``accel_sfreq / sfreq`` as an exact fraction.

    Parameters
    ----------
    accel_sfreq, sfreq : float
        Accelerometer and EMG rates in Hz, rounded to 1 µHz.

    Returns
    -------
    Fraction
        The ratio, so that sample index arithmetic never accumulates rounding error.
    """
    return Fraction(round(accel_sfreq * 1_000_000), round(sfreq * 1_000_000))


def accel_bound(emg_index: int, ratio: Fraction, n_times: int, n_accel: int) -> int:
    """Return the first accelerometer sample at or after EMG sample ``emg_index``.

    Parameters
    ----------
    emg_index : int
        An EMG sample index in ``[0, n_times]``.
    ratio : Fraction
        ``accel_sfreq / sfreq``.
    n_times, n_accel : int
        EMG and accelerometer sample counts of the recording.

    Returns
    -------
    int
        ``ceil(emg_index * ratio)`` clipped to ``n_accel``; the end of the EMG maps to
        the end of the accelerometer, so that blocks always cover both completely.
    """
    if emg_index >= n_times:
        return n_accel
    return min(-((-emg_index * ratio.numerator) // ratio.denominator), n_accel)


class WindowReader(RecordingReader):
    """A reader that can fetch any stretch of the timeline (random access).

    Subclasses set :attr:`info` and :attr:`accel_ratio` and implement :meth:`window`;
    :meth:`blocks` is built on it.
    """

    accel_ratio: Fraction = Fraction(1)
    _closed: bool = False

    @abstractmethod
    def window(
        self, start: int, stop: int, accel_start: int, accel_stop: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Return EMG samples ``[start, stop)`` and accelerometer ``[accel_start, accel_stop)``.

        Parameters
        ----------
        start, stop : int
            EMG sample range, within ``[0, n_times]``.
        accel_start, accel_stop : int
            Accelerometer sample range, within ``[0, n_accel_times]``.

        Returns
        -------
        emg : ndarray, shape (n_emg, stop - start)
            Volts, NaN at gaps.
        accel : ndarray, shape (3, accel_stop - accel_start) or None
            g, NaN at gaps; None without accelerometer.
        """

    def _check_open(self) -> None:
        if self._closed:
            raise RecordingError(f"{self.info.path}: the reader is closed")

    def blocks(self, block_s: float = 10.0) -> Iterator[RecordingBlock]:
        """Stream the recording as consecutive blocks (see :meth:`RecordingReader.blocks`)."""
        self._check_open()
        return self._blocks(block_length(block_s, self.info.sfreq))

    def _blocks(self, n: int) -> Iterator[RecordingBlock]:
        info = self.info
        for start in range(0, info.n_times, n):
            self._check_open()
            stop = min(start + n, info.n_times)
            acc0 = accel_bound(start, self.accel_ratio, info.n_times, info.n_accel_times)
            acc1 = accel_bound(stop, self.accel_ratio, info.n_times, info.n_accel_times)
            emg, accel = self.window(start, stop, acc0, acc1)
            yield RecordingBlock(
                emg=emg,
                accel=accel,
                first_sample=start,
                first_accel_sample=acc0 if accel is not None else 0,
            )


def resolve_format(path: Path, format: str | None) -> str:
    """Return the format to read ``path`` as, from ``format=`` or the extension.

    Raises
    ------
    RecordingError
        If the format (or extension) is not supported.
    """
    supported = ", ".join(sorted(SUFFIXES))
    if format is not None:
        key = str(format).strip().lower().lstrip(".")
        if key not in FORMATS:
            raise RecordingError(
                f"unsupported format {format!r}; supported formats are "
                f"{', '.join(FORMATS)} (files {supported})"
            )
        return "csv" if key == "tsv" else key
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RecordingError(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; supported "
            f"formats are EDF/EDF+ (.edf), BDF/BDF+ (.bdf), CSV/TSV (.csv, .tsv, .txt), WFDB "
            f"(.hea) and spasmwatch captures (.sw1); give format= to read a file with another "
            f"name"
        )
    return SUFFIXES[suffix]


def open_recording(
    path: str | Path,
    *,
    format: str | None = None,
    emg: ChannelSpec | None = None,
    sides: Sequence[str] | None = None,
    accel: ChannelSpec | None = None,
    accel_unit: str | None = None,
    emg_unit: str | None = None,
    sfreq: float | None = None,
) -> RecordingReader:
    """Open a recording file for streaming.

    Parameters
    ----------
    path : str | Path
        An EDF/EDF+ (``.edf``), BDF/BDF+ (``.bdf``), CSV/TSV (``.csv``, ``.tsv``,
        ``.txt``) or capture (``.sw1``) file.
    format : {"edf", "bdf", "csv", "tsv", "sw1"}, optional
        The format, when the extension does not tell (case-insensitive).
    emg : sequence of str or int, optional
        The EMG channels (one or two), by label (exact, case-insensitive) or by index
        among the file's data channels (time column and annotation signals not
        counted). Default: channels whose label holds the word ``EMG``.
    sides : sequence of {"left", "right"}, optional
        Side of each EMG channel. Default: from the labels (``L``, ``left``, ``R``...).
    accel : sequence of str or int, optional
        The x, y and z accelerometer channels; ``[]`` ignores the accelerometer.
        Default: channels whose label names an accelerometer axis (``Accel X``...).
    accel_unit : str, optional
        Unit of the accelerometer values (``g``, ``mg``, ``m/s^2``), overriding the
        file's.
    emg_unit : str, optional
        Unit of the EMG values (``V``, ``mV``, ``uV``, ``nV``), overriding the file's.
    sfreq : float, optional
        Sampling rate in Hz of a CSV/TSV file whose time column is missing or not to
        be used (rows are then taken as consecutive samples). Refused for other formats.

    Returns
    -------
    RecordingReader
        The open recording; close it (or use it in a ``with`` block).

    Raises
    ------
    RecordingError
        If the file is missing, of an unsupported type, malformed, or lacks what
        analysis needs (an EMG channel with a known unit and rate).
    ConfigError
        If an option is malformed.

    Notes
    -----
    EDF and EDF+ follow Kemp et al. (1992), Electroencephalogr Clin Neurophysiol
    82:391, and Kemp & Olivan (2003), Clin Neurophysiol 114:1755; BDF is the 24-bit
    variant defined by BioSemi.
    """
    p = Path(path)
    fmt = resolve_format(p, format)
    if not p.exists():
        raise RecordingError(f"{p}: no such file")
    if p.is_dir():
        raise RecordingError(f"{p}: is a folder, expected a recording file")
    if sfreq is not None and fmt != "csv":
        raise ConfigError(
            f"sfreq= applies only to CSV/TSV files without a usable time column; "
            f"{p.name} is {fmt.upper()}, which states its own rate"
        )
    options = ChannelOptions(
        emg=emg, sides=sides, accel=accel, accel_unit=accel_unit, emg_unit=emg_unit
    )
    try:
        if fmt in ("edf", "bdf"):
            from host.importers.edf import EdfReader

            return EdfReader(p, options)
        if fmt == "csv":
            from host.importers.delimited import DelimitedReader

            return DelimitedReader(p, options, sfreq=sfreq)
        if fmt == "wfdb":
            from host.importers.wfdb import WfdbReader

            return WfdbReader(p, options)
        from host.importers.capture import CaptureReader

        return CaptureReader(p, options)
    except PermissionError:
        raise RecordingError(f"{p}: permission denied") from None
    except IsADirectoryError:
        raise RecordingError(f"{p}: is a folder, expected a recording file") from None


def read_recording(
    path: str | Path,
    *,
    format: str | None = None,
    emg: ChannelSpec | None = None,
    sides: Sequence[str] | None = None,
    accel: ChannelSpec | None = None,
    accel_unit: str | None = None,
    emg_unit: str | None = None,
    sfreq: float | None = None,
) -> tuple[RecordingInfo, NDArray[np.float64], NDArray[np.float64] | None]:
    """Read a whole recording into memory.

    Parameters are those of :func:`open_recording`.

    Returns
    -------
    info : RecordingInfo
        What the recording holds.
    emg : ndarray, shape (n_emg, n_times)
        EMG in volts, NaN at gaps.
    accel : ndarray, shape (3, n_accel_times) or None
        Acceleration in g (x, y, z), NaN at gaps; None without accelerometer.
    """
    with open_recording(
        path,
        format=format,
        emg=emg,
        sides=sides,
        accel=accel,
        accel_unit=accel_unit,
        emg_unit=emg_unit,
        sfreq=sfreq,
    ) as reader:
        info = reader.info
        emg_out = np.full((len(info.emg_labels), info.n_times), np.nan)
        acc_out = np.full((3, info.n_accel_times), np.nan) if info.accel_labels else None
        for block in reader.blocks(block_s=max(60.0, 1e6 / info.sfreq)):
            emg_out[:, block.first_sample : block.first_sample + block.emg.shape[1]] = block.emg
            if acc_out is not None and block.accel is not None:
                a0 = block.first_accel_sample
                acc_out[:, a0 : a0 + block.accel.shape[1]] = block.accel
    return info, emg_out, acc_out

"""Delimited text recordings (CSV, TSV, ``.txt``): one header row, one row per sample.

The delimiter (``,``, ``;`` or tab) is sniffed from the first lines; with ``;`` or tab,
a decimal comma (``0,5``) is understood. A time column (``time``, ``time_s``, ``t``,
``seconds``, ``timestamp``, ``time (ms)``...) gives the sampling rate and gaps; its values
are seconds (or milliseconds, from the name or unit) or ISO-8601 date-times, which also
give the start. Units come from the column headers (``EMG L (uV)``, ``emg_left_mV``,
``acc_x [g]``). Empty cells are NaN.

The file is read twice, each time in chunks of lines parsed by :func:`numpy.loadtxt`:
once when opened (time column: rate, gaps, row count; first lines: units), and once by
:meth:`DelimitedReader.blocks`. Memory stays bounded whatever the file size.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TextIO

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError, RecordingError
from host.importers.channels import finish_selection, split_label_unit
from host.importers.recording import (
    ChannelOptions,
    RecordingBlock,
    RecordingInfo,
    RecordingReader,
    block_length,
)

__all__ = ["DelimitedReader", "time_column_scale"]

logger = logging.getLogger(__name__)

_CHUNK_LINES = 1 << 16
_DELIMITERS = ("\t", ";", ",")
_TIME_NAME = re.compile(r"^(?:time|t|times|seconds|secs?|timestamp)(?:[_ ](s|secs?|ms))?$")
_TZ_SUFFIX = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
#: Steps longer than this many nominal steps are gaps.
GAP_FACTOR = 1.5
#: Regular steps may differ from the nominal step by this fraction.
STEP_TOLERANCE = 0.01
#: Numeric times from this value on (2001-09-09) are taken as Unix time.
_UNIX_TIME_FROM = 1e9


def time_column_scale(label: str, unit: str) -> float | None:
    """Return seconds per unit when a column is a time column, else None.

    Parameters
    ----------
    label : str
        Column label without its unit, e.g. ``"time"``, ``"time_s"``, ``"t"``,
        ``"seconds"``, ``"timestamp"``, ``"time_ms"``.
    unit : str
        The bracketed unit from the header, ``""``, ``"s"`` or ``"ms"``.

    Returns
    -------
    float or None
        1.0 for seconds, 1e-3 for milliseconds; None when the column is no time column.
    """
    match = _TIME_NAME.match(label.strip().lower())
    if match is None:
        return None
    scales = {"": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "ms": 1e-3}
    name_unit = match.group(1) or ""
    unit_key = unit.strip().lower()
    if unit_key not in scales or (name_unit and unit_key and name_unit != unit_key):
        return None
    return scales[unit_key or name_unit]


def _sniff(header: str, samples: Sequence[str]) -> str:
    """Pick the delimiter that splits the header and the first rows into most columns.

    A candidate must occur as often in every sample row as in the header (so that a
    decimal comma under ``;`` or tab does not pass for a delimiter).
    """
    best, best_count = ",", 0
    for delim in _DELIMITERS:
        count = header.count(delim)
        if count > best_count and all(line.count(delim) == count for line in samples):
            best, best_count = delim, count
    return best


def _round_rate(sfreq: float) -> float:
    nice = round(sfreq, 3)
    return nice if abs(nice - sfreq) <= 1e-6 * sfreq else sfreq


@dataclass
class _Timing:
    """What the time column says: rate, gaps and the start."""

    sfreq: float
    n_rows: int
    gap_rows: NDArray[np.int64]  # a gap of gap_missing[i] samples comes before this row
    gap_missing: NDArray[np.int64]
    start: datetime | None

    @property
    def n_times(self) -> int:
        return self.n_rows + int(self.gap_missing.sum())

    def positions(self, first_row: int, n: int) -> NDArray[np.int64]:
        """Return the timeline index of rows ``first_row .. first_row + n - 1``."""
        rows = np.arange(first_row, first_row + n, dtype=np.int64)
        if not self.gap_rows.size:
            return rows
        cum = np.zeros(self.gap_missing.size + 1, dtype=np.int64)
        np.cumsum(self.gap_missing, out=cum[1:])
        shift: NDArray[np.int64] = cum[np.searchsorted(self.gap_rows, rows, side="right")]
        return rows + shift


class DelimitedReader(RecordingReader):
    """Reader of CSV/TSV recordings.

    Parameters
    ----------
    path : Path
        The file.
    options : ChannelOptions
        Channel choices (see :func:`~host.importers.recording.open_recording`).
    sfreq : float, optional
        Sampling rate in Hz; rows are then consecutive samples and the time column (if
        any) only gives the start.
    """

    def __init__(self, path: Path, options: ChannelOptions, *, sfreq: float | None = None) -> None:
        if sfreq is not None and not (math.isfinite(sfreq) and sfreq > 0):
            raise ConfigError(f"sfreq must be a positive number of Hz, got {sfreq!r}")
        self._path = path
        self._closed = False
        notes: list[str] = []
        try:
            with self._text(path) as fh:
                header = fh.readline()
                first = [line for line in islice(fh, 20) if line.strip()]
        except UnicodeDecodeError as err:
            raise _not_text(path, err) from None
        if not header.strip():
            raise RecordingError(f"{path}: empty file, or an empty first line (a header is needed)")
        delim = _sniff(header, first)
        self._delim = delim
        names = next(csv.reader([header.rstrip("\r\n")], delimiter=delim))
        names = [n.strip() for n in names]
        if all(_is_number(n) for n in names if n):
            raise RecordingError(
                f"{path}: the first line holds numbers ({header.strip()[:60]!r}), not column "
                "names; a header row naming the columns (e.g. 'time,EMG L (uV),EMG R (uV)') "
                "is required"
            )
        self._decimal_comma = delim != "," and any("," in line for line in first)
        if not first:
            raise RecordingError(f"{path}: the file has a header but no data rows")
        split = [split_label_unit(n) for n in names]
        time_col: int | None = None
        time_scale = 1.0
        for i, (label, unit) in enumerate(split):
            scale = time_column_scale(label, unit)
            if scale is not None:
                time_col, time_scale = i, scale
                break
        data_cols = [i for i in range(len(names)) if i != time_col]
        labels = [split[i][0] for i in data_cols]
        units = [split[i][1] for i in data_cols]
        if time_col is None and sfreq is None:
            raise RecordingError(
                f"{path}: no time column (looked for a column named time, time_s, t, "
                f"seconds or timestamp among {names}) and no sampling rate given; "
                "pass sfreq= (--sfreq on the command line)"
            )
        selection = options.select(labels, units, [1.0] * len(labels))
        self._emg_cols = [data_cols[i] for i in selection.emg]
        acc_idx = selection.accel or ()
        self._acc_cols = [data_cols[i] for i in acc_idx]
        self._time_col = time_col
        self._time_scale = time_scale
        timing, probe = self._scan(sfreq, notes)
        n_emg = len(self._emg_cols)
        selection = finish_selection(
            selection,
            labels,
            units,
            probe[:, :n_emg].T,
            probe[:, n_emg:].T if self._acc_cols else None,
        )
        if selection.accel is None:
            self._acc_cols = []
        self._emg_scale = np.array(selection.emg_volts_per_unit, dtype=np.float64)
        self._acc_scale = np.array(selection.accel_g_per_unit or (1.0, 1.0, 1.0))
        self._timing = timing
        gaps = int(timing.gap_rows.size)
        if gaps:
            notes.append(
                f"{gaps} gap(s) in the time column ({int(timing.gap_missing.sum())} missing "
                "samples), filled with NaN"
            )
        if self._decimal_comma:
            notes.append("decimal commas read as decimal points")
        self.info = RecordingInfo(
            path=str(path),
            format="csv",
            sfreq=timing.sfreq,
            emg_labels=tuple(labels[i] for i in selection.emg),
            sides=selection.sides,
            accel_sfreq=timing.sfreq if self._acc_cols else None,
            accel_labels=tuple(labels[i] for i in selection.accel or ()),
            n_times=timing.n_times,
            n_accel_times=timing.n_times if self._acc_cols else 0,
            start=timing.start,
            annotations=(),
            other_labels=tuple(labels[i] for i in selection.other),
            warnings=tuple(notes) + selection.warnings,
        )
        for note in self.info.warnings:
            logger.info("%s: %s", path.name, note)

    # ------------------------------------------------------------------ text access
    @staticmethod
    def _text(path: Path) -> TextIO:
        return open(path, encoding="utf-8-sig", errors="strict")  # noqa: SIM115

    def _chunks(self) -> Iterator[tuple[int, int, list[str]]]:
        """Yield (first data row, first file line number, non-blank lines) chunks."""
        try:
            with self._text(self._path) as fh:
                fh.readline()
                line_no = 2
                row = 0
                while True:
                    raw = list(islice(fh, _CHUNK_LINES))
                    if not raw:
                        return
                    lines = [line for line in raw if line.strip()]
                    if lines:
                        yield row, line_no, lines
                    row += len(lines)
                    line_no += len(raw)
        except UnicodeDecodeError as err:
            raise _not_text(self._path, err) from None

    def _parse(self, lines: list[str], cols: Sequence[int], line_no: int) -> NDArray[np.float64]:
        """Parse columns ``cols`` of some lines as numbers (empty cells NaN)."""
        text = "".join(lines)
        if not text.endswith("\n"):
            text += "\n"
        if self._decimal_comma:
            text = text.replace(",", ".")
        text = _fill_empty(text, self._delim)
        try:
            return np.loadtxt(
                io.StringIO(text),
                delimiter=self._delim,
                usecols=list(cols),
                dtype=np.float64,
                ndmin=2,
                comments=None,
                quotechar='"',
            )
        except ValueError as err:
            raise RecordingError(
                f"{self._path}: cannot read lines {line_no}..{line_no + len(lines) - 1} "
                f"as numbers: {err}"
            ) from None

    def _strings(self, lines: list[str], col: int, line_no: int) -> NDArray[np.str_]:
        text = "".join(lines)
        if self._decimal_comma:
            text = text.replace(",", ".")
        try:
            return np.loadtxt(
                io.StringIO(text),
                delimiter=self._delim,
                usecols=[col],
                dtype=str,
                ndmin=1,
                comments=None,
                quotechar='"',
            )
        except ValueError as err:
            raise RecordingError(
                f"{self._path}: cannot read lines {line_no}..{line_no + len(lines) - 1}: {err}"
            ) from None

    # ------------------------------------------------------------------ opening scan
    def _scan(self, sfreq: float | None, notes: list[str]) -> tuple[_Timing, NDArray[np.float64]]:
        """Read the whole file once: row count, rate, gaps, start; and the first values."""
        probe: NDArray[np.float64] | None = None
        cols = self._emg_cols + self._acc_cols
        clock = _Clock(self._path, self._time_scale) if self._time_col is not None else None
        use_time = clock is not None and sfreq is None
        n_rows = 0
        for _row, line_no, lines in self._chunks():
            if probe is None:
                probe = self._parse(lines, cols, line_no)
                if clock is not None and not use_time:
                    assert self._time_col is not None
                    clock.peek(str(self._strings(lines[:1], self._time_col, line_no)[0]), line_no)
            if clock is not None and use_time:
                assert self._time_col is not None
                if clock.iso is False:  # known to be numbers: parse them as such
                    times = self._parse(lines, [self._time_col], line_no)[:, 0]
                    clock.feed_numbers(times, line_no)
                else:
                    clock.feed_text(self._strings(lines, self._time_col, line_no), line_no)
            n_rows += len(lines)
        if probe is None or n_rows == 0:
            raise RecordingError(f"{self._path}: the file has a header but no data rows")
        empty = np.empty(0, dtype=np.int64)
        if sfreq is not None:
            start = clock.start(notes) if clock is not None else None
            if clock is not None:
                notes.append(
                    f"time column not used for timing: sfreq={sfreq:g} Hz was given, so "
                    "rows were taken as consecutive samples"
                )
            return _Timing(float(sfreq), n_rows, empty, empty, start), probe
        assert clock is not None
        if clock.nominal is None:
            raise RecordingError(
                f"{self._path}: a single data row; at least two are needed to tell the "
                "sampling rate from the time column (or pass sfreq=)"
            )
        timing = _Timing(
            sfreq=_round_rate(1.0 / clock.nominal),
            n_rows=n_rows,
            gap_rows=np.array(clock.gap_rows, dtype=np.int64),
            gap_missing=np.array(clock.gap_missing, dtype=np.int64),
            start=clock.start(notes),
        )
        return timing, probe

    # ------------------------------------------------------------------ streaming
    def blocks(self, block_s: float = 10.0) -> Iterator[RecordingBlock]:
        """Stream the recording as consecutive blocks (see :meth:`RecordingReader.blocks`)."""
        if self._closed:
            raise RecordingError(f"{self._path}: the reader is closed")
        return self._blocks(block_length(block_s, self.info.sfreq))

    def _blocks(self, n: int) -> Iterator[RecordingBlock]:
        n_times = self.info.n_times
        n_emg = len(self._emg_cols)
        has_acc = bool(self._acc_cols)
        cols = self._emg_cols + self._acc_cols
        scale = np.concatenate([self._emg_scale, self._acc_scale if has_acc else []])
        start = 0
        buf = np.full((len(cols), min(n, n_times)), np.nan)
        for row, line_no, lines in self._chunks():
            if self._closed:
                raise RecordingError(f"{self._path}: the reader is closed")
            values = self._parse(lines, cols, line_no).T * scale[:, None]
            pos = self._timing.positions(row, values.shape[1])
            if pos[-1] >= n_times:
                raise RecordingError(f"{self._path}: the file grew while being read")
            i = 0
            while i < pos.size:
                stop = min(start + n, n_times)
                j = int(np.searchsorted(pos, stop, side="left"))
                buf[:, pos[i:j] - start] = values[:, i:j]
                if j == pos.size:
                    break
                yield _block(buf, n_emg, has_acc, start)
                start = stop
                buf = np.full((len(cols), min(n, n_times - start)), np.nan)
                i = j
        while start < n_times:
            yield _block(buf, n_emg, has_acc, start)
            start += buf.shape[1]
            buf = np.full((len(cols), min(n, n_times - start)), np.nan)

    def close(self) -> None:
        """Mark the reader closed (no file stays open between reads)."""
        self._closed = True


def _block(buf: NDArray[np.float64], n_emg: int, has_acc: bool, start: int) -> RecordingBlock:
    return RecordingBlock(
        emg=buf[:n_emg],
        accel=buf[n_emg:] if has_acc else None,
        first_sample=start,
        first_accel_sample=start if has_acc else 0,
    )


def _fill_empty(text: str, delim: str) -> str:
    """Write ``nan`` into every empty (or blank) cell of newline-terminated rows."""
    maybe_empty = (
        text.startswith(delim)
        or " " in text
        or delim + delim in text
        or delim + "\n" in text
        or "\n" + delim in text
    )
    if not maybe_empty:  # the common case, and a regex over megabytes is slow
        return text
    d = re.escape(delim)
    return re.sub(rf"(?m)(?:^|(?<={d})) *(?={d}|\n)", "nan", text)


def _not_text(path: Path, err: UnicodeDecodeError) -> RecordingError:
    return RecordingError(f"{path}: not a UTF-8 text file ({err.reason})")


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


class _Clock:
    """Follows the time column chunk by chunk: nominal step, gaps, irregular steps."""

    def __init__(self, path: Path, scale: float) -> None:
        self.path = path
        self.scale = scale
        self.first: str | None = None
        self.iso: bool | None = None
        self.offset = timedelta(0)
        self.naive = False
        self.suffix = ""
        self.origin_us = 0
        self.origin_s: float | None = None
        self.nominal: float | None = None
        self.last: float | None = None  # seconds from the first row
        self.row = 0
        self.gap_rows: list[int] = []
        self.gap_missing: list[int] = []

    def _kind(self, value: str, line_no: int) -> None:
        self.first = value
        text = value.strip()
        try:
            float(text)
            self.iso = False
            return
        except ValueError:
            pass
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise RecordingError(
                f"{self.path}: line {line_no}: the time column holds {value!r}; expected "
                "seconds or an ISO-8601 date-time such as 2024-05-01T08:30:00.000Z"
            ) from None
        self.iso = True
        match = _TZ_SUFFIX.search(text)
        self.suffix = match.group(1) if match else ""
        if stamp.tzinfo is None:
            self.naive = True
        else:
            utcoffset = stamp.utcoffset()
            self.offset = utcoffset if utcoffset is not None else timedelta(0)

    def _finite(self, times: NDArray[np.float64], line_no: int) -> NDArray[np.float64]:
        if not np.all(np.isfinite(times)):
            bad = int(np.flatnonzero(~np.isfinite(times))[0])
            raise RecordingError(f"{self.path}: line {line_no + bad}: empty or invalid time value")
        return times

    def _text_seconds(self, values: NDArray[np.str_], line_no: int) -> NDArray[np.float64]:
        text = np.char.strip(values)
        if not self.iso:
            empty = np.flatnonzero(text == "")
            if empty.size:
                raise RecordingError(
                    f"{self.path}: line {line_no + int(empty[0])}: empty time value"
                )
            try:
                times = text.astype(np.float64) * self.scale
            except ValueError:
                raise RecordingError(
                    f"{self.path}: lines {line_no}..{line_no + values.size - 1}: the time "
                    "column holds a value that is not a number"
                ) from None
            return self._finite(times, line_no)
        if self.suffix:
            if not np.all(np.char.endswith(text, self.suffix)):
                raise RecordingError(
                    f"{self.path}: lines {line_no}..: the time column mixes time zones "
                    f"(the first row ends in {self.suffix!r})"
                )
            text = np.char.replace(text, self.suffix, "")
        try:
            stamps = text.astype("datetime64[us]").astype(np.int64)
        except ValueError:
            raise RecordingError(
                f"{self.path}: lines {line_no}..{line_no + values.size - 1}: the time "
                "column holds a value that is not an ISO-8601 date-time"
            ) from None
        if self.row == 0:
            self.origin_us = int(stamps[0])
        return (stamps - self.origin_us).astype(np.float64) * 1e-6

    def peek(self, value: str, line_no: int) -> None:
        """Take only the first time value (for the start, when the rate is given)."""
        self._kind(value, line_no)
        times = self._text_seconds(np.array([value]), line_no)
        if not self.iso:
            self.origin_s = float(times[0])

    def feed_text(self, values: NDArray[np.str_], line_no: int) -> None:
        """Take the time values (as text) of the next chunk of rows."""
        if self.first is None:
            self._kind(str(values[0]), line_no)
        self._advance(self._text_seconds(values, line_no), line_no)

    def feed_numbers(self, values: NDArray[np.float64], line_no: int) -> None:
        """Take the time values of the next chunk of rows, already parsed as numbers."""
        self._advance(self._finite(values * self.scale, line_no), line_no)

    def _advance(self, times: NDArray[np.float64], line_no: int) -> None:
        if self.row == 0 and not self.iso:
            self.origin_s = float(times[0])
        steps = np.diff(times if self.last is None else np.concatenate([[self.last], times]))
        first_row_of_steps = self.row + (1 if self.last is None else 0)
        if self.nominal is None and steps.size:
            if np.any(steps <= 0):
                self._backwards(steps, first_row_of_steps, line_no)
            median = float(np.median(steps))
            regular = steps[steps <= GAP_FACTOR * median]
            self.nominal = float(regular.mean())
        if steps.size:
            self._check(steps, first_row_of_steps, line_no)
        self.last = float(times[-1])
        self.row += times.size

    def _backwards(self, steps: NDArray[np.float64], row0: int, line_no: int) -> None:
        k = int(np.flatnonzero(steps <= 0)[0])
        raise RecordingError(
            f"{self.path}: line {line_no + row0 + k - self.row}: time does not increase "
            f"(step {steps[k]:.6g} s); rows must be in time order"
        )

    def _check(self, steps: NDArray[np.float64], row0: int, line_no: int) -> None:
        assert self.nominal is not None
        if np.any(steps <= 0):
            self._backwards(steps, row0, line_no)
        ratio = steps / self.nominal
        gap = ratio > GAP_FACTOR
        irregular = ~gap & (np.abs(ratio - 1.0) > STEP_TOLERANCE)
        if irregular.any():
            k = int(np.flatnonzero(irregular)[0])
            raise RecordingError(
                f"{self.path}: line {line_no + row0 + k - self.row}: a time step of "
                f"{steps[k]:.6g} s, but the median step is {self.nominal:.6g} s "
                f"({1 / self.nominal:.6g} Hz); steps may vary by 1 % at most (longer than "
                f"{GAP_FACTOR} steps is a gap). Pass sfreq= to ignore the time column"
            )
        for at in np.flatnonzero(gap).tolist():
            self.gap_rows.append(row0 + at)
            self.gap_missing.append(round(float(ratio[at])) - 1)

    def start(self, notes: list[str]) -> datetime | None:
        """Return the time of the first row in UTC, when the column says."""
        if self.first is None:
            return None
        if self.iso:
            base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.origin_us)
            if self.naive:
                notes.append("the time column gives no time zone; UTC was assumed")
            return base - self.offset
        origin = self.origin_s
        if origin is not None and origin >= _UNIX_TIME_FROM:
            start = datetime.fromtimestamp(origin, tz=UTC)
            notes.append(
                f"the time column starts at {origin:.3f} s, taken as Unix time "
                f"({start.isoformat()})"
            )
            return start
        return None

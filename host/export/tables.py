"""CSV and Parquet export: the signals as tables, the events as separate tables.

For every session in the selection, in the output folder (``<p>`` is ``session<id>``):

==============================  =============================================================
file                            rows and columns
==============================  =============================================================
``<p>_emg.csv|parquet``         one row per EMG sample time from the first to the last
                                exported sample: ``time_s`` (s from the first row),
                                ``time_utc`` (ISO 8601 UTC, µs), one column per channel
                                (``EMG L [uV]`` or ``[counts]``); empty cells (Parquet: null)
                                where the store holds no sample
``<p>_accel.csv|parquet``       the same for the accelerometer (``x [g]``, ...)
``<p>_episodes.*``              one row per episode (times, kind, side, confidence, labels)
``<p>_labels.*``                one row per label of those episodes
``<p>_markers.*``               one row per user marker
``<p>_gaps.*``                  one row per run of missing samples (stream, samples, times)
``<p>_link_events.*``           one row per link event (kind, stream, samples, detail JSON)
``export.json``                 what was exported: values (raw/filtered, units), files
==============================  =============================================================

Every table's ``time_s``/``onset_s`` counts from the first EMG row of its session, so the
tables line up with each other.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError
from host.export._files import check_output_dir, check_output_file, output_error
from host.export.edf import ExportedFile, ExportResult
from host.export.selection import (
    Chunk,
    SessionSlice,
    SignalOptions,
    collect_annotations,
    iter_chunks,
    make_filter,
    read_stream,
    stream_runs,
)
from host.storage import RecordingStore, SessionRecord, Stream

__all__ = ["TableFormat", "export_tables", "iso_utc"]

TableFormat = Literal["csv", "parquet"]
_CHUNK_S = 600.0


def iso_utc(times_us: NDArray[np.int64]) -> NDArray[np.str_]:
    """Return ISO 8601 UTC strings with microseconds (``2024-05-01T10:00:00.000000Z``)."""
    text = np.datetime_as_string(times_us.astype("datetime64[us]"), unit="us")
    return np.strings.add(text, "Z")


def _iter_stream(
    store: RecordingStore, piece: SessionSlice, stream: Stream, options: SignalOptions
) -> Iterator[Chunk]:
    """Chunks of a stream from its first to its last sample in range, NaN in gaps."""
    session = piece.session
    sfreq = session.sfreq if stream == "emg" else float(session.accel_sfreq or 1.0)
    step = max(1, round(_CHUNK_S * sfreq))
    previous: int | None = None
    for s0, s1 in stream_runs(store, piece, stream):
        if previous is not None and s0 > previous:
            # The samples around the gap give its times (linear between the two blocks).
            around = read_stream(store, session, stream, previous - 1, s0 + 1)
            times = around.times_us()[1:-1]
            for i in range(0, s0 - previous, step):
                part = times[i : i + step]
                yield Chunk(np.full((around.n_channels, part.size), np.nan), previous + i, part)
        bank = make_filter(session, options) if stream == "emg" else None
        yield from iter_chunks(
            store, session, stream, s0, s1, options, chunk_samples=step, filter_bank=bank
        )
        previous = s1


def _columns(session: SessionRecord, stream: Stream, options: SignalOptions) -> list[str]:
    if stream == "emg":
        unit = "counts" if options.units == "counts" else "uV"
        names = session.channel_names
    else:
        unit = "counts" if options.units == "counts" else "g"
        names = session.accel_channel_names
    return [f"{n} [{unit}]" for n in names]


def _csv_lines(chunk: Chunk, t0_us: int, counts: bool) -> str:
    times = chunk.times_us
    parts = [((times - t0_us) / 1e6).astype(str), iso_utc(times)]
    for row in chunk.data:
        missing = np.isnan(row)
        if counts:
            values = np.where(missing, 0, row).astype(np.int64).astype(str)
        else:
            values = row.astype(str)
        parts.append(np.where(missing, "", values))
    line = parts[0]
    for column in parts[1:]:
        line = np.strings.add(np.strings.add(line, ","), column)
    return "\n".join(line.tolist()) + "\n"


def _write_signal(
    store: RecordingStore,
    piece: SessionSlice,
    stream: Stream,
    options: SignalOptions,
    path: Path,
    fmt: TableFormat,
    t0_us: int,
    values: str,
) -> int:
    columns = _columns(piece.session, stream, options)
    n_rows = 0
    counts = options.units == "counts"
    chunks = _iter_stream(store, piece, stream, options)
    if fmt == "csv":
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(",".join(["time_s", "time_utc", *columns]) + "\n")
                for chunk in chunks:
                    handle.write(_csv_lines(chunk, t0_us, counts))
                    n_rows += chunk.data.shape[1]
        except OSError as exc:
            raise output_error(exc, path) from exc
        return n_rows
    pa, pq = _pyarrow()
    unit = "counts" if counts else ("uV" if stream == "emg" else "g")
    fields = [
        pa.field("time_s", pa.float64(), metadata={"unit": "s", "origin": "first EMG row"}),
        pa.field("time_utc", pa.timestamp("us", tz="UTC")),
    ] + [
        pa.field(
            c,
            pa.int64() if counts else pa.float64(),
            metadata={"unit": unit, "values": values},
        )
        for c in columns
    ]
    schema = pa.schema(fields, metadata={"spasmwatch.values": values, "stream": stream})
    try:
        with pq.ParquetWriter(path, schema) as writer:
            for chunk in chunks:
                missing = np.isnan(chunk.data)
                arrays = [
                    pa.array((chunk.times_us - t0_us) / 1e6),
                    pa.array(chunk.times_us, type=pa.timestamp("us", tz="UTC")),
                ]
                for row, mask in zip(chunk.data, missing, strict=True):
                    data = np.where(mask, 0, row).astype(np.int64) if counts else row
                    arrays.append(pa.array(data, mask=mask))
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                n_rows += chunk.data.shape[1]
    except OSError as exc:
        raise output_error(exc, path) from exc
    return n_rows


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - installed with the parquet extra
        raise ConfigError(
            "Parquet export needs pyarrow: pip install 'spasmwatch[parquet]'"
        ) from exc
    return pa, pq


def _iso1(t_us: int) -> str:
    return str(iso_utc(np.array([t_us], dtype=np.int64))[0])


def _event_tables(
    store: RecordingStore, piece: SessionSlice, t0_us: int
) -> dict[str, tuple[list[str], list[list[Any]]]]:
    events = collect_annotations(store, piece)

    def rel(t_us: int) -> float:
        return (t_us - t0_us) / 1e6

    episodes: list[list[Any]] = []
    markers: list[list[Any]] = []
    gaps: list[list[Any]] = []
    links: list[list[Any]] = []
    for e in events:
        f = e.fields
        if e.category == "episode":
            episodes.append(
                [
                    f["episode_id"],
                    rel(e.onset_us),
                    e.duration_us / 1e6,
                    _iso1(e.onset_us),
                    _iso1(e.onset_us + e.duration_us),
                    f["kind"],
                    f["side"],
                    f["confidence"],
                    int(bool(f["involuntary"])),
                    f["start_sample"],
                    f["end_sample"],
                    ",".join(f["labels"]),
                ]
            )
        elif e.category == "marker":
            markers.append([f["marker_id"], rel(e.onset_us), _iso1(e.onset_us), f["text"]])
        elif e.category == "gap":
            gaps.append(
                [
                    f["stream"],
                    f["first_sample"],
                    f["n_samples"],
                    rel(e.onset_us),
                    e.duration_us / 1e6,
                    _iso1(e.onset_us),
                ]
            )
        else:
            links.append(
                [
                    f["link_event_id"],
                    rel(e.onset_us),
                    _iso1(e.onset_us),
                    f["kind"],
                    f["stream"],
                    f["first_sample"],
                    f["n_samples"],
                ]
            )
    ids = {row[0] for row in episodes}
    labels = [
        [lab.id, lab.episode_id, lab.label, lab.note, lab.author, _iso1(lab.created_us)]
        for lab in store.labels()
        if lab.episode_id in ids
    ]
    return {
        "episodes": (
            [
                "episode_id",
                "onset_s",
                "duration_s",
                "onset_utc",
                "end_utc",
                "kind",
                "side",
                "confidence",
                "involuntary",
                "start_sample",
                "end_sample",
                "labels",
            ],
            episodes,
        ),
        "labels": (["label_id", "episode_id", "label", "note", "author", "created_utc"], labels),
        "markers": (["marker_id", "onset_s", "onset_utc", "text"], markers),
        "gaps": (
            ["stream", "first_sample", "n_samples", "onset_s", "duration_s", "onset_utc"],
            gaps,
        ),
        "link_events": (
            [
                "link_event_id",
                "onset_s",
                "onset_utc",
                "kind",
                "stream",
                "first_sample",
                "n_samples",
            ],
            links,
        ),
    }


def _write_table(path: Path, header: list[str], rows: list[list[Any]], fmt: TableFormat) -> None:
    def cell(v: Any) -> Any:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else v

    try:
        if fmt == "csv":
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                writer.writerows([[cell(v) for v in row] for row in rows])
            return
        pa, pq = _pyarrow()
        columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
        if not rows:
            table = pa.table({name: pa.array([], type=pa.string()) for name in header})
        else:
            table = pa.table(columns)
        pq.write_table(table, path)
    except OSError as exc:
        raise output_error(exc, path) from exc


def export_tables(
    store: RecordingStore,
    pieces: Sequence[SessionSlice],
    output: str | Path,
    *,
    fmt: TableFormat = "csv",
    options: SignalOptions | None = None,
    with_accel: bool = True,
    overwrite: bool = False,
) -> ExportResult:
    """Export session slices to CSV or Parquet tables in a folder.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    pieces : sequence of SessionSlice
        What to export (:func:`~host.export.selection.select_sessions`).
    output : path-like
        The folder (created if missing).
    fmt : {"csv", "parquet"}
        Table format.
    options : SignalOptions or None
        Units and filtering; None: raw microvolts.
    with_accel : bool
        Write the accelerometer table too.
    overwrite : bool
        Replace existing files.

    Returns
    -------
    ExportResult
        ``files``: the EMG tables; ``extra_files``: the others.

    Raises
    ------
    ConfigError
        On an unwritable folder, existing files, or pyarrow missing for Parquet.
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(
            f"Invalid value for the 'fmt' parameter. Allowed values are 'csv', 'parquet', "
            f"but got {fmt!r} instead."
        )
    if fmt == "parquet":
        _pyarrow()
    options = options or SignalOptions()
    folder = Path(output)
    check_output_dir(folder)
    result = ExportResult(format=fmt, values=options.describe(pieces[0].session.sfreq))
    plan: list[tuple[SessionSlice, str]] = [(p, f"session{p.session.id}") for p in pieces]
    names = ["emg", "accel", "episodes", "labels", "markers", "gaps", "link_events"]
    for _, prefix in plan:
        for name in names:
            check_output_file(folder / f"{prefix}_{name}.{fmt}", overwrite=overwrite)
    check_output_file(folder / "export.json", overwrite=overwrite)
    described: list[dict[str, Any]] = []
    for piece, prefix in plan:
        session = piece.session
        runs = stream_runs(store, piece, "emg")
        t0_us = int(read_stream(store, session, "emg", runs[0][0], runs[0][0] + 1).times_us()[0])
        emg_path = folder / f"{prefix}_emg.{fmt}"
        n_emg = _write_signal(store, piece, "emg", options, emg_path, fmt, t0_us, result.values)
        n_acc = 0
        if with_accel and session.has_accel and stream_runs(store, piece, "accel"):
            acc_path = folder / f"{prefix}_accel.{fmt}"
            n_acc = _write_signal(
                store,
                piece,
                "accel",
                SignalOptions(units=options.units),
                acc_path,
                fmt,
                t0_us,
                "raw (no software filter), " + ("ADC counts" if options.units == "counts" else "g"),
            )
            result.extra_files.append(acc_path)
        tables = _event_tables(store, piece, t0_us)
        for name, (header, rows) in tables.items():
            path = folder / f"{prefix}_{name}.{fmt}"
            _write_table(path, header, rows, fmt)
            result.extra_files.append(path)
        result.files.append(
            ExportedFile(
                emg_path,
                session.id,
                t0_us,
                n_emg / session.sfreq,
                n_emg,
                n_acc,
                sum(len(rows) for _, rows in tables.values()),
            )
        )
        described.append(
            {
                "session_id": session.id,
                "first_row_utc": _iso1(t0_us),
                "emg_rows": n_emg,
                "accel_rows": n_acc,
                "sfreq": session.sfreq,
                "accel_sfreq": session.accel_sfreq,
                "channels": list(session.channel_names),
            }
        )
    meta = {
        "format": fmt,
        "values": result.values,
        "emg_unit": "counts" if options.units == "counts" else "uV",
        "accel_unit": "counts" if options.units == "counts" else "g",
        "filtered": options.filtered,
        "filter": options.prefilter_text(pieces[0].session.sfreq),
        "gaps": "empty cells (CSV) / null (Parquet) where the store holds no sample",
        "sessions": described,
    }
    meta_path = folder / "export.json"
    try:
        meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise output_error(exc, meta_path) from exc
    result.extra_files.append(meta_path)
    return result

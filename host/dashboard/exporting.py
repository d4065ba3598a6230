"""The Export page's back end: a range and a format in, one downloadable file out.

The research formats (EDF+, BDF+, CSV, Parquet, BIDS) come from :mod:`host.export`
(``spasmwatch export``); this module only selects the range, writes into a temporary
folder and packs several files into one ZIP archive. The episode table with the wearer's
labels (``labels-csv``) is written here: it is what tuning the detector to a wearer
starts from.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host.dashboard.review import latest_labels, severity
from host.errors import ConfigError
from host.storage import RecordingStore

__all__ = ["ExportFormat", "available_formats", "export_range"]


@dataclass(frozen=True)
class ExportFormat:
    """One format of the Export page.

    Attributes
    ----------
    name : str
        Identifier in the API (``"edf"``).
    title : str
        What the page shows.
    description : str
        One sentence on what it holds.
    """

    name: str
    title: str
    description: str


_RESEARCH = (
    ExportFormat(
        "edf", "EDF+", "EMG and accelerometer with episodes, markers and gaps as annotations"
    ),
    ExportFormat("bdf", "BDF+", "as EDF+, 24-bit (for 24-bit recordings)"),
    ExportFormat("csv", "CSV tables", "signal in µV and g, episodes, labels, markers and gaps"),
    ExportFormat("parquet", "Parquet tables", "the CSV tables as Parquet"),
    ExportFormat("bids", "BIDS (EMG-BIDS)", "a BIDS dataset folder, zipped"),
)
_LABELS = ExportFormat(
    "labels-csv", "Episodes and labels (CSV)", "one row per episode with the wearer's latest label"
)


def _research_available() -> bool:
    return importlib.util.find_spec("host.export") is not None


def available_formats() -> list[ExportFormat]:
    """Return the formats this installation can write."""
    return [*(_RESEARCH if _research_available() else ()), _LABELS]


def _iso(t_us: int) -> str:
    return dt.datetime.fromtimestamp(t_us / 1e6, dt.UTC).isoformat(timespec="milliseconds")


def _labels_csv(store: RecordingStore, start_us: int, end_us: int, path: Path) -> None:
    episodes = store.episodes(start_us=start_us, end_us=end_us)
    if not episodes:
        raise ConfigError("no episodes in this range: choose a range with episodes")
    labels = latest_labels(store.labels())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "episode_id",
            "session_id",
            "start_utc",
            "end_utc",
            "duration_s",
            "involuntary",
            "kind",
            "side",
            "confidence",
            "peak",
            "unit",
            "severity",
            "activity_before",
            "label",
            "trigger",
            "note",
            "labelled_utc",
        ]
    )
    for e in episodes:
        label = labels.get(e.id)
        writer.writerow(
            [
                e.id,
                e.session_id,
                _iso(e.start_us),
                _iso(e.end_us),
                f"{e.duration_s:.3f}",
                int(e.involuntary),
                e.kind,
                e.side,
                "" if e.confidence is None else f"{e.confidence:.3f}",
                e.data.get("peak", ""),
                e.data.get("unit", "uV"),
                severity(e),
                e.data.get("activity_before", ""),
                label.label if label else "",
                label.trigger if label else "",
                label.note if label else "",
                _iso(label.created_us) if label else "",
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _research(store: RecordingStore, fmt: str, start_us: int, end_us: int, out: Path) -> None:
    from host import export

    pieces = export.select_sessions(store, start_us=start_us, end_us=end_us)
    if fmt in ("edf", "bdf"):
        export.export_edf(store, pieces, out / f"spasmwatch.{fmt}", fmt=fmt)  # type: ignore[arg-type]
    elif fmt in ("csv", "parquet"):
        from host.export.tables import export_tables

        export_tables(store, pieces, out / "tables", fmt=fmt)  # type: ignore[arg-type]
    elif fmt == "bids":
        from host.export.bids import export_bids

        export_bids(store, pieces, out / "bids", subject="wearer")


def export_range(
    store: RecordingStore, fmt: str, start_us: int, end_us: int
) -> tuple[Path, str, Callable[[], Any]]:
    """Write a range in a format; return the file to send, its name and a clean-up.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    fmt : str
        One of :func:`available_formats`.
    start_us, end_us : int
        UTC µs range.

    Returns
    -------
    path : Path
        The file (a ZIP archive when the export wrote several).
    filename : str
        Its download name.
    cleanup : callable
        Removes the temporary folder (call after sending).

    Raises
    ------
    ConfigError
        For an unknown format or a range without data (from the exporter).
    """
    names = [f.name for f in available_formats()]
    if fmt not in names:
        raise ConfigError(f"invalid format {fmt!r}; expected one of {', '.join(names)}")
    folder = Path(tempfile.mkdtemp(prefix="spasmwatch-export-"))

    def cleanup() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    stamp = dt.datetime.fromtimestamp(start_us / 1e6, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        out = folder / "out"
        out.mkdir()
        if fmt == "labels-csv":
            _labels_csv(store, start_us, end_us, out / f"spasmwatch_episodes_{stamp}.csv")
        else:
            _research(store, fmt, start_us, end_us, out)
        files = sorted(p for p in out.rglob("*") if p.is_file())
        if not files:
            raise ConfigError("the export wrote nothing for this range")
        if len(files) == 1:
            return files[0], files[0].name, cleanup
        archive = folder / f"spasmwatch_{fmt}_{stamp}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.relative_to(out).as_posix())
        return archive, archive.name, cleanup
    except BaseException:
        cleanup()
        raise

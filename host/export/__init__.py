"""Research export: EDF+/BDF+, BIDS (EMG-BIDS), CSV and Parquet from the recording store.

* :mod:`host.export.selection` — sessions or a UTC range to gapless runs, signal chunks in
  the export's units (raw or filtered, microvolts or counts) and annotations;
* :mod:`host.export.edf` — a small EDF+/BDF+ writer and :func:`export_edf`;
* :mod:`host.export.tables` — :func:`export_tables` (CSV, Parquet);
* :mod:`host.export.bids` — :func:`export_bids` and :func:`validate_bids`.

``docs/export.md`` describes every format.
"""

from __future__ import annotations

from host.export.edf import (
    ExportedFile,
    ExportResult,
    PatientInfo,
    RecordingInfo,
    export_edf,
)
from host.export.selection import Annotation, SessionSlice, SignalOptions, select_sessions

__all__ = [
    "Annotation",
    "ExportResult",
    "ExportedFile",
    "PatientInfo",
    "RecordingInfo",
    "SessionSlice",
    "SignalOptions",
    "export_edf",
    "select_sessions",
]

"""A BIDS dataset of the EMG (EMG-BIDS, BEP 042, BIDS 1.11) and a checker of its rules.

Layout (``[ses-<label>/]`` and ``_ses-<label>`` only with a session label; ``_run-<n>``
only when the export has several files, one per gapless run)::

    dataset_description.json           Name, BIDSVersion, DatasetType, GeneratedBy
    participants.tsv                   participant_id
    sub-<label>/[ses-<label>/]emg/
        sub-<label>[_ses-<label>]_task-<label>[_run-<n>]_emg.edf|bdf
        ..._emg.json                   the sidecar (required fields below)
        ..._channels.tsv               name, type, units, sampling_frequency, ...
        ..._events.tsv                 onset, duration, trial_type, ...

The data files are the EDF+/BDF+ files of :func:`host.export.edf.export_edf`, so the
units, the gap handling and the annotations are the same; ``events.tsv`` repeats the
annotations with onsets in seconds from the first sample of its data file.

:func:`validate_bids` checks what the specification requires of such a dataset (file
names and labels, the required sidecar fields and their types, the required columns of
the TSV files); it is not the official validator, which needs Node.js.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from host.errors import ConfigError
from host.export._files import check_output_dir, output_error
from host.export.edf import (
    EdfFormat,
    ExportResult,
    PatientInfo,
    RecordingInfo,
    export_edf,
    uses_bdf,
)
from host.export.selection import Annotation, SessionSlice, SignalOptions, collect_annotations
from host.storage import RecordingStore

__all__ = [
    "BIDS_VERSION",
    "REQUIRED_SIDECAR_FIELDS",
    "check_label",
    "export_bids",
    "validate_bids",
]

#: BIDS version the dataset follows (EMG was added in 1.11.0).
BIDS_VERSION = "1.11.0"
#: Fields the specification requires in ``*_emg.json``.
REQUIRED_SIDECAR_FIELDS = (
    "TaskName",
    "EMGPlacementScheme",
    "EMGReference",
    "SamplingFrequency",
    "PowerLineFrequency",
    "SoftwareFilters",
)
_LABEL = re.compile(r"[A-Za-z0-9]+")
_DATA_NAME = re.compile(
    r"sub-(?P<sub>[A-Za-z0-9]+)(?:_ses-(?P<ses>[A-Za-z0-9]+))?_task-(?P<task>[A-Za-z0-9]+)"
    r"(?:_run-(?P<run>[0-9]+))?_emg\.(?P<ext>edf|bdf)"
)


def check_label(entity: str, label: str) -> str:
    """Return ``label`` if it is a legal BIDS label (letters and digits only).

    Parameters
    ----------
    entity : str
        ``"subject"``, ``"session"`` or ``"task"`` (for the message).
    label : str
        The label.

    Returns
    -------
    str
        The label.

    Raises
    ------
    ConfigError
        If it is empty or holds anything but ASCII letters and digits.
    """
    if not isinstance(label, str) or _LABEL.fullmatch(label) is None:
        raise ConfigError(
            f"the BIDS {entity} label {label!r} is not allowed: BIDS labels hold ASCII "
            f"letters and digits only (no '-', '_', spaces or dots), for example "
            f"{re.sub(r'[^A-Za-z0-9]', '', str(label)) or '01'!r}"
        )
    return label


def _software_filters(options: SignalOptions, sfreq: float) -> dict[str, Any] | str:
    if not options.filtered:
        return "n/a"
    low, high = options.band(sfreq)
    filters: dict[str, Any] = {
        "spasmwatch EmgFilterBank": {
            "description": "causal Butterworth band-pass, restarted after every gap",
            "HighpassCutoffHz": low,
            "LowpassCutoffHz": high,
            "Order": 4,
        }
    }
    if options.mains_freq is not None:
        filters["spasmwatch EmgFilterBank"]["NotchHz"] = options.mains_freq
    return filters


def _tsv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        text = str(value)
        return re.sub(r"[\t\r\n]", " ", text) or "n/a"

    lines = ["\t".join(header)] + ["\t".join(cell(v) for v in row) for row in rows]
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise output_error(exc, path) from exc


def _json(path: Path, value: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise output_error(exc, path) from exc


def export_bids(
    store: RecordingStore,
    pieces: Sequence[SessionSlice],
    root: str | Path,
    *,
    subject: str,
    session_label: str | None = None,
    task: str = "daily",
    power_line_freq: float | None = None,
    fmt: EdfFormat = "auto",
    options: SignalOptions | None = None,
    patient: PatientInfo | None = None,
    recording: RecordingInfo | None = None,
    anonymize: bool = False,
    record_s: float = 1.0,
    with_accel: bool = True,
    overwrite: bool = False,
    dataset_name: str = "spasmwatch recordings",
) -> ExportResult:
    """Export session slices as (or into) a BIDS dataset.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    pieces : sequence of SessionSlice
        What to export.
    root : path-like
        The dataset folder (created; an existing dataset gains the subject/session).
    subject, session_label, task : str
        BIDS labels (letters and digits); ``session_label=None``: no session level.
    power_line_freq : float or None
        Mains frequency where the data were recorded (50 or 60 Hz); None: ``"n/a"``.
    fmt, options, patient, recording, anonymize, record_s, with_accel, overwrite
        As for :func:`~host.export.edf.export_edf`.
    dataset_name : str
        ``Name`` in ``dataset_description.json``.

    Returns
    -------
    ExportResult
        ``files``: the data files; ``extra_files``: sidecars and tables.

    Raises
    ------
    ConfigError
        On a label that BIDS forbids, an unwritable folder, or existing files.
    """
    check_label("subject", subject)
    check_label("task", task)
    if session_label is not None:
        check_label("session", session_label)
    if power_line_freq is not None and power_line_freq not in (50.0, 60.0):
        raise ConfigError(f"power_line_freq must be 50, 60 or None, got {power_line_freq!r}")
    options = options or SignalOptions()
    root = Path(root)
    check_output_dir(root)
    folder = root / f"sub-{subject}"
    if session_label is not None:
        folder = folder / f"ses-{session_label}"
    folder = folder / "emg"
    check_output_dir(folder)
    base = f"sub-{subject}" + (f"_ses-{session_label}" if session_label else "") + f"_task-{task}"
    bdf = uses_bdf([p.session for p in pieces], fmt, with_accel)
    result = export_edf(
        store,
        pieces,
        folder / f"{base}_emg{'.bdf' if bdf else '.edf'}",
        fmt="bdf" if bdf else "edf",
        options=options,
        patient=patient,
        recording=recording,
        anonymize=anonymize,
        record_s=record_s,
        with_accel=with_accel,
        overwrite=overwrite,
    )
    result.format = "bids"
    annotations: list[Annotation] = []
    for piece in pieces:
        annotations += collect_annotations(store, piece)
    annotations.sort(key=lambda a: a.onset_us)
    n = len(result.files)
    starts = [f.t_start_us for f in result.files]
    renamed = []
    for index, exported in enumerate(result.files):
        ext = exported.path.suffix
        name = f"{base}_run-{index + 1}" if n > 1 else base
        data_path = folder / f"{name}_emg{ext}"
        if data_path.exists() and data_path != exported.path and not overwrite:
            exported.path.unlink()
            raise ConfigError(f"{data_path} exists: pass overwrite=True (--overwrite)")
        exported.path.replace(data_path)
        session = next(p.session for p in pieces if p.session.id == exported.session_id)
        # An EMG-only file (the accelerometer missing there) lists the EMG channels only.
        accel = with_accel and session.has_accel and exported.n_accel_samples > 0
        n_emg = session.n_channels
        channels: list[list[Any]] = [
            [
                f"EMG {c}" if not c.upper().startswith("EMG") else c,
                "EMG",
                "counts" if options.units == "counts" else "uV",
                session.sfreq,
                options.band(session.sfreq)[0] if options.filtered else "n/a",
                options.band(session.sfreq)[1] if options.filtered else "n/a",
                options.mains_freq if options.filtered and options.mains_freq else "n/a",
                "surface EMG, lumbar erector spinae",
            ]
            for c in session.channel_names
        ]
        if accel:
            channels += [
                [
                    f"Accel {a.upper()}",
                    "ACCEL",
                    "counts" if options.units == "counts" else "g",
                    session.accel_sfreq,
                    "n/a",
                    "n/a",
                    "n/a",
                    f"accelerometer axis {a}",
                ]
                for a in session.accel_channel_names
            ]
        _tsv(
            folder / f"{name}_channels.tsv",
            [
                "name",
                "type",
                "units",
                "sampling_frequency",
                "low_cutoff",
                "high_cutoff",
                "notch",
                "description",
            ],
            channels,
        )
        stop = starts[index + 1] if index + 1 < n else None
        mine = [
            a
            for a in annotations
            if (index == 0 or a.onset_us >= exported.t_start_us)
            and (stop is None or a.onset_us < stop)
        ]
        _tsv(
            folder / f"{name}_events.tsv",
            [
                "onset",
                "duration",
                "trial_type",
                "value",
                "episode_id",
                "side",
                "confidence",
                "labels",
                "description",
            ],
            [
                [
                    f"{(a.onset_us - exported.t_start_us) / 1e6:.6f}",
                    f"{a.duration_us / 1e6:.6f}",
                    a.category if a.category != "episode" else a.fields["kind"],
                    a.category,
                    a.fields.get("episode_id"),
                    a.fields.get("side"),
                    a.fields.get("confidence"),
                    ",".join(a.fields.get("labels") or []) or None,
                    a.text,
                ]
                for a in mine
            ],
        )
        sidecar = {
            "TaskName": task,
            "TaskDescription": "free-living monitoring of involuntary lumbar muscle spasms",
            "SamplingFrequency": session.sfreq,
            "PowerLineFrequency": "n/a" if power_line_freq is None else power_line_freq,
            "SoftwareFilters": _software_filters(options, session.sfreq),
            "HardwareFilters": "n/a",
            "EMGPlacementScheme": "Other",
            "EMGPlacementSchemeDescription": (
                "bipolar surface electrode pairs over the left and right lumbar erector "
                "spinae (see the spasmwatch electrode placement guide)"
            ),
            "EMGReference": "bipolar (each channel referenced to its own second electrode)",
            "EMGGround": "n/a",
            "EMGChannelCount": n_emg,
            "RecordingDuration": exported.duration_s,
            "RecordingType": "continuous",
            "Manufacturer": "spasmwatch",
            "SoftwareVersions": "spasmwatch export",
            "spasmwatchValues": result.values,
        }
        _json(folder / f"{name}_emg.json", sidecar)
        renamed.append(data_path)
        result.extra_files += [
            folder / f"{name}_emg.json",
            folder / f"{name}_channels.tsv",
            folder / f"{name}_events.tsv",
        ]
    for exported, path in zip(list(result.files), renamed, strict=True):
        result.files[result.files.index(exported)] = type(exported)(
            path,
            exported.session_id,
            exported.t_start_us,
            exported.duration_s,
            exported.n_emg_samples,
            exported.n_accel_samples,
            exported.n_annotations,
        )
    description = root / "dataset_description.json"
    if not description.exists():
        _json(
            description,
            {
                "Name": dataset_name,
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "raw",
                "GeneratedBy": [{"Name": "spasmwatch", "Description": "spasmwatch export"}],
            },
        )
    participants = root / "participants.tsv"
    known: list[str] = []
    if participants.exists():
        known = [
            line.split("\t")[0]
            for line in participants.read_text(encoding="utf-8").splitlines()[1:]
            if line.strip()
        ]
    if f"sub-{subject}" not in known:
        known.append(f"sub-{subject}")
    _tsv(participants, ["participant_id"], [[k] for k in sorted(known)])
    result.extra_files += [description, participants]
    return result


def _read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        return [], []
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:] if line]


def validate_bids(root: str | Path) -> list[str]:
    """Check a dataset against the BIDS rules for EMG data that spasmwatch writes.

    Checked: ``dataset_description.json`` (``Name``, ``BIDSVersion``); ``participants.tsv``
    (``participant_id`` first, every ``sub-`` folder listed); every EMG data file's name
    (entities, labels of letters and digits, ``_emg.edf``/``.bdf``, in
    ``sub-<label>/[ses-<label>/]emg/`` matching its entities); its ``_emg.json`` with
    every required field (:data:`REQUIRED_SIDECAR_FIELDS`) of the right type and
    ``TaskName`` matching the task label; its ``_channels.tsv`` starting with ``name``,
    ``type``, ``units``; its ``_events.tsv`` (if present) starting with ``onset``,
    ``duration`` with numeric values.

    Parameters
    ----------
    root : path-like
        The dataset folder.

    Returns
    -------
    list of str
        Problems found; empty for a valid dataset.
    """
    root = Path(root)
    problems: list[str] = []
    description = root / "dataset_description.json"
    if not description.is_file():
        problems.append("dataset_description.json is missing")
    else:
        try:
            meta = json.loads(description.read_text(encoding="utf-8"))
        except ValueError as exc:
            problems.append(f"dataset_description.json is not valid JSON: {exc}")
            meta = {}
        for key in ("Name", "BIDSVersion"):
            if not isinstance(meta.get(key), str) or not meta.get(key):
                problems.append(f"dataset_description.json lacks the required field {key}")
    subjects = sorted(p.name for p in root.glob("sub-*") if p.is_dir())
    participants = root / "participants.tsv"
    if participants.is_file():
        header, rows = _read_tsv(participants)
        if not header or header[0] != "participant_id":
            problems.append("participants.tsv must start with the column participant_id")
        listed = {r[0] for r in rows}
        for sub in subjects:
            if sub not in listed:
                problems.append(f"{sub} is not listed in participants.tsv")
    for sub in subjects:
        if _LABEL.fullmatch(sub[4:]) is None:
            problems.append(f"{sub}: the subject label must hold letters and digits only")
    data_files = sorted(
        p for p in root.rglob("*_emg.*") if p.suffix in (".edf", ".bdf", ".EDF", ".BDF")
    )
    if not data_files:
        problems.append("no EMG data file (sub-*/[ses-*/]emg/*_emg.edf|bdf)")
    for data in data_files:
        rel = data.relative_to(root)
        match = _DATA_NAME.fullmatch(data.name)
        if match is None:
            problems.append(f"{rel}: not a valid BIDS EMG file name")
            continue
        expected = Path(f"sub-{match['sub']}")
        if match["ses"]:
            expected = expected / f"ses-{match['ses']}"
        expected = expected / "emg" / data.name
        if rel != expected:
            problems.append(f"{rel}: should be at {expected}")
        stem = data.name[: -len("_emg" + data.suffix)]
        sidecar = data.with_name(f"{stem}_emg.json")
        if not sidecar.is_file():
            problems.append(f"{rel}: the sidecar {sidecar.name} is missing")
        else:
            try:
                fields = json.loads(sidecar.read_text(encoding="utf-8"))
            except ValueError as exc:
                problems.append(f"{sidecar.name} is not valid JSON: {exc}")
                fields = {}
            problems += _check_sidecar(sidecar.name, fields, match["task"])
        channels = data.with_name(f"{stem}_channels.tsv")
        if not channels.is_file():
            problems.append(f"{rel}: {channels.name} is missing")
        else:
            header, rows = _read_tsv(channels)
            if header[:3] != ["name", "type", "units"]:
                problems.append(f"{channels.name} must start with the columns name, type, units")
            if not rows:
                problems.append(f"{channels.name} lists no channel")
        events = data.with_name(f"{stem}_events.tsv")
        if events.is_file():
            header, rows = _read_tsv(events)
            if header[:2] != ["onset", "duration"]:
                problems.append(f"{events.name} must start with the columns onset, duration")
            for row in rows:
                try:
                    float(row[0])
                    if row[1] != "n/a" and float(row[1]) < 0:
                        raise ValueError
                except (ValueError, IndexError):
                    problems.append(f"{events.name}: bad onset/duration in row {row[:2]}")
                    break
    return problems


def _check_sidecar(name: str, fields: dict[str, Any], task: str) -> list[str]:
    problems = [
        f"{name} lacks the required field {key}"
        for key in REQUIRED_SIDECAR_FIELDS
        if key not in fields
    ]
    rate = fields.get("SamplingFrequency")
    if "SamplingFrequency" in fields and not (
        isinstance(rate, int | float) and not isinstance(rate, bool) and rate > 0
    ):
        problems.append(f"{name}: SamplingFrequency must be a number > 0, got {rate!r}")
    mains = fields.get("PowerLineFrequency")
    if "PowerLineFrequency" in fields and not (
        mains == "n/a" or (isinstance(mains, int | float) and mains > 0)
    ):
        problems.append(f"{name}: PowerLineFrequency must be a number > 0 or 'n/a'")
    software = fields.get("SoftwareFilters")
    if "SoftwareFilters" in fields and not (software == "n/a" or isinstance(software, dict)):
        problems.append(f"{name}: SoftwareFilters must be an object or 'n/a'")
    for key in ("TaskName", "EMGPlacementScheme", "EMGReference"):
        if key in fields and not (isinstance(fields[key], str) and fields[key]):
            problems.append(f"{name}: {key} must be a non-empty string")
    if fields.get("TaskName") not in (None, task):
        problems.append(f"{name}: TaskName {fields.get('TaskName')!r} differs from task-{task}")
    return problems

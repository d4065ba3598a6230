"""The researchers' Python API: a stored session as numpy arrays, a table, or an MNE Raw.

>>> from host.research import load_session
>>> rec = load_session(3, wearer="alice")              # doctest: +SKIP
>>> rec.data.shape, rec.sfreq, rec.ch_names            # (2, n_times) volts, Hz
>>> rec.events_table()                                 # episodes, labels, markers, gaps
>>> raw = rec.to_mne()                                 # mne.io.RawArray with Annotations

Arrays follow MNE-Python's conventions: ``(n_channels, n_times)``, EMG in volts,
accelerometer in g, ``sfreq`` in Hz, NaN for every sample the store does not hold (link
gaps). The store is opened read-only, so loading is safe while a session is recording.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from host.errors import ConfigError
from host.export.selection import (
    Annotation,
    SessionSlice,
    SignalOptions,
    collect_annotations,
    make_filter,
    plan_runs,
    read_stream,
    select_sessions,
)
from host.storage import DEFAULT_WEARER, RecordingStore, store_path

if TYPE_CHECKING:  # pragma: no cover
    import mne

__all__ = ["SessionData", "load_session"]


@dataclass(frozen=True, eq=False)
class SessionData:
    """One session (or part of it) in memory.

    Attributes
    ----------
    session_id : int
        The session.
    data : ndarray of float64, shape (n_channels, n_times)
        EMG in volts, NaN where the store holds no sample.
    sfreq : float
        EMG sampling rate, Hz.
    ch_names : tuple of str
        EMG channel names.
    times_us : ndarray of int64, shape (n_times,)
        UTC µs of every EMG sample (the store's drift-corrected times).
    accel : ndarray of float64, shape (n_axes, n_accel_times) or None
        Accelerometer in g, NaN where missing; None without accelerometer.
    accel_sfreq : float or None
        Accelerometer rate, Hz.
    accel_ch_names : tuple of str
        Accelerometer axes.
    accel_times_us : ndarray of int64, shape (n_accel_times,)
        UTC µs of every accelerometer sample.
    events : list of Annotation
        Episodes (with their labels), markers, link events and gaps, by onset.
    filtered : str
        ``"raw"`` or the filter applied (``"HP:20Hz LP:450Hz N:50Hz"``).
    """

    session_id: int
    data: NDArray[np.float64]
    sfreq: float
    ch_names: tuple[str, ...]
    times_us: NDArray[np.int64]
    accel: NDArray[np.float64] | None
    accel_sfreq: float | None
    accel_ch_names: tuple[str, ...]
    accel_times_us: NDArray[np.int64]
    events: list[Annotation] = field(default_factory=list)
    filtered: str = "raw"

    @property
    def n_times(self) -> int:
        """Number of EMG samples."""
        return int(self.data.shape[1])

    @property
    def meas_date(self) -> datetime:
        """UTC time of the first EMG sample."""
        return datetime.fromtimestamp(int(self.times_us[0]) / 1e6, tz=UTC)

    @property
    def times(self) -> NDArray[np.float64]:
        """Seconds of every EMG sample from the first, shape (n_times,)."""
        return np.asarray((self.times_us - self.times_us[0]) / 1e6, dtype=np.float64)

    @property
    def accel_times(self) -> NDArray[np.float64]:
        """Seconds of every accelerometer sample from the first EMG sample."""
        return np.asarray((self.accel_times_us - self.times_us[0]) / 1e6, dtype=np.float64)

    def events_table(self) -> Any:
        """Return the events as a pandas DataFrame (one row per event).

        Returns
        -------
        pandas.DataFrame
            Columns ``onset_s`` (from the first EMG sample), ``duration_s``,
            ``onset_utc``, ``category`` (episode, marker, link, gap), ``description``,
            ``episode_id``, ``kind``, ``side``, ``confidence``, ``involuntary``,
            ``labels`` (comma-separated), ``text`` (markers).

        Raises
        ------
        ConfigError
            If pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - pandas comes with the dev extras
            raise ConfigError("events_table() needs pandas: pip install pandas") from exc
        t0 = int(self.times_us[0])
        rows = [_event_row(e, t0) for e in self.events]
        columns = list(_event_row(Annotation(0, 0, "", ""), 0))
        frame = pd.DataFrame(rows, columns=columns)
        frame["onset_utc"] = pd.to_datetime(frame["onset_utc"], unit="us", utc=True)
        return frame

    def to_mne(self) -> mne.io.RawArray:
        """Return the EMG as an MNE-Python Raw object with the events as annotations.

        Channels are of type ``emg`` in volts; ``meas_date`` is the first sample's UTC
        time. Episodes, markers and link events become :class:`mne.Annotations` (their
        descriptions as in :attr:`events`); gaps become ``BAD_gap`` annotations, so MNE
        skips them (``reject_by_annotation``), and hold NaN in the data. The
        accelerometer has its own rate and stays in :attr:`accel`.

        Returns
        -------
        mne.io.RawArray
            The recording.

        Raises
        ------
        ConfigError
            If MNE-Python is not installed.
        """
        try:
            import mne
        except ImportError as exc:
            raise ConfigError(
                "to_mne() needs MNE-Python, which is not installed: pip install mne"
            ) from exc
        info = mne.create_info(list(self.ch_names), self.sfreq, ch_types="emg", verbose=False)
        raw = mne.io.RawArray(self.data, info, verbose=False)
        raw.set_meas_date(self.meas_date)
        t0 = int(self.times_us[0])
        onsets, durations, descriptions = [], [], []
        for event in self.events:
            onsets.append((event.onset_us - t0) / 1e6)
            durations.append(event.duration_us / 1e6)
            descriptions.append("BAD_gap" if event.category == "gap" else event.text)
        if onsets:
            end_s = self.n_times / self.sfreq
            keep = [i for i, o in enumerate(onsets) if 0 <= o <= end_s]
            raw.set_annotations(
                mne.Annotations(
                    [onsets[i] for i in keep],
                    [min(durations[i], end_s - onsets[i]) for i in keep],
                    [descriptions[i] for i in keep],
                    orig_time=self.meas_date,
                )
            )
        return raw


def _event_row(event: Annotation, t0_us: int) -> dict[str, Any]:
    f = event.fields
    labels = f.get("labels")
    return {
        "onset_s": (event.onset_us - t0_us) / 1e6,
        "duration_s": event.duration_us / 1e6,
        "onset_utc": event.onset_us,
        "category": event.category,
        "description": event.text,
        "episode_id": f.get("episode_id"),
        "kind": f.get("kind"),
        "side": f.get("side"),
        "confidence": f.get("confidence"),
        "involuntary": f.get("involuntary"),
        "labels": ",".join(labels) if labels else None,
        "text": f.get("text"),
    }


def _open(
    store: RecordingStore | str | os.PathLike[str] | None,
    wearer: str,
    data_dir: str | os.PathLike[str] | None,
) -> tuple[RecordingStore, bool]:
    if isinstance(store, RecordingStore):
        return store, False
    path = Path(store) if store is not None else store_path(wearer, data_dir)
    return RecordingStore.open(path, readonly=True), True


def load_session(
    session_id: int,
    *,
    wearer: str = DEFAULT_WEARER,
    data_dir: str | os.PathLike[str] | None = None,
    store: RecordingStore | str | os.PathLike[str] | None = None,
    start_s: float | None = None,
    stop_s: float | None = None,
    filtered: bool = False,
    mains_freq: float | None = None,
) -> SessionData:
    """Load a stored session into memory.

    Parameters
    ----------
    session_id : int
        The session (``spasmwatch sessions`` lists them).
    wearer : str
        Whose store (with ``data_dir``), when ``store`` is None.
    data_dir : path-like or None
        Folder of the stores; None: the default (``$SPASMWATCH_DATA_DIR``, ...).
    store : RecordingStore, path-like or None
        An open store or the path of a store file, instead of ``wearer``/``data_dir``.
    start_s, stop_s : float or None
        Part of the session, in seconds from its first stored EMG sample; None: all.
        A day of 2 x 1 kHz EMG takes 1.4 GB.
    filtered : bool
        Pass the EMG through spasmwatch's causal band-pass (20-450 Hz), restarted after
        every gap.
    mains_freq : float or None
        With ``filtered``: 50.0 or 60.0 to notch the mains frequency too.

    Returns
    -------
    SessionData
        EMG (volts), accelerometer (g), times and events.

    Raises
    ------
    ConfigError
        If the session does not exist or holds no EMG in the range.
    StorageError
        If the store cannot be opened.
    """
    opened, close = _open(store, wearer, data_dir)
    try:
        pieces = select_sessions(opened, session_id=session_id)
        session = pieces[0].session
        seg = opened.read_emg(session_id, start_s=start_s, stop_s=stop_s)
        if seg.n_times == 0:
            raise ConfigError(f"session {session_id} holds no EMG between {start_s} and {stop_s} s")
        times_us = seg.times_us()
        data = seg.data
        options = SignalOptions(filtered=filtered, mains_freq=mains_freq)
        piece = SessionSlice(session, int(times_us[0]), int(times_us[-1]) + 1)
        if filtered:
            data = np.full_like(seg.data, np.nan)
            for run in plan_runs(opened, piece, with_accel=False):
                bank = make_filter(session, options)
                assert bank is not None
                part = read_stream(opened, session, "emg", run.emg[0], run.emg[1])
                i0 = run.emg[0] - seg.first_sample
                data[:, i0 : i0 + run.n_emg] = bank.process(part.data)
        accel = None
        accel_times = np.zeros(0, dtype=np.int64)
        if session.has_accel and session.n_accel_samples:
            found = [
                s
                for s in opened.read_accel_between(int(times_us[0]), int(times_us[-1]) + 1)
                if s.session_id == session_id
            ]
            if found:
                accel = found[0].data
                accel_times = found[0].times_us()
        if stop_s is None:
            piece = SessionSlice(session, int(times_us[0]), None)
        events = collect_annotations(
            opened, SessionSlice(session, None if start_s is None else piece.start_us, piece.end_us)
        )
        return SessionData(
            session_id=session_id,
            data=data,
            sfreq=session.sfreq,
            ch_names=session.channel_names,
            times_us=times_us,
            accel=accel,
            accel_sfreq=session.accel_sfreq,
            accel_ch_names=session.accel_channel_names,
            accel_times_us=accel_times,
            events=events,
            filtered=options.prefilter_text(session.sfreq) if filtered else "raw",
        )
    finally:
        if close:
            opened.close()

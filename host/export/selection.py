"""What an export takes from the store: sessions, contiguous runs, signal chunks, annotations.

An export names one session (``session_id``) or a UTC time range (``start_us``/``end_us``,
which may span several sessions). :func:`select_sessions` turns that into
:class:`SessionSlice` objects (a session and the part of it to export) and refuses ranges
without data and unknown sessions with a :class:`~host.errors.ConfigError`.

The store never joins signal across a gap (a link drop, a device buffer overflow), and
neither do the exports: :func:`plan_runs` cuts a slice into :class:`Run` objects, stretches
of gapless EMG, with the accelerometer where it is gapless too (EMG-only runs where only
the accelerometer is missing, so that every EMG sample is in a run). File formats with a
fixed sample grid (EDF+, BDF+) write one file per run; tables keep the gaps as empty
cells instead.

Samples come as :class:`Chunk` objects from :func:`iter_chunks`: volts or counts, raw or
through the causal filter bank of :mod:`dsp.filterbank` (restarted at every run, as the
live pipeline restarts it after a gap).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from dsp.filterbank import EmgFilterBank
from dsp.filters import DEFAULT_H_FREQ, DEFAULT_L_FREQ
from host.errors import ConfigError, StorageError
from host.storage import RecordingStore, SessionRecord, SignalSegment, StoredGap, Stream
from host.storage.codec import format_limits

__all__ = [
    "Annotation",
    "Chunk",
    "Run",
    "SessionSlice",
    "SignalOptions",
    "Units",
    "collect_annotations",
    "iter_chunks",
    "plan_runs",
    "read_stream",
    "select_sessions",
    "stream_extent",
    "stream_runs",
]

Units: TypeAlias = Literal["uv", "counts"]
_UNITS: tuple[Units, ...] = ("uv", "counts")


@dataclass(frozen=True)
class SignalOptions:
    """Which values an export writes.

    Parameters
    ----------
    units : {"uv", "counts"}
        ``"uv"``: EMG in microvolts and accelerometer in g (physical units); ``"counts"``:
        the ADC integers exactly as the device sent them (raw only).
    filtered : bool
        Pass the EMG through the causal band-pass (and mains notch) of
        :class:`dsp.filterbank.EmgFilterBank`; the accelerometer is never filtered.
    l_freq, h_freq : float
        Band-pass edges, Hz (``h_freq`` is clipped at 90 % of Nyquist by the filter bank).
    mains_freq : float or None
        50.0 or 60.0 to notch the mains frequency and its harmonics, None for no notch.
    """

    units: Units = "uv"
    filtered: bool = False
    l_freq: float = DEFAULT_L_FREQ
    h_freq: float = DEFAULT_H_FREQ
    mains_freq: float | None = None

    def __post_init__(self) -> None:
        """Check the combination."""
        if self.units not in _UNITS:
            raise ConfigError(
                f"Invalid value for the 'units' parameter. Allowed values are 'uv', 'counts', "
                f"but got {self.units!r} instead."
            )
        if self.filtered and self.units == "counts":
            raise ConfigError(
                "counts are the raw ADC integers: filtered EMG can only be exported in "
                "microvolts (units='uv'), or export the raw counts unfiltered"
            )
        if self.mains_freq is not None and self.mains_freq not in (50.0, 60.0):
            raise ConfigError(f"mains_freq must be 50, 60 or None, got {self.mains_freq!r}")

    def describe(self, sfreq: float) -> str:
        """Return a one-line description of the values (for headers and sidecars).

        Parameters
        ----------
        sfreq : float
            EMG sampling rate, Hz (the effective band-pass edge depends on it).

        Returns
        -------
        str
            For example ``"raw, microvolts"`` or ``"filtered HP:20Hz LP:450Hz N:50Hz, ..."``.
        """
        unit = "ADC counts" if self.units == "counts" else "microvolts"
        if not self.filtered:
            return f"raw (no software filter), {unit}"
        return f"filtered {self.prefilter_text(sfreq)} (causal, spasmwatch filter bank), {unit}"

    def band(self, sfreq: float) -> tuple[float, float]:
        """Return the effective band-pass edges at ``sfreq`` (Hz), as the filter bank sets them."""
        h_freq = min(self.h_freq, 0.9 * sfreq / 2)
        return self.l_freq, h_freq

    def prefilter_text(self, sfreq: float) -> str:
        """Return the EDF+ prefiltering text of the EMG (``"HP:20Hz LP:450Hz N:50Hz"``).

        Parameters
        ----------
        sfreq : float
            EMG sampling rate, Hz.

        Returns
        -------
        str
            ``"none"`` for raw EMG.
        """
        if not self.filtered:
            return "none"
        low, high = self.band(sfreq)
        text = f"HP:{low:g}Hz LP:{high:g}Hz"
        if self.mains_freq is not None:
            text += f" N:{self.mains_freq:g}Hz"
        return text


@dataclass(frozen=True)
class SessionSlice:
    """A session and the UTC range of it to export.

    Attributes
    ----------
    session : SessionRecord
        The session.
    start_us, end_us : int or None
        Export samples and annotations with ``start_us <= t < end_us``; None: from the
        first / to the last stored sample.
    """

    session: SessionRecord
    start_us: int | None = None
    end_us: int | None = None

    def contains(self, t_us: int) -> bool:
        """Return True if ``t_us`` is inside the slice's range."""
        return (self.start_us is None or t_us >= self.start_us) and (
            self.end_us is None or t_us < self.end_us
        )


@dataclass(frozen=True)
class _StreamRun:
    """A stored stretch of one stream without a gap: samples ``[s0, s1)`` at ``[t0, t1)``."""

    s0: int
    s1: int
    t0_us: int
    t1_us: int

    def time_of(self, sample: int) -> float:
        return self.t0_us + (sample - self.s0) * (self.t1_us - self.t0_us) / (self.s1 - self.s0)

    def first_at_or_after(self, t_us: float) -> int:
        """First sample of the run whose time is >= ``t_us`` (``s1`` if none)."""
        rel = (t_us - self.t0_us) * (self.s1 - self.s0) / (self.t1_us - self.t0_us)
        # A little tolerance: times are integers, the mapping is a rational line.
        sample = self.s0 + math.ceil(rel - 1e-6)
        return min(max(sample, self.s0), self.s1)


@dataclass(frozen=True)
class Run:
    """A stretch of gapless EMG, with the accelerometer where it has every sample too.

    Attributes
    ----------
    session : SessionRecord
        The session.
    emg : tuple of int
        EMG device sample indices ``(first, stop)``.
    accel : tuple of int or None
        Accelerometer sample indices ``(first, stop)``; None when not exported or missing
        for this stretch (an EMG-only run).
    t_start_us : int
        UTC µs of the first EMG sample.
    accel_offset_us : int
        UTC µs of the first accelerometer sample minus that of the first EMG sample (the
        two streams sample at their own instants; 0 when they coincide).
    continues : bool
        The EMG continues that of the run before without a gap (only the accelerometer
        changed): a filter keeps its state.
    """

    session: SessionRecord
    emg: tuple[int, int]
    accel: tuple[int, int] | None
    t_start_us: int
    accel_offset_us: int = 0
    continues: bool = False

    @property
    def n_emg(self) -> int:
        """Number of EMG samples."""
        return self.emg[1] - self.emg[0]

    @property
    def n_accel(self) -> int:
        """Number of accelerometer samples (0 without accelerometer)."""
        return 0 if self.accel is None else self.accel[1] - self.accel[0]

    @property
    def duration_s(self) -> float:
        """Length of the EMG in the run, s (samples / sfreq)."""
        return self.n_emg / self.session.sfreq


@dataclass(frozen=True)
class Chunk:
    """Consecutive samples of one stream, ready to write.

    Attributes
    ----------
    data : ndarray of float64, shape (n_channels, n_times)
        Microvolts or counts (EMG), g or counts (accelerometer); NaN where missing.
    first_sample : int
        Device sample index of ``data[:, 0]``.
    times_us : ndarray of int64, shape (n_times,)
        UTC µs of every column.
    """

    data: NDArray[np.float64]
    first_sample: int
    times_us: NDArray[np.int64]


@dataclass(frozen=True)
class Annotation:
    """An episode, marker, label or link event placed in time.

    Attributes
    ----------
    onset_us : int
        UTC µs.
    duration_us : int
        Length, µs (0 for instants).
    category : {"episode", "marker", "link", "gap"}
        What it is; ``gap`` is a run of samples missing from the store.
    text : str
        Human-readable description (the EDF+ annotation text).
    fields : dict
        The values behind the text (episode id, kind, side, confidence, labels, ...).
    """

    onset_us: int
    duration_us: int
    category: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)


def _check_range(start_us: int | None, end_us: int | None) -> None:
    if start_us is not None and end_us is not None and end_us <= start_us:
        raise ConfigError(f"the end of the range ({end_us}) must be after its start ({start_us})")


def select_sessions(
    store: RecordingStore,
    *,
    session_id: int | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
) -> list[SessionSlice]:
    """Return what to export: one session, or every session overlapping a UTC range.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    session_id : int or None
        Export this session (optionally cut to ``start_us``/``end_us``).
    start_us, end_us : int or None
        UTC µs range; with ``session_id=None`` at least one of them is required.

    Returns
    -------
    list of SessionSlice
        Oldest first; only sessions with EMG samples in the range.

    Raises
    ------
    ConfigError
        If the session does not exist, neither a session nor a range is given, or there
        is no EMG in what was asked for.
    """
    _check_range(start_us, end_us)
    if session_id is not None:
        try:
            sessions = [store.session(session_id)]
        except (ConfigError, StorageError) as exc:
            known = [s.id for s in store.list_sessions()]
            raise ConfigError(
                f"no session {session_id} in {store.path} (sessions there: "
                f"{', '.join(map(str, known)) or 'none'}; see 'spasmwatch sessions')"
            ) from exc
    elif start_us is None and end_us is None:
        raise ConfigError("name a session (session_id) or a time range (start_us/end_us)")
    else:
        sessions = store.list_sessions(start_us=start_us, end_us=end_us)
    out: list[SessionSlice] = []
    for record in sessions:
        piece = SessionSlice(record, start_us, end_us)
        if any(_emg_runs_in(store, piece)):
            out.append(piece)
    if not out:
        what = f"session {session_id}" if session_id is not None else "the store"
        raise ConfigError(
            f"no EMG samples in {what} between {_iso(start_us)} and {_iso(end_us, 'the end')}: "
            "choose a range with data (see 'spasmwatch sessions')"
        )
    return out


def _iso(t_us: int | None, missing: str = "the start") -> str:
    if t_us is None:
        return missing
    return datetime.fromtimestamp(t_us / 1e6, tz=UTC).isoformat()


def read_stream(
    store: RecordingStore, session: SessionRecord, stream: Stream, s0: int, s1: int
) -> SignalSegment:
    """Read samples ``[s0, s1)`` (device sample indices) of a stream.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    session : SessionRecord
        The session.
    stream : {"emg", "accel"}
        Which signal.
    s0, s1 : int
        First and stop sample index; they must lie inside the stored extent.

    Returns
    -------
    SignalSegment
        Exactly ``s1 - s0`` samples from ``s0``.
    """
    origin = _origin(store, session, stream)
    sfreq = session.sfreq if stream == "emg" else float(session.accel_sfreq or 0.0)
    start_s, stop_s = (s0 - origin) / sfreq, (s1 - origin) / sfreq
    if stream == "emg":
        seg = store.read_emg(session.id, start_s=start_s, stop_s=stop_s)
    else:
        seg = store.read_accel(session.id, start_s=start_s, stop_s=stop_s)
    if seg.first_sample != s0 or seg.n_times != s1 - s0:  # pragma: no cover - defensive
        raise StorageError(
            f"reading {stream} samples {s0}-{s1} of session {session.id} gave "
            f"{seg.first_sample}+{seg.n_times}: the sample range is outside the stored data"
        )
    return seg


_GAP_CACHE: dict[tuple[str, int, str, int, int, int | None], list[StoredGap]] = {}


def _gaps(store: RecordingStore, session: SessionRecord, stream: Stream) -> list[StoredGap]:
    """``store.gaps`` (a scan of the session's blocks), remembered per session state."""
    key = (
        str(store.path),
        session.id,
        stream,
        session.n_emg_samples,
        session.n_accel_samples,
        session.data_end_us,
    )
    if key not in _GAP_CACHE:
        if len(_GAP_CACHE) > 64:
            _GAP_CACHE.clear()
        _GAP_CACHE[key] = store.gaps(session.id, stream)
    return _GAP_CACHE[key]


def _origin(store: RecordingStore, session: SessionRecord, stream: Stream) -> int:
    """First stored device sample index of a stream (an empty read at 0 s)."""
    head = (
        store.read_emg(session.id, start_s=0, stop_s=0)
        if stream == "emg"
        else store.read_accel(session.id, start_s=0, stop_s=0)
    )
    return head.first_sample


def stream_extent(store: RecordingStore, session: SessionRecord, stream: Stream) -> tuple[int, int]:
    """Return the first and stop device sample index a stream of a session holds.

    Returns ``(0, 0)`` for a stream without samples.
    """
    n_stored = session.n_emg_samples if stream == "emg" else session.n_accel_samples
    if n_stored == 0 or (stream == "accel" and not session.has_accel):
        return 0, 0
    origin = _origin(store, session, stream)
    missing = sum(g.n_samples for g in _gaps(store, session, stream))
    return origin, origin + n_stored + missing


def _stream_runs(store: RecordingStore, session: SessionRecord, stream: Stream) -> list[_StreamRun]:
    origin, stop = stream_extent(store, session, stream)
    if stop <= origin:
        return []
    gaps = _gaps(store, session, stream)
    bounds: list[tuple[int, int]] = []
    first = origin
    for gap in gaps:
        bounds.append((first, gap.first_sample))
        first = gap.first_sample + gap.n_samples
    bounds.append((first, stop))
    runs = []
    for s0, s1 in bounds:
        if s1 <= s0:
            continue
        head = read_stream(store, session, stream, s0, s0 + 1)
        tail = read_stream(store, session, stream, s1 - 1, s1)
        t0 = int(head.sample_times_us(np.array([s0], dtype=np.int64))[0])
        t1 = int(tail.anchor_us[-1])
        runs.append(_StreamRun(s0, s1, t0, t1))
    return runs


def stream_runs(
    store: RecordingStore, piece: SessionSlice, stream: Stream
) -> list[tuple[int, int]]:
    """Return the gapless sample ranges ``(first, stop)`` of one stream inside a slice.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    piece : SessionSlice
        The session and range.
    stream : {"emg", "accel"}
        Which signal.

    Returns
    -------
    list of tuple of int
        Device sample ranges in order; empty without samples in the range.
    """
    return list(_runs_in(store, piece, stream))


def _emg_runs_in(store: RecordingStore, piece: SessionSlice) -> Iterator[tuple[int, int]]:
    return _runs_in(store, piece, "emg")


def _runs_in(
    store: RecordingStore, piece: SessionSlice, stream: Stream
) -> Iterator[tuple[int, int]]:
    if stream == "accel" and not piece.session.has_accel:
        return
    for run in _stream_runs(store, piece.session, stream):
        a = run.s0 if piece.start_us is None else run.first_at_or_after(piece.start_us)
        b = run.s1 if piece.end_us is None else run.first_at_or_after(piece.end_us)
        if b > a:
            yield a, b


def plan_runs(
    store: RecordingStore,
    piece: SessionSlice,
    *,
    with_accel: bool,
    min_joint_s: float = 0.0,
) -> list[Run]:
    """Cut a session slice into runs of gapless EMG (with the accelerometer where it is gapless).

    Every stored EMG sample of the slice is in exactly one run. Without the accelerometer a
    run is a gapless stretch of EMG. With it, each gapless EMG stretch is cut further where
    the accelerometer is missing (a gap in the accelerometer alone, an accelerometer that
    starts after or ends before the EMG): runs with both streams (their first
    accelerometer sample the one nearest the first EMG sample, within half an
    accelerometer period, :attr:`Run.accel_offset_us`) alternate with EMG-only runs
    (``accel`` None) that continue the same EMG (:attr:`Run.continues`). Accelerometer
    samples where the EMG has a gap are in no run.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    piece : SessionSlice
        The session and range.
    with_accel : bool
        Include the accelerometer (ignored for sessions without one).
    min_joint_s : float
        A stretch with both streams shorter than this, between two accelerometer gaps of
        the same gapless EMG (an EMG-only run on either side), joins its neighbours as
        EMG only (its accelerometer samples are in no run): a flaky accelerometer then
        does not cut the EMG into many short pieces. 0: keep every such stretch.

    Returns
    -------
    list of Run
        In time order.
    """
    session = piece.session
    lo = -math.inf if piece.start_us is None else piece.start_us
    hi = math.inf if piece.end_us is None else piece.end_us
    emg_runs = _stream_runs(store, session, "emg")
    use_accel = with_accel and session.has_accel
    accel_runs = _stream_runs(store, session, "accel") if use_accel else []
    out: list[Run] = []
    for er in emg_runs:
        first = er.first_at_or_after(max(lo, er.t0_us))
        stop = er.first_at_or_after(min(hi, er.t1_us))
        if stop <= first:
            continue
        joints = _joint_pieces(er, accel_runs, session, first, stop, lo, hi) if use_accel else []
        # (EMG first, stop, accelerometer range or None, accelerometer offset, µs)
        pieces: list[tuple[int, int, tuple[int, int] | None, int]] = []
        cursor = first
        for e0, e1, a0, a1 in joints:
            e0 = max(e0, cursor)
            if e1 <= e0:
                continue
            if e0 > cursor:
                pieces.append((cursor, e0, None, 0))
            t_emg = round(er.time_of(e0))
            accel_run = next(ar for ar in accel_runs if ar.s0 <= a0 < ar.s1)
            pieces.append((e0, e1, (a0, a1), round(accel_run.time_of(a0)) - t_emg))
            cursor = e1
        if cursor < stop:
            pieces.append((cursor, stop, None, 0))
        pieces = _merge_short_joints(pieces, min_joint_s * session.sfreq)
        for k, (e0, e1, acc, offset) in enumerate(pieces):
            out.append(Run(session, (e0, e1), acc, round(er.time_of(e0)), offset, continues=k > 0))
    out.sort(key=lambda r: r.t_start_us)
    return out


def _joint_pieces(
    er: _StreamRun,
    accel_runs: Sequence[_StreamRun],
    session: SessionRecord,
    first: int,
    stop: int,
    lo: float,
    hi: float,
) -> list[tuple[int, int, int, int]]:
    """EMG and accelerometer ranges ``(e0, e1, a0, a1)`` where both have every sample."""
    accel_sfreq = float(session.accel_sfreq or 0.0)
    out: list[tuple[int, int, int, int]] = []
    for ar in accel_runs:
        a = max(lo, er.t0_us, ar.t0_us)
        b = min(hi, er.t1_us, ar.t1_us)
        if b <= a:
            continue
        e0, a0 = er.first_at_or_after(a), ar.first_at_or_after(a)
        if e0 >= er.s1 or a0 >= ar.s1:
            continue
        # Start both streams at the later of their first instants, each at its sample
        # nearest to that instant.
        t_align = max(er.time_of(e0), ar.time_of(a0))
        e0 = max(first, er.first_at_or_after(t_align - 0.5e6 / session.sfreq))
        a0 = max(a0, ar.first_at_or_after(t_align - 0.5e6 / accel_sfreq))
        e1, a1 = min(stop, er.first_at_or_after(b)), ar.first_at_or_after(b)
        if e1 > e0 and a1 > a0:
            out.append((e0, e1, a0, a1))
    out.sort()
    return out


def _merge_short_joints(
    pieces: list[tuple[int, int, tuple[int, int] | None, int]], min_samples: float
) -> list[tuple[int, int, tuple[int, int] | None, int]]:
    """Turn short joint pieces between two EMG-only pieces into EMG only; join EMG-only pieces."""
    kept = [
        (e0, e1, None, 0)
        if acc is not None
        and 0 < k < len(pieces) - 1
        and pieces[k - 1][2] is None
        and pieces[k + 1][2] is None
        and e1 - e0 < min_samples
        else (e0, e1, acc, offset)
        for k, (e0, e1, acc, offset) in enumerate(pieces)
    ]
    merged: list[tuple[int, int, tuple[int, int] | None, int]] = []
    for piece in kept:
        if merged and piece[2] is None and merged[-1][2] is None:
            merged[-1] = (merged[-1][0], piece[1], None, 0)
        else:
            merged.append(piece)
    return merged


def _scale(session: SessionRecord, stream: Stream, units: Units) -> float:
    """Factor from what the store returns (V or g) to what is written."""
    if units == "counts":
        per_count = session.emg_volts_per_count if stream == "emg" else session.accel_g_per_count
        return 1.0 / float(per_count or 1.0)
    return 1e6 if stream == "emg" else 1.0


def make_filter(session: SessionRecord, options: SignalOptions) -> EmgFilterBank | None:
    """Return a fresh filter bank for the EMG of a session, or None for raw export."""
    if not options.filtered:
        return None
    return EmgFilterBank(
        session.sfreq,
        session.n_channels,
        l_freq=options.l_freq,
        h_freq=min(options.h_freq, 0.9 * session.sfreq / 2),
        mains_freq=options.mains_freq,
    )


def iter_chunks(
    store: RecordingStore,
    session: SessionRecord,
    stream: Stream,
    s0: int,
    s1: int,
    options: SignalOptions,
    *,
    chunk_samples: int,
    filter_bank: EmgFilterBank | None = None,
) -> Iterator[Chunk]:
    """Yield samples ``[s0, s1)`` of a stream in the export's units, ``chunk_samples`` at a time.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    session : SessionRecord
        The session.
    stream : {"emg", "accel"}
        Which signal.
    s0, s1 : int
        Device sample range.
    options : SignalOptions
        Units and filtering.
    chunk_samples : int
        Samples per chunk (the last may be shorter).
    filter_bank : EmgFilterBank or None
        The EMG filter to run (its state carries over between chunks); None: raw. The
        filter needs gapless input: pass it only for a :class:`Run`.

    Yields
    ------
    Chunk
        Consecutive chunks. Counts are exact integers (as float64).
    """
    factor = _scale(session, stream, options.units)
    for first in range(s0, s1, max(1, chunk_samples)):
        seg = read_stream(store, session, stream, first, min(s1, first + chunk_samples))
        data = seg.data
        if stream == "emg" and filter_bank is not None:
            data = filter_bank.process(data)
        if options.units == "counts":
            values = np.rint(data * factor)
        else:
            values = data * factor
        yield Chunk(values, first, seg.times_us())


def count_limits(session: SessionRecord, stream: Stream) -> tuple[int, int]:
    """Return the smallest and largest count of a stream's stored sample format."""
    fmt = session.sample_format if stream == "emg" else session.accel_sample_format
    return format_limits(fmt)


def _label_map(store: RecordingStore, episode_ids: Sequence[int]) -> dict[int, list[str]]:
    wanted = set(episode_ids)
    labels: dict[int, list[str]] = {}
    if not wanted:
        return labels
    for label in store.labels():
        if label.episode_id in wanted:
            labels.setdefault(label.episode_id, []).append(label.label)
    return labels


def _clean(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def collect_annotations(store: RecordingStore, piece: SessionSlice) -> list[Annotation]:
    """Return the episodes, markers, link events and stored gaps of a session slice.

    Parameters
    ----------
    store : RecordingStore
        The open store.
    piece : SessionSlice
        The session and range (by onset time).

    Returns
    -------
    list of Annotation
        Sorted by onset. Episode texts read ``"episode spasm side=left confidence=0.93
        involuntary=yes labels=spasm"``; marker texts ``"marker: <text>"``; link events
        ``"link <kind> ..."``; gaps ``"gap emg 1234 samples"``.
    """
    sid = piece.session.id
    out: list[Annotation] = []
    episodes = store.episodes(session_id=sid, start_us=piece.start_us, end_us=piece.end_us)
    labels = _label_map(store, [e.id for e in episodes])
    for ep in episodes:
        names = labels.get(ep.id, [])
        conf = "" if ep.confidence is None else f" confidence={ep.confidence:.3f}"
        text = (
            f"episode {_clean(ep.kind)} side={_clean(ep.side)}{conf} "
            f"involuntary={'yes' if ep.involuntary else 'no'}"
        )
        if names:
            text += f" labels={','.join(_clean(n).replace(' ', '_') for n in names)}"
        out.append(
            Annotation(
                ep.start_us,
                ep.end_us - ep.start_us,
                "episode",
                text,
                {
                    "episode_id": ep.id,
                    "kind": ep.kind,
                    "side": ep.side,
                    "confidence": ep.confidence,
                    "involuntary": ep.involuntary,
                    "labels": names,
                    "start_sample": ep.start_sample,
                    "end_sample": ep.end_sample,
                },
            )
        )
    for marker in store.markers(session_id=sid, start_us=piece.start_us, end_us=piece.end_us):
        out.append(
            Annotation(
                marker.t_us,
                0,
                "marker",
                f"marker: {_clean(marker.text)}",
                {"marker_id": marker.id, "text": marker.text},
            )
        )
    for event in store.link_events(session_id=sid, start_us=piece.start_us, end_us=piece.end_us):
        duration = 0
        text = f"link {event.kind}"
        if event.stream is not None:
            text += f" {event.stream}"
        if event.n_samples is not None:
            text += f" {event.n_samples} samples"
            rate = piece.session.sfreq if event.stream != "accel" else piece.session.accel_sfreq
            if event.kind == "gap" and rate:
                duration = round(event.n_samples * 1e6 / rate)
        out.append(
            Annotation(
                event.t_us,
                duration,
                "link",
                text,
                {
                    "link_event_id": event.id,
                    "kind": event.kind,
                    "stream": event.stream,
                    "first_sample": event.first_sample,
                    "n_samples": event.n_samples,
                },
            )
        )
    streams: list[Stream] = ["emg", "accel"] if piece.session.has_accel else ["emg"]
    for stream in streams:
        for gap in _gaps(store, piece.session, stream):
            if not piece.contains(gap.t_start_us):
                continue
            out.append(
                Annotation(
                    gap.t_start_us,
                    gap.t_end_us - gap.t_start_us,
                    "gap",
                    f"gap {stream} {gap.n_samples} samples",
                    {
                        "stream": stream,
                        "first_sample": gap.first_sample,
                        "n_samples": gap.n_samples,
                    },
                )
            )
    out.sort(key=lambda a: (a.onset_us, a.category))
    return out

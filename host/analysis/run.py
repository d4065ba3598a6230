"""Analyse a whole recording (arrays in memory, or a file streamed block by block)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsp.calibration import Calibration
from dsp.detector import Episode
from host.analysis.engine import EpisodeAnalyzer
from host.analysis.result import AnalysisResult
from host.errors import ConfigError, RecordingError

__all__ = ["BLOCK_S", "MIN_BASELINE_S", "analyze_arrays", "analyze_file"]

#: Block length the recording is processed in, s (the result does not depend on it).
BLOCK_S = 10.0
#: Recordings shorter than this give a result with reduced confidence (the resting
#: baseline needs about a minute of quiet), s.
MIN_BASELINE_S = 60.0

Progress = Callable[[float], None]


def _run(
    analyzer: EpisodeAnalyzer,
    blocks: Iterable[tuple[NDArray[np.float64], NDArray[np.float64] | None]],
    progress: Progress | None,
    total_s: float,
) -> tuple[list[Episode], float]:
    episodes: list[Episode] = []
    n = 0
    for emg, acc in blocks:
        if acc is not None and acc.shape[1]:
            episodes.extend(analyzer.feed_accel(acc))
        episodes.extend(analyzer.feed_emg(emg))
        n += emg.shape[1]
        if progress is not None and total_s > 0:
            progress(min(n / analyzer.sfreq / total_s, 1.0))
    episodes.extend(analyzer.finish())
    episodes.sort(key=lambda e: (e.start_sample, e.end_sample))
    return episodes, n / analyzer.sfreq


def _result(
    analyzer: EpisodeAnalyzer,
    episodes: list[Episode],
    duration_s: float,
    *,
    start: datetime | None,
    source: str,
    channels: tuple[str, ...],
    warnings: list[str],
) -> AnalysisResult:
    used_acc = analyzer.detector.motion is not None
    if duration_s < MIN_BASELINE_S:
        warnings.append(
            f"recording is only {duration_s:.0f} s long: the resting baseline needs about "
            f"{MIN_BASELINE_S:.0f} s of quiet, so detections have reduced confidence"
        )
    if not used_acc:
        warnings.append(
            "no accelerometer: involuntary/voluntary decisions rest on EMG alone (lower confidence)"
        )
    if analyzer.n_gaps:
        warnings.append(f"{analyzer.n_gaps} gap(s) in the EMG: filters restarted after each")
    return AnalysisResult(
        episodes=[e for e in episodes if e.kind != "twitch"],
        twitches=[e for e in episodes if e.kind == "twitch"],
        duration_s=duration_s,
        sfreq=analyzer.sfreq,
        start=start,
        source=source,
        used_accelerometer=used_acc,
        mains_hz=analyzer.mains_freq,
        channels=channels,
        warnings=tuple(warnings),
    )


def analyze_arrays(
    emg_v: NDArray[np.float64],
    sfreq: float,
    *,
    sides: Sequence[str] = ("left", "right"),
    accel_g: NDArray[np.float64] | None = None,
    accel_sfreq: float | None = None,
    start: datetime | None = None,
    calibration: Calibration | None = None,
    mains_freq: float | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Run the streaming detector over a recording held in memory.

    Parameters
    ----------
    emg_v : ndarray, shape (n_channels, n_times)
        Raw EMG in volts (1 or 2 channels); NaN columns are gaps.
    sfreq : float
        EMG rate, Hz.
    sides : sequence of str
        Side of each EMG channel.
    accel_g : ndarray, shape (3, n_accel) | None
        Trunk acceleration in g (None: EMG-only).
    accel_sfreq : float | None
        Accelerometer rate, Hz (required with ``accel_g``).
    start : datetime | None
        UTC time of the first sample.
    calibration : Calibration | None
        Amplitudes in %MVC when given.
    mains_freq : float | None
        50 or 60 to notch from the start; None detects it.
    progress : callable | None
        Called with the fraction done (0-1) after every block.

    Returns
    -------
    AnalysisResult
    """
    emg = np.asarray(emg_v, dtype=np.float64)
    if emg.ndim != 2 or emg.shape[0] not in (1, 2):
        raise ConfigError(
            f"emg_v must have shape (1 or 2, n_times) in volts, got {emg.shape} instead"
        )
    acc: NDArray[np.float64] | None = None
    if accel_g is not None:
        acc = np.asarray(accel_g, dtype=np.float64)
        if acc.ndim != 2 or acc.shape[0] != 3:
            raise ConfigError(f"accel_g must have shape (3, n_times) in g, got {acc.shape}")
        if accel_sfreq is None or not accel_sfreq > 0:
            raise ConfigError("accel_sfreq (Hz) is required with accel_g")
    analyzer = EpisodeAnalyzer(
        sfreq,
        emg.shape[0],
        sides=sides,
        accel_sfreq=accel_sfreq if acc is not None else None,
        calibration=calibration,
        mains_freq=mains_freq,
    )
    step = max(round(BLOCK_S * sfreq), 1)

    def blocks() -> Iterable[tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
        n = emg.shape[1]
        for pos in range(0, n, step):
            stop = min(pos + step, n)
            a = None
            if acc is not None and accel_sfreq is not None:
                a0 = round(pos / sfreq * accel_sfreq)
                a1 = acc.shape[1] if stop == n else round(stop / sfreq * accel_sfreq)
                a = acc[:, a0:a1]
            yield emg[:, pos:stop], a

    episodes, duration = _run(analyzer, blocks(), progress, emg.shape[1] / sfreq)
    labels = tuple(f"EMG {s}" for s in sides)
    return _result(
        analyzer, episodes, duration, start=start, source="<arrays>", channels=labels, warnings=[]
    )


def analyze_file(
    path: str | Path,
    *,
    calibration: Calibration | None = None,
    mains_freq: float | None = None,
    use_accel: bool = True,
    progress: Progress | None = None,
    **reader_options: Any,
) -> AnalysisResult:
    """Stream a recording file through the detector (EDF/EDF+/BDF/BDF+, CSV, ``.sw1``).

    Parameters
    ----------
    path : str | Path
        The recording.
    calibration : Calibration | None
        Amplitudes in %MVC when given.
    mains_freq : float | None
        50 or 60 to notch from the start; None detects it.
    use_accel : bool
        False ignores the accelerometer even when the file has one.
    progress : callable | None
        Called with the fraction done (0-1) after every block.
    **reader_options
        Channel selection and units, passed to :func:`host.importers.open_recording`
        (``emg``, ``sides``, ``accel``, ``emg_unit``, ``accel_unit``, ``sfreq``, ``format``).

    Returns
    -------
    AnalysisResult

    Raises
    ------
    RecordingError
        If the file cannot be read or holds no usable EMG.
    """
    from host.importers import open_recording

    with open_recording(path, **reader_options) as reader:
        info = reader.info
        if info.n_times == 0:
            raise RecordingError(f"{path}: the recording holds no EMG samples")
        accel_sfreq = info.accel_sfreq if use_accel else None
        analyzer = EpisodeAnalyzer(
            info.sfreq,
            len(info.emg_labels),
            sides=info.sides,
            accel_sfreq=accel_sfreq,
            calibration=calibration,
            mains_freq=mains_freq,
        )

        def blocks() -> Iterable[tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
            for block in reader.blocks(BLOCK_S):
                yield block.emg, block.accel if accel_sfreq is not None else None

        episodes, duration = _run(analyzer, blocks(), progress, info.duration_s)
        channels = tuple(
            f"{label} ({side})" for label, side in zip(info.emg_labels, info.sides, strict=True)
        )
        warnings = list(info.warnings)
        if not use_accel and info.accel_sfreq is not None:
            warnings.append("accelerometer ignored on request")
        return _result(
            analyzer,
            episodes,
            duration,
            start=info.start,
            source=str(path),
            channels=channels,
            warnings=warnings,
        )

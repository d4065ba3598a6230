"""WFDB records (PhysioNet's format: a ``.hea`` header and its signal files), read with ``wfdb``.

A record is opened by its header file (``rec.hea``); the signal files it names are read
stretch by stretch with :func:`wfdb.rdrecord`, so memory stays bounded whatever the
record's length. Signals stored at a multiple of the record's frame rate (WFDB
"samples per frame") keep their own rate, so an accelerometer at a lower rate than the
EMG is read as such. Values come back in the header's physical units (``(digital -
baseline) / gain``), and samples stored as the format's invalid value come back as NaN.
Channel detection and units follow :mod:`host.importers.channels`, as for every format.

The ``wfdb`` package is imported only when a record is opened; without it, opening
raises a :class:`~host.errors.RecordingError` that says how to install it.

Notes
-----
The format is that of the WFDB Software Package (Moody, Mark & Goldberger, PhysioBank,
PhysioToolkit and PhysioNet, Circulation 2000;101:e215), read with the ``wfdb`` Python
package (Xie et al., wfdb-python, https://github.com/MIT-LCP/wfdb-python). Multi-segment
records are not supported.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from host.errors import RecordingError
from host.importers.channels import finish_selection
from host.importers.recording import ChannelOptions, RecordingInfo, WindowReader, rate_ratio

__all__ = ["WFDB_SUFFIX", "WfdbReader"]

logger = logging.getLogger(__name__)

#: The file a WFDB record is opened by.
WFDB_SUFFIX = ".hea"
#: Seconds read to infer units the header does not give.
_PROBE_S = 60.0


@contextlib.contextmanager
def _quiet_pandas() -> Iterator[None]:
    """Silence pandas' deprecation of ``inplace=`` in wfdb 4.3's own code (pandas >= 3.1).

    A warning about the library's code, at its import and in its readers, that the user
    cannot act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame")
        yield


def _import_wfdb() -> ModuleType:
    try:
        with _quiet_pandas():
            return importlib.import_module("wfdb")
    except ImportError:
        raise RecordingError(
            "reading WFDB records needs the 'wfdb' package, which is not installed; "
            "install it with: pip install wfdb"
        ) from None


class WfdbReader(WindowReader):
    """Reader of single-segment WFDB records (random access, a stretch at a time).

    Parameters
    ----------
    path : Path
        The record's header file (``rec.hea``); its signal files must lie beside it.
    options : ChannelOptions
        Channel choices (see :func:`~host.importers.recording.open_recording`).

    Raises
    ------
    RecordingError
        If ``wfdb`` is not installed, the header cannot be read, the record has several
        segments or no samples, or its channels do not give what analysis needs.
    """

    def __init__(self, path: Path, options: ChannelOptions) -> None:
        self._wfdb = _import_wfdb()
        if path.suffix.lower() != WFDB_SUFFIX:
            raise RecordingError(
                f"{path}: a WFDB record is opened by its header file ({WFDB_SUFFIX}), got "
                f"{path.suffix or 'no extension'!r}"
            )
        self._record = str(path.with_suffix(""))
        try:
            with _quiet_pandas():
                header = self._wfdb.rdheader(self._record)
        except FileNotFoundError as err:
            raise RecordingError(f"{path}: {err}") from None
        except Exception as err:  # wfdb raises ValueError, IndexError... on bad headers
            raise RecordingError(f"{path}: not a readable WFDB header: {err}") from None
        if getattr(header, "seg_name", None) is not None:
            raise RecordingError(
                f"{path}: multi-segment WFDB records are not supported; convert the record "
                "to a single segment (e.g. wfdb.rdrecord(..., m2s=True) then wfdb.wrsamp)"
            )
        n_sig = int(header.n_sig or 0)
        fs = float(header.fs or 0.0)
        n_frames = int(header.sig_len or 0)
        if n_sig < 1 or not (fs > 0 and math.isfinite(fs)):
            raise RecordingError(
                f"{path}: the header gives {n_sig} signals at {fs:g} Hz; expected at least "
                "one signal and a positive sampling frequency"
            )
        if n_frames < 1:
            raise RecordingError(f"{path}: the header gives no signal length (or zero samples)")
        labels = [str(name) for name in (header.sig_name or [f"ch{i}" for i in range(n_sig)])]
        units = [str(u or "") for u in (header.units or [""] * n_sig)]
        units = ["" if u.strip().upper() == "NU" else u for u in units]  # "not given"
        spf = [int(k or 1) for k in (header.samps_per_frame or [1] * n_sig)]
        rates = [fs * k for k in spf]
        selection = options.select(labels, units, rates)
        self._path = path
        self._spf = spf
        self._emg_ch = list(selection.emg)
        self._acc_ch = list(selection.accel) if selection.accel is not None else []
        n_times = n_frames * spf[self._emg_ch[0]]
        n_acc = n_frames * spf[self._acc_ch[0]] if self._acc_ch else 0
        if selection.accel_sfreq is not None:
            self.accel_ratio = rate_ratio(selection.accel_sfreq, selection.sfreq)
        self._emg_scale = [1.0] * len(self._emg_ch)
        self._acc_scale = [1.0, 1.0, 1.0]
        notes: list[str] = []
        needs_probe = any(s is None for s in selection.emg_volts_per_unit) or (
            selection.accel is not None and selection.accel_g_per_unit is None
        )
        if needs_probe:
            probe = self._read(0, min(n_frames, max(1, round(_PROBE_S * fs))))
            emg_probe = np.vstack([probe[c] for c in self._emg_ch])
            acc_probe = np.vstack([probe[c] for c in self._acc_ch]) if self._acc_ch else None
            selection = finish_selection(selection, labels, units, emg_probe, acc_probe)
            if selection.accel is None:
                self._acc_ch = []
                n_acc = 0
        self._emg_scale = [float(s or 1.0) for s in selection.emg_volts_per_unit]
        if selection.accel_g_per_unit is not None:
            self._acc_scale = [float(s) for s in selection.accel_g_per_unit]
        start = None
        base = getattr(header, "base_datetime", None)
        if isinstance(base, datetime):
            start = base.replace(tzinfo=UTC) if base.tzinfo is None else base.astimezone(UTC)
        elif getattr(header, "base_time", None) is not None:
            notes.append("the header gives a start time but no date: start unknown")
        self.info = RecordingInfo(
            path=str(path),
            format="wfdb",
            sfreq=selection.sfreq,
            emg_labels=tuple(labels[i] for i in self._emg_ch),
            sides=selection.sides,
            accel_sfreq=selection.accel_sfreq if self._acc_ch else None,
            accel_labels=tuple(labels[i] for i in self._acc_ch),
            n_times=n_times,
            n_accel_times=n_acc,
            start=start,
            annotations=(),
            other_labels=tuple(
                labels[i] for i in range(n_sig) if i not in self._emg_ch + self._acc_ch
            ),
            warnings=tuple(notes) + selection.warnings,
        )
        for note in self.info.warnings:
            logger.info("%s: %s", path.name, note)

    def _read(self, f0: int, f1: int) -> dict[int, NDArray[np.float64]]:
        """Physical values of the used channels over frames ``[f0, f1)``, by channel."""
        channels = sorted(set(self._emg_ch) | set(self._acc_ch))
        try:
            with _quiet_pandas():
                record: Any = self._wfdb.rdrecord(
                    self._record, sampfrom=f0, sampto=f1, channels=channels, smooth_frames=False
                )
        except Exception as err:  # wfdb raises a variety of errors on truncated files
            raise RecordingError(
                f"{self._path}: reading frames {f0} to {f1} failed: {err}"
            ) from None
        signals = record.e_p_signal
        return {c: np.asarray(signals[k], dtype=np.float64) for k, c in enumerate(channels)}

    def window(
        self, start: int, stop: int, accel_start: int, accel_stop: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Return EMG samples in volts and accelerometer samples in g (NaN at gaps)."""
        self._check_open()
        k_emg = self._spf[self._emg_ch[0]]
        spans = [(start, stop, k_emg)]
        if self._acc_ch:
            spans.append((accel_start, accel_stop, self._spf[self._acc_ch[0]]))
        wanted = [(a // k, -(-b // k)) for a, b, k in spans if b > a]
        emg = np.empty((len(self._emg_ch), max(0, stop - start)))
        acc = np.empty((3, max(0, accel_stop - accel_start))) if self._acc_ch else None
        if not wanted:
            return emg, acc
        f0 = min(a for a, _ in wanted)
        f1 = max(b for _, b in wanted)
        data = self._read(f0, f1)
        base = f0 * k_emg
        for row, (c, scale) in enumerate(zip(self._emg_ch, self._emg_scale, strict=True)):
            emg[row] = data[c][start - base : stop - base] * scale
        if acc is not None:
            base_acc = f0 * self._spf[self._acc_ch[0]]
            for row, (c, scale) in enumerate(zip(self._acc_ch, self._acc_scale, strict=True)):
                acc[row] = data[c][accel_start - base_acc : accel_stop - base_acc] * scale
        return emg, acc

    def close(self) -> None:
        """Nothing stays open between reads; later reads raise."""
        self._closed = True

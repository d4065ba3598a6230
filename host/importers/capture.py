"""spasmwatch capture files (``.sw1``) as recordings.

A capture holds the device's raw byte stream; :func:`host.protocol.capture.read_capture`
decodes it whole into volts and g with NaN at gaps, and this module presents the result
through the :class:`~host.importers.recording.RecordingReader` contract. Unlike the EDF
and CSV readers it is not streamed: the whole capture is decoded into memory when it is
opened (about 16 bytes per EMG sample time for two channels, some 1.4 GB for a day at
1 kHz), and :meth:`CaptureReader.blocks` slices those arrays.

Channel names come from the capture's DEVICE_INFO frame; the accelerometer, when the
device has one, is presented as the channels ``Accel X``, ``Accel Y`` and ``Accel Z``
(unit g). A capture has no wall-clock start.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from host.errors import ProtocolError, RecordingError
from host.importers.recording import (
    ChannelOptions,
    RecordingInfo,
    WindowReader,
    rate_ratio,
)
from host.protocol.capture import read_capture

__all__ = ["ACCEL_LABELS", "CaptureReader"]

logger = logging.getLogger(__name__)

#: Labels under which a capture's accelerometer axes are presented.
ACCEL_LABELS = ("Accel X", "Accel Y", "Accel Z")


class CaptureReader(WindowReader):
    """Reader of ``.sw1`` capture files (decoded into memory when opened).

    Parameters
    ----------
    path : Path
        The capture.
    options : ChannelOptions
        Channel choices (see :func:`~host.importers.recording.open_recording`); the
        file's units are V for EMG and g for the accelerometer, so ``emg_unit`` and
        ``accel_unit`` rescale those.
    """

    def __init__(self, path: Path, options: ChannelOptions) -> None:
        try:
            capture = read_capture(path)
        except ProtocolError as err:
            raise RecordingError(f"not a readable capture: {err}") from None
        names = list(capture.ch_names)
        n_emg_rows = capture.emg_v.shape[0]
        if len(names) != n_emg_rows:
            raise RecordingError(
                f"{path}: DEVICE_INFO names {len(names)} channels but the samples have {n_emg_rows}"
            )
        has_acc = capture.accel_sfreq > 0 and capture.accel_g.shape[1] > 0
        notes: list[str] = []
        if capture.accel_sfreq > 0 and not has_acc:
            notes.append("the device announces an accelerometer but the capture holds no samples")
        labels = names + (list(ACCEL_LABELS) if has_acc else [])
        units = ["V"] * len(names) + (["g"] * 3 if has_acc else [])
        rates = [capture.sfreq] * len(names) + ([capture.accel_sfreq] * 3 if has_acc else [])
        selection = options.select(labels, units, rates)
        channels = list(capture.emg_v) + (list(capture.accel_g) if has_acc else [])
        # The units given are known ("V", "g"), so every scale is set.
        emg_scale = [1.0 if s is None else s for s in selection.emg_volts_per_unit]
        self._emg = np.vstack(
            [channels[i] * k for i, k in zip(selection.emg, emg_scale, strict=True)]
        )
        self._acc: NDArray[np.float64] | None = None
        if selection.accel is not None and selection.accel_sfreq is not None:
            scale = selection.accel_g_per_unit or (1.0, 1.0, 1.0)
            self._acc = np.vstack(
                [channels[i] * k for i, k in zip(selection.accel, scale, strict=True)]
            )
            self.accel_ratio = rate_ratio(selection.accel_sfreq, selection.sfreq)
        missing = int(np.count_nonzero(np.isnan(self._emg[0])))
        if missing:
            notes.append(
                f"{missing} EMG samples missing from the capture (link gaps), filled with NaN"
            )
        self.info = RecordingInfo(
            path=str(path),
            format="sw1",
            sfreq=selection.sfreq,
            emg_labels=tuple(labels[i] for i in selection.emg),
            sides=selection.sides,
            accel_sfreq=selection.accel_sfreq,
            accel_labels=tuple(labels[i] for i in selection.accel or ()),
            n_times=int(self._emg.shape[1]),
            n_accel_times=int(self._acc.shape[1]) if self._acc is not None else 0,
            start=None,
            annotations=(),
            other_labels=tuple(labels[i] for i in selection.other),
            warnings=tuple(notes) + selection.warnings,
        )
        for note in self.info.warnings:
            logger.info("%s: %s", path.name, note)

    def window(
        self, start: int, stop: int, accel_start: int, accel_stop: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Return EMG samples in volts and accelerometer samples in g (NaN at gaps)."""
        self._check_open()
        acc = None if self._acc is None else self._acc[:, accel_start:accel_stop].copy()
        return self._emg[:, start:stop].copy(), acc

    def close(self) -> None:
        """Drop the decoded arrays."""
        self._closed = True
        self._emg = np.empty((0, 0))
        self._acc = None

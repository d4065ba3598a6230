"""``.sw1`` captures through the recording contract."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from host.errors import RecordingError
from host.importers import open_recording, read_recording
from host.protocol.capture import read_capture


def test_capture_reads_like_read_capture(capture_file: Path) -> None:
    capture = read_capture(capture_file)
    info, emg, accel = read_recording(capture_file)
    assert info.format == "sw1"
    assert info.sfreq == capture.sfreq
    assert info.emg_labels == capture.ch_names == ("EMG L", "EMG R")
    assert info.sides == ("left", "right")
    assert info.accel_sfreq == capture.accel_sfreq
    assert info.accel_labels == ("Accel X", "Accel Y", "Accel Z")
    assert info.start is None
    assert info.annotations == ()
    assert info.other_labels == ()
    assert info.n_times == capture.emg_v.shape[1]
    assert info.duration_s == pytest.approx(3.0, abs=0.2)
    assert np.array_equal(emg, capture.emg_v, equal_nan=True)
    assert accel is not None
    assert np.array_equal(accel, capture.accel_g, equal_nan=True)
    assert info.n_accel_times == capture.accel_g.shape[1]


@pytest.mark.parametrize("block_s", [0.123, 1.0, 10.0])
def test_capture_blocks_align_accelerometer(capture_file: Path, block_s: float) -> None:
    info, emg, accel = read_recording(capture_file)
    assert accel is not None
    assert info.accel_sfreq is not None
    ratio = info.accel_sfreq / info.sfreq
    with open_recording(capture_file) as reader:
        blocks = list(reader.blocks(block_s))
    assert np.array_equal(np.hstack([b.emg for b in blocks]), emg, equal_nan=True)
    parts = [b.accel for b in blocks if b.accel is not None]
    assert np.array_equal(np.hstack(parts), accel, equal_nan=True)
    for block in blocks[:-1]:
        assert block.first_accel_sample == math.ceil(block.first_sample * ratio)


def test_capture_channel_options(capture_file: Path) -> None:
    info, emg, accel = read_recording(capture_file, emg=["EMG R"], accel=[])
    full = read_capture(capture_file)
    assert info.emg_labels == ("EMG R",)
    assert info.sides == ("right",)
    assert accel is None
    assert info.accel_labels == ()
    assert info.n_accel_times == 0
    assert info.other_labels == ("EMG L", "Accel X", "Accel Y", "Accel Z")
    assert np.array_equal(emg[0], full.emg_v[1], equal_nan=True)


def test_garbage_capture_is_a_recording_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sw1"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(RecordingError, match="not a readable capture.*DEVICE_INFO"):
        open_recording(path)

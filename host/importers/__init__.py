"""Reading recordings from files: EDF/EDF+, BDF/BDF+, CSV/TSV and ``.sw1`` captures.

:func:`open_recording` opens any supported file and streams it block by block as EMG in
volts and acceleration in g; :func:`read_recording` reads a whole file into memory.
Channel detection (which channels are EMG, which side, which are the accelerometer)
follows the same rules for every format (:mod:`host.importers.channels`).
"""

from __future__ import annotations

from host.importers.recording import (
    FORMATS,
    SUFFIXES,
    Annotation,
    RecordingBlock,
    RecordingInfo,
    RecordingReader,
    open_recording,
    read_recording,
)

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Annotation",
    "RecordingBlock",
    "RecordingInfo",
    "RecordingReader",
    "open_recording",
    "read_recording",
]

"""Lab Streaming Layer (LSL) outlets of a live recording.

:class:`LslOutlet` republishes the pipeline's live hub as LSL streams (raw EMG, its
amplitude envelope, the accelerometer and an event stream of JSON markers), every sample
stamped from the device clock on :func:`pylsl.local_clock` (``docs/lsl.md``)::

    outlet = LslOutlet.for_pipeline(pipeline)
    async with outlet:
        await pipeline.run()

``pylsl`` (with the liblsl library it ships) is imported only when an outlet is made.
"""

from __future__ import annotations

from host.lsl.clock import DEFAULT_REMEASURE_S, UtcToLslClock, require_pylsl
from host.lsl.envelope import DEFAULT_ENVELOPE_SFREQ, EnvelopeStream
from host.lsl.outlet import (
    DEFAULT_EVENT_TOPICS,
    LOCATIONS,
    STREAM_KINDS,
    LslOutlet,
    StreamDescription,
    make_stream_info,
)

__all__ = [
    "DEFAULT_ENVELOPE_SFREQ",
    "DEFAULT_EVENT_TOPICS",
    "DEFAULT_REMEASURE_S",
    "LOCATIONS",
    "STREAM_KINDS",
    "EnvelopeStream",
    "LslOutlet",
    "StreamDescription",
    "UtcToLslClock",
    "make_stream_info",
    "require_pylsl",
]

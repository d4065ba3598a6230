"""The pipeline: source -> decoder -> timing -> dsp -> sinks (store, live hub).

:mod:`host.pipeline.live_dsp` is the dsp stage (cleaning, signal quality and the spasm
detector on a live stream of frames).
"""

from __future__ import annotations

from host.pipeline.live_dsp import LiveDsp, episode_record

__all__ = ["LiveDsp", "episode_record"]

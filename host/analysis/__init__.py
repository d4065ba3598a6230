"""Offline analysis of recordings: the streaming detector run over a whole file.

* :mod:`host.analysis.engine` — :class:`EpisodeAnalyzer`, cleaning + quality + detector on
  a stream of raw volts with gaps;
* :mod:`host.analysis.run` — :func:`analyze_arrays` and :func:`analyze_file`;
* :mod:`host.analysis.result` — :class:`AnalysisResult` and the clinical summary.
"""

from host.analysis.engine import EpisodeAnalyzer
from host.analysis.result import AnalysisResult, summarise
from host.analysis.run import analyze_arrays, analyze_file

__all__ = ["AnalysisResult", "EpisodeAnalyzer", "analyze_arrays", "analyze_file", "summarise"]

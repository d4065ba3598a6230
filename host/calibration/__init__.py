"""The guided calibration of a wearer: rest, then reference contractions, into %MVC.

:class:`CalibrationProcedure` walks the wearer through the recordings that
:class:`dsp.calibration.CalibrationRecorder` needs (rest, then maximal or submaximal
reference contractions on cue), timed by the samples it is given, never by a clock, and
returns the :class:`~dsp.calibration.Calibration` that ``spasmwatch run`` uses to express
amplitudes in %MVC. ``spasmwatch calibrate`` (:mod:`host.cli.calibrate`) runs it on a
live source; ``docs/calibration.md`` describes the procedure.
"""

from __future__ import annotations

from host.calibration.procedure import (
    PHASES,
    PROMPT_KINDS,
    CalibrationError,
    CalibrationPlan,
    CalibrationProcedure,
    Prompt,
)

__all__ = [
    "PHASES",
    "PROMPT_KINDS",
    "CalibrationError",
    "CalibrationPlan",
    "CalibrationProcedure",
    "Prompt",
]

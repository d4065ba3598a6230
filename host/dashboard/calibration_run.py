"""The calibration wizard's server side: the guided procedure on the live EMG.

:class:`CalibrationRunner` runs :class:`host.calibration.CalibrationProcedure` (rest,
then reference contractions on cue, timed by samples) on the EMG the recording pipeline
publishes on its live hub, while the recording goes on; the browser polls its state and
shows the prompts. At the end the calibration is saved in the wearer's store, where the
next ``spasmwatch run`` picks it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from host.calibration import CalibrationPlan, CalibrationProcedure, Prompt
from host.dashboard.errors import ApiError
from host.dashboard.settings import DashboardSettings
from host.errors import SpasmwatchError, StorageError
from host.pipeline.hub import Subscription
from host.storage import RecordingStore

__all__ = ["CalibrationRunner", "calibration_view"]

logger = logging.getLogger(__name__)


def calibration_view(
    record_id: int, created_us: int, data: dict[str, Any], names: Sequence[str] = ()
) -> dict[str, Any]:
    """Return a stored calibration as the wizard shows it (per channel, µV)."""
    n = len(data.get("rest_rms_v", []))
    names = list(names) if len(names) == n else [f"channel {k + 1}" for k in range(n)]
    channels = []
    for k, name in enumerate(names):

        def uv(key: str, k: int = k) -> float | None:
            values = data.get(key) or []
            return round(float(values[k]) * 1e6, 2) if k < len(values) else None

        channels.append(
            {
                "name": name,
                "noise_uv": uv("noise_rms_v"),
                "rest_uv": uv("rest_rms_v"),
                "reference_uv": uv("reference_rms_v"),
            }
        )
    return {
        "id": record_id,
        "created_us": created_us,
        "reference_kind": data.get("reference_kind"),
        "unit": f"%{data.get('reference_kind', 'MVC')}",
        "mains_freq": data.get("mains_freq"),
        "channels": channels,
    }


class CalibrationRunner:
    """At most one calibration at a time, fed from the live hub.

    Parameters
    ----------
    settings : DashboardSettings
        The app's settings (its hub and store).
    """

    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        self.procedure: CalibrationProcedure | None = None
        self.prompts: list[dict[str, Any]] = []
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.state = "idle"
        self._task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None
        self._names: tuple[str, ...] = ()
        self._plan = CalibrationPlan()

    def start(self, plan: CalibrationPlan | None = None) -> None:
        """Start a calibration on the live EMG.

        Raises
        ------
        ApiError
            409 without a live recording, or while one runs already.
        """
        hub = self.settings.hub
        if hub is None:
            raise ApiError(
                409,
                "not_live",
                "calibrating needs the wearable streaming: start the dashboard with the "
                "recording (spasmwatch run --dashboard) or use spasmwatch calibrate",
            )
        if self.state == "running":
            raise ApiError(409, "busy", "a calibration is already running")
        self.procedure = None
        self.prompts, self.result, self.error = [], None, None
        self.state = "running"
        self._plan = plan or CalibrationPlan()
        self._sub = hub.subscribe(8192, signals=("emg",))
        self._task = asyncio.create_task(self._run(self._sub))

    async def cancel(self) -> None:
        """Stop the calibration in progress (nothing is saved)."""
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.state == "running":
            self.state = "cancelled"

    def view(self) -> dict[str, Any]:
        """Return the wizard's state (JSON-ready)."""
        proc = self.procedure
        return {
            "live": self.settings.live,
            "state": self.state,
            "phase": proc.phase if proc is not None else None,
            "trial": proc.trial if proc is not None else None,
            "n_trials": self._plan.n_trials,
            "duration_s": self._plan.duration_s,
            "remaining_s": round(proc.remaining_s, 1) if proc is not None else None,
            "elapsed_s": round(proc.n_times / proc.sfreq, 1) if proc is not None else 0.0,
            "prompt": self.prompts[-1] if self.prompts else None,
            "prompts": self.prompts[-20:],
            "result": self.result,
            "error": self.error,
        }

    def _say(self, prompts: list[Prompt]) -> None:
        self.prompts.extend(p.to_dict() for p in prompts)

    async def _run(self, sub: Subscription) -> None:
        next_sample: int | None = None
        try:
            async for message in sub:
                p = message.payload
                volts = np.asarray(p["volts"], dtype=np.float64)
                first = int(p["first_sample"])
                if self.procedure is None:
                    self._names = tuple(p.get("channels") or ())
                    self.procedure = CalibrationProcedure(
                        float(p["sfreq"]),
                        volts.shape[0],
                        plan=self._plan,
                        ch_names=tuple(p.get("channels") or ()) or None,
                    )
                    self._say(self.procedure.start())
                proc = self.procedure
                if next_sample is not None and first > next_sample:
                    self._say(proc.gap(first - next_sample))
                elif next_sample is not None and first < next_sample:
                    cut = next_sample - first
                    if cut >= volts.shape[1]:
                        continue
                    volts, first = volts[:, cut:], next_sample
                next_sample = first + volts.shape[1]
                self._say(proc.process(volts))
                if proc.finished:
                    break
            await self._finish()
        except SpasmwatchError as exc:
            self.state, self.error = "failed", str(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the wizard reports it; the recording goes on
            logger.exception("calibration failed")
            self.state, self.error = "failed", f"the calibration failed: {exc}"
        finally:
            sub.close()

    async def _finish(self) -> None:
        proc = self.procedure
        if proc is None or not proc.finished:
            self.state = "cancelled"
            return
        if proc.failed:
            self.state = "failed"
            self.error = self.prompts[-1]["text"] if self.prompts else "the calibration failed"
            return
        calibration = proc.result()

        def save() -> tuple[int, int]:
            with RecordingStore.open(self.settings.store_path) as store:
                cid = store.save_calibration(calibration)
                created = [r.created_us for r in store.calibrations() if r.id == cid]
                return cid, created[0]

        try:
            cid, created = await asyncio.to_thread(save)
        except StorageError as exc:
            self.state, self.error = "failed", f"the calibration could not be saved: {exc}"
            return
        self.result = calibration_view(cid, created, calibration.to_dict(), self._names)
        self.state = "done"

"""What a dashboard serves: the wearer's store, the live hub (if recording), the token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.pipeline.hub import LiveHub

__all__ = ["DashboardSettings"]


@dataclass
class DashboardSettings:
    """Configuration of one dashboard app (:func:`host.dashboard.create_app`).

    Attributes
    ----------
    store_path : Path
        The wearer's recording store (it may not exist yet: pages show an empty state).
    hub : LiveHub | None
        The recording pipeline's live hub; None to review a store without live data.
    pipeline_info : dict
        What the recorder wants shown on the device page (``source_url``, ``transport``,
        ``wearer``, ...), JSON-ready.
    token : str | None
        When set, every request must carry it (``Authorization: Bearer``, the
        ``sw_token`` cookie, or ``?token=`` once, which sets the cookie).
    """

    store_path: Path
    hub: LiveHub | None = None
    pipeline_info: Mapping[str, Any] = field(default_factory=dict)
    token: str | None = None

    @property
    def live(self) -> bool:
        """Whether a recording is running in this process (a hub was given)."""
        return self.hub is not None

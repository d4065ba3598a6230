"""Episodes: a sortable, filterable table; one episode with its labels; labelling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from host.dashboard.deps import Range, ReadStore, WriteStore
from host.dashboard.errors import ApiError
from host.dashboard.review import (
    LABELS,
    TRIGGERS,
    episode_view,
    label_view,
    latest_labels,
)
from host.errors import ConfigError
from host.storage import EpisodeRecord, RecordingStore

__all__ = ["LabelIn", "router"]

router = APIRouter(tags=["episodes"])

SortKey = Literal["start", "duration", "confidence", "peak", "severity", "side", "kind"]
_SEVERITY_ORDER = {"mild": 0, "moderate": 1, "severe": 2}


class LabelIn(BaseModel):
    """A label the wearer gives an episode."""

    label: str = Field(description=f"one of {', '.join(LABELS)}")
    note: str = Field("", max_length=2000)
    trigger: str = Field("", description=f"empty or one of {', '.join(TRIGGERS)}")
    author: str = Field("wearer", max_length=100)


def _episode(store: RecordingStore, episode_id: int) -> EpisodeRecord:
    try:
        return store.episode(episode_id)
    except ConfigError:
        raise ApiError(404, "not_found", f"there is no episode {episode_id}") from None


@router.get("/api/labels/options")
def label_options() -> dict[str, Any]:
    """Return the labels and triggers the wearer can choose from."""
    return {"labels": list(LABELS), "triggers": list(TRIGGERS)}


@router.get("/api/episodes")
def list_episodes(
    store: ReadStore,
    rng: Range,
    side: Annotated[Literal["left", "right", "bilateral"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    involuntary: Annotated[bool | None, Query()] = None,
    review: Annotated[Literal["unreviewed", "reviewed"] | None, Query()] = None,
    sort: Annotated[SortKey, Query()] = "start",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Episodes of a range, filtered and sorted, with each one's latest label."""
    labels = latest_labels(store.labels())
    rows = [
        episode_view(e, labels.get(e.id))
        for e in store.episodes(start_us=rng.start_us, end_us=rng.end_us)
    ]
    if side is not None:
        rows = [r for r in rows if r["side"] == side]
    if kind is not None:
        rows = [r for r in rows if r["kind"] == kind]
    if involuntary is not None:
        rows = [r for r in rows if r["reviewed_involuntary"] == involuntary]
    if review is not None:
        rows = [r for r in rows if (r["label"] is None) == (review == "unreviewed")]

    def key(r: dict[str, Any]) -> Any:
        if sort == "start":
            return r["start_us"]
        if sort == "duration":
            return r["duration_s"]
        if sort == "severity":
            return (_SEVERITY_ORDER[r["severity"]], r["duration_s"])
        value = r[sort]
        if value is None:
            return (0, 0.0) if sort in ("confidence", "peak") else ""
        return (1, value) if sort in ("confidence", "peak") else value

    rows.sort(key=key, reverse=order == "desc")
    return {"total": len(rows), "episodes": rows[offset : offset + limit]}


@router.get("/api/episodes/{episode_id}")
def get_episode(store: ReadStore, episode_id: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
    """One episode, its labels (oldest first) and the detector's reasons."""
    episode = _episode(store, episode_id)
    labels = store.labels(episode_id=episode_id)
    out = episode_view(episode, labels[-1] if labels else None)
    out["labels"] = [label_view(x) for x in labels]
    out["features"] = episode.data.get("features") or {}
    return out


@router.post("/api/episodes/{episode_id}/labels", status_code=201)
def add_label(
    store: WriteStore, episode_id: Annotated[int, Path(ge=1)], body: LabelIn
) -> dict[str, Any]:
    """Label an episode (confirm, reject, relabel), with a note and a trigger."""
    label = body.label.strip().lower()
    if label not in LABELS:
        raise ApiError(
            400,
            "invalid_parameter",
            f"invalid label {body.label!r}; expected one of {', '.join(LABELS)}",
        )
    trigger = body.trigger.strip().lower()
    if trigger and trigger not in TRIGGERS:
        raise ApiError(
            400,
            "invalid_parameter",
            f"invalid trigger {body.trigger!r}; expected one of {', '.join(TRIGGERS)} (or none)",
        )
    episode = _episode(store, episode_id)
    store.add_label(
        episode_id, label, note=body.note.strip(), author=body.author.strip(), trigger=trigger
    )
    labels = store.labels(episode_id=episode_id)
    out = episode_view(episode, labels[-1])
    out["labels"] = [label_view(x) for x in labels]
    return out

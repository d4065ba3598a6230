"""Labels carry what the wearer thinks set the episode off (schema version 2)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from host.storage import MIGRATIONS, RecordingStore, schema


def _episode(store: RecordingStore, sid: int) -> int:
    store.append_emg(sid, 0, [[0] * 200, [0] * 200], 0)
    return store.add_episode(
        sid,
        {"start_sample": 10, "end_sample": 150, "involuntary": True, "kind": "tonic", "side": "l"},
    )


def test_trigger_is_stored_and_read_back(
    writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    eid = _episode(writer, start_session(writer))
    writer.add_label(eid, "spasm", trigger="lifting", created_us=1)
    writer.add_label(eid, "voluntary", created_us=2)
    first, second = writer.labels(episode_id=eid)
    assert (first.label, first.trigger) == ("spasm", "lifting")
    assert second.trigger == ""


def test_a_v1_store_is_upgraded_and_keeps_its_labels(
    store_file: Path, start_session: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:1])
    with RecordingStore.open(store_file) as store:
        eid = _episode(store, start_session(store))
        store.commit()
        conn = sqlite3.connect(store_file)
        with conn:
            conn.execute(
                "INSERT INTO labels (episode_id, label, note, author, created_us) "
                "VALUES (?, 'spasm', 'old', '', 3)",
                (eid,),
            )
        conn.close()
    monkeypatch.undo()
    with RecordingStore.open(store_file) as store:
        assert store.schema_version == 2
        (old,) = store.labels(episode_id=eid)
        assert (old.note, old.trigger) == ("old", "")
        store.add_label(eid, "spasm", trigger="stress", created_us=4)
        assert [x.trigger for x in store.labels(episode_id=eid)] == ["", "stress"]

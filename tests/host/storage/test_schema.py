from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from host.errors import ConfigError, StorageError, StoreVersionError
from host.storage import MIGRATIONS, SCHEMA_VERSION, Migration, RecordingStore, schema
from host.storage.schema import apply_migrations, check_migrations, sql

TABLES = {
    "meta",
    "devices",
    "sessions",
    "emg_blocks",
    "accel_blocks",
    "episodes",
    "labels",
    "markers",
    "calibrations",
    "link_events",
}


def _objects(path: Path, kind: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'", (kind,)
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def _columns(path: Path, table: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_v1_tables(store_file: Path) -> None:
    with RecordingStore.open(store_file):
        pass
    assert _objects(store_file, "table") == TABLES
    assert {"first_sample", "n_samples", "t_start_us", "t_end_us", "counts"} <= _columns(
        store_file, "emg_blocks"
    )


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            "SELECT counts FROM emg_blocks WHERE session_id = 1 AND first_sample >= 5 "
            "AND first_sample < 100 ORDER BY first_sample",
            "emg_blocks_by_sample",
        ),
        (
            "SELECT first_sample FROM emg_blocks WHERE session_id = 1 AND t_start_us <= 5 "
            "ORDER BY t_start_us DESC LIMIT 1",
            "emg_blocks_by_time",
        ),
        (
            "SELECT first_sample FROM accel_blocks WHERE session_id = 1 AND t_start_us > 5 "
            "ORDER BY t_start_us LIMIT 1",
            "accel_blocks_by_time",
        ),
        ("SELECT * FROM episodes WHERE start_us >= 1 AND start_us < 9", "episodes_by_start"),
        (
            "SELECT * FROM episodes WHERE session_id = 2 AND start_us >= 1 AND start_us < 9",
            "episodes_by_session",
        ),
        ("SELECT * FROM link_events WHERE t_us >= 1 AND t_us < 9", "link_events_by_time"),
        ("SELECT * FROM markers WHERE t_us >= 1 AND t_us < 9", "markers_by_time"),
    ],
)
def test_time_queries_use_an_index(store_file: Path, query: str, index: str) -> None:
    with RecordingStore.open(store_file):
        pass
    conn = sqlite3.connect(store_file)
    try:
        plan = " | ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    finally:
        conn.close()
    assert index in plan
    assert "SCAN" not in plan.replace(f"SCAN {index}", "")


def _v2(step: Callable[[sqlite3.Connection], None]) -> tuple[Migration, ...]:
    return (*MIGRATIONS, Migration(SCHEMA_VERSION + 1, "test step", step))


def _fill_v1(path: Path, start_session: Callable[..., int]) -> tuple[int, np.ndarray]:
    counts = np.random.default_rng(3).integers(-500, 500, (2, 3000))
    with RecordingStore.open(path) as store:
        sid = start_session(store)
        store.append_emg(sid, 0, counts, 0)
        store.add_episode(
            sid,
            {"start_sample": 10, "end_sample": 20, "involuntary": True, "kind": "k", "side": "l"},
        )
        store.end_session(sid)
    return sid, counts


def test_migration_from_v1(
    store_file: Path, start_session: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sid, counts = _fill_v1(store_file, start_session)
    assert _user_version(store_file) == SCHEMA_VERSION
    step = sql(
        "ALTER TABLE episodes ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0",
        "UPDATE episodes SET reviewed = 1 WHERE involuntary = 1",
        "CREATE INDEX episodes_by_review ON episodes (reviewed)",
    )
    monkeypatch.setattr(schema, "MIGRATIONS", _v2(step))
    with RecordingStore.open(store_file) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        np.testing.assert_array_equal(
            store.read_emg(sid).data, counts * store.session(sid).emg_volts_per_count
        )
    assert _user_version(store_file) == SCHEMA_VERSION + 1
    assert "reviewed" in _columns(store_file, "episodes")
    assert "episodes_by_review" in _objects(store_file, "index")
    conn = sqlite3.connect(store_file)
    assert conn.execute("SELECT reviewed FROM episodes").fetchall() == [(1,)]
    conn.close()

    # Back to this version's code: the file is now newer than it.
    monkeypatch.undo()
    for readonly in (False, True):
        with pytest.raises(StoreVersionError) as info:
            RecordingStore.open(store_file, readonly=readonly)
        message = str(info.value)
        assert f"schema version {SCHEMA_VERSION + 1}" in message
        assert f"version {SCHEMA_VERSION} at most" in message
        assert "Upgrade spasmwatch" in message


def test_failed_migration_changes_nothing(
    store_file: Path, start_session: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill_v1(store_file, start_session)
    before = _objects(store_file, "table")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        conn.execute("ALTER TABLE no_such_table ADD COLUMN y")

    monkeypatch.setattr(schema, "MIGRATIONS", _v2(broken))
    with pytest.raises(StorageError, match=f"from schema version {SCHEMA_VERSION} to") as info:
        RecordingStore.open(store_file)
    assert "unchanged" in str(info.value)
    assert _user_version(store_file) == SCHEMA_VERSION
    assert _objects(store_file, "table") == before


def test_reader_does_not_migrate(
    store_file: Path, start_session: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill_v1(store_file, start_session)
    monkeypatch.setattr(schema, "MIGRATIONS", _v2(sql("CREATE TABLE extra (x)")))
    with pytest.raises(StoreVersionError, match="Open it once for writing"):
        RecordingStore.open(store_file, readonly=True)
    assert _user_version(store_file) == SCHEMA_VERSION


def test_apply_migrations_on_a_bare_connection() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("BEGIN")
    applied = apply_migrations(conn, 0)
    conn.execute("COMMIT")
    assert [m.version for m in applied] == list(range(1, SCHEMA_VERSION + 1))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert apply_migrations(conn, SCHEMA_VERSION) == []
    conn.close()


@pytest.mark.parametrize("versions", [[], [2], [1, 3], [1, 1], [2, 1]])
def test_migration_list_must_be_consecutive(versions: list[int]) -> None:
    steps = [Migration(v, "x", sql()) for v in versions]
    with pytest.raises(ConfigError, match="1, 2, 3"):
        check_migrations(steps)

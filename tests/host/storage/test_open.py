from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from host.errors import (
    ConfigError,
    StorageError,
    StorageFullError,
    StoragePermissionError,
    StoreCorruptError,
)
from host.storage import APPLICATION_ID, SCHEMA_VERSION, RecordingStore
from host.storage._sqlite import storage_error


def _pragma(path: Path, name: str) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_new_store_is_created_with_its_directory(store_file: Path) -> None:
    assert not store_file.parent.exists()
    with RecordingStore.open(store_file) as store:
        assert store.path == store_file
        assert store.schema_version == SCHEMA_VERSION
        assert not store.readonly
    assert store.closed
    assert _pragma(store_file, "application_id") == APPLICATION_ID
    assert _pragma(store_file, "user_version") == SCHEMA_VERSION
    assert _pragma(store_file, "journal_mode") == "wal"


def test_connection_settings(writer: RecordingStore) -> None:
    conn = writer._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_reopen_keeps_data(store_file: Path, start_session: Callable[..., int]) -> None:
    with RecordingStore.open(store_file) as store:
        sid = start_session(store)
    with RecordingStore.open(store_file) as store:
        assert [s.id for s in store.list_sessions()] == [sid]


def test_empty_file_becomes_a_store(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    store_file.touch()
    with RecordingStore.open(store_file) as store:
        assert store.list_sessions() == []
    assert _pragma(store_file, "application_id") == APPLICATION_ID


@pytest.mark.parametrize(
    "content", [b"hello, this is a text file\n" * 40, bytes(range(256)) * 8, b"SQLite"]
)
def test_garbage_file_is_refused_and_left_alone(store_file: Path, content: bytes) -> None:
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(content)
    for readonly in (False, True):
        with pytest.raises(StoreCorruptError, match="not a SQLite database") as info:
            RecordingStore.open(store_file, readonly=readonly)
        assert str(store_file) in str(info.value)
        assert "Move it away" in str(info.value)
    assert store_file.read_bytes() == content
    assert sorted(p.name for p in store_file.parent.iterdir()) == [store_file.name]


def test_sqlite_header_with_garbage_is_corrupt(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"SQLite format 3\x00" + np.random.default_rng(1).bytes(8192))
    with pytest.raises(StoreCorruptError, match="damaged or is not a spasmwatch store"):
        RecordingStore.open(store_file)


@pytest.mark.parametrize("application_id", [0, 0x4750_4B47])
def test_foreign_sqlite_database_is_refused(store_file: Path, application_id: int) -> None:
    store_file.parent.mkdir(parents=True)
    conn = sqlite3.connect(store_file)
    conn.execute(f"PRAGMA application_id = {application_id}")
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('someone')")
    conn.commit()
    conn.close()
    before = store_file.read_bytes()
    with pytest.raises(StoreCorruptError, match="not a spasmwatch store") as info:
        RecordingStore.open(store_file)
    message = str(info.value)
    assert f"0x{application_id:08x}" in message
    assert "Move it away or choose another file" in message
    assert store_file.read_bytes() == before  # not switched to WAL, not migrated
    assert _pragma(store_file, "journal_mode") == "delete"


def test_damaged_store_is_reported(store_file: Path, start_session: Callable[..., int]) -> None:
    rng = np.random.default_rng(2)
    with RecordingStore.open(store_file) as store:
        sid = start_session(store)
        for i in range(40):
            store.append_emg(sid, i * 1000, rng.integers(-2000, 2000, (2, 1000)), i * 10**6)
        store.end_session(sid)
    data = bytearray(store_file.read_bytes())
    page = int(_pragma(store_file, "page_size"))
    data[page:] = rng.bytes(len(data) - page)  # every page but the first (schema) destroyed
    store_file.write_bytes(bytes(data))

    def read_everything() -> None:
        with RecordingStore.open(store_file, readonly=True) as reader:
            reader.list_sessions()
            reader.read_emg(sid)

    with pytest.raises(StoreCorruptError, match="damaged"):
        read_everything()


def test_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        RecordingStore.open(tmp_path)


def test_reader_needs_an_existing_store(store_file: Path) -> None:
    with pytest.raises(StorageError, match="no recording store at"):
        RecordingStore.open(store_file, readonly=True)
    assert not store_file.parent.exists()


def test_reader_cannot_write(
    store_file: Path, writer: RecordingStore, start_session: Callable[..., int]
) -> None:
    sid = start_session(writer)
    with RecordingStore.open(store_file, readonly=True) as reader:
        assert reader.readonly
        with pytest.raises(StorageError, match="opened read-only"):
            reader.append_emg(sid, 0, np.zeros((2, 10), dtype=np.int16), 0)
        with pytest.raises(StorageError, match="opened read-only"):
            reader.add_marker(0, "x")


def test_closed_store_refuses_calls(writer: RecordingStore) -> None:
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(StorageError, match="is closed"):
        writer.list_sessions()
    with pytest.raises(StorageError, match="is closed"):
        writer.commit()


@pytest.mark.parametrize(
    ("name", "value"), [("busy_timeout_s", 0.0), ("block_s", -1.0), ("max_size_bytes", 0)]
)
def test_invalid_open_parameters(store_file: Path, name: str, value: float) -> None:
    with pytest.raises(ConfigError, match=name):
        RecordingStore.open(store_file, **{name: value})  # type: ignore[arg-type]


def test_parent_path_is_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(StoragePermissionError) as info:
        RecordingStore.open(blocker / "sub" / "alice.sqlite3")
    message = str(info.value)
    assert str(blocker) in message
    assert "not a directory" in message
    assert "SPASMWATCH_DATA_DIR" in message


def test_unwritable_data_directory(tmp_path: Path) -> None:
    """A directory the user may not write: chmod for a normal user; for root (which chmod
    does not stop), the data directory path runs through a regular file, which no
    privilege gets past."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)  # 0o500
        target = locked / "alice.sqlite3"
        expected = "permission denied"
    else:
        locked = tmp_path / "locked"
        locked.write_bytes(b"")
        target = locked / "alice.sqlite3"
        expected = "not a directory"
    try:
        with pytest.raises(StoragePermissionError) as info:
            RecordingStore.open(target)
        assert str(locked) in str(info.value)
        assert expected in str(info.value).lower()
        assert not target.exists()
    finally:
        if locked.is_dir():
            locked.chmod(stat.S_IRWXU)


def test_unwritable_store_file(store_file: Path) -> None:
    """A store file without write permission (as root: a store whose directory entry is
    read-only is not reachable, so use SQLite's own refusal to write a read-only open)."""
    with RecordingStore.open(store_file):
        pass
    if os.geteuid() != 0:
        store_file.chmod(stat.S_IRUSR)
        try:
            with pytest.raises(StoragePermissionError, match="permission denied") as info:
                RecordingStore.open(store_file)
            assert str(store_file) in str(info.value)
        finally:
            store_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    else:
        conn = sqlite3.connect(f"{store_file.as_uri()}?mode=ro", uri=True)
        try:
            with pytest.raises(sqlite3.OperationalError) as raw:
                conn.execute("CREATE TABLE t (x)")
        finally:
            conn.close()
        error = storage_error(raw.value, store_file, "write to")
        assert isinstance(error, StoragePermissionError)
        assert str(store_file) in str(error)
        assert "writable" in str(error)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (errno.ENOSPC, StorageFullError),
        (errno.EDQUOT, StorageFullError),
        (errno.EACCES, StoragePermissionError),
        (errno.EROFS, StoragePermissionError),
        (errno.ENOTDIR, StoragePermissionError),
        (errno.EIO, StorageError),
    ],
)
def test_os_errors_are_translated(tmp_path: Path, code: int, kind: type[StorageError]) -> None:
    exc = OSError(code, os.strerror(code), str(tmp_path / "x"))
    error = storage_error(exc, tmp_path, "create")
    assert type(error) is kind
    assert str(tmp_path / "x") in str(error)

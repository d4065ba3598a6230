"""Schema of the recording store and its migrations.

The schema version is the SQLite ``PRAGMA user_version`` and the file is marked as ours
with ``PRAGMA application_id`` (:data:`APPLICATION_ID`). A store is brought from its
version to :data:`SCHEMA_VERSION` by applying every later :class:`Migration` of
:data:`MIGRATIONS` in order, in one transaction: either all of them are applied (and the
version moves) or none is.

To change the schema, append a migration and nothing else::

    MIGRATIONS = (
        Migration(1, "initial schema", sql(*_V1)),
        Migration(2, "episode notes", sql("ALTER TABLE episodes ADD COLUMN note TEXT")),
    )

Times are UTC microseconds since the Unix epoch (``*_us`` columns, 64-bit integers), sample
indices count samples since the device started streaming, unwrapped to 64 bits. JSON
columns hold UTF-8 JSON text. ``docs/storage.md`` describes every table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from host.errors import ConfigError

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "apply_migrations",
    "check_migrations",
    "sql",
]

#: ``PRAGMA application_id`` of a spasmwatch store: the ASCII bytes "SpWa" (0x53705761).
APPLICATION_ID = int.from_bytes(b"SpWa", "big")


@dataclass(frozen=True)
class Migration:
    """One step of the schema history.

    Attributes
    ----------
    version : int
        Schema version after this step (1 for the initial schema, then +1 per step).
    description : str
        What changes, for the log.
    apply : callable
        ``apply(connection)`` runs the step inside the migration's transaction; it must
        not commit.
    """

    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


def sql(*statements: str) -> Callable[[sqlite3.Connection], None]:
    """Return a migration step that executes SQL statements in order.

    ``Connection.executescript`` is not used: it commits first, which would break the
    single transaction of a migration.

    Parameters
    ----------
    *statements : str
        One SQL statement each.

    Returns
    -------
    callable
        ``apply(connection)`` for :class:`Migration`.
    """

    def apply(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


_V1 = (
    # Key/value facts about the store itself (creation time, creating version).
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        transport TEXT NOT NULL,
        info TEXT NOT NULL DEFAULT '{}',
        first_seen_us INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL,
        UNIQUE (transport, address)
    )""",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        device_id INTEGER REFERENCES devices (id) ON DELETE SET NULL,
        source_url TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('recording', 'stopped', 'interrupted', 'failed')),
        reason TEXT NOT NULL DEFAULT '',
        started_us INTEGER NOT NULL,
        ended_us INTEGER,
        sfreq REAL NOT NULL CHECK (sfreq > 0),
        channel_names TEXT NOT NULL,
        emg_volts_per_count REAL NOT NULL CHECK (emg_volts_per_count > 0),
        sample_format TEXT NOT NULL CHECK (sample_format IN ('int16', 'int24')),
        accel_sfreq REAL CHECK (accel_sfreq IS NULL OR accel_sfreq > 0),
        accel_channel_names TEXT NOT NULL DEFAULT '[]',
        accel_g_per_count REAL CHECK (accel_g_per_count IS NULL OR accel_g_per_count > 0),
        accel_sample_format TEXT NOT NULL DEFAULT 'int16'
            CHECK (accel_sample_format IN ('int16', 'int24')),
        notes TEXT NOT NULL DEFAULT '',
        n_emg_samples INTEGER NOT NULL DEFAULT 0,
        n_accel_samples INTEGER NOT NULL DEFAULT 0,
        data_end_us INTEGER,
        writer_pid INTEGER,
        writer_host TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX sessions_by_start ON sessions (started_us)",
    "CREATE INDEX sessions_by_status ON sessions (status)",
    # Sample blocks: the BLOB last, so reading the other columns never touches overflow pages.
    """CREATE TABLE emg_blocks (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        first_sample INTEGER NOT NULL CHECK (first_sample >= 0),
        n_samples INTEGER NOT NULL CHECK (n_samples > 0),
        t_start_us INTEGER NOT NULL,
        t_end_us INTEGER NOT NULL CHECK (t_end_us >= t_start_us),
        counts BLOB NOT NULL
    )""",
    "CREATE UNIQUE INDEX emg_blocks_by_sample ON emg_blocks (session_id, first_sample)",
    "CREATE INDEX emg_blocks_by_time ON emg_blocks (session_id, t_start_us)",
    """CREATE TABLE accel_blocks (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        first_sample INTEGER NOT NULL CHECK (first_sample >= 0),
        n_samples INTEGER NOT NULL CHECK (n_samples > 0),
        t_start_us INTEGER NOT NULL,
        t_end_us INTEGER NOT NULL CHECK (t_end_us >= t_start_us),
        counts BLOB NOT NULL
    )""",
    "CREATE UNIQUE INDEX accel_blocks_by_sample ON accel_blocks (session_id, first_sample)",
    "CREATE INDEX accel_blocks_by_time ON accel_blocks (session_id, t_start_us)",
    """CREATE TABLE episodes (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        start_sample INTEGER NOT NULL,
        end_sample INTEGER NOT NULL CHECK (end_sample >= start_sample),
        start_us INTEGER NOT NULL,
        end_us INTEGER NOT NULL CHECK (end_us >= start_us),
        involuntary INTEGER NOT NULL CHECK (involuntary IN (0, 1)),
        kind TEXT NOT NULL,
        side TEXT NOT NULL,
        confidence REAL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX episodes_by_start ON episodes (start_us)",
    "CREATE INDEX episodes_by_session ON episodes (session_id, start_us)",
    """CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        created_us INTEGER NOT NULL
    )""",
    "CREATE INDEX labels_by_episode ON labels (episode_id)",
    """CREATE TABLE markers (
        id INTEGER PRIMARY KEY,
        session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
        t_us INTEGER NOT NULL,
        text TEXT NOT NULL,
        created_us INTEGER NOT NULL
    )""",
    "CREATE INDEX markers_by_time ON markers (t_us)",
    """CREATE TABLE calibrations (
        id INTEGER PRIMARY KEY,
        created_us INTEGER NOT NULL,
        session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
        device_id INTEGER REFERENCES devices (id) ON DELETE SET NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX calibrations_by_time ON calibrations (created_us)",
    """CREATE TABLE link_events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t_us INTEGER NOT NULL,
        kind TEXT NOT NULL,
        stream TEXT CHECK (stream IS NULL OR stream IN ('emg', 'accel')),
        first_sample INTEGER,
        n_samples INTEGER,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX link_events_by_time ON link_events (t_us)",
    "CREATE INDEX link_events_by_session ON link_events (session_id, t_us)",
)

#: The schema history, oldest first. Append to change the schema; never edit a released step.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", sql(*_V1)),
    Migration(
        2,
        "what set an episode off, in its label",
        sql("""ALTER TABLE labels ADD COLUMN "trigger" TEXT NOT NULL DEFAULT ''"""),
    ),
)
#: The schema version this spasmwatch writes.
SCHEMA_VERSION = MIGRATIONS[-1].version


def check_migrations(migrations: Sequence[Migration]) -> int:
    """Check that migrations are numbered 1, 2, 3, ... and return the last version.

    Raises
    ------
    ConfigError
        If the list is empty or the versions are not consecutive from 1 (a programming
        error, not a user's).
    """
    versions = [m.version for m in migrations]
    if not versions or versions != list(range(1, len(versions) + 1)):
        raise ConfigError(f"migration versions must be 1, 2, 3, ... in order, got {versions}")
    return versions[-1]


def apply_migrations(
    conn: sqlite3.Connection, current: int, migrations: Sequence[Migration] = MIGRATIONS
) -> list[Migration]:
    """Apply every migration newer than ``current`` and set ``user_version``.

    The caller owns the transaction (it must be open): on an exception it rolls back,
    which also restores ``user_version``.

    Parameters
    ----------
    conn : sqlite3.Connection
        Connection inside an open write transaction.
    current : int
        The store's schema version (0 for a new, empty file).
    migrations : sequence of Migration
        The schema history (:data:`MIGRATIONS`).

    Returns
    -------
    list of Migration
        The steps applied, in order (empty if the store was up to date).
    """
    target = check_migrations(migrations)
    pending = [m for m in migrations if m.version > current]
    for migration in pending:
        migration.apply(conn)
    if pending:
        conn.execute(f"PRAGMA user_version = {target}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return pending

"""The recording store: one SQLite file (WAL mode) per wearer with everything recorded.

* :mod:`host.storage.store` — :class:`RecordingStore`, the writer and reader API;
* :mod:`host.storage.paths` — where the files live (:func:`default_data_dir`,
  :func:`store_path`);
* :mod:`host.storage.schema` — the versioned schema and its migrations;
* :mod:`host.storage.codec` — the byte layout of stored sample blocks;
* :mod:`host.storage.records` — what readers get back.

``docs/storage.md`` describes the file, the tables and the measured speed.
"""

from __future__ import annotations

from host.storage.codec import SAMPLE_FORMATS, SampleFormatName, decode_counts, encode_counts
from host.storage.paths import (
    DATA_DIR_ENV,
    DEFAULT_WEARER,
    STORE_SUFFIX,
    check_wearer,
    default_data_dir,
    store_path,
)
from host.storage.records import (
    SESSION_STATUSES,
    CalibrationRecord,
    DeviceRecord,
    EpisodeRecord,
    LabelRecord,
    LinkEventRecord,
    MarkerRecord,
    SessionRecord,
    SessionStatus,
    SignalSegment,
    StoredGap,
    Stream,
)
from host.storage.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, Migration
from host.storage.store import (
    DEFAULT_BLOCK_S,
    DEFAULT_BUSY_TIMEOUT_S,
    RecordingStore,
    device_info_dict,
    now_us,
)

__all__ = [
    "APPLICATION_ID",
    "DATA_DIR_ENV",
    "DEFAULT_BLOCK_S",
    "DEFAULT_BUSY_TIMEOUT_S",
    "DEFAULT_WEARER",
    "MIGRATIONS",
    "SAMPLE_FORMATS",
    "SCHEMA_VERSION",
    "SESSION_STATUSES",
    "STORE_SUFFIX",
    "CalibrationRecord",
    "DeviceRecord",
    "EpisodeRecord",
    "LabelRecord",
    "LinkEventRecord",
    "MarkerRecord",
    "Migration",
    "RecordingStore",
    "SampleFormatName",
    "SessionRecord",
    "SessionStatus",
    "SignalSegment",
    "StoredGap",
    "Stream",
    "check_wearer",
    "decode_counts",
    "default_data_dir",
    "device_info_dict",
    "encode_counts",
    "now_us",
    "store_path",
]

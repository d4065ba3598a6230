"""Wire protocol v1: frames, COBS framing, CRC-32 and the incremental stream decoder.

The normative specification is ``docs/protocol.md``; the golden test vectors shared
with the firmware live in ``docs/protocol_v1_vectors.json``.
"""

from __future__ import annotations

from host.protocol.cobs import cobs_decode, cobs_encode
from host.protocol.crc import crc32
from host.protocol.decoder import (
    DecodeIssue,
    DecoderItem,
    FrameGap,
    LateFrame,
    LinkStats,
    SampleGap,
    StreamDecoder,
    StreamRestart,
)
from host.protocol.frames import (
    MAX_ENCODED_LEN,
    MAX_PAYLOAD_LEN,
    PROTOCOL_VERSION,
    AccelFrame,
    Command,
    CommandFrame,
    CommandReplyFrame,
    DeviceInfoFrame,
    Frame,
    FrameType,
    ReplyCode,
    SampleFormat,
    SamplesFrame,
    StatusFrame,
    decode_payload,
    encode_frame,
    encode_payload,
    max_samples_per_frame,
)

__all__ = [
    "MAX_ENCODED_LEN",
    "MAX_PAYLOAD_LEN",
    "PROTOCOL_VERSION",
    "AccelFrame",
    "Command",
    "CommandFrame",
    "CommandReplyFrame",
    "DecodeIssue",
    "DecoderItem",
    "DeviceInfoFrame",
    "Frame",
    "FrameGap",
    "FrameType",
    "LateFrame",
    "LinkStats",
    "ReplyCode",
    "SampleFormat",
    "SampleGap",
    "SamplesFrame",
    "StatusFrame",
    "StreamDecoder",
    "StreamRestart",
    "cobs_decode",
    "cobs_encode",
    "crc32",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "max_samples_per_frame",
]

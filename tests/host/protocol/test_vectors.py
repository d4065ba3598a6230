"""The golden vectors in docs/protocol_v1_vectors.json, checked against the codec.

Some checks are independent of the codec (CRC check value, COBS examples from
Cheshire & Baker 1999, a frame assembled by hand with ``struct``) so that a bug
shared by the codec and the vector generator cannot hide.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from host.protocol import (
    SamplesFrame,
    StreamDecoder,
    cobs_decode,
    cobs_encode,
    crc32,
    decode_payload,
    encode_frame,
    encode_payload,
)
from host.protocol.frames import decode_encoded
from host.protocol.vectors import (
    STATS_KEYS,
    build_vectors,
    describe_item,
    fields_from_frame,
    frame_from_fields,
    load_vectors,
)

VECTORS_PATH = Path(__file__).resolve().parents[3] / "docs" / "protocol_v1_vectors.json"
VECTORS = load_vectors(VECTORS_PATH)


def _ids(section: str) -> list[str]:
    return [v["name"] for v in VECTORS[section]]


def test_vector_file_is_current() -> None:
    assert build_vectors() == VECTORS, "regenerate: python -m host.protocol.vectors"


def test_crc_check_value() -> None:
    assert VECTORS["crc"]["check"] == "0xcbf43926"
    assert crc32(b"123456789") == 0xCBF43926
    assert crc32(b"123456789") == zlib.crc32(b"123456789")


@pytest.mark.parametrize("vector", VECTORS["cobs"], ids=_ids("cobs"))
def test_cobs_vectors(vector: dict[str, Any]) -> None:
    decoded = bytes.fromhex(vector["decoded_hex"])
    encoded = bytes.fromhex(vector["encoded_hex"])
    assert cobs_encode(decoded) == encoded
    assert cobs_decode(encoded) == decoded
    assert 0 not in encoded


def test_cobs_examples_from_the_literature() -> None:
    # Examples of Cheshire & Baker (1999) as commonly tabulated.
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x00\x00") == b"\x01\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(b"\x11\x00\x00\x00") == b"\x02\x11\x01\x01\x01"
    assert cobs_encode(bytes(range(1, 256))) == b"\xff" + bytes(range(1, 255)) + b"\x02\xff"


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=_ids("frames"))
def test_frame_vectors_both_directions(vector: dict[str, Any]) -> None:
    frame = frame_from_fields(vector["fields"])
    assert encode_payload(frame).hex() == vector["payload_hex"]
    assert encode_frame(frame).hex() == vector["encoded_hex"]
    decoded = decode_encoded(bytes.fromhex(vector["encoded_hex"]))
    assert decoded == frame
    assert fields_from_frame(decoded) == vector["fields"]
    assert len(bytes.fromhex(vector["encoded_hex"])) <= 244


def test_frame_assembled_by_hand() -> None:
    counts = [[0, 1, -1, 32767], [-32768, 256, -256, 0]]
    body = struct.pack("<BBIQ", 1, 0x01, 0, 0) + struct.pack("<BBBI", 2, 1, 4, 0)
    body += struct.pack("<8h", *[counts[c][t] for t in range(4) for c in range(2)])
    payload = body + struct.pack("<I", zlib.crc32(body))
    vector = next(v for v in VECTORS["frames"] if v["name"] == "samples_int16_2ch")
    assert vector["payload_hex"] == payload.hex()


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=_ids("invalid"))
def test_invalid_vectors_are_rejected(vector: dict[str, Any]) -> None:
    decoder = StreamDecoder()
    items = decoder.feed(bytes.fromhex(vector["encoded_hex"]))
    assert [describe_item(i) for i in items] == [{"item": "rejected", "kind": vector["error"]}]
    assert decoder.stats.frames_received == 0
    assert decoder.stats.corrupt_frames == 1


@pytest.mark.parametrize("vector", VECTORS["streams"], ids=_ids("streams"))
@pytest.mark.parametrize("chunk", [0, 1, 7, 244])
def test_stream_vectors(vector: dict[str, Any], chunk: int) -> None:
    data = bytes.fromhex(vector["input_hex"])
    decoder = StreamDecoder()
    if chunk == 0:
        items = decoder.feed(data)
    else:
        items = []
        for start in range(0, len(data), chunk):
            items += decoder.feed(data[start : start + chunk])
    assert [describe_item(i) for i in items] == vector["items"]
    assert {k: getattr(decoder.stats, k) for k in STATS_KEYS} == vector["stats"]
    assert decoder.stats.bytes_received == len(data)


def test_largest_frame_fits_a_ble_notification() -> None:
    frame = SamplesFrame(
        seq=0, timestamp_us=0, first_sample=0, counts=np.full((2, 54), 0x0101, dtype=np.int32)
    )
    payload = encode_payload(frame)
    assert len(payload) == 14 + 7 + 54 * 2 * 2 + 4
    assert len(encode_frame(frame)) == len(payload) + 2 <= 244
    assert decode_payload(payload) == frame

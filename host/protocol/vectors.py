"""Golden test vectors of protocol v1: build, serialise and compare.

The vectors in ``docs/protocol_v1_vectors.json`` are shared by the Python tests and
the firmware's C tests. Regenerate the file (only when the protocol changes on
purpose) with::

    python -m host.protocol.vectors > docs/protocol_v1_vectors.json

File layout (all byte strings in lowercase hex):

``crc``
    The CRC algorithm and its check value.
``cobs``
    ``{"name", "decoded_hex", "encoded_hex"}`` pairs (encoded without delimiter).
``frames``
    Valid frames: ``{"name", "fields", "payload_hex", "encoded_hex"}``; ``fields``
    as produced by :func:`fields_from_frame`, ``encoded_hex`` with the delimiter.
``invalid``
    Single encoded blocks a decoder must reject: ``{"name", "encoded_hex",
    "error"}`` with ``error`` one of ``framing``, ``crc``, ``version``, ``type``,
    ``malformed``.
``streams``
    Byte streams and what a decoder must make of them: ``{"name", "input_hex",
    "items", "stats"}``; ``items`` as produced by :func:`describe_item`, ``stats`` a
    subset of :class:`~host.protocol.decoder.LinkStats` counters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from host.protocol.cobs import cobs_encode
from host.protocol.crc import crc32
from host.protocol.decoder import (
    DecodeIssue,
    DecoderItem,
    FrameGap,
    LateFrame,
    SampleGap,
    StreamDecoder,
    StreamRestart,
)
from host.protocol.frames import (
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
    encode_frame,
    encode_payload,
)

__all__ = [
    "STATS_KEYS",
    "build_vectors",
    "describe_item",
    "fields_from_frame",
    "frame_from_fields",
    "load_vectors",
]

#: The LinkStats counters recorded for each stream vector.
STATS_KEYS = (
    "frames_received",
    "frames_lost",
    "gaps",
    "crc_errors",
    "framing_errors",
    "malformed",
    "unsupported",
    "duplicates",
    "reordered",
    "restarts",
    "samples_lost",
    "accel_samples_lost",
)

_TYPE_NAMES = {
    FrameType.SAMPLES: "samples",
    FrameType.ACCEL: "accel",
    FrameType.STATUS: "status",
    FrameType.DEVICE_INFO: "device_info",
    FrameType.COMMAND: "command",
    FrameType.COMMAND_REPLY: "command_reply",
}
_TYPES_BY_NAME = {v: k for k, v in _TYPE_NAMES.items()}


def fields_from_frame(frame: Frame) -> dict[str, Any]:
    """Return a frame as a JSON-ready dictionary (enums by lowercase name)."""
    out: dict[str, Any] = {"type": _TYPE_NAMES[frame.frame_type]}
    if isinstance(frame, SamplesFrame | AccelFrame):
        out.update(
            seq=frame.seq,
            timestamp_us=frame.timestamp_us,
            first_sample=frame.first_sample,
            sample_format=frame.sample_format.name.lower(),
            counts=frame.counts.tolist(),
        )
        return out
    for key, value in vars(frame).items():
        if isinstance(value, SampleFormat | Command | ReplyCode):
            out[key] = value.name.lower()
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


def frame_from_fields(fields: dict[str, Any]) -> Frame:
    """Build a frame from a dictionary made by :func:`fields_from_frame`."""
    values = dict(fields)
    ftype = _TYPES_BY_NAME[values.pop("type")]
    if ftype in (FrameType.SAMPLES, FrameType.ACCEL):
        cls: Any = SamplesFrame if ftype is FrameType.SAMPLES else AccelFrame
        return cls(  # type: ignore[no-any-return]
            seq=values["seq"],
            timestamp_us=values["timestamp_us"],
            first_sample=values["first_sample"],
            counts=np.asarray(values["counts"], dtype=np.int32).reshape(len(values["counts"]), -1),
            sample_format=SampleFormat[values["sample_format"].upper()],
        )
    if ftype is FrameType.STATUS:
        return StatusFrame(**values)
    if ftype is FrameType.DEVICE_INFO:
        values["emg_format"] = SampleFormat[values["emg_format"].upper()]
        values["firmware_version"] = tuple(values["firmware_version"])
        values["channel_names"] = tuple(values["channel_names"])
        return DeviceInfoFrame(**values)
    if ftype is FrameType.COMMAND:
        values["command"] = Command[values["command"].upper()]
        return CommandFrame(**values)
    values["result"] = ReplyCode[values["result"].upper()]
    return CommandReplyFrame(**values)


def describe_item(item: DecoderItem) -> dict[str, Any]:
    """Summarise one decoder output item as a JSON-ready dictionary."""
    if isinstance(item, FrameGap):
        return {
            "item": "frame_gap",
            "first_missing_seq": item.first_missing_seq,
            "n_missing": item.n_missing,
            "next_seq": item.next_seq,
        }
    if isinstance(item, SampleGap):
        return {
            "item": "sample_gap",
            "stream": _TYPE_NAMES[item.frame_type],
            "first_missing_sample": item.first_missing_sample,
            "n_missing": item.n_missing,
        }
    if isinstance(item, LateFrame):
        return {"item": "late_frame", "frame": fields_from_frame(item.frame)}
    if isinstance(item, StreamRestart):
        stream = None if item.frame_type is None else _TYPE_NAMES[item.frame_type]
        return {"item": "restart", "reason": item.reason, "stream": stream}
    if isinstance(item, DecodeIssue):
        return {"item": "rejected", "kind": item.kind}
    return {"item": "frame", "frame": fields_from_frame(item)}


def _samples(seq: int, first: int, n_times: int, *, ts_step_us: int = 1000) -> SamplesFrame:
    rng = np.random.default_rng(seq)
    return SamplesFrame(
        seq=seq,
        timestamp_us=1_000_000 + first * ts_step_us,
        first_sample=first,
        counts=rng.integers(-2000, 2000, size=(2, n_times), dtype=np.int32),
    )


def _valid_frames() -> dict[str, Frame]:
    rng = np.random.default_rng(20261121)
    full = rng.integers(-32768, 32768, size=(2, 54), dtype=np.int32)
    full[:, :3] = 0  # zeros inside a long frame exercise COBS
    return {
        "samples_int16_2ch": SamplesFrame(
            seq=0,
            timestamp_us=0,
            first_sample=0,
            counts=np.array([[0, 1, -1, 32767], [-32768, 256, -256, 0]], dtype=np.int32),
        ),
        "samples_int16_2ch_largest": SamplesFrame(
            seq=17, timestamp_us=850_000, first_sample=850, counts=full
        ),
        "samples_int24_2ch": SamplesFrame(
            seq=2,
            timestamp_us=123_456_789,
            first_sample=4000,
            counts=np.array([[8388607, -8388608, 1, -1], [0, 65536, -65537, 12345]]),
            sample_format=SampleFormat.INT24,
        ),
        "samples_counters_near_wrap": SamplesFrame(
            seq=0xFFFFFFFF,
            timestamp_us=(1 << 40) + 7,
            first_sample=0xFFFFFFFE,
            counts=np.array([[10, 20], [-10, -20]]),
        ),
        "accel_int16_3axis": AccelFrame(
            seq=3,
            timestamp_us=1_000_000,
            first_sample=100,
            counts=np.array([[4096, 4100, 4090], [0, -12, 15], [-40, -35, -44]]),
        ),
        "status": StatusFrame(
            seq=4,
            timestamp_us=2_000_000,
            battery_mv=3912,
            battery_pct=81,
            streaming=True,
            charging=False,
            usb_power=True,
            lead_off_mask=0b10,
            saturation_mask=0b01,
            overflow_samples=12,
        ),
        "device_info_wearable": DeviceInfoFrame(
            seq=1,
            timestamp_us=500,
            firmware_version=(1, 0, 0),
            device_id=0x5350_4153_4D00_0001,
            emg_sfreq=1000.0,
            channel_names=("EMG L", "EMG R"),
            adc_bits=16,
            adc_bipolar=True,
            vref_v=1.65,
            gain=1000.0,
            emg_format=SampleFormat.INT16,
            accel_sfreq=100.0,
            accel_g_per_count=1.0 / 4096.0,
            samples_per_frame=50,
            board="xiao-nrf52840-sense",
        ),
        "device_info_uno_10bit": DeviceInfoFrame(
            seq=0,
            timestamp_us=0,
            firmware_version=(1, 2, 3),
            device_id=42,
            emg_sfreq=1000.0,
            channel_names=("EMG L", "EMG R"),
            adc_bits=10,
            adc_bipolar=False,
            vref_v=5.0,
            gain=2420.0,
            samples_per_frame=50,
            board="uno",
        ),
        "command_identify": CommandFrame(seq=0, timestamp_us=0, command=Command.IDENTIFY),
        "command_start": CommandFrame(seq=1, timestamp_us=10, command=Command.START),
        "command_stop": CommandFrame(seq=2, timestamp_us=20, command=Command.STOP),
        "command_set_rate_500": CommandFrame(
            seq=3, timestamp_us=30, command=Command.SET_RATE, rate_hz=500.0
        ),
        "command_status": CommandFrame(seq=4, timestamp_us=40, command=Command.STATUS),
        "reply_ok": CommandReplyFrame(
            seq=9, timestamp_us=900, command=Command.START, request_seq=1
        ),
        "reply_bad_argument": CommandReplyFrame(
            seq=10,
            timestamp_us=1000,
            command=Command.SET_RATE,
            request_seq=3,
            result=ReplyCode.BAD_ARGUMENT,
            message="rate must be one of 250, 500, 1000, 2000 Hz",
        ),
    }


def _with_crc(body: bytes) -> bytes:
    return body + crc32(body).to_bytes(4, "little")


def _invalid_blocks(frames: dict[str, Frame]) -> dict[str, tuple[bytes, str]]:
    good = encode_payload(frames["samples_int16_2ch"])
    flipped = bytearray(good)
    flipped[20] ^= 0x04
    header_v2 = _with_crc(bytes([2]) + good[1:-4])
    unknown_type = _with_crc(good[:1] + bytes([0x7F]) + good[2:-4])
    short_count = bytearray(good[:-4])
    short_count[16] = 5  # announces 5 sample times, carries 4
    encoded = encode_frame(frames["samples_int16_2ch"])
    largest = encode_frame(frames["samples_int16_2ch_largest"])
    return {
        "crc_bit_flip": (cobs_encode(bytes(flipped)) + b"\x00", "crc"),
        "truncated_frame": (encoded[:-6] + b"\x00", "crc"),
        "truncated_inside_cobs_group": (largest[:-10] + b"\x00", "framing"),
        "truncated_at_code_boundary": (cobs_encode(good[:-3]) + b"\x00", "crc"),
        "shorter_than_header": (cobs_encode(_with_crc(good[:6])) + b"\x00", "framing"),
        "version_2": (cobs_encode(header_v2) + b"\x00", "version"),
        "unknown_frame_type": (cobs_encode(unknown_type) + b"\x00", "type"),
        "sample_count_mismatch": (
            cobs_encode(_with_crc(bytes(short_count))) + b"\x00",
            "malformed",
        ),
        "oversized_block": (bytes([0x55]) * 300 + b"\x00", "framing"),
    }


def _streams(frames: dict[str, Frame]) -> dict[str, bytes]:
    def enc(*items: Frame) -> bytes:
        return b"".join(encode_frame(f) for f in items)

    f0, f1, f2, f3 = (_samples(seq, 50 * seq, 50) for seq in range(4))
    restarted = SamplesFrame(
        seq=0, timestamp_us=5, first_sample=0, counts=np.ones((2, 50), dtype=np.int32)
    )
    unknown_seq1 = bytearray(encode_payload(frames["samples_int16_2ch"])[:-4])
    unknown_seq1[1] = 0x7F
    unknown_seq1[2:6] = (1).to_bytes(4, "little")
    return {
        "in_order": enc(f0, f1, f2, f3),
        "garbage_between_frames": enc(f0) + b"\x13\x37\xff\x00" + enc(f1),
        "garbage_glued_to_a_frame": enc(f0) + b"\x13\x37" + enc(f1, f2),
        "starts_mid_frame": encode_frame(f0)[-20:] + enc(f1, f2),
        "empty_blocks_ignored": b"\x00\x00" + enc(f0) + b"\x00\x00\x00" + enc(f1),
        "lost_frame": enc(f0, f1, f3),
        "corrupt_frame": enc(f0)
        + cobs_encode(encode_payload(f1)[:-1] + b"\xaa")
        + b"\x00"
        + enc(f2),
        "duplicate_frame": enc(f0, f1, f1, f2),
        "reordered_frames": enc(f0, f2, f1, f3),
        "device_restart": enc(f0, f1, f2, restarted),
        "unknown_type_keeps_sequence": enc(f0)
        + cobs_encode(_with_crc(bytes(unknown_seq1)))
        + b"\x00"
        + enc(f2),
        "oversized_then_frame": enc(f0) + bytes([0x42]) * 400 + b"\x00" + enc(f1),
        "truncated_at_end": enc(f0, f1) + encode_frame(f2)[:40],
    }


def build_vectors() -> dict[str, Any]:
    """Build the whole golden-vector document from the codec.

    Returns
    -------
    dict
        The JSON-ready document (see the module docstring for its layout).
    """
    frames = _valid_frames()
    cobs_pairs = [
        ("empty", b""),
        ("one_zero", b"\x00"),
        ("two_zeros", b"\x00\x00"),
        ("zero_x11_zero", b"\x00\x11\x00"),
        ("x11_x22_zero_x33", b"\x11\x22\x00\x33"),
        ("no_zeros", b"\x11\x22\x33\x44"),
        ("trailing_zeros", b"\x11\x00\x00\x00"),
        ("run_of_254", bytes(range(1, 255))),
        ("zero_then_254", bytes(range(0, 255))),
        ("run_of_255", bytes(range(1, 256))),
        ("run_of_254_then_zero", bytes(range(2, 256)) + b"\x00"),
        ("run_of_253_zero_one", bytes(range(3, 256)) + b"\x00\x01"),
    ]
    streams = []
    for name, data in _streams(frames).items():
        decoder = StreamDecoder()
        items = decoder.feed(data)
        stats = {key: getattr(decoder.stats, key) for key in STATS_KEYS}
        streams.append(
            {
                "name": name,
                "input_hex": data.hex(),
                "items": [describe_item(it) for it in items],
                "stats": stats,
            }
        )
    return {
        "protocol_version": 1,
        "description": "Golden vectors of spasmwatch wire protocol v1 (docs/protocol.md).",
        "crc": {
            "algorithm": "CRC-32/ISO-HDLC",
            "check_input_ascii": "123456789",
            "check": f"0x{crc32(b'123456789'):08x}",
        },
        "cobs": [
            {"name": n, "decoded_hex": d.hex(), "encoded_hex": cobs_encode(d).hex()}
            for n, d in cobs_pairs
        ],
        "frames": [
            {
                "name": name,
                "fields": fields_from_frame(frame),
                "payload_hex": encode_payload(frame).hex(),
                "encoded_hex": encode_frame(frame).hex(),
            }
            for name, frame in frames.items()
        ],
        "invalid": [
            {"name": name, "encoded_hex": block.hex(), "error": kind}
            for name, (block, kind) in _invalid_blocks(frames).items()
        ],
        "streams": streams,
    }


def load_vectors(path: str | Path) -> dict[str, Any]:
    """Read a golden-vector file.

    Parameters
    ----------
    path : str | Path
        The JSON file, normally ``docs/protocol_v1_vectors.json``.

    Returns
    -------
    dict
        The parsed document.
    """
    with open(path, encoding="utf-8") as fh:
        doc: dict[str, Any] = json.load(fh)
    return doc


if __name__ == "__main__":  # pragma: no cover
    json.dump(build_vectors(), sys.stdout, indent=1)
    sys.stdout.write("\n")

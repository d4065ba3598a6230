r"""Frame types of wire protocol v1 and their byte layout.

A frame on the wire is ``COBS(payload) + b"\\x00"`` where ``payload`` is::

    offset size  field
    0      1     version          protocol version, 1
    1      1     type             FrameType
    2      4     seq              u32, +1 per frame sent by this side, wraps
    6      8     timestamp_us     u64, sender's monotonic clock in microseconds
    14     n     body             depends on type (see the frame classes)
    14+n   4     crc              u32 CRC-32/ISO-HDLC over bytes 0 .. 13+n

All integers are little-endian. ``docs/protocol.md`` is the normative text.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, TypeAlias

import numpy as np
from numpy.typing import NDArray

from host.errors import (
    CrcError,
    FramingError,
    MalformedFrameError,
    ProtocolError,
    UnknownFrameTypeError,
    UnsupportedVersionError,
)
from host.protocol.cobs import CobsError, cobs_decode, cobs_encode
from host.protocol.crc import crc32

__all__ = [
    "HEADER_LEN",
    "MAX_BLOCK_DATA_LEN",
    "MAX_ENCODED_LEN",
    "MAX_PAYLOAD_LEN",
    "MIN_PAYLOAD_LEN",
    "PROTOCOL_VERSION",
    "AccelFrame",
    "Command",
    "CommandFrame",
    "CommandReplyFrame",
    "DeviceInfoFrame",
    "Frame",
    "FrameType",
    "ReplyCode",
    "SampleFormat",
    "SamplesFrame",
    "StatusFrame",
    "decode_encoded",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "max_samples_per_frame",
    "volts_per_count",
]

_INT32 = np.dtype(np.int32)

PROTOCOL_VERSION = 1
HEADER_LEN = 14
CRC_LEN = 4
MIN_PAYLOAD_LEN = HEADER_LEN + CRC_LEN
#: Largest payload (before COBS): its encoding plus delimiter fits one BLE notification.
MAX_PAYLOAD_LEN = 242
#: Largest encoded frame including the 0x00 delimiter (the BLE payload limit).
MAX_ENCODED_LEN = 244
BLOCK_HEADER_LEN = 7
MAX_BLOCK_DATA_LEN = MAX_PAYLOAD_LEN - MIN_PAYLOAD_LEN - BLOCK_HEADER_LEN
MAX_CHANNELS = 16
MAX_NAME_LEN = 16
MAX_BOARD_LEN = 32
MAX_MESSAGE_LEN = 64

_HEADER = struct.Struct("<BBIQ")
_CRC = struct.Struct("<I")
_BLOCK = struct.Struct("<BBBI")
_STATUS = struct.Struct("<HBBBBI")
_INFO_FIXED = struct.Struct("<BBBQIBBBBffIfB")
_REPLY_FIXED = struct.Struct("<BIBB")
_U32 = struct.Struct("<I")


class FrameType(IntEnum):
    """Frame type byte (payload offset 1)."""

    SAMPLES = 0x01
    ACCEL = 0x02
    STATUS = 0x03
    DEVICE_INFO = 0x04
    COMMAND_REPLY = 0x05
    COMMAND = 0x10


class SampleFormat(IntEnum):
    """Encoding of one ADC sample in a sample block."""

    INT16 = 1
    INT24 = 2

    @property
    def width(self) -> int:
        """Bytes per sample."""
        return 2 if self is SampleFormat.INT16 else 3

    @property
    def limits(self) -> tuple[int, int]:
        """Smallest and largest representable count."""
        bits = 8 * self.width
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


class Command(IntEnum):
    """Command identifiers (host to device)."""

    IDENTIFY = 0x01
    START = 0x02
    STOP = 0x03
    SET_RATE = 0x04
    STATUS = 0x05


class ReplyCode(IntEnum):
    """Result of a command, in a COMMAND_REPLY frame."""

    OK = 0
    UNKNOWN_COMMAND = 1
    BAD_ARGUMENT = 2
    BUSY = 3
    NOT_ALLOWED = 4


def volts_per_count(*, adc_bits: int, adc_bipolar: bool, vref_v: float, gain: float) -> float:
    """Return the EMG scale from counts to volts at the electrodes.

    ``volts = counts * adc_span_v / 2**adc_bits / gain`` with ``adc_span_v = vref_v``
    for a unipolar ADC and ``2 * vref_v`` for a bipolar one (``docs/protocol.md`` 5.2).
    """
    span = vref_v * (2.0 if adc_bipolar else 1.0)
    return span / float(1 << adc_bits) / gain


def max_samples_per_frame(n_channels: int, sample_format: SampleFormat) -> int:
    """Return how many sample times fit one frame for a channel count and format.

    Parameters
    ----------
    n_channels : int
        Channels per sample time (1 .. 16).
    sample_format : SampleFormat
        Encoding of one sample.

    Returns
    -------
    int
        The largest ``sample_count`` that keeps the encoded frame within
        :data:`MAX_ENCODED_LEN` bytes (at most 255).
    """
    _check_range("n_channels", n_channels, 1, MAX_CHANNELS)
    return min(255, MAX_BLOCK_DATA_LEN // (n_channels * SampleFormat(sample_format).width))


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ProtocolError(f"{name} must be in [{low}, {high}], got {value}")


def _check_ascii(name: str, text: str, max_len: int) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ProtocolError(f"{name} must be printable ASCII, got {text!r}") from None
    if len(raw) > max_len or any(b < 0x20 or b > 0x7E for b in raw):
        raise ProtocolError(
            f"{name} must be printable ASCII of at most {max_len} bytes, got {text!r}"
        )
    return raw


@dataclass(frozen=True, eq=False)
class _BlockFrame:
    """A block of consecutive multichannel samples (base of samples and accel frames)."""

    seq: int
    timestamp_us: int
    first_sample: int
    counts: NDArray[np.int32]
    sample_format: SampleFormat = SampleFormat.INT16

    frame_type: ClassVar[FrameType]

    def __post_init__(self) -> None:
        counts = self.counts
        if type(counts) is np.ndarray and counts.dtype == _INT32 and counts.ndim == 2:
            # The decoder's case (fresh int32 counts), checked without the general path.
            counts.flags.writeable = False
            if type(self.sample_format) is not SampleFormat:
                object.__setattr__(self, "sample_format", SampleFormat(self.sample_format))
            return
        counts = np.asarray(counts)
        if counts.ndim != 2:
            raise ProtocolError(
                f"counts must have shape (n_channels, n_times), got shape {counts.shape}"
            )
        if not np.issubdtype(counts.dtype, np.integer):
            raise ProtocolError(f"counts must be integer ADC counts, got dtype {counts.dtype}")
        counts = counts.astype(np.int32, copy=False)
        counts.flags.writeable = False
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "sample_format", SampleFormat(self.sample_format))

    @property
    def n_channels(self) -> int:
        """Number of channels (rows of ``counts``)."""
        return int(self.counts.shape[0])

    @property
    def n_times(self) -> int:
        """Number of sample times (columns of ``counts``)."""
        return int(self.counts.shape[1])

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _BlockFrame)
        return (
            self.seq == other.seq
            and self.timestamp_us == other.timestamp_us
            and self.first_sample == other.first_sample
            and self.sample_format == other.sample_format
            and np.array_equal(self.counts, other.counts)
        )

    __hash__ = None  # type: ignore[assignment]

    def _body(self) -> bytes:
        n_channels, n_times = self.counts.shape
        _check_range("n_channels", n_channels, 1, MAX_CHANNELS)
        _check_range(
            "sample_count", n_times, 1, max_samples_per_frame(n_channels, self.sample_format)
        )
        _check_range("first_sample", self.first_sample, 0, 0xFFFFFFFF)
        low, high = self.sample_format.limits
        if self.counts.min() < low or self.counts.max() > high:
            raise ProtocolError(
                f"counts must fit {self.sample_format.name} [{low}, {high}], got values in "
                f"[{int(self.counts.min())}, {int(self.counts.max())}]"
            )
        head = _BLOCK.pack(n_channels, self.sample_format, n_times, self.first_sample)
        interleaved = np.ascontiguousarray(self.counts.T)  # sample-major: t0c0, t0c1, t1c0, ...
        if self.sample_format is SampleFormat.INT16:
            data = interleaved.astype("<i2").tobytes()
        else:
            data = interleaved.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        return head + data

    @classmethod
    def _from_body(cls, seq: int, timestamp_us: int, body: bytes) -> _BlockFrame:
        if len(body) < BLOCK_HEADER_LEN:
            raise MalformedFrameError(
                f"{cls.frame_type.name} body of {len(body)} bytes is shorter than its "
                f"{BLOCK_HEADER_LEN}-byte block header",
                seq=seq,
            )
        n_channels, fmt, n_times, first_sample = _BLOCK.unpack_from(body)
        try:
            sample_format = SampleFormat(fmt)
        except ValueError:
            raise MalformedFrameError(
                f"unknown sample format {fmt}: expected 1 (int16) or 2 (int24)", seq=seq
            ) from None
        if not 1 <= n_channels <= MAX_CHANNELS or n_times == 0:
            raise MalformedFrameError(
                f"channel count {n_channels} (expected 1..{MAX_CHANNELS}) or sample count "
                f"{n_times} (expected >= 1) out of range",
                seq=seq,
            )
        data = body[BLOCK_HEADER_LEN:]
        expected = n_channels * n_times * sample_format.width
        if len(data) != expected:
            raise MalformedFrameError(
                f"{cls.frame_type.name} frame announces {n_channels} channels x {n_times} "
                f"samples of {sample_format.name} ({expected} bytes) but carries {len(data)}",
                seq=seq,
            )
        if sample_format is SampleFormat.INT16:
            flat = np.frombuffer(data, dtype="<i2").astype(np.int32)
        else:
            raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            flat = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
            flat = np.where(flat >= 1 << 23, flat - (1 << 24), flat).astype(np.int32)
        counts = flat.reshape(n_times, n_channels).T
        return cls(
            seq=seq,
            timestamp_us=timestamp_us,
            first_sample=first_sample,
            counts=counts,
            sample_format=sample_format,
        )


@dataclass(frozen=True, eq=False)
class SamplesFrame(_BlockFrame):
    """EMG samples in ADC counts.

    Attributes
    ----------
    seq : int
        Frame sequence number (u32).
    timestamp_us : int
        Device time of the first sample in the frame, in microseconds (u64).
    first_sample : int
        Index of the first sample since streaming started (u32, wraps).
    counts : ndarray of int32, shape (n_channels, n_times)
        Signed ADC counts; 0 is 0 V at the electrodes.
    sample_format : SampleFormat
        Encoding on the wire.
    """

    frame_type: ClassVar[FrameType] = FrameType.SAMPLES


@dataclass(frozen=True, eq=False)
class AccelFrame(_BlockFrame):
    """Accelerometer samples in counts, rows x, y, z (see ``docs/protocol.md``)."""

    frame_type: ClassVar[FrameType] = FrameType.ACCEL


@dataclass(frozen=True)
class StatusFrame:
    """Battery, electrode and buffer status.

    Attributes
    ----------
    seq, timestamp_us : int
        Header fields.
    battery_mv : int
        Battery voltage in millivolts, 0 when unknown.
    battery_pct : int
        State of charge 0..100, 255 when unknown.
    streaming, charging, usb_power, low_battery : bool
        Flag bits 0..3.
    lead_off_mask : int
        Bit i set when channel i has lost electrode contact (where detectable).
    saturation_mask : int
        Bit i set when channel i clipped since the last status frame.
    overflow_samples : int
        Samples the device discarded because its buffer was full, cumulative (u32).
    """

    seq: int
    timestamp_us: int
    battery_mv: int = 0
    battery_pct: int = 255
    streaming: bool = False
    charging: bool = False
    usb_power: bool = False
    low_battery: bool = False
    lead_off_mask: int = 0
    saturation_mask: int = 0
    overflow_samples: int = 0

    frame_type: ClassVar[FrameType] = FrameType.STATUS

    def _body(self) -> bytes:
        _check_range("battery_mv", self.battery_mv, 0, 0xFFFF)
        if not (0 <= self.battery_pct <= 100 or self.battery_pct == 255):
            raise ProtocolError(f"battery_pct must be 0..100 or 255, got {self.battery_pct}")
        _check_range("lead_off_mask", self.lead_off_mask, 0, 0xFF)
        _check_range("saturation_mask", self.saturation_mask, 0, 0xFF)
        _check_range("overflow_samples", self.overflow_samples, 0, 0xFFFFFFFF)
        flags = (
            int(self.streaming)
            | int(self.charging) << 1
            | int(self.usb_power) << 2
            | int(self.low_battery) << 3
        )
        return _STATUS.pack(
            self.battery_mv,
            self.battery_pct,
            flags,
            self.lead_off_mask,
            self.saturation_mask,
            self.overflow_samples,
        )

    @classmethod
    def _from_body(cls, seq: int, timestamp_us: int, body: bytes) -> StatusFrame:
        if len(body) != _STATUS.size:
            raise MalformedFrameError(
                f"STATUS body must be {_STATUS.size} bytes, got {len(body)}", seq=seq
            )
        mv, pct, flags, lead_off, sat, overflow = _STATUS.unpack(body)
        if flags & 0xF0:
            raise MalformedFrameError(f"STATUS reserved flag bits set: 0x{flags:02x}", seq=seq)
        return cls(
            seq=seq,
            timestamp_us=timestamp_us,
            battery_mv=mv,
            battery_pct=pct,
            streaming=bool(flags & 1),
            charging=bool(flags & 2),
            usb_power=bool(flags & 4),
            low_battery=bool(flags & 8),
            lead_off_mask=lead_off,
            saturation_mask=sat,
            overflow_samples=overflow,
        )


@dataclass(frozen=True)
class DeviceInfoFrame:
    """What the host needs to turn counts into physical units, and who the device is.

    The EMG conversion is ``volts = counts * adc_span_v / 2**adc_bits / gain`` with
    ``adc_span_v = vref_v`` for a unipolar ADC and ``2 * vref_v`` for a bipolar one.

    Attributes
    ----------
    seq, timestamp_us : int
        Header fields.
    firmware_version : tuple of int
        (major, minor, patch).
    device_id : int
        Unique 64-bit device identifier.
    emg_sfreq : float
        EMG sampling rate in Hz (carried in millihertz).
    emg_format : SampleFormat
        Encoding of EMG samples.
    adc_bits : int
        ADC resolution in bits (1..24).
    adc_bipolar : bool
        True when the ADC input span is ``-vref .. +vref``.
    vref_v : float
        ADC reference voltage in volts.
    gain : float
        Total analogue gain from electrodes to ADC input (V/V).
    accel_sfreq : float
        Accelerometer rate in Hz, 0.0 when the board has none.
    accel_g_per_count : float
        Accelerometer scale in g per count.
    samples_per_frame : int
        EMG sample times per SAMPLES frame the device sends.
    board : str
        Board name (ASCII, at most 32 bytes).
    channel_names : tuple of str
        One name per EMG channel (ASCII, at most 16 bytes each).
    """

    seq: int
    timestamp_us: int
    firmware_version: tuple[int, int, int]
    device_id: int
    emg_sfreq: float
    channel_names: tuple[str, ...]
    adc_bits: int
    adc_bipolar: bool
    vref_v: float
    gain: float
    emg_format: SampleFormat = SampleFormat.INT16
    accel_sfreq: float = 0.0
    accel_g_per_count: float = 0.0
    samples_per_frame: int = 1
    board: str = ""

    frame_type: ClassVar[FrameType] = FrameType.DEVICE_INFO

    def __post_init__(self) -> None:
        # Store exactly what the wire carries, so a decoded frame equals its source.
        for name in ("vref_v", "gain", "accel_g_per_count"):
            object.__setattr__(self, name, float(np.float32(getattr(self, name))))
        for name in ("emg_sfreq", "accel_sfreq"):
            object.__setattr__(self, name, round(float(getattr(self, name)) * 1000) / 1000.0)
        object.__setattr__(self, "channel_names", tuple(self.channel_names))
        object.__setattr__(self, "firmware_version", tuple(self.firmware_version))
        object.__setattr__(self, "emg_format", SampleFormat(self.emg_format))

    @property
    def n_channels(self) -> int:
        """Number of EMG channels."""
        return len(self.channel_names)

    @property
    def volts_per_count(self) -> float:
        """Scale from EMG counts to volts at the electrodes."""
        return volts_per_count(
            adc_bits=self.adc_bits, adc_bipolar=self.adc_bipolar, vref_v=self.vref_v, gain=self.gain
        )

    def _body(self) -> bytes:
        major, minor, patch = self.firmware_version
        for name, value in (("firmware major", major), ("minor", minor), ("patch", patch)):
            _check_range(f"firmware_version {name}", value, 0, 255)
        _check_range("device_id", self.device_id, 0, (1 << 64) - 1)
        _check_range("n_channels", self.n_channels, 1, MAX_CHANNELS)
        _check_range("adc_bits", self.adc_bits, 1, 24)
        _check_range("samples_per_frame", self.samples_per_frame, 1, 255)
        emg_mhz = round(self.emg_sfreq * 1000)
        acc_mhz = round(self.accel_sfreq * 1000)
        _check_range("emg_sfreq (mHz)", emg_mhz, 1, 0xFFFFFFFF)
        _check_range("accel_sfreq (mHz)", acc_mhz, 0, 0xFFFFFFFF)
        if not (self.vref_v > 0 and self.gain > 0):
            raise ProtocolError(
                f"vref_v and gain must be positive, got vref_v={self.vref_v}, gain={self.gain}"
            )
        board = _check_ascii("board", self.board, MAX_BOARD_LEN)
        out = bytearray(
            _INFO_FIXED.pack(
                major,
                minor,
                patch,
                self.device_id,
                emg_mhz,
                self.n_channels,
                SampleFormat(self.emg_format),
                self.adc_bits,
                int(self.adc_bipolar),
                self.vref_v,
                self.gain,
                acc_mhz,
                self.accel_g_per_count,
                self.samples_per_frame,
            )
        )
        out.append(len(board))
        out += board
        for i, name in enumerate(self.channel_names):
            raw = _check_ascii(f"channel_names[{i}]", name, MAX_NAME_LEN)
            out.append(len(raw))
            out += raw
        return bytes(out)

    @classmethod
    def _from_body(cls, seq: int, timestamp_us: int, body: bytes) -> DeviceInfoFrame:
        def fail(why: str) -> MalformedFrameError:
            return MalformedFrameError(f"DEVICE_INFO {why}", seq=seq)

        if len(body) < _INFO_FIXED.size + 1:
            raise fail(f"body of {len(body)} bytes is shorter than {_INFO_FIXED.size + 1}")
        (
            major,
            minor,
            patch,
            device_id,
            emg_mhz,
            n_channels,
            fmt,
            adc_bits,
            bipolar,
            vref_v,
            gain,
            acc_mhz,
            g_per_count,
            spf,
        ) = _INFO_FIXED.unpack_from(body)
        if emg_mhz == 0 or not 1 <= n_channels <= MAX_CHANNELS or not 1 <= adc_bits <= 24:
            raise fail(
                f"has an impossible rate ({emg_mhz} mHz), channel count ({n_channels}) or "
                f"ADC resolution ({adc_bits} bits)"
            )
        if fmt not in (1, 2) or bipolar not in (0, 1) or spf == 0:
            raise fail(f"has sample format {fmt}, polarity {bipolar} or samples/frame {spf}")
        if not (vref_v > 0 and gain > 0 and np.isfinite(vref_v) and np.isfinite(gain)):
            raise fail(f"has non-positive vref ({vref_v}) or gain ({gain})")
        pos = _INFO_FIXED.size
        strings: list[str] = []
        for limit in [MAX_BOARD_LEN] + [MAX_NAME_LEN] * n_channels:
            if pos >= len(body):
                raise fail("is truncated in its names")
            length = body[pos]
            raw = body[pos + 1 : pos + 1 + length]
            if length > limit or len(raw) != length or any(b < 0x20 or b > 0x7E for b in raw):
                raise fail(f"has a bad name field at offset {pos + HEADER_LEN}")
            strings.append(raw.decode("ascii"))
            pos += 1 + length
        if pos != len(body):
            raise fail(f"has {len(body) - pos} trailing bytes")
        return cls(
            seq=seq,
            timestamp_us=timestamp_us,
            firmware_version=(major, minor, patch),
            device_id=device_id,
            emg_sfreq=emg_mhz / 1000.0,
            channel_names=tuple(strings[1:]),
            adc_bits=adc_bits,
            adc_bipolar=bool(bipolar),
            vref_v=float(vref_v),
            gain=float(gain),
            emg_format=SampleFormat(fmt),
            accel_sfreq=acc_mhz / 1000.0,
            accel_g_per_count=float(g_per_count),
            samples_per_frame=spf,
            board=strings[0],
        )


@dataclass(frozen=True)
class CommandFrame:
    """A command from the host to the device.

    Attributes
    ----------
    seq, timestamp_us : int
        Header fields (the host's own counter and clock).
    command : Command
        What to do.
    rate_hz : float
        New EMG rate for :attr:`Command.SET_RATE`, ignored otherwise.
    """

    seq: int
    timestamp_us: int
    command: Command
    rate_hz: float = 0.0

    frame_type: ClassVar[FrameType] = FrameType.COMMAND

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", Command(self.command))
        object.__setattr__(self, "rate_hz", round(float(self.rate_hz) * 1000) / 1000.0)

    def _body(self) -> bytes:
        command = Command(self.command)
        if command is Command.SET_RATE:
            mhz = round(self.rate_hz * 1000)
            _check_range("rate (mHz)", mhz, 1, 0xFFFFFFFF)
            return bytes([command]) + _U32.pack(mhz)
        return bytes([command])

    @classmethod
    def _from_body(cls, seq: int, timestamp_us: int, body: bytes) -> CommandFrame:
        if not body:
            raise MalformedFrameError("COMMAND frame has an empty body", seq=seq)
        try:
            command = Command(body[0])
        except ValueError:
            raise MalformedFrameError(f"unknown command 0x{body[0]:02x}", seq=seq) from None
        expected = 5 if command is Command.SET_RATE else 1
        if len(body) != expected:
            raise MalformedFrameError(
                f"{command.name} body must be {expected} bytes, got {len(body)}", seq=seq
            )
        rate_hz = _U32.unpack_from(body, 1)[0] / 1000.0 if command is Command.SET_RATE else 0.0
        return cls(seq=seq, timestamp_us=timestamp_us, command=command, rate_hz=rate_hz)


@dataclass(frozen=True)
class CommandReplyFrame:
    """The device's answer to a command.

    Attributes
    ----------
    seq, timestamp_us : int
        Header fields.
    command : int
        The command byte being answered (kept raw so unknown commands can be echoed).
    request_seq : int
        ``seq`` of the COMMAND frame being answered.
    result : ReplyCode
        Outcome.
    message : str
        Human-readable detail (ASCII, at most 64 bytes), may be empty.
    """

    seq: int
    timestamp_us: int
    command: int
    request_seq: int
    result: ReplyCode = ReplyCode.OK
    message: str = ""

    frame_type: ClassVar[FrameType] = FrameType.COMMAND_REPLY

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", int(self.command))
        object.__setattr__(self, "result", ReplyCode(self.result))

    def _body(self) -> bytes:
        _check_range("command", int(self.command), 0, 255)
        _check_range("request_seq", self.request_seq, 0, 0xFFFFFFFF)
        raw = _check_ascii("message", self.message, MAX_MESSAGE_LEN)
        fixed = _REPLY_FIXED.pack(
            int(self.command), self.request_seq, ReplyCode(self.result), len(raw)
        )
        return fixed + raw

    @classmethod
    def _from_body(cls, seq: int, timestamp_us: int, body: bytes) -> CommandReplyFrame:
        if len(body) < _REPLY_FIXED.size:
            raise MalformedFrameError(f"COMMAND_REPLY body of {len(body)} bytes", seq=seq)
        command, request_seq, result, length = _REPLY_FIXED.unpack_from(body)
        raw = body[_REPLY_FIXED.size :]
        if len(raw) != length or length > MAX_MESSAGE_LEN:
            raise MalformedFrameError(
                f"COMMAND_REPLY message announces {length} bytes, carries {len(raw)}", seq=seq
            )
        try:
            code = ReplyCode(result)
            message = raw.decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise MalformedFrameError(
                f"COMMAND_REPLY has result {result} or a non-ASCII message", seq=seq
            ) from None
        return cls(
            seq=seq,
            timestamp_us=timestamp_us,
            command=command,
            request_seq=request_seq,
            result=code,
            message=message,
        )


Frame: TypeAlias = (
    SamplesFrame | AccelFrame | StatusFrame | DeviceInfoFrame | CommandFrame | CommandReplyFrame
)

_CLASSES: dict[FrameType, Any] = {
    FrameType.SAMPLES: SamplesFrame,
    FrameType.ACCEL: AccelFrame,
    FrameType.STATUS: StatusFrame,
    FrameType.DEVICE_INFO: DeviceInfoFrame,
    FrameType.COMMAND_REPLY: CommandReplyFrame,
    FrameType.COMMAND: CommandFrame,
}


def encode_payload(frame: Frame) -> bytes:
    """Serialise a frame to its payload (header, body, CRC), before COBS.

    Parameters
    ----------
    frame : Frame
        Any frame object.

    Returns
    -------
    bytes
        The payload, at most :data:`MAX_PAYLOAD_LEN` bytes.

    Raises
    ------
    ProtocolError
        If a field is out of range or the frame would not fit.
    """
    _check_range("seq", frame.seq, 0, 0xFFFFFFFF)
    _check_range("timestamp_us", frame.timestamp_us, 0, (1 << 64) - 1)
    head = _HEADER.pack(PROTOCOL_VERSION, frame.frame_type, frame.seq, frame.timestamp_us)
    payload = head + frame._body()
    if len(payload) + CRC_LEN > MAX_PAYLOAD_LEN:
        raise ProtocolError(
            f"{frame.frame_type.name} frame would be {len(payload) + CRC_LEN} bytes, "
            f"more than the {MAX_PAYLOAD_LEN}-byte limit"
        )
    return payload + _CRC.pack(crc32(payload))


def encode_frame(frame: Frame) -> bytes:
    r"""Serialise a frame for the wire: ``COBS(payload) + b"\\x00"``.

    Parameters
    ----------
    frame : Frame
        Any frame object.

    Returns
    -------
    bytes
        The encoded frame, at most :data:`MAX_ENCODED_LEN` bytes with its delimiter.
    """
    return cobs_encode(encode_payload(frame)) + b"\x00"


def peek_header(payload: bytes) -> tuple[int, int, int, int]:
    """Return ``(version, type, seq, timestamp_us)`` of a payload without checking it."""
    version, ftype, seq, ts = _HEADER.unpack_from(payload)
    return int(version), int(ftype), int(seq), int(ts)


def decode_payload(payload: bytes) -> Frame:
    """Parse and check one payload (after COBS decoding).

    Parameters
    ----------
    payload : bytes
        Header, body and CRC.

    Returns
    -------
    Frame
        The decoded frame.

    Raises
    ------
    FramingError
        If the payload is shorter than a header plus CRC or longer than allowed.
    CrcError
        If the CRC does not match.
    UnsupportedVersionError
        If the version byte is not 1.
    UnknownFrameTypeError
        If the type byte is not defined (its ``seq`` attribute still tells the
        sequence number, which the CRC vouches for).
    MalformedFrameError
        If the body contradicts itself.
    """
    n = len(payload)
    if n < MIN_PAYLOAD_LEN or n > MAX_PAYLOAD_LEN:
        raise FramingError(
            f"frame payload of {n} bytes: expected {MIN_PAYLOAD_LEN}..{MAX_PAYLOAD_LEN}"
        )
    (expected,) = _CRC.unpack_from(payload, n - CRC_LEN)
    actual = crc32(payload[: n - CRC_LEN])
    if actual != expected:
        raise CrcError(
            f"CRC mismatch in a {n}-byte frame: it carries 0x{expected:08x}, "
            f"its contents give 0x{actual:08x}"
        )
    version, ftype, seq, ts = peek_header(payload)
    if version != PROTOCOL_VERSION:
        raise UnsupportedVersionError(
            f"frame speaks protocol version {version}; this host speaks {PROTOCOL_VERSION}"
        )
    try:
        cls = _CLASSES[FrameType(ftype)]
    except ValueError:
        known = ", ".join(f"0x{t:02x} ({t.name})" for t in FrameType)
        raise UnknownFrameTypeError(
            f"unknown frame type 0x{ftype:02x} (seq {seq}); known types: {known}", seq=seq
        ) from None
    frame: Frame = cls._from_body(seq, ts, payload[HEADER_LEN : n - CRC_LEN])
    return frame


def decode_encoded(block: bytes) -> Frame:
    """Decode one encoded frame (COBS bytes, with or without the trailing 0x00).

    Parameters
    ----------
    block : bytes
        One encoded frame.

    Returns
    -------
    Frame
        The decoded frame.

    Raises
    ------
    FrameError
        As :func:`decode_payload`, or :class:`FramingError` for bad COBS.
    """
    if block.endswith(b"\x00"):
        block = block[:-1]
    try:
        payload = cobs_decode(block)
    except CobsError as err:
        raise FramingError(str(err)) from None
    return decode_payload(payload)

"""Incremental decoder of a protocol v1 byte stream, with link statistics.

The decoder is fed arbitrary chunks of bytes (one byte at a time, whole frames, or
megabytes at once; the result is the same) and returns decoded frames and link
events. It never raises on bad input: corrupt, truncated, oversized or unknown frames
are counted in :class:`LinkStats` and skipped, and decoding resumes at the next 0x00
delimiter. Sequence numbers reveal lost, duplicated and reordered frames; sample
indices reveal exactly which samples are missing, so that downstream code can insert
NaNs and annotations instead of silently joining the signal.
"""

from __future__ import annotations

import binascii
import logging
import struct
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from host.errors import (
    CrcError,
    FrameError,
    FramingError,
    MalformedFrameError,
    UnknownFrameTypeError,
    UnsupportedVersionError,
)
from host.protocol.cobs import CobsError, cobs_decode
from host.protocol.frames import (
    BLOCK_HEADER_LEN,
    CRC_LEN,
    HEADER_LEN,
    MAX_CHANNELS,
    MAX_ENCODED_LEN,
    MAX_PAYLOAD_LEN,
    PROTOCOL_VERSION,
    AccelFrame,
    Frame,
    FrameType,
    SampleFormat,
    SamplesFrame,
    decode_payload,
)

__all__ = [
    "DecodeIssue",
    "DecoderItem",
    "FrameGap",
    "LateFrame",
    "LinkStats",
    "SampleGap",
    "StreamDecoder",
    "StreamRestart",
    "unwrap_index",
]

logger = logging.getLogger(__name__)

_SEQ_MOD = 1 << 32
_HALF = 1 << 31
#: How many recent sequence numbers are remembered to tell duplicates and late frames.
SEQ_WINDOW = 4096
#: A frame up to this many sequence numbers behind, never reported missing (it was sent
#: before the first frame the decoder saw), is taken as late rather than as a restart...
REORDER_WINDOW = 64
#: ...provided its device time is at most this much older than the newest frame's.
LATE_WINDOW_US = 2_000_000
#: How many reported sample gaps per stream are remembered for late frames to refill.
GAP_MEMORY = 256

# The fast path of sample frames: header and block header in one go (docs/protocol.md).
_SAMPLE_HEAD = struct.Struct("<BBIQBBBI")
_SAMPLE_DATA_OFFSET = HEADER_LEN + BLOCK_HEADER_LEN
_SAMPLE_MIN_LEN = _SAMPLE_DATA_OFFSET + CRC_LEN
_CRC = struct.Struct("<I")
_SAMPLES = int(FrameType.SAMPLES)
_ACCEL = int(FrameType.ACCEL)
_INT16 = int(SampleFormat.INT16)
_TYPE_NAMES = {t: t.name for t in FrameType}
_BLOCK_FRAMES = (SamplesFrame, AccelFrame)


@dataclass(frozen=True)
class FrameGap:
    """Frames that never arrived: sequence numbers ``first_missing_seq`` onwards.

    Attributes
    ----------
    first_missing_seq : int
        The sequence number that was expected.
    n_missing : int
        How many sequence numbers were skipped.
    next_seq : int
        The sequence number that arrived instead.
    """

    first_missing_seq: int
    n_missing: int
    next_seq: int


@dataclass(frozen=True)
class SampleGap:
    """A run of missing samples in one sample stream.

    Attributes
    ----------
    frame_type : FrameType
        ``FrameType.SAMPLES`` (EMG) or ``FrameType.ACCEL``.
    first_missing_sample : int
        Sample index (u32, wrapping) of the first missing sample.
    n_missing : int
        Number of missing sample times.
    resume_timestamp_us : int
        Device time of the first sample after the gap.
    """

    frame_type: FrameType
    first_missing_sample: int
    n_missing: int
    resume_timestamp_us: int


@dataclass(frozen=True)
class LateFrame:
    """A frame that arrived after later ones; its gap was already reported.

    Attributes
    ----------
    frame : Frame
        The frame itself; for sample blocks it fills part of an earlier
        :class:`SampleGap`.
    """

    frame: Frame


@dataclass(frozen=True)
class StreamRestart:
    """The device's counters started again (reboot, or a new START of sampling).

    Attributes
    ----------
    reason : str
        ``"sequence"`` when the frame counter jumped back, ``"samples"`` when a sample
        stream's index jumped back.
    frame_type : FrameType or None
        The sample stream concerned, for ``reason == "samples"``.
    """

    reason: str
    frame_type: FrameType | None = None


@dataclass(frozen=True)
class DecodeIssue:
    """A block of bytes that was rejected, with what was wrong.

    Attributes
    ----------
    kind : str
        One of ``"framing"``, ``"crc"``, ``"version"``, ``"type"``, ``"malformed"``.
    message : str
        What was wrong and what was expected.
    n_bytes : int
        Size of the rejected block.
    """

    kind: str
    message: str
    n_bytes: int


DecoderItem = Frame | FrameGap | SampleGap | LateFrame | StreamRestart | DecodeIssue


@dataclass
class LinkStats:
    """Counters of a link, updated by :class:`StreamDecoder`.

    Attributes
    ----------
    bytes_received : int
        Every byte fed to the decoder.
    frames_received : int
        Valid frames delivered (in order or late), duplicates excluded.
    frames_lost : int
        Sequence numbers never received, net of frames that arrived late.
    gaps : int
        Number of :class:`FrameGap` events.
    crc_errors, framing_errors, malformed, unsupported : int
        Rejected blocks by cause: bad CRC; bad COBS or length; right CRC but a body
        that contradicts itself; unknown version or frame type.
    duplicates : int
        Frames received again (same sequence number and contents), dropped.
    reordered : int
        Frames that arrived after later ones (delivered as :class:`LateFrame`).
    restarts : int
        :class:`StreamRestart` events.
    samples_lost, accel_samples_lost : int
        EMG and accelerometer sample times missing, net of late arrivals.
    discarded_bytes : int
        Bytes of rejected blocks.
    last_error : str
        The most recent rejection message.
    """

    bytes_received: int = 0
    frames_received: int = 0
    frames_lost: int = 0
    gaps: int = 0
    crc_errors: int = 0
    framing_errors: int = 0
    malformed: int = 0
    unsupported: int = 0
    duplicates: int = 0
    reordered: int = 0
    restarts: int = 0
    samples_lost: int = 0
    accel_samples_lost: int = 0
    discarded_bytes: int = 0
    last_error: str = ""
    frames_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def corrupt_frames(self) -> int:
        """Rejected blocks of every cause."""
        return self.crc_errors + self.framing_errors + self.malformed + self.unsupported

    @property
    def loss_fraction(self) -> float:
        """Fraction of sent frames that were lost (0.0 before anything arrived)."""
        total = self.frames_received + self.frames_lost
        return self.frames_lost / total if total else 0.0

    def as_dict(self) -> dict[str, object]:
        """Return the counters as a JSON-ready dictionary, derived values included."""
        out = asdict(self)
        out["corrupt_frames"] = self.corrupt_frames
        out["loss_fraction"] = self.loss_fraction
        return out


class StreamDecoder:
    """Incremental decoder: bytes in, frames and link events out.

    Parameters
    ----------
    max_block_len : int
        Longest encoded frame accepted, delimiter excluded. Longer runs of non-zero
        bytes are discarded as a framing error up to the next delimiter.

    Notes
    -----
    The first block after connecting to a running device is usually the tail of a
    frame and is counted as one framing or CRC error.
    """

    def __init__(self, max_block_len: int = MAX_ENCODED_LEN - 1) -> None:
        self.max_block_len = max_block_len
        self.stats = LinkStats()
        self._buffer = bytearray()
        self._overflowing = False
        self._next_seq: int | None = None
        self._recent: dict[int, int] = {}  # seq -> CRC of frames seen recently
        self._recent_order: deque[int] = deque()
        self._missing: set[int] = set()
        self._missing_order: deque[int] = deque()
        self._next_sample: dict[FrameType, int] = {}  # unwrapped sample index
        self._open_gaps: dict[FrameType, deque[tuple[int, int]]] = {}
        self._newest_us = 0

    def reset(self) -> None:
        """Forget all state and counters, as for a new link."""
        self.__init__(self.max_block_len)  # type: ignore[misc]

    @property
    def pending_bytes(self) -> int:
        """Bytes of a frame that has started but not yet ended."""
        return len(self._buffer)

    def discard_partial(self) -> int:
        """Drop a half-received frame, as when the link broke mid-frame.

        The frame's loss is accounted for by the sequence numbers of what follows.

        Returns
        -------
        int
            Number of bytes discarded.
        """
        n = len(self._buffer)
        self._buffer.clear()
        self._overflowing = False
        self.stats.discarded_bytes += n
        return n

    def feed(self, data: bytes) -> list[DecoderItem]:
        """Consume a chunk of bytes.

        Parameters
        ----------
        data : bytes
            Any number of bytes from the link.

        Returns
        -------
        list
            Frames, :class:`FrameGap`, :class:`SampleGap`, :class:`LateFrame`,
            :class:`StreamRestart` and :class:`DecodeIssue` items, in stream order.
        """
        self.stats.bytes_received += len(data)
        out: list[DecoderItem] = []
        if not data:
            return out
        # Every part but the last ends at a delimiter; the last is the start of a frame.
        parts = bytes(data).split(b"\x00")
        last = parts.pop()
        limit = self.max_block_len
        for part in parts:
            if self._buffer or self._overflowing:
                self._append(part, out)
                if self._overflowing:
                    self._overflowing = False
                elif self._buffer:
                    block = bytes(self._buffer)
                    self._buffer.clear()
                    self._block(block, out)
            elif len(part) > limit:
                self._append(part, out)  # rejected: too long
                self._overflowing = False
            elif part:
                self._block(part, out)
        if last:
            self._append(last, out)
        return out

    def _append(self, chunk: bytes, out: list[DecoderItem]) -> None:
        if self._overflowing:
            self.stats.discarded_bytes += len(chunk)
            return
        self._buffer += chunk
        if len(self._buffer) > self.max_block_len:
            size = len(self._buffer)
            self._buffer.clear()
            self._overflowing = True
            self._reject(
                "framing",
                f"more than {self.max_block_len} bytes without a 0x00 delimiter: "
                "discarding up to the next delimiter",
                size,
                out,
            )

    def _reject(self, kind: str, message: str, n_bytes: int, out: list[DecoderItem]) -> None:
        stats = self.stats
        if kind == "framing":
            stats.framing_errors += 1
        elif kind == "crc":
            stats.crc_errors += 1
        elif kind == "malformed":
            stats.malformed += 1
        else:
            stats.unsupported += 1
        stats.discarded_bytes += n_bytes
        stats.last_error = message
        logger.debug("rejected %d-byte block (%s): %s", n_bytes, kind, message)
        out.append(DecodeIssue(kind, message, n_bytes))

    def _block(self, block: bytes, out: list[DecoderItem]) -> None:
        unstuffed = _unstuff(block)
        if unstuffed is not None:
            fast = _sample_block_frame(unstuffed)
            if fast is not None:
                self._accept(fast, int.from_bytes(unstuffed[-4:], "little"), out)
                return
        try:
            payload = cobs_decode(block)
        except CobsError as err:
            self._reject("framing", str(err), len(block), out)
            return
        try:
            frame = decode_payload(payload)
        except FrameError as err:
            self._reject(_KIND.get(type(err), "malformed"), str(err), len(block), out)
            seq = getattr(err, "seq", None)
            if seq is not None:
                # The CRC vouches for the header: the frame was sent and received, only
                # its body is unusable (a newer frame type, or a firmware bug). Account
                # for its sequence number so it is not also counted as lost.
                ts = int.from_bytes(payload[6:14], "little")
                self._track_seq(seq, ts, _payload_crc(payload), out)
            return
        self._accept(frame, _payload_crc(payload), out)

    def _accept(self, frame: Frame, crc: int, out: list[DecoderItem]) -> None:
        verdict = self._track_seq(frame.seq, frame.timestamp_us, crc, out)
        if verdict == "duplicate":
            return
        stats = self.stats
        stats.frames_received += 1
        name = _TYPE_NAMES[frame.frame_type]
        stats.frames_by_type[name] = stats.frames_by_type.get(name, 0) + 1
        if isinstance(frame, _BLOCK_FRAMES):
            if verdict == "late" and self._refill(frame):
                out.append(LateFrame(frame))
                return
            self._track_samples(frame, out)
            out.append(frame)
            return
        out.append(LateFrame(frame) if verdict == "late" else frame)

    def _track_seq(self, seq: int, timestamp_us: int, crc: int, out: list[DecoderItem]) -> str:
        """Classify a sequence number as ``new``, ``late`` or ``duplicate``."""
        stats = self.stats
        if self._next_seq is not None:
            ahead = (seq - self._next_seq) % _SEQ_MOD
            if ahead >= _HALF:
                behind = _SEQ_MOD - ahead
                if seq in self._missing:
                    self._missing.discard(seq)
                    stats.frames_lost -= 1
                    stats.reordered += 1
                    self._remember(seq, crc)
                    return "late"
                if self._recent.get(seq) == crc:
                    stats.duplicates += 1
                    return "duplicate"
                recent_time = 0 <= self._newest_us - timestamp_us <= LATE_WINDOW_US
                if seq not in self._recent and behind <= REORDER_WINDOW and recent_time:
                    # Sent before the first frame this decoder saw: late, never reported.
                    stats.reordered += 1
                    self._remember(seq, crc)
                    return "late"
                # Backwards and neither missing, a copy, nor recent: the device restarted.
                stats.restarts += 1
                out.append(StreamRestart("sequence"))
                self._recent.clear()
                self._recent_order.clear()
                self._missing.clear()
                self._missing_order.clear()
                self._next_sample.clear()
                self._open_gaps.clear()
                self._newest_us = timestamp_us
            elif ahead:
                stats.frames_lost += ahead
                stats.gaps += 1
                out.append(FrameGap(self._next_seq, ahead, seq))
                for k in range(max(0, ahead - SEQ_WINDOW), ahead):
                    self._mark_missing((self._next_seq + k) % _SEQ_MOD)
        self._remember(seq, crc)
        self._next_seq = (seq + 1) % _SEQ_MOD
        self._newest_us = max(self._newest_us, timestamp_us)
        return "new"

    def _remember(self, seq: int, crc: int) -> None:
        self._recent[seq] = crc
        self._recent_order.append(seq)
        while len(self._recent_order) > SEQ_WINDOW:
            old = self._recent_order.popleft()
            if old != seq:
                self._recent.pop(old, None)

    def _mark_missing(self, seq: int) -> None:
        self._missing.add(seq)
        self._missing_order.append(seq)
        while len(self._missing_order) > SEQ_WINDOW:
            self._missing.discard(self._missing_order.popleft())

    def _count_samples(self, frame_type: FrameType, n: int) -> None:
        if frame_type is FrameType.SAMPLES:
            self.stats.samples_lost += n
        else:
            self.stats.accel_samples_lost += n

    def _unwrap(self, frame_type: FrameType, first_sample: int) -> int | None:
        expected = self._next_sample.get(frame_type)
        if expected is None:
            return None
        return unwrap_index(first_sample, expected)

    def _track_samples(self, frame: SamplesFrame | AccelFrame, out: list[DecoderItem]) -> None:
        ftype = frame.frame_type
        start = self._unwrap(ftype, frame.first_sample)
        if start is None:
            start = frame.first_sample
        else:
            expected = self._next_sample[ftype]
            if start > expected:
                n_missing = start - expected
                self._count_samples(ftype, n_missing)
                gaps = self._open_gaps.setdefault(ftype, deque(maxlen=GAP_MEMORY))
                gaps.append((expected, start))
                out.append(SampleGap(ftype, expected % _SEQ_MOD, n_missing, frame.timestamp_us))
            elif start < expected:
                self.stats.restarts += 1
                self._open_gaps.pop(ftype, None)
                out.append(StreamRestart("samples", ftype))
        self._next_sample[ftype] = start + frame.n_times

    def _refill(self, frame: SamplesFrame | AccelFrame) -> bool:
        """Account for a late sample block; False when it continues the stream instead."""
        ftype = frame.frame_type
        start = self._unwrap(ftype, frame.first_sample)
        if start is None or start >= self._next_sample[ftype]:
            return False
        end = start + frame.n_times
        gaps = self._open_gaps.get(ftype, deque())
        kept: deque[tuple[int, int]] = deque(maxlen=GAP_MEMORY)
        for a, b in gaps:
            lo, hi = max(a, start), min(b, end)
            if lo >= hi:
                kept.append((a, b))
                continue
            self._count_samples(ftype, -(hi - lo))
            if a < lo:
                kept.append((a, lo))
            if hi < b:
                kept.append((hi, b))
        self._open_gaps[ftype] = kept
        return True


def unwrap_index(value: int, expected: int) -> int:
    """Unwrap a u32 counter to the integer nearest to ``expected`` (an unwrapped index).

    Parameters
    ----------
    value : int
        The counter as received (0 .. 2**32 - 1).
    expected : int
        The unwrapped value expected next.

    Returns
    -------
    int
        ``expected`` plus the signed distance from it to ``value``, modulo 2**32.
    """
    return expected + (value - expected + _HALF) % _SEQ_MOD - _HALF


def _payload_crc(payload: bytes) -> int:
    return int.from_bytes(payload[-4:], "little")


def _unstuff(block: bytes) -> bytearray | None:
    """COBS-decode a block the fast way; None where :func:`cobs_decode` must decide.

    A valid block of this protocol's size (under 254 bytes) is its payload, shifted by
    one, with a 0x00 at every code byte after the first: the code bytes form a chain
    from offset 0 (each one the distance to the next), which must end exactly at the
    end of the block. Blocks with a 0xFF code (a run of 254 non-zero bytes), a 0x00
    byte, or a broken chain go to the general decoder, which also names the error.
    """
    n = len(block)
    if not n or b"\x00" in block:
        return None
    out = bytearray(block)
    code = block[0]
    i = code
    while i < n:
        if code == 0xFF:
            return None
        out[i] = 0
        code = block[i]
        i += code
    if i != n:
        return None
    del out[0]
    return out


def _sample_block_frame(payload: bytearray) -> SamplesFrame | AccelFrame | None:
    """Decode a valid int16 SAMPLES or ACCEL payload; None for anything else.

    The common case of a live stream, the same result as :func:`decode_payload` with
    fewer steps. Anything this does not accept (another type or format, a bad CRC, a
    body that contradicts itself) goes to :func:`decode_payload`, which names the error.
    """
    n = len(payload)
    if n < _SAMPLE_MIN_LEN or n > MAX_PAYLOAD_LEN:
        return None
    version, ftype, seq, timestamp_us, n_channels, fmt, n_times, first = _SAMPLE_HEAD.unpack_from(
        payload
    )
    if (
        version != PROTOCOL_VERSION
        or fmt != _INT16
        or not (ftype == _SAMPLES or ftype == _ACCEL)
        or not 1 <= n_channels <= MAX_CHANNELS
        or n_times == 0
        or n != _SAMPLE_MIN_LEN + 2 * n_channels * n_times
        or binascii.crc32(memoryview(payload)[: n - CRC_LEN])
        != _CRC.unpack_from(payload, n - CRC_LEN)[0]
    ):
        return None
    counts = np.frombuffer(payload, "<i2", n_channels * n_times, _SAMPLE_DATA_OFFSET)
    cls = SamplesFrame if ftype == _SAMPLES else AccelFrame
    return cls(
        seq=seq,
        timestamp_us=timestamp_us,
        first_sample=first,
        counts=counts.astype(np.int32).reshape(n_times, n_channels).T,
        sample_format=SampleFormat.INT16,
    )


_KIND: dict[type[FrameError], str] = {
    FramingError: "framing",
    CrcError: "crc",
    UnsupportedVersionError: "version",
    UnknownFrameTypeError: "type",
    MalformedFrameError: "malformed",
}

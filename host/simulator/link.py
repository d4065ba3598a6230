"""Fault injection on the simulated wearable's link.

A :class:`FaultInjector` turns the frames the firmware made into the bytes that reach
the host, dropping, corrupting, duplicating, reordering and delaying frames at seeded
random, and keeps an exact record of what it did (:class:`InjectedFaults`) so tests can
check that the host's link statistics account for every fault.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

from host.errors import ConfigError
from host.protocol import Frame, FrameType, SamplesFrame, encode_frame

__all__ = ["FaultInjector", "InjectedFaults", "LinkFaults"]

_DATA_TYPES = (FrameType.SAMPLES, FrameType.ACCEL, FrameType.STATUS)


@dataclass(frozen=True)
class LinkFaults:
    """How unreliable the simulated link is.

    Parameters
    ----------
    drop, corrupt, duplicate, reorder, delay : float
        Probability per frame (0..1) that the frame is lost, has one byte changed, is
        sent twice, is swapped with the next frame, or holds up the byte stream for
        ``delay_s`` before it is sent (order preserved).
    delay_s : float
        Length of one delay, in seconds.
    unplug_every_s : float
        Pull the cable every this many seconds of streaming (0: never).
    unplug_for_s : float
        How long the cable stays out.
    include_control : bool
        Also afflict DEVICE_INFO and COMMAND_REPLY frames. By default only data frames
        (SAMPLES, ACCEL, STATUS) are, so that handshakes are deterministic.
    seed : int
        Seed of the fault pattern.
    """

    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: float = 0.0
    delay_s: float = 0.2
    unplug_every_s: float = 0.0
    unplug_for_s: float = 2.0
    include_control: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop", "corrupt", "duplicate", "reorder", "delay"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(
                    f"link fault {name!r} must be a probability in [0, 1], got {value}"
                )
        if self.drop + self.corrupt > 1.0:
            raise ConfigError(f"drop + corrupt must not exceed 1, got {self.drop} + {self.corrupt}")
        if self.delay_s < 0 or self.unplug_every_s < 0 or self.unplug_for_s < 0:
            raise ConfigError("delay_s, unplug_every_s and unplug_for_s must be >= 0")

    @property
    def any(self) -> bool:
        """True when any fault is enabled."""
        return (
            bool(self.drop or self.corrupt or self.duplicate or self.reorder or self.delay)
            or self.unplug_every_s > 0
        )


@dataclass
class InjectedFaults:
    """What the injector did, frame by frame, for comparison with the host's statistics.

    Attributes
    ----------
    frames_in : int
        Frames handed to the injector.
    dropped, corrupted, duplicated, reordered, delayed : int
        Frames afflicted by each fault.
    unsent_frames : int
        Frames the device made but never sent: the cable was out, or its transmit
        buffer was full because the host did not read.
    unplugs : int
        Cable pulls.
    lost_samples : int
        EMG sample times in SAMPLES frames that were dropped, corrupted or not sent.
    lost_seqs : set of int
        Sequence numbers that never reached the host intact.
    lost_samples_by_seq : dict of int to int
        For each lost SAMPLES frame, its number of sample times.
    """

    frames_in: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    reordered: int = 0
    delayed: int = 0
    unsent_frames: int = 0
    unplugs: int = 0
    lost_samples: int = 0
    lost_seqs: set[int] = field(default_factory=set)
    lost_samples_by_seq: dict[int, int] = field(default_factory=dict)

    @property
    def frames_lost(self) -> int:
        """Frames the host can never receive."""
        return self.dropped + self.corrupted + self.unsent_frames

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary (without the sequence-number set)."""
        out = asdict(self)
        del out["lost_seqs"]
        del out["lost_samples_by_seq"]
        out["frames_lost"] = self.frames_lost
        return out


class FaultInjector:
    """Apply :class:`LinkFaults` to frames, deterministically.

    Parameters
    ----------
    faults : LinkFaults
        Fault probabilities and seed.
    """

    def __init__(self, faults: LinkFaults) -> None:
        self.faults = faults
        self.record = InjectedFaults()
        self._rng = random.Random(faults.seed)
        self._held: bytes | None = None

    def _afflictable(self, frame: Frame) -> bool:
        return self.faults.include_control or frame.frame_type in _DATA_TYPES

    def _lost(self, frame: Frame) -> None:
        self.record.lost_seqs.add(frame.seq)
        if isinstance(frame, SamplesFrame):
            self.record.lost_samples += frame.n_times
            self.record.lost_samples_by_seq[frame.seq] = frame.n_times

    def unsent(self, frames: list[Frame]) -> None:
        """Record frames the device made but could not send (cable out, buffer full)."""
        for frame in frames:
            self.record.frames_in += 1
            self.record.unsent_frames += 1
            self._lost(frame)

    def release_held(self) -> bytes:
        """Return a frame held back for reordering (at a cable pull or the end)."""
        held, self._held = self._held, None
        return held or b""

    def apply(self, frames: list[Frame]) -> list[tuple[bytes, float]]:
        """Turn frames into ``(bytes, delay_before_s)`` chunks to send.

        Parameters
        ----------
        frames : list of Frame
            Frames in the order the firmware made them.

        Returns
        -------
        list of (bytes, float)
            Byte chunks and how long to pause before writing each.
        """
        f = self.faults
        rng = self._rng
        out: list[tuple[bytes, float]] = []
        for frame in frames:
            self.record.frames_in += 1
            data = encode_frame(frame)
            if not self._afflictable(frame):
                out.append((data, 0.0))
                continue
            roll = rng.random()
            if roll < f.drop:
                self.record.dropped += 1
                self._lost(frame)
                continue
            if roll < f.drop + f.corrupt:
                self.record.corrupted += 1
                self._lost(frame)
                data = _corrupt(data, rng)
            pause = 0.0
            if f.delay and rng.random() < f.delay:
                self.record.delayed += 1
                pause = f.delay_s
            if (
                f.duplicate
                and rng.random() < f.duplicate
                and frame.seq not in self.record.lost_seqs
            ):
                self.record.duplicated += 1
                data = data + data
            if self._held is not None:
                out.append((data, pause))
                out.append((self._held, 0.0))
                self._held = None
                continue
            if f.reorder and rng.random() < f.reorder and frame.seq not in self.record.lost_seqs:
                self.record.reordered += 1
                self._held = data
                continue
            out.append((data, pause))
        return out


def _corrupt(encoded: bytes, rng: random.Random) -> bytes:
    """Change one byte of an encoded frame (never the delimiter, never into 0x00).

    The frame then fails its CRC or its COBS check as exactly one rejected block.
    """
    out = bytearray(encoded)
    pos = rng.randrange(len(out) - 1)
    out[pos] = 1 + (out[pos] - 1 + rng.randrange(1, 255)) % 255
    return bytes(out)

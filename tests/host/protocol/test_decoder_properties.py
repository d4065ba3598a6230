"""Property tests of the stream decoder (hypothesis).

The oracle is deliberately simple and independent of the decoder's logic: after
faults are injected, the byte stream is split at 0x00 delimiters, and a frame
"survived" exactly when one of the resulting blocks is byte-identical to its
encoding. The decoder must return exactly those frames, in order, and account for
every missing sequence number and every missing sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from host.protocol import (
    AccelFrame,
    Frame,
    FrameGap,
    FrameType,
    LateFrame,
    SampleGap,
    SamplesFrame,
    StatusFrame,
    StreamDecoder,
    StreamRestart,
    encode_frame,
)

SEQ_MOD = 1 << 32


@dataclass
class Sent:
    frame: Frame
    encoded: bytes  # without delimiter


def make_frames(first_seq: int, kinds: list[int], first_sample: int) -> list[Sent]:
    """Frames of mixed types with consecutive sequence numbers and sample indices."""
    rng = np.random.default_rng(first_seq % 1000)
    out: list[Sent] = []
    next_emg = first_sample
    next_acc = first_sample // 10
    for i, kind in enumerate(kinds):
        seq = (first_seq + i) % SEQ_MOD
        frame: Frame
        if kind == 0:
            n = int(rng.integers(1, 55))
            frame = SamplesFrame(
                seq=seq,
                timestamp_us=i * 1000,
                first_sample=next_emg % SEQ_MOD,
                counts=rng.integers(-40000, 40000, size=(2, n)).clip(-32768, 32767),
            )
            next_emg += n
        elif kind == 1:
            n = int(rng.integers(1, 20))
            frame = AccelFrame(
                seq=seq,
                timestamp_us=i * 1000,
                first_sample=next_acc % SEQ_MOD,
                counts=rng.integers(-5000, 5000, size=(3, n)),
            )
            next_acc += n
        else:
            frame = StatusFrame(
                seq=seq, timestamp_us=i * 1000, battery_mv=int(rng.integers(0, 5000))
            )
        out.append(Sent(frame, encode_frame(frame)[:-1]))
    return out


fault = st.sampled_from(["keep"] * 6 + ["drop", "corrupt", "garbage_before", "corrupt_delimiter"])


@st.composite
def faulty_stream(draw: st.DrawFn) -> tuple[list[Sent], bytes, list[int]]:
    n = draw(st.integers(1, 30))
    kinds = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    first_seq = draw(st.one_of(st.integers(0, 100), st.integers(SEQ_MOD - 20, SEQ_MOD - 1)))
    first_sample = draw(st.one_of(st.integers(0, 100), st.integers(SEQ_MOD - 300, SEQ_MOD - 1)))
    sent = make_frames(first_seq, kinds, first_sample)
    stream = bytearray()
    for item in sent:
        what = draw(fault)
        block = bytearray(item.encoded)
        if what == "drop":
            continue
        if what == "garbage_before":
            stream += draw(st.binary(min_size=1, max_size=300))
        if what == "corrupt":
            pos = draw(st.integers(0, len(block) - 1))
            block[pos] = (block[pos] + draw(st.integers(1, 255))) % 256
        stream += block
        stream += b"\x01" if what == "corrupt_delimiter" else b"\x00"
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    return sent, bytes(stream), cuts


def surviving(sent: list[Sent], stream: bytes) -> list[Frame]:
    by_bytes = {s.encoded: s.frame for s in sent}
    blocks = stream.split(b"\x00")[:-1]  # the last piece has no delimiter yet
    return [by_bytes[b] for b in blocks if b in by_bytes]


def feed_in_chunks(decoder: StreamDecoder, stream: bytes, cuts: list[int]) -> list[object]:
    items: list[object] = []
    edges = [0, *cuts, len(stream)]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        items += decoder.feed(stream[a:b])
    return items


@settings(max_examples=300, deadline=None)
@given(faulty_stream())
def test_decodes_exactly_the_surviving_frames(case: tuple[list[Sent], bytes, list[int]]) -> None:
    sent, stream, cuts = case
    decoder = StreamDecoder()
    items = feed_in_chunks(decoder, stream, cuts)
    frames = [i for i in items if isinstance(i, SamplesFrame | AccelFrame | StatusFrame)]
    expected = surviving(sent, stream)
    assert frames == expected
    assert not any(isinstance(i, LateFrame | StreamRestart) for i in items)
    assert decoder.stats.frames_received == len(expected)

    # Every sequence number between the first and last survivor is either received
    # or inside exactly one FrameGap.
    if expected:
        first = expected[0].seq
        span = (expected[-1].seq - first) % SEQ_MOD + 1
        covered = {(f.seq - first) % SEQ_MOD for f in expected}
        for gap in (i for i in items if isinstance(i, FrameGap)):
            run = {(gap.first_missing_seq - first + k) % SEQ_MOD for k in range(gap.n_missing)}
            assert not run & covered
            covered |= run
        assert covered == set(range(span))
        assert decoder.stats.frames_lost == span - len(expected)

    # Every sample index between the first and last received block of each stream is
    # either received or inside exactly one SampleGap.
    for ftype, cls in ((FrameType.SAMPLES, SamplesFrame), (FrameType.ACCEL, AccelFrame)):
        blocks = [f for f in expected if isinstance(f, cls)]
        if not blocks:
            continue
        origin = blocks[0].first_sample
        got: set[int] = set()
        for b in blocks:
            got |= {(b.first_sample - origin + k) % SEQ_MOD for k in range(b.n_times)}
        lost = 0
        for gap in (i for i in items if isinstance(i, SampleGap) and i.frame_type is ftype):
            run = {(gap.first_missing_sample - origin + k) % SEQ_MOD for k in range(gap.n_missing)}
            assert not run & got
            got |= run
            lost += gap.n_missing
        end = (blocks[-1].first_sample - origin) % SEQ_MOD + blocks[-1].n_times
        assert got == set(range(end))
        counter = (
            decoder.stats.samples_lost if cls is SamplesFrame else decoder.stats.accel_samples_lost
        )
        assert counter == lost


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_duplicates_and_reordering(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 25))
    sent = make_frames(data.draw(st.integers(0, 1000)), [0] * n, 0)
    order = list(range(n))
    # Swap some neighbours (late delivery) and repeat some frames (duplicates).
    for i in data.draw(st.lists(st.integers(0, n - 2), max_size=5, unique=True)):
        order[i], order[i + 1] = order[i + 1], order[i]
    dupes = data.draw(st.lists(st.integers(0, n - 1), max_size=5))
    for pos in dupes:
        order.insert(order.index(pos) + 1, pos)
    decoder = StreamDecoder()
    items = decoder.feed(b"".join(sent[i].encoded + b"\x00" for i in order))
    delivered = [i.frame if isinstance(i, LateFrame) else i for i in items]
    delivered = [i for i in delivered if isinstance(i, SamplesFrame)]
    # Every frame delivered exactly once, no frame invented.
    assert sorted(f.seq for f in delivered) == [s.frame.seq for s in sent]
    seen_first: list[int] = []
    for i in order:
        if i not in seen_first:
            seen_first.append(i)
    assert [f.seq for f in delivered] == [sent[i].frame.seq for i in seen_first]
    assert decoder.stats.duplicates == len(order) - n
    assert decoder.stats.frames_lost == 0
    assert decoder.stats.samples_lost == 0
    assert decoder.stats.frames_received == n
    late = sum(isinstance(i, LateFrame) for i in items)
    assert decoder.stats.reordered == late


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=10))
def test_garbage_never_raises_and_is_accounted(garbage: bytes, cuts: list[int]) -> None:
    decoder = StreamDecoder()
    cuts = sorted(c for c in cuts if c <= len(garbage))
    feed_in_chunks(decoder, garbage, cuts)
    stats = decoder.stats
    assert stats.bytes_received == len(garbage)
    assert stats.frames_received == 0  # random bytes never pass CRC-32 in practice
    # What is not pending in the buffer was discarded and counted.
    pending = len(garbage) - (garbage.rfind(b"\x00") + 1)
    delimiters = garbage.count(b"\x00")
    assert (
        stats.discarded_bytes + delimiters + min(pending, decoder.max_block_len) >= len(garbage) - 0
    )

"""The decoder's fast path for sample frames gives exactly what the general path gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.errors import FrameError
from host.protocol import (
    AccelFrame,
    Frame,
    SampleFormat,
    SamplesFrame,
    StatusFrame,
    StreamDecoder,
    decode_payload,
    encode_frame,
    encode_payload,
)
from host.protocol import decoder as decoder_module
from host.protocol.cobs import CobsError, cobs_decode, cobs_encode


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=0, max_size=600).map(lambda b: b.replace(b"\x00", b"\xff")))
def test_unstuff_is_cobs_decode_or_declines(block: bytes) -> None:
    # Zero-free blocks as the stream splits them, 0xFF-heavy so that long codes appear.
    fast = decoder_module._unstuff(block)
    try:
        expected = cobs_decode(block)
    except CobsError:
        assert fast is None
    else:
        assert fast is None or bytes(fast) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=700))
def test_unstuff_decodes_every_short_encoding(payload: bytes) -> None:
    block = cobs_encode(payload)
    fast = decoder_module._unstuff(block)
    if len(payload) < 254:  # every frame of this protocol
        assert fast is not None
        assert bytes(fast) == payload
    else:
        assert fast is None or bytes(fast) == payload


def block_frame(data: st.DataObject) -> Frame:
    draw = data.draw
    accel = draw(st.booleans())
    fmt = draw(st.sampled_from([SampleFormat.INT16, SampleFormat.INT24]))
    n_channels = draw(st.integers(1, 16))
    limit = (242 - 25) // (n_channels * fmt.width)
    n_times = draw(st.integers(1, max(1, limit)))
    low, high = fmt.limits
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    counts = rng.integers(low, high + 1, (n_channels, n_times)).astype(np.int32)
    counts[:, : n_times // 2] //= 1000  # small values: zero bytes to stuff
    fields = {
        "seq": draw(st.integers(0, 2**32 - 1)),
        "timestamp_us": draw(st.integers(0, 2**64 - 1)),
        "first_sample": draw(st.integers(0, 2**32 - 1)),
    }
    if accel:
        return AccelFrame(**fields, counts=counts, sample_format=fmt)
    return SamplesFrame(**fields, counts=counts, sample_format=fmt)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_sample_fast_path_equals_decode_payload(data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        frame = block_frame(data)
    else:
        frame = StatusFrame(seq=data.draw(st.integers(0, 2**32 - 1)), timestamp_us=5)
    payload = bytearray(encode_payload(frame))
    if data.draw(st.booleans()):  # a flipped bit anywhere
        pos = data.draw(st.integers(0, len(payload) - 1))
        payload[pos] ^= 1 << data.draw(st.integers(0, 7))
    fast = decoder_module._sample_block_frame(payload)
    try:
        expected = decode_payload(bytes(payload))
    except FrameError:
        assert fast is None
        return
    eligible = (
        isinstance(expected, SamplesFrame | AccelFrame)
        and expected.sample_format is SampleFormat.INT16
    )
    assert (fast is not None) == eligible
    if fast is not None:
        assert type(fast) is type(expected)
        assert fast == expected
        assert fast.counts.dtype == np.int32
        assert not fast.counts.flags.writeable


@pytest.mark.parametrize("chunk", [1, 97, 4096])
def test_decoder_output_is_the_same_without_the_fast_path(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    stream = bytearray()
    for i in range(300):
        frame: Frame
        if i % 3 == 2:
            frame = AccelFrame(
                seq=i,
                timestamp_us=i,
                first_sample=5 * i,
                counts=rng.integers(-99, 99, (3, 5)).astype(np.int32),
            )
        else:
            fmt = SampleFormat.INT24 if i % 7 == 0 else SampleFormat.INT16
            frame = SamplesFrame(
                seq=i,
                timestamp_us=i,
                first_sample=30 * i,
                counts=rng.integers(-300, 300, (2, 30)).astype(np.int32),
                sample_format=fmt,
            )
        if i % 11 == 3:
            continue  # lost
        data = bytearray(encode_frame(frame))
        if i % 13 == 5:
            data[int(rng.integers(0, len(data) - 1))] ^= 0x10  # corrupt (maybe a 0x00)
        stream += data
        if i % 17 == 0:
            stream += bytes(rng.integers(0, 256, 30).astype(np.uint8))  # garbage

    def decode() -> tuple[list[object], dict[str, object]]:
        decoder = StreamDecoder()
        items: list[object] = []
        for start in range(0, len(stream), chunk):
            items += decoder.feed(bytes(stream[start : start + chunk]))
        return items, decoder.stats.as_dict()

    fast_items, fast_stats = decode()
    monkeypatch.setattr(decoder_module, "_unstuff", lambda block: None)
    slow_items, slow_stats = decode()
    assert fast_items == slow_items
    assert fast_stats == slow_stats
    assert fast_stats["crc_errors"] or fast_stats["framing_errors"]
    assert fast_stats["frames_lost"]

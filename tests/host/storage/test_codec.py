from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.errors import StoreCorruptError
from host.storage import SampleFormatName, decode_counts, encode_counts
from host.storage.codec import format_limits, format_width


def test_int16_layout_is_interleaved_little_endian() -> None:
    counts = np.array([[1, -2], [0x1234, -32768]])  # channel 0: 1, -2; channel 1: 0x1234, min
    blob = encode_counts(counts, "int16")
    # t0c0, t0c1, t1c0, t1c1, each 2 bytes little-endian two's complement
    assert blob == bytes([0x01, 0x00, 0x34, 0x12, 0xFE, 0xFF, 0x00, 0x80])


def test_int24_layout_is_packed_little_endian() -> None:
    counts = np.array([[0x123456], [-1]])
    blob = encode_counts(counts, "int24")
    assert blob == bytes([0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF])
    assert len(blob) == 2 * format_width("int24")


@given(
    fmt=st.sampled_from(["int16", "int24"]),
    n_channels=st.integers(1, 4),
    n_times=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip(fmt: SampleFormatName, n_channels: int, n_times: int, seed: int) -> None:
    low, high = format_limits(fmt)
    rng = np.random.default_rng(seed)
    counts = rng.integers(low, high, size=(n_channels, n_times), endpoint=True)
    if n_times >= 2:
        counts[0, 0], counts[-1, -1] = low, high  # the extremes survive
    blob = encode_counts(counts, fmt)
    assert len(blob) == n_channels * n_times * format_width(fmt)
    back = decode_counts(blob, n_channels, fmt)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back.T, counts)


def test_concatenated_blocks_decode_as_one() -> None:
    a = np.array([[1, 2, 3], [4, 5, 6]])
    b = np.array([[7], [8]])
    blob = encode_counts(a, "int24") + encode_counts(b, "int24")
    np.testing.assert_array_equal(decode_counts(blob, 2, "int24").T, np.hstack([a, b]))


@pytest.mark.parametrize(("fmt", "size"), [("int16", 5), ("int24", 7)])
def test_truncated_blob_is_corrupt(fmt: SampleFormatName, size: int) -> None:
    with pytest.raises(StoreCorruptError, match="damaged"):
        decode_counts(bytes(size), 2, fmt)

"""Tests of dsp._validation: the argument checks every dsp entry point shares."""

from __future__ import annotations

import numpy as np
import pytest

from dsp._validation import check_block, check_mask, check_signal


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_every_floating_dtype_is_accepted_as_float64(dtype: type) -> None:
    data = np.arange(6, dtype=dtype).reshape(2, 3) / 8
    out = check_signal(data)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, data.astype(np.float64))


def test_float64_input_is_returned_without_a_copy() -> None:
    data = np.zeros((2, 5))
    assert check_block(data, n_channels=2) is data


@pytest.mark.parametrize(
    "data",
    [
        np.ones((2, 3), dtype=np.int16),
        np.ones((2, 3), dtype=np.uint32),
        np.ones((2, 3), dtype=bool),
    ],
)
def test_integer_and_bool_arrays_are_refused_as_counts(data: np.ndarray) -> None:
    with pytest.raises(TypeError, match="integer array"):
        check_signal(data, name="emg")


@pytest.mark.parametrize(
    "data",
    [
        np.ones((2, 3), dtype=complex),
        np.array([["a", "b"]]),
        np.array([[object(), object()]]),
        np.ones((2, 3), dtype="datetime64[s]"),
    ],
)
def test_other_dtypes_are_refused(data: np.ndarray) -> None:
    with pytest.raises(TypeError, match="real-valued floating-point"):
        check_signal(data)


def test_timedelta_is_an_integer_type() -> None:
    # numpy files timedelta64 under the integers: refused as counts, as before.
    with pytest.raises(TypeError, match="integer array"):
        check_signal(np.ones((1, 3), dtype="timedelta64[s]"))


def test_non_finite_values() -> None:
    data = np.zeros((2, 10))
    data[1, 3] = np.nan
    with pytest.raises(ValueError, match="1 NaN samples"):
        check_signal(data)
    assert np.isnan(check_signal(data, allow_nan=True)[1, 3])
    data[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        check_signal(data, allow_nan=True)
    # Finite values whose sum overflows are still finite.
    huge = np.full((1, 4), np.finfo(float).max)
    np.testing.assert_array_equal(check_signal(huge), huge)


def test_shape_and_channel_checks() -> None:
    with pytest.raises(ValueError, match="2 dimensions|dimensions"):
        check_signal(np.zeros(5))
    with pytest.raises(ValueError, match="3 channels"):
        check_block(np.zeros((2, 5)), n_channels=3)
    with pytest.raises(ValueError, match="at least one channel"):
        check_signal(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="at least one sample"):
        check_signal(np.zeros((2, 0)), allow_empty=False)
    assert check_signal(np.zeros((2, 0))).shape == (2, 0)


def test_check_mask() -> None:
    assert check_mask(None, (2, 3)).all()
    assert not check_mask(None, (2, 3), default=False).any()
    row = np.array([True, False, True])
    np.testing.assert_array_equal(check_mask(row, (2, 3)), np.vstack([row, row]))
    with pytest.raises(TypeError, match="boolean"):
        check_mask(np.ones((2, 3)), (2, 3))
    with pytest.raises(ValueError, match="shape"):
        check_mask(np.ones((2, 4), dtype=bool), (2, 3))

"""The ops against float64 loop references, plus their contracts: dtypes, out=, workspace, errors."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tspwidget import conv_output_shape, conv_pads, depthwise_conv2d
from tspwidget.core import conv2d, pool2d

from . import reference

RNG = np.random.default_rng(1234)


def _data(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("kh", range(1, 8))
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_square_kernels_1_to_7(kh, padding):
    x, k, b = _data(2, 11, 10, 3), _data(kh, kh, 3, 2), _data(6)
    y = depthwise_conv2d(x, k, b, padding=padding)
    np.testing.assert_allclose(y, reference.depthwise(x, k, b, padding=padding), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kernel_hw,strides,dilation,padding",
    [
        ((1, 3), (1, 2), (1, 1), "same"),
        ((3, 1), (2, 1), (1, 1), "valid"),
        ((2, 5), (2, 3), (1, 1), "same"),
        ((3, 3), (1, 2), (2, 2), "same"),  # stride and dilation both above 1
        ((3, 2), (3, 2), (2, 3), "valid"),
        ((5, 5), (2, 2), (1, 1), "same"),
        ((4, 4), (1, 1), (1, 2), "valid"),
    ],
)
def test_unequal_sides_strides_dilations(kernel_hw, strides, dilation, padding):
    x, k = _data(3, 13, 14, 4), _data(*kernel_hw, 4, 3)
    y = depthwise_conv2d(x, k, strides=strides, padding=padding, dilation=dilation)
    expected = reference.depthwise(x, k, strides=strides, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_input_smaller_than_kernel_with_same():
    x, k = _data(2, 2, 2), _data(5, 5, 2, 3)
    y = depthwise_conv2d(x, k, padding="same")
    assert y.shape == (2, 2, 6)
    np.testing.assert_allclose(y, reference.depthwise(x, k, padding="same"), rtol=1e-5, atol=1e-5)


def test_tensorflow_2_21_wrong_corner_is_right_here():
    # C = 1, M > 1, row stride < column stride, one output column: TF 2.21 + oneDNN gets this wrong.
    x, k = _data(7, 3, 1), _data(3, 3, 1, 3)
    y = depthwise_conv2d(x, k, strides=(1, 2))
    assert y.shape == (5, 1, 3)
    np.testing.assert_allclose(y, reference.depthwise(x, k, strides=(1, 2)), rtol=1e-5, atol=1e-5)


@settings(max_examples=150, deadline=None)
@given(
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    c=st.integers(1, 4),
    m=st.integers(1, 3),
    khw=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["valid", "same", "SAME", "Valid"]),
    n=st.integers(1, 2),
    use_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matches_float64_reference(hw, c, m, khw, strides, dilation, padding, n, use_bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *hw, c)).astype(np.float32)
    k = rng.standard_normal((*khw, c, m)).astype(np.float32)
    b = rng.standard_normal(c * m).astype(np.float32) if use_bias else None
    spans = [(khw[a] - 1) * dilation[a] + 1 for a in range(2)]
    if padding.lower() == "valid" and any(spans[a] > hw[a] for a in range(2)):
        with pytest.raises(ValueError, match="padding='valid'"):
            depthwise_conv2d(x, k, b, strides=strides, padding=padding, dilation=dilation)
        return
    y = depthwise_conv2d(x, k, b, strides=strides, padding=padding, dilation=dilation)
    expected = reference.depthwise(x, k, b, strides, padding.lower(), dilation)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_float64_stays_float64_and_is_exact():
    x, k = _data(9, 8, 3, dtype=np.float64), _data(3, 3, 3, 2, dtype=np.float64)
    y = depthwise_conv2d(x, k, strides=2, padding="same")
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, reference.depthwise(x, k, None, (2, 2), "same"), rtol=1e-12, atol=1e-12)


def test_integers_become_float32():
    x = np.arange(36, dtype=np.int64).reshape(6, 6, 1)
    y = depthwise_conv2d(x, np.ones((2, 2, 1, 1), np.int32))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y[..., 0], reference.depthwise(x, np.ones((2, 2, 1, 1)))[..., 0])


def test_batchness_follows_input():
    x, k = _data(5, 5, 2), _data(3, 3, 2, 1)
    assert depthwise_conv2d(x, k).shape == (3, 3, 2)
    assert depthwise_conv2d(x[None], k).shape == (1, 3, 3, 2)


def test_channel_order_is_c_times_m_plus_m():
    # Channel c of the input scaled by (m + 1) * 10**c: output c*M + m must carry exactly that.
    x = np.ones((3, 3, 3), np.float32)
    k = np.zeros((1, 1, 3, 2), np.float32)
    for c in range(3):
        for m in range(2):
            k[0, 0, c, m] = (m + 1) * 10**c
    y = depthwise_conv2d(x, k)
    np.testing.assert_array_equal(y[0, 0], [1, 2, 10, 20, 100, 200])


@pytest.mark.parametrize("kernel_hw, strides, dilation, split", [
    ((3, 3), (2, 2), (1, 1), True),  # phase 0 has taps 0 and 2, phase 1 tap 1
    ((3, 1), (1, 2), (1, 1), True),  # phase 1 has no tap at all
    ((2, 5), (1, 3), (1, 1), True),
    ((3, 3), (1, 2), (1, 3), False),  # phase 0 reads slots 0 and 3: phantom slots between
])
def test_taps_spread_over_column_phases(kernel_hw, strides, dilation, split):
    from tspwidget.core import ops

    x = _data(11, 13, 3)
    k = _data(*kernel_hw, 3, 2)
    y = depthwise_conv2d(x, k, strides=strides, dilation=dilation, padding="same")
    expected = reference.depthwise(x, k, strides=strides, padding="same", dilation=dilation)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    plan = next(reversed(ops._plans.plans.values()))
    assert (plan.split is not None) == split


# ---------------------------------------------------------------- NaN / Inf


@pytest.mark.parametrize("strides", [1, 2, (1, 3)])
def test_nan_and_inf_propagate_like_numpy(strides):
    x = _data(8, 9, 2)
    x[3, 4, 0] = np.inf
    x[5, 1, 1] = np.nan
    k = np.abs(_data(3, 3, 2, 2)) + 0.1  # positive weights: Inf stays +Inf
    with np.errstate(invalid="ignore"):
        y = depthwise_conv2d(x, k, strides=strides, padding="same")
        expected = reference.depthwise(x, k, strides=np.broadcast_to(strides, 2), padding="same")
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(y[finite], expected[finite], rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- input safety, out=, workspace


def test_inputs_are_never_modified():
    x, k, b = _data(2, 7, 7, 3), _data(3, 3, 3, 2), _data(6)
    copies = [a.copy() for a in (x, k, b)]
    depthwise_conv2d(x, k, b, strides=2, padding="same")
    for a, c in zip((x, k, b), copies):
        np.testing.assert_array_equal(a, c)


def test_out_is_written_and_returned():
    x, k = _data(2, 6, 6, 2), _data(3, 3, 2, 2)
    out = np.full((2, 4, 4, 4), 7.0, np.float32)
    result = depthwise_conv2d(x, k, out=out)
    assert result is out
    np.testing.assert_allclose(out, reference.depthwise(x, k), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "out,err,match",
    [
        (np.zeros((4, 4, 4), np.float32), ValueError, r"shape \(2, 4, 4, 4\)"),
        (np.zeros((2, 4, 4, 4), np.float64), ValueError, "dtype float32"),
        (np.zeros((2, 4, 4, 8), np.float32)[..., ::2], ValueError, "C-contiguous"),
        ([[0.0]], TypeError, "numpy array"),
    ],
)
def test_bad_out(out, err, match):
    with pytest.raises(err, match=match):
        depthwise_conv2d(_data(2, 6, 6, 2), _data(3, 3, 2, 2), out=out)


@pytest.mark.parametrize("strides", [1, 2])
def test_repeated_call_allocates_nothing_new(strides):
    x, k, b = _data(1, 112, 112, 32), _data(3, 3, 32, 1), _data(32)
    out = depthwise_conv2d(x, k, b, strides=strides, padding="same")
    depthwise_conv2d(x, k, b, strides=strides, padding="same", out=out)
    tracemalloc.start()
    try:
        depthwise_conv2d(x, k, b, strides=strides, padding="same", out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The workspace is ~1.7 MB; what remains is numpy's fixed-size einsum iterator buffer.
    assert peak < 64 * 1024, f"a warm call with out= allocated {peak} bytes"


def test_extra_memory_at_most_three_times_the_input():
    from tspwidget.core.ops import clear_workspace

    clear_workspace()
    x, k = _data(1, 112, 112, 32), _data(3, 3, 32, 1)
    out = np.empty((1, 112, 112, 32), np.float32)
    tracemalloc.start()
    try:
        depthwise_conv2d(x, k, padding="same", out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 3 * x.nbytes, f"cold call used {peak / x.nbytes:.2f}x the input"


# ---------------------------------------------------------------- standard conv and pooling


@pytest.mark.parametrize("strides,padding,dilation", [(1, "valid", 1), (2, "same", 1), ((1, 2), "same", 2)])
def test_conv2d_matches_reference(strides, padding, dilation):
    x, k, b = _data(9, 8, 3), _data(3, 3, 3, 5), _data(5)
    sd = (np.broadcast_to(strides, 2), np.broadcast_to(dilation, 2))
    y = conv2d(x, k, b, strides=strides, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y, reference.conv(x, k, b, *sd[:1], padding, sd[1]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size,strides,padding",
                         [((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 2), "same")])
def test_pool2d_matches_reference(mode, size, strides, padding):
    x = _data(7, 8, 3)
    y = pool2d(x, size, strides=strides, padding=padding, mode=mode)
    np.testing.assert_allclose(y, reference.pool(x, size, strides, padding, mode), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- shapes and errors


def test_output_shape_helper():
    assert conv_output_shape((7, 5), 3, strides=(2, 1), padding="same") == (4, 5)
    assert conv_output_shape((28, 28), 3, strides=(1, 2), padding="same") == (28, 14)  # TSP bug S4
    assert conv_output_shape((10, 10), 3, dilation=2) == (6, 6)
    assert conv_pads((5, 6), 4, strides=2, padding="same") == ((1, 2), (1, 1))


def test_valid_output_below_one_shows_the_formula():
    with pytest.raises(ValueError) as info:
        depthwise_conv2d(_data(4, 6, 1), _data(5, 3, 1, 1))
    message = str(info.value)
    assert "floor((4 - (5 - 1)*1 - 1) / 1) + 1 = 0" in message
    assert "kernel_size" in message and "padding='same'" in message


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        (dict(strides=0), ValueError, "`strides` must be an integer >= 1, got 0"),
        (dict(strides=1.5), TypeError, "`strides`.*1.5"),
        (dict(strides=True), TypeError, "`strides`.*True"),
        (dict(strides=(1, 2, 3)), ValueError, "`strides`.*3 items"),
        (dict(dilation=-1), ValueError, "`dilation`.*-1"),
        (dict(padding="full"), ValueError, "`padding`.*'full'"),
        (dict(padding=1), TypeError, "`padding`"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, err, match):
    with pytest.raises(err, match=match):
        depthwise_conv2d(_data(6, 6, 2), _data(3, 3, 2, 1), **kwargs)


@pytest.mark.parametrize(
    "x,kernel,bias,err,match",
    [
        (np.zeros((6, 6)), np.zeros((3, 3, 1, 1)), None, ValueError, r"`x`.*\(H, W, C\)"),
        (np.zeros((6, 6, 2)), np.zeros((3, 3, 1, 1)), None, ValueError, "input channels"),
        (np.zeros((6, 6, 2)), np.zeros((3, 3, 2)), None, ValueError, r"`kernel`.*\(kh, kw, C, M\)"),
        (np.zeros((6, 6, 2)), np.zeros((3, 3, 2, 2)), np.zeros(2), ValueError, r"`bias`.*\(4,\)"),
        (np.zeros((6, 6, 2), bool), np.zeros((3, 3, 2, 1)), None, TypeError, "`x`.*bool"),
        (np.zeros((6, 6, 2), complex), np.zeros((3, 3, 2, 1)), None, TypeError, "`x`.*complex"),
        (np.zeros((0, 6, 2)), np.zeros((3, 3, 2, 1)), None, ValueError, "`x` must not be empty"),
    ],
)
def test_bad_arrays(x, kernel, bias, err, match):
    with pytest.raises(err, match=match):
        depthwise_conv2d(x, kernel, bias)


def test_a_kernel_changed_in_place_between_calls_is_used():
    # The per-shape workspace keeps the tiled kernel of the last call: it must notice a change
    # made to the same array, not only a new array.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 9, 4)).astype(np.float32)
    k = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    for change in (None, (1, 2, 3, 1), (0, 0, 0, 0)):
        if change is not None:
            k[change] += 7.0
        np.testing.assert_allclose(depthwise_conv2d(x, k, strides=2, padding="same"),
                                   reference.depthwise(x, k, strides=(2, 2), padding="same"), rtol=1e-5, atol=1e-5)

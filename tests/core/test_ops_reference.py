"""depthwise_conv2d against reference outputs made with real Keras/TensorFlow and PyTorch.

The arrays live in ``tests/fixtures/depthwise_reference.npz``, written by the dev-only script
``tests/fixtures/make_depthwise_reference.py`` (TensorFlow, Keras and torch are not project
dependencies; this module needs numpy only). Per case the file holds the input, kernel, optional
bias, the Keras ``DepthwiseConv2D`` output (``keras``), an independent float64 loop reference
(``f64``) and torch's ``conv2d(groups=C)`` (``torch``). Cases where TensorFlow 2.21 (oneDNN) is
wrong are flagged ``tf_wrong``; the file must keep them, as evidence, and we must match ``f64``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tspwidget

NPZ = Path(__file__).resolve().parents[1] / "fixtures" / "depthwise_reference.npz"
RTOL32 = ATOL32 = 1e-5
TOL64 = 1e-10


def _load():
    with np.load(NPZ, allow_pickle=False) as z:
        cases = json.loads(str(z["cases"]))
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k not in ("cases", "meta")}
    return cases, meta, arrays


CASES, META, ARRAYS = _load()
IDS = [f"{c['name']}-{c['group']}" for c in CASES]


def _get(case, what):
    return ARRAYS.get(f"{case['name']}/{what}")


def _run(case, dtype=np.float32, *, batched=True):
    x, kernel, bias = _get(case, "x"), _get(case, "kernel"), _get(case, "bias")
    x, kernel = x.astype(dtype), kernel.astype(dtype)
    bias = None if bias is None else bias.astype(dtype)
    if not batched:
        x = x[0]
    return tspwidget.depthwise_conv2d(
        x,
        kernel,
        bias,
        strides=tuple(case["strides"]),
        padding=case["padding"],
        dilation=tuple(case["dilation"]),
    )


def test_our_output_shapes_are_the_references_shapes():
    # Our shape arithmetic against every reference in the file (Keras, torch, the f64 loops).
    assert len(CASES) >= 50 and len({c["name"] for c in CASES}) == len(CASES)
    for case in CASES:
        x, kernel = _get(case, "x"), _get(case, "kernel")
        rows, cols = tspwidget.conv_output_shape(
            x.shape[1:3], kernel.shape[:2], strides=tuple(case["strides"]),
            padding=case["padding"], dilation=tuple(case["dilation"]))
        want = (x.shape[0], rows, cols, x.shape[3] * kernel.shape[3])
        for ref in ("f64", "keras", "torch"):
            if _get(case, ref) is not None:
                assert _get(case, ref).shape == want, (case["name"], ref)
        assert tuple(case["out_shape"]) == want, case["name"]


def test_file_covers_what_it_should():
    kernels = {tuple(c["kernel_shape"][:2]) for c in CASES}
    assert {(k, k) for k in range(1, 8)} <= kernels
    assert any(kh != kw for kh, kw in kernels)
    strides = {tuple(c["strides"]) for c in CASES}
    assert {(1, 2), (2, 1), (2, 3)} <= strides
    assert {1, 2, 3} <= {c["depth_multiplier"] for c in CASES}
    assert {1, 3} <= {c["x_shape"][0] for c in CASES}
    dilations = {tuple(c["dilation"]) for c in CASES}
    assert {(2, 2), (1, 2)} <= dilations
    assert any(max(c["strides"]) > 1 and max(c["dilation"]) > 1 for c in CASES)
    assert {"valid", "same"} == {c["padding"] for c in CASES}
    assert any(c["x_shape"][3] == 1 for c in CASES)
    assert any(
        c["padding"] == "same"
        and (c["x_shape"][1] < c["kernel_shape"][0] or c["x_shape"][2] < c["kernel_shape"][1])
        for c in CASES
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_matches_f64(case):
    got = _run(case)
    want = _get(case, "f64")
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL32, atol=ATOL32)


KERAS_CASES = [c for c in CASES if c["has_keras"] and not c["tf_wrong"]]


def test_keras_ran_every_case():
    assert all(c["has_keras"] for c in CASES), [c["keras_error"] for c in CASES if not c["has_keras"]]


@pytest.mark.parametrize("case", KERAS_CASES, ids=[c["name"] for c in KERAS_CASES])
def test_float32_matches_keras(case):
    np.testing.assert_allclose(_run(case), _get(case, "keras"), rtol=RTOL32, atol=ATOL32)


@pytest.mark.parametrize("case", [c for c in CASES if c["tf_wrong"]],
                         ids=[c["name"] for c in CASES if c["tf_wrong"]])
def test_where_keras_is_wrong_we_match_f64_and_differ_from_keras(case):
    got, keras, f64 = _run(case), _get(case, "keras"), _get(case, "f64")
    np.testing.assert_allclose(got, f64, rtol=RTOL32, atol=ATOL32)
    assert not np.allclose(keras, f64, rtol=1e-4, atol=1e-4, equal_nan=False)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_matches_f64(case):
    got = _run(case, np.float64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _get(case, "f64"), rtol=TOL64, atol=TOL64)


@pytest.mark.parametrize("case", [c for c in CASES if c["x_shape"][0] == 1],
                         ids=[i for i, c in zip(IDS, CASES) if c["x_shape"][0] == 1])
def test_unbatched_input(case):
    got = _run(case, batched=False)
    want = _get(case, "f64")[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL32, atol=ATOL32)


@pytest.mark.parametrize("case", [c for c in CASES if c["has_torch"]],
                         ids=[i for i, c in zip(IDS, CASES) if c["has_torch"]])
def test_float32_matches_torch(case):
    """The second opinion: torch's own depthwise kernel (conv2d with groups=C)."""
    np.testing.assert_allclose(_run(case), _get(case, "torch"), rtol=1e-4, atol=1e-4)


def test_tf_wrong_corner_is_kept_as_evidence():
    wrong = [c for c in CASES if c["tf_wrong"]]
    corner = [c for c in wrong if c["tf_corner"]]
    assert len(corner) >= 3, "the file must keep >= 3 cases TensorFlow gets wrong"
    for case in corner:
        # The corner: C=1, depth multiplier > 1, row stride < column stride, one output column.
        assert case["x_shape"][3] == 1
        assert case["depth_multiplier"] > 1
        assert case["strides"][0] < case["strides"][1]
        assert case["out_shape"][2] == 1
        keras, f64 = _get(case, "keras"), _get(case, "f64")
        assert keras is not None
        diff = np.abs(keras.astype(np.float64) - f64)
        assert not (np.isfinite(diff).all() and diff.max() <= 1e-4)  # Keras really is wrong
        # ... and we are right.
        np.testing.assert_allclose(_run(case), f64, rtol=RTOL32, atol=ATOL32)
        np.testing.assert_allclose(_run(case, np.float64), f64, rtol=TOL64, atol=TOL64)

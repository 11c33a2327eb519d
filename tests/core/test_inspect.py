"""The inspector's arithmetic equals the layer's value; the cost formulas."""

import json
from pathlib import Path

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core.inspect import conv_costs, depthwise_breakdown
from tspwidget.layers import DepthwiseConv2d, Input3d, NotInitializedError

from . import reference

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, padding="same", depth_multiplier=2),
    dict(kernel_size=(2, 3), strides=(2, 1), padding="same", activation="relu6"),
    dict(kernel_size=3, dilation=2, activation="relu"),
    dict(kernel_size=5, strides=2, padding="same", use_bias=False),
])
def test_breakdown_agrees_with_an_independent_loop(kwargs):
    dw = DepthwiseConv2d(**kwargs, name="dw")
    model = tsp.Sequential([Input3d(shape=(9, 8, 3)), dw]).init(seed=3)
    x = np.random.default_rng(0).standard_normal((9, 8, 3)).astype(np.float32)
    model.predict(x)
    m = dw.depth_multiplier
    # Before the activation, from tests/core/reference.py's float64 loops (not the inspector's).
    pre = reference.depthwise(x, dw.kernel, dw.bias, dw.strides, dw.padding, dw.dilation)
    h, w, c = dw.output_shape
    for channel, row, col in [(0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)]:
        b = depthwise_breakdown(dw, channel, row, col)
        assert (b["input_channel"], b["multiplier_index"]) == divmod(channel, m)
        assert b["sum"] == pytest.approx(pre[row, col, channel], abs=1e-5)
        # The window: every tap inside the input where the loop reference finds it, zeros outside.
        inside = {(i, j): x[rr, cc, channel // m] for r, q, i, j, rr, cc in reference.taps(
            9, 8, dw.kernel_size, dw.strides, dw.padding, dw.dilation) if (r, q) == (row, col)}
        for (i, j), value in np.ndenumerate(b["window"]):
            assert b["padded"][i, j] == ((i, j) not in inside)
            assert value == pytest.approx(inside.get((i, j), 0.0))
        np.testing.assert_allclose(b["products"], b["window"] * dw.kernel[:, :, channel // m, channel % m],
                                   rtol=1e-6)
        assert b["value"] == pytest.approx(float(dw.neural_value[row, col, channel]), abs=1e-5)


def test_breakdown_errors():
    dw = DepthwiseConv2d(3, name="dw")
    model = tsp.Sequential([Input3d(shape=(5, 5, 2)), dw]).init()
    with pytest.raises(NotInitializedError, match="predict"):
        depthwise_breakdown(dw, 0, 0, 0)
    model.predict(np.ones((5, 5, 2)))
    with pytest.raises(ValueError, match="`row` must be below 3"):
        depthwise_breakdown(dw, 0, 3, 0)
    with pytest.raises(TypeError, match="must be a DepthwiseConv2d"):
        depthwise_breakdown(model.layers[0], 0, 0, 0)


def test_separable_cost_is_keras_s_separable_conv2d():
    # Keras's SeparableConv2D(filters=f): kernel kh*kw*C*M, pointwise C*M*f and one bias of f
    # (recorded by the dev-only generator as count_params() of all_layers' 'sepconv').
    manifest = json.loads((MODELS / "manifest.json").read_text())
    counts = manifest["models"]["all_layers"]["keras_layer_params"]
    model = tsp.load(MODELS / "all_layers.keras")
    depthwise = model.get_layer("sepconv/depthwise")
    assert depthwise.output_shape[2] == model.get_layer("sepconv").output_shape[2]  # f = C*M here
    costs = conv_costs(depthwise.input_shape, depthwise.kernel_size,
                       depth_multiplier=depthwise.depth_multiplier, strides=depthwise.strides,
                       padding=depthwise.padding, use_bias=True)
    assert costs["separable"]["params"] == counts["sepconv"]
    no_bias = conv_costs(depthwise.input_shape, 3, padding="same", use_bias=False)
    assert costs["separable"]["params"] - no_bias["separable"]["params"] == depthwise.output_shape[2]


def test_costs():
    costs = conv_costs((56, 56, 128), 3, strides=1, padding="same")
    assert costs["output_shape"] == (56, 56, 128)
    assert costs["depthwise"]["macs"] == 56 * 56 * 128 * 9
    assert costs["standard"]["macs"] == 56 * 56 * 9 * 128 * 128
    assert costs["separable"]["macs"] == 56 * 56 * 128 * (9 + 128)
    assert costs["depthwise"]["params"] == 9 * 128 + 128

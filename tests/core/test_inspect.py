"""The inspector's arithmetic equals the layer's value; the cost formulas."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core.inspect import conv_costs, depthwise_breakdown
from tspwidget.layers import DepthwiseConv2d, Input3d, NotInitializedError


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, padding="same", depth_multiplier=2),
    dict(kernel_size=(2, 3), strides=(2, 1), padding="same", activation="relu6"),
    dict(kernel_size=3, dilation=2, activation="relu"),
    dict(kernel_size=5, strides=2, padding="same", use_bias=False),
])
def test_breakdown_adds_up_to_the_displayed_value(kwargs):
    dw = DepthwiseConv2d(**kwargs, name="dw")
    model = tsp.Sequential([Input3d(shape=(9, 8, 3)), dw]).init(seed=3)
    model.predict(np.random.default_rng(0).standard_normal((9, 8, 3)))
    h, w, c = dw.output_shape
    for channel, row, col in [(0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)]:
        b = depthwise_breakdown(dw, channel, row, col)
        assert b["input_channel"] == channel // dw.depth_multiplier
        assert b["value"] == pytest.approx(b["displayed"], abs=1e-5)
        assert b["sum"] == pytest.approx(b["products"].sum() + b["bias"])
        np.testing.assert_array_equal(b["window"][b["padded"]], 0)


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


def test_costs():
    costs = conv_costs((56, 56, 128), 3, strides=1, padding="same")
    assert costs["output_shape"] == (56, 56, 128)
    assert costs["depthwise"]["macs"] == 56 * 56 * 128 * 9
    assert costs["standard"]["macs"] == 56 * 56 * 9 * 128 * 128
    assert costs["separable"]["macs"] == 56 * 56 * 128 * (9 + 128)
    assert costs["depthwise"]["params"] == 9 * 128 + 128

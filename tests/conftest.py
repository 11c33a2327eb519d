"""Shared fixtures: record what widgets would send to the browser (no kernel needed)."""

import comm
import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.layers import Conv2d, DepthwiseConv2d, RGBInput


@pytest.fixture
def sent(monkeypatch):
    """Every comm message widgets publish, as (msg_type, data, buffers)."""
    messages = []

    def publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        messages.append((msg_type, data, buffers or []))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    return messages


@pytest.fixture
def small_model():
    """RGB input, a depthwise layer with depth multiplier 2, a 1x1 Conv2d; initialised, predicted."""
    model = tsp.Sequential([
        RGBInput(shape=(12, 12, 3), name="image"),
        DepthwiseConv2d(kernel_size=3, depth_multiplier=2, padding="same", name="dw"),
        Conv2d(filters=4, kernel_size=1, name="pw"),
    ])
    model.init(seed=0)
    model.predict(np.random.default_rng(0).random((12, 12, 3)))
    return model

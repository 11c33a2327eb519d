"""The what-if explorer: sliders re-run the op, the formula has the numbers, impossible settings
explain themselves."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core import depthwise_conv2d
from tspwidget.explorer import filter_bank


def test_sliders_rerun_the_op_on_the_users_tensor():
    x = np.random.default_rng(0).random((20, 18, 3)).astype(np.float32)
    before = x.copy()
    e = tsp.DepthwiseExplorer(x)
    dw = e.view.model.get_layer("depthwise")
    assert dw.output_shape == (20, 18, 6) and dw.status == "open"
    e.controls["stride_cols"].value = 3
    e.controls["padding"].value = "valid"
    dw = e.view.model.get_layer("depthwise")
    assert dw.output_shape == (18, 6, 6)
    expected = depthwise_conv2d(x, filter_bank(3, 3, 3, 2), dw.bias, strides=(1, 3))
    np.testing.assert_allclose(dw.neural_value, expected, atol=1e-5)
    assert "columns: floor((18 - (3 - 1)*1 - 1) / 3) + 1 = 6" in e.formula.value
    np.testing.assert_array_equal(x, before)


def test_same_padding_formula_shows_the_uneven_split():
    e = tsp.DepthwiseExplorer(np.ones((7, 7, 1)), kernel_size=4, strides=2)
    assert "padding max((4 - 1)*2 + (4 - 1)*1 + 1 - 7, 0) = 3: top 1, bottom 2" in e.formula.value


def test_impossible_settings_show_a_message_and_keep_the_view():
    e = tsp.DepthwiseExplorer(np.ones((6, 6, 2)), padding="valid")
    view = e.view
    e.controls["kernel_size"].value = 7
    assert "Not possible" in e.formula.value and "kernel_size 7" in e.formula.value
    assert e.view is view


def test_bad_input():
    with pytest.raises(ValueError, match=r"`x` must be one sample \(h, w, c\)"):
        tsp.DepthwiseExplorer(np.ones((2, 6, 6, 2)))
    with pytest.raises(TypeError, match="`x`"):
        tsp.DepthwiseExplorer(np.ones((6, 6, 2), dtype=complex))


def test_filter_bank_reads_as_its_names():
    k = filter_bank(3, 3, 2, 4)
    assert k.shape == (3, 3, 2, 4)
    assert k[1, 1, 0, 0] == 1 and k[:, :, 0, 0].sum() == 1  # identity
    assert k[:, 0, 0, 1].sum() < 0 < k[:, 2, 0, 1].sum()  # left-right gradient
    assert k[:, :, 1, 3].sum() == pytest.approx(1)  # blur keeps brightness


def test_a_step_that_keeps_the_shape_updates_the_same_meshes_in_place():
    x = np.random.default_rng(1).random((12, 12, 3)).astype(np.float32)
    e = tsp.DepthwiseExplorer(x, kernel_size=3, padding="same")
    view, mesh = e.view, e.view.scene.layers["depthwise"].mesh
    texture = e.view.scene.layers["depthwise"].texture.data.copy()
    e.controls["kernel_size"].value = 5  # "same": the output keeps its shape
    lm = e.view.scene.layers["depthwise"]
    assert e.view is view and lm.mesh is mesh  # no new view, renderer or mesh
    dw = e.view.model.get_layer("depthwise")
    assert lm.layer is dw and dw.kernel_size == (5, 5) and dw.status == "open"
    np.testing.assert_allclose(dw.neural_value, depthwise_conv2d(x, filter_bank(5, 5, 3, 2), dw.bias,
                                                                 padding="same"), atol=1e-5)
    assert not np.array_equal(texture, lm.texture.data)
    assert "5x5" in e.view.controller.plan["nodes"][1]["full"]  # the label says the new kernel
    e.controls["stride_rows"].value = 2  # a new shape: the same view, re-laid out
    assert e.view is view and e.view.scene.layers["depthwise"].mesh is not mesh
    assert e.view.model.get_layer("depthwise").output_shape == (6, 12, 6)


def test_a_new_shape_leaves_the_camera_to_the_browser():
    """A rebuild does not cut the camera to the whole model: the browser controller eases it from
    where it is (tests/browser/test_explorer.py sees the new grid grow out of the old one)."""
    x = np.random.default_rng(1).random((12, 12, 3)).astype(np.float32)
    e = tsp.DepthwiseExplorer(x, kernel_size=3, padding="same")
    camera = e.view.scene.camera
    camera.position, e.view.scene.orbit.target = (1.0, 2.0, 3.0), (0.5, 0.5, 0.5)  # as the browser left them
    mesh = e.view.scene.layers["depthwise"].mesh
    e.controls["stride_cols"].value = 2
    assert e.view.scene.layers["depthwise"].mesh is not mesh  # rebuilt ...
    assert camera.position == (1.0, 2.0, 3.0) and e.view.scene.orbit.target == (0.5, 0.5, 0.5)  # ... camera kept

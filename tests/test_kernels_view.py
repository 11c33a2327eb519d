"""view.show_kernels and the view's kernels toggle: what is drawn, where, and that it follows the
weights (a training timeline) without rebuilding the scene."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core import kernels as kn


@pytest.fixture(scope="module")
def digits():
    images, _ = tsp.datasets.digits()
    return images


def make_view(digits, model=None):
    model = model or tsp.datasets.digits_model()
    model.predict(digits[0])
    return model, model.show(width=800, height=500)


def overlaps(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_show_kernels_draws_one_kernel_per_map_beside_the_open_grid(digits):
    model, view = make_view(digits)
    before = view.scene.layers["dw_mult2"].footprints[1]
    view.show_kernels("dw_mult2")
    lm = view.scene.layers["dw_mult2"]
    dw = model.get_layer("dw_mult2")
    assert view.kernels == ("dw_mult2",) and view.kernels_toggle.value
    assert lm.kernels.mesh in lm.mesh.children
    assert len(lm.widgets) == 8 + 7  # the kernels' mesh is 7 widget models, only where shown
    assert all(len(o.widgets) == 8 for n, o in view.scene.layers.items() if n != "dw_mult2")
    n_quads = lm.kernels.attr_index.array.size // 6
    assert n_quads == dw.output_shape[2] == 32
    atlas, _ = kn.kernel_atlas(kn.per_output_channel(dw.kernel))
    np.testing.assert_array_equal(lm.kernels.texture.data, atlas)
    after = lm.footprints[1]
    assert after[1] > before[1] and after[0] == before[0] and after[2:] == before[2:]
    # Opened, the layer (kernels included) overlaps no other layer and no label on screen.
    dw.open_layer()
    boxes = view.screen_boxes()
    mine = boxes["dw_mult2"]["maps"]
    for name, box in boxes.items():
        assert not overlaps(box["label"], mine) or name == "dw_mult2", name
        if name != "dw_mult2":
            assert not overlaps(box["maps"], mine), name
    view.show_kernels("dw_mult2", show=False)
    assert view.kernels == () and not view.kernels_toggle.value
    assert view.scene.layers["dw_mult2"].kernels is None


def test_the_toggle_shows_every_depthwise_layers_kernels(digits):
    _, view = make_view(digits)
    assert view.kernels_toggle.layout.display is None  # the model has depthwise layers
    view.kernels_toggle.value = True
    assert view.kernels == ("dw_filters", "dw_mult2", "dw_stride2")
    assert all(view.scene.layers[n].kernels is not None for n in view.kernels)
    view.kernels_toggle.value = False
    assert view.kernels == () and all(lm.kernels is None for lm in view.scene.layers.values())


def test_no_toggle_without_depthwise_layers():
    from tspwidget.layers import Conv2d, GreyscaleInput

    model = tsp.Sequential([GreyscaleInput(shape=(8, 8)), Conv2d(2, 3)]).init(seed=0)
    view = model.show()
    assert view.kernels_toggle.layout.display == "none"


def test_bad_layers_are_refused_by_name(digits):
    model, view = make_view(digits)
    with pytest.raises(ValueError, match=r"`layer` 'pw1' has no kernels.*dw_filters"):
        view.show_kernels("pw1")
    with pytest.raises(ValueError, match="'nope'"):
        view.show_kernels("nope")
    with pytest.raises(TypeError, match="`show`"):
        view.show_kernels("dw_mult2", show="yes")
    view.show_kernels(model.get_layer("dw_stride2"))  # a Layer works as well as its name
    assert view.kernels == ("dw_stride2",)


def test_kernels_follow_a_training_timeline_without_a_rebuild(digits):
    model, view = make_view(digits)
    view.show_kernels("dw_filters")
    lm = view.scene.layers["dw_filters"]
    mesh, texture = lm.kernels.mesh, lm.kernels.texture
    checkpoints = tsp.datasets.digits_checkpoints()
    timeline = view.timeline(checkpoints, tsp.datasets.DIGITS_EPOCHS)
    for epoch, checkpoint in ((0, checkpoints[0]), (tsp.datasets.DIGITS_EPOCHS[-1], checkpoints[-1])):
        timeline.epoch = epoch
        expected, _ = kn.kernel_atlas(kn.per_output_channel(checkpoint.get_layer("dw_filters").kernel))
        assert view.scene.layers["dw_filters"] is lm and lm.kernels.mesh is mesh and lm.kernels.texture is texture
        np.testing.assert_array_equal(texture.data, expected)
    first = kn.kernel_atlas(kn.per_output_channel(checkpoints[0].get_layer("dw_filters").kernel))[0]
    assert not np.array_equal(first, texture.data)  # training changed the kernels

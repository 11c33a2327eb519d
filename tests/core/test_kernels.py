"""core.kernels: which kernel each map gets, its colours, the atlas, where the kernels' grid goes."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core import kernels as kn
from tspwidget.core import layout as geo
from tspwidget.layers import DepthwiseConv2d, Input3d


def test_output_channel_k_gets_the_kernel_that_makes_map_k():
    model = tsp.Sequential([Input3d(shape=(6, 5, 3)), DepthwiseConv2d(3, depth_multiplier=2, name="dw")])
    model.init(seed=1)
    dw = model.get_layer("dw")
    per = kn.per_output_channel(dw.kernel)
    assert per.shape == (6, 3, 3)
    x = np.random.default_rng(0).standard_normal((6, 5, 3)).astype(np.float32)
    out = model.predict(x)
    for k in range(6):  # map k at the centre pixel is its own kernel against its source channel
        window = x[1:4, 1:4, dw.source_channel(k)]
        assert out[1, 1, k] == pytest.approx(float((window * per[k]).sum()) + float(dw.bias[k]), abs=1e-5)


def test_colours_are_symmetric_about_zero_with_one_scale_per_layer():
    k = np.array([[[-2.0, 0.0, 1.0]], [[2.0, np.nan, 0.5]]])
    rgb, scale = kn.kernel_colours(k)
    assert scale == 2.0
    assert (rgb[0, 0, 0] == kn.NEGATIVE_RGB).all() and (rgb[1, 0, 0] == kn.POSITIVE_RGB).all()
    assert (rgb[0, 0, 1] == kn.ZERO_RGB).all() and (rgb[1, 0, 1] == kn.NAN_RGB).all()
    half = kn.ZERO_RGB + (kn.POSITIVE_RGB - kn.ZERO_RGB) * 0.25
    np.testing.assert_array_equal(rgb[1, 0, 2], half.round())
    assert (kn.kernel_colours(np.zeros((1, 2, 2)))[0] == kn.ZERO_RGB).all()  # all zero: no 0/0


def test_atlas_cells_hold_each_kernel_where_its_rectangle_says():
    k = np.random.default_rng(2).standard_normal((7, 3, 2))
    atlas, rects = kn.kernel_atlas(k)
    rgb, _ = kn.kernel_colours(k)
    H, W = atlas.shape[:2]
    for i, (u0, v0, u1, v1) in enumerate(rects):
        cell = atlas[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W), :3]
        np.testing.assert_array_equal(cell, rgb[i])
    assert (atlas[..., 3] == 255).all()


def test_the_kernels_grid_is_right_of_the_open_grid_and_mirrors_it():
    lay = geo.layer_layout((14, 14, 12), 1.0, group_size=2)
    centers, size, right = kn.kernel_grid(lay, (3, 3))
    mw, md = lay.map_size
    grid_right = lay.centers[:, 0].max() + mw / 2
    assert (centers[:, 0] - size[0] / 2).min() == pytest.approx(grid_right + kn.GAP * mw)
    assert right == pytest.approx(centers[:, 0].max() + size[0] / 2)
    # Same arrangement, smaller: relative positions scale by SCALE.
    np.testing.assert_allclose(centers - centers[0], kn.SCALE * (lay.centers - lay.centers[0]))
    assert size == pytest.approx((kn.SCALE * mw, kn.SCALE * md))

"""Values to colours and the atlas: normalisation, aggregation, NaN/Inf, orientation."""

import numpy as np
import pytest

from tspwidget.core import textures as tx


def test_normalize_per_map_and_per_layer():
    v = np.stack([np.arange(4.0).reshape(2, 2), 10 * np.arange(4.0).reshape(2, 2)], axis=2)
    per_map = tx.normalize(v, "map")
    assert np.allclose(per_map[..., 0], per_map[..., 1]) and per_map.max() == 1 and per_map.min() == 0
    per_layer = tx.normalize(v, "layer")
    assert per_layer[..., 0].max() == pytest.approx(3 / 30)


def test_constant_nan_and_inf_are_safe():
    v = np.array([[[5.0, np.nan], [5.0, np.inf]], [[5.0, -np.inf], [5.0, 1.0]]])
    n = tx.normalize(v, "map")
    assert np.all(n[..., 0] == 0.5)  # constant map: mid brightness, no overflow (TensorSpace S9)
    assert np.isnan(n[0, 0, 1]) and n[0, 1, 1] == 1 and n[1, 0, 1] == 0
    rgba = tx.shade(n, tx.hex_to_rgb("#FBBF1F"))
    assert tuple(rgba[0, 0, 1]) == (*tx.NAN_RGB, 255)
    assert rgba.dtype == np.uint8


def test_aggregation_is_not_swapped():
    v = np.zeros((1, 1, 3))
    v[0, 0] = [1, 2, 9]
    assert tx.aggregate(v, "mean")[0, 0] == 4 and tx.aggregate(v, "max")[0, 0] == 9
    with pytest.raises(ValueError, match="`aggregation`.*'average'"):
        tx.aggregate(v, "average")


def test_brightness_range_matches_tensorspace():
    rgb = tx.hex_to_rgb("#FBBF1F")
    rgba = tx.shade(np.array([0.0, 1.0]), rgb)
    assert tuple(rgba[0, :3]) == (100, 76, 12) and tuple(rgba[1, :3]) == (251, 191, 31)


@pytest.mark.parametrize("shape", [(5, 7, 6), (12, 12, 1), (3, 2, 37)])
def test_atlas_holds_each_map_where_its_rect_says(shape):
    h, w, c = shape
    layout = tx.atlas_layout(h, w, c)
    maps = np.random.default_rng(0).integers(0, 255, (h, w, c, 4), dtype=np.uint8)
    agg = np.full((h, w, 4), 7, np.uint8)
    button = tx.button_picture(tx.hex_to_rgb("#FF0000"))
    atlas = tx.paint_atlas(layout, maps, agg, button)
    H, W = layout.shape
    for k in range(c):
        u0, v0, u1, v1 = layout.map_rects[k]
        block = atlas[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W)]
        np.testing.assert_array_equal(block, maps[:, :, k])  # row 0 of the map at v0
    u0, v0, u1, v1 = layout.clear_rect
    assert atlas[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W), 3].max() == 0


def test_plain_layer_colour_before_predict():
    maps, agg = tx.layer_pictures(None, (2, 3, 4), "#FBBF1F")
    assert np.all(maps[..., :3] == (251, 191, 31)) and agg.shape == (2, 3, 4)


def test_rgb_input_closed_shows_the_picture():
    img = np.zeros((2, 2, 3))
    img[0, 0] = (1, 0, 0)
    img[1, 1] = (0, 0, 1)
    maps, agg = tx.layer_pictures(img, (2, 2, 3), "#EEEEEE", rgb_image=True)
    assert tuple(agg[0, 0, :3]) == (255, 0, 0) and tuple(agg[1, 1, :3]) == (0, 0, 255)
    assert maps[0, 0, 0, 1] == 0  # the red channel map is tinted red

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


@pytest.mark.parametrize("shape", [(5, 7, 6), (12, 12, 1), (3, 2, 37), (7, 7, 1024)])
def test_code_atlas_holds_each_map_where_its_rect_says(shape):
    h, w, c = shape
    layout = tx.atlas_layout(h, w, c)
    cells = np.random.default_rng(0).integers(6, 256, (c + 1, h, w), dtype=np.uint8)
    pal = tx.palette("#FBBF1F")
    atlas = tx.paint_atlas(layout, cells, pal)
    assert atlas.dtype == np.uint8 and atlas.ndim == 2  # ONE byte per texel
    H, W = layout.shape
    assert W % 4 == 0 and max(H, W) <= tx.MAX_ATLAS_SIDE
    for k in range(c):
        u0, v0, u1, v1 = layout.map_rects[k]
        block = atlas[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W)]
        np.testing.assert_array_equal(block, cells[k])  # row 0 of the map at v0
    u0, v0, u1, v1 = layout.aggregate_rect
    np.testing.assert_array_equal(atlas[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W)], cells[c])
    np.testing.assert_array_equal(tx.atlas_palette(layout, atlas), pal[0, :, :3])
    # No gutters: little more than the pictures and the palette.
    assert atlas.size <= 1.1 * (c + 1) * h * w + 3 * 256 + 4 * H + W * (3 * 256 // W + 1)


def test_known_value_lands_on_a_known_code_and_colour():
    v = np.zeros((1, 3, 1))
    v[0, :, 0] = [0.0, 5.0, 10.0]  # min, middle, max
    codes = tx.layer_codes(v, (1, 3, 1))
    assert codes.shape == (2, 1, 3) and codes.dtype == np.uint8
    assert list(codes[0, 0]) == [tx.CODE_LOW, tx.CODE_LOW + 124, tx.CODE_HIGH]  # 0.5: 6 + rint(124.5)
    pal = tx.palette("#FBBF1F")[0]
    assert tuple(pal[tx.CODE_LOW, :3]) == (100, 76, 12)  # TensorSpace's 0.4 x #FBBF1F
    assert tuple(pal[tx.CODE_HIGH, :3]) == (251, 191, 31)
    mid = pal[codes[0, 0, 1], :3].astype(int)
    assert np.abs(mid - np.array([251, 191, 31]) * 0.7).max() <= 2
    # Every value code's colour is what ``shade`` gives for its value (the old RGBA look).
    t = tx.code_values(np.arange(tx.CODE_LOW, 256))
    np.testing.assert_allclose(pal[tx.CODE_LOW:, :3], tx.shade(t, tx.hex_to_rgb("#FBBF1F"))[:, :3], atol=1)
    vir = tx.palette("#FBBF1F", "viridis")[0]
    assert tuple(vir[tx.CODE_LOW, :3]) == (68, 1, 84) and tuple(vir[tx.CODE_HIGH, :3]) == (253, 231, 37)


def test_nan_and_inf_codes():
    v = np.array([[[np.nan], [np.inf], [-np.inf], [1.0], [2.0]]])  # (1, 5, 1)
    codes = tx.layer_codes(v, (1, 5, 1))[0, 0]
    assert list(codes) == [tx.CODE_NAN, tx.CODE_HIGH, tx.CODE_LOW, tx.CODE_LOW, tx.CODE_HIGH]
    pal = tx.palette("#00FF00")[0]
    assert tuple(pal[tx.CODE_NAN]) == (*tx.NAN_RGB, 255)
    assert pal[tx.CODE_CLEAR, 3] == 0 and (pal[1:, 3] == 255).all()
    assert tx.encode(np.array([np.nan, -3.0, 7.0])).tolist() == [tx.CODE_NAN, tx.CODE_LOW, tx.CODE_HIGH]


def test_per_map_and_per_layer_codes_and_aggregation():
    v = np.stack([np.arange(4.0).reshape(2, 2), 10 * np.arange(4.0).reshape(2, 2)], axis=2)
    per_map = tx.layer_codes(v, (2, 2, 2), normalize_per="map")
    np.testing.assert_array_equal(per_map[0], per_map[1])
    per_layer = tx.layer_codes(v, (2, 2, 2), normalize_per="layer")
    assert per_layer[0].max() == tx.encode(3 / 30) and per_layer[1].max() == tx.CODE_HIGH
    two = np.array([[[0.0, 10.0], [6.0, 6.0]]])  # pixel 0: mean 5, max 10; pixel 1: 6 and 6
    mean = tx.layer_codes(two, (1, 2, 2), aggregation="mean")[2, 0]
    mx = tx.layer_codes(two, (1, 2, 2), aggregation="max")[2, 0]
    assert list(mean) == [tx.CODE_LOW, tx.CODE_HIGH] and list(mx) == [tx.CODE_HIGH, tx.CODE_LOW]
    const = tx.layer_codes(np.full((2, 2, 1), 4.0), (2, 2, 1))
    assert (const == tx.encode(0.5)).all()  # constant maps at mid brightness


def test_vector_padding_cells_are_transparent():
    codes = tx.layer_codes(np.arange(5.0), (2, 3, 1))  # 5 values in a 2 x 3 strip
    assert (codes[:, 1, 2] == tx.CODE_CLEAR).all() and (codes[:, :, :2] != tx.CODE_CLEAR).all()


def test_button_is_a_disc_with_ring_and_x_and_clear_outside():
    b = tx.button_codes(64)
    yy, xx = (np.mgrid[0:64, 0:64] + 0.5) / 64 - 0.5
    r2 = xx**2 + yy**2
    assert (b[r2 > 0.25] == tx.CODE_CLEAR).all() and (b[r2 <= 0.25] != tx.CODE_CLEAR).all()
    assert b[0, 0] == b[63, 63] == tx.CODE_CLEAR  # corners of the square: transparent
    assert b[32, 32] == tx.CODE_BUTTON_X and b[32, 1] == tx.CODE_BUTTON_RING
    assert b[32, 12] == tx.CODE_BUTTON_FILL
    pal = tx.palette("#FBBF1F")[0]
    assert tuple(pal[tx.CODE_BUTTON_RING, :3]) == (251, 191, 31)
    assert tuple(pal[tx.CODE_BUTTON_X, :3]) == tx.BUTTON_X_RGB
    assert pal[tx.CODE_BUTTON_FILL, 0] < pal[tx.CODE_BUTTON_RING, 0]


def test_plain_layer_colour_before_predict():
    codes = tx.layer_codes(None, (2, 3, 4))
    assert codes.shape == (5, 2, 3) and (codes == tx.CODE_HIGH).all()
    assert tuple(tx.palette("#FBBF1F")[0, tx.CODE_HIGH, :3]) == (251, 191, 31)


def test_rgb_input_closed_shows_the_picture():
    img = np.zeros((2, 2, 3))
    img[0, 0] = (1, 0, 0)
    img[1, 1] = (0, 0, 1)
    codes = tx.layer_codes(img, (2, 2, 3), rgb_image=True)
    assert codes.shape == (6, 2, 2)  # three maps, then the picture's R, G, B planes
    rgb = tx.code_values(codes[3:]).transpose(1, 2, 0) * 255  # what the shader shows
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[1, 1]) == (0, 0, 255)
    assert tx.atlas_layout(2, 2, 3, planes=tx.aggregate_planes((2, 2, 3), True)).n_cells == 6
    # The maps are white ramps (the shader tints map k red, green, blue).
    pal = tx.palette("#EEEEEE", rgb_image=True)[0]
    assert tuple(pal[tx.CODE_HIGH, :3]) == (255, 255, 255) and tuple(pal[tx.CODE_LOW, :3]) == (102, 102, 102)
    nan = img.copy()
    nan[0, 1, 1] = np.nan
    assert (tx.layer_codes(nan, (2, 2, 3), rgb_image=True)[3:, 0, 1] == tx.CODE_NAN).all()


def test_shader_names_the_codes_and_uniforms():
    from tspwidget.core import shaders

    src = shaders.FRAGMENT_SHADER
    for name in ("atlas", "paletteAt", "cellSize", "aspect", "gridCols", "rgbImage", "hover"):
        assert f" {name};" in src
    assert "#include <morphtarget_vertex>" in shaders.VERTEX_SHADER
    assert "{" not in shaders.HOVER_OFF.__repr__()

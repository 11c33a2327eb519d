"""The layer material, built headlessly: one-byte code atlas, shader uniforms, slab quads, live
colour / normalisation / aggregation updates, and the bytes a MobileNetV1 1.0@224 view sends."""

import time

import numpy as np
import pythreejs as p3
from ipywidgets.widgets.widget import _remove_buffers

import tspwidget as tsp
from tspwidget.core import shaders
from tspwidget.core import textures as tx
from tspwidget.layers import Conv2d, DepthwiseConv2d, RGBInput


def test_material_is_the_code_shader_with_the_atlas_last(small_model):
    lm = small_model.show().scene.layers["dw"]
    mat = lm.mesh.material
    assert isinstance(mat, p3.ShaderMaterial) and mat.morphTargets and mat.side == "DoubleSide"
    assert list(mat.uniforms)[-1] == "atlas" and mat.uniforms["atlas"]["value"] is lm.texture
    assert sum(isinstance(u["value"], p3.Texture) for u in mat.uniforms.values()) == 1
    assert tuple(mat.uniforms["hover"]["value"]) == shaders.HOVER_OFF
    tex = lm.texture
    assert (tex.format, tex.type, tex.magFilter, tex.minFilter, tex.unpackAlignment) == (
        "LuminanceFormat", "UnsignedByteType", "NearestFilter", "NearestFilter", 1)
    assert lm.hover_rect(0) == tuple(lm.atlas_layout.map_rects[0])
    assert lm.hover_rect(None) == lm.atlas_layout.aggregate_rect


def test_quads_maps_aggregate_button_then_slab_sides(small_model):
    lm = small_model.show().scene.layers["dw"]
    c = lm.layout.channels
    n = c + 2 + 4
    closed, opened, uv = lm.attr_position.array, lm.attr_morph.array, lm.attr_uv.array
    assert closed.shape == opened.shape == (4 * n, 3) and uv.shape == (4 * n, 2)
    assert lm.attr_index.array.shape == (6 * n,)
    sides_closed, sides_open = closed[4 * (c + 2):], opened[4 * (c + 2):]
    assert np.ptp(sides_closed[:, 1]) > 0  # the closed slab has height ...
    assert np.ptp(sides_open, axis=0).max() == 0  # ... and its sides vanish when open
    agg_y = closed[4 * c: 4 * c + 4, 1]
    assert np.allclose(agg_y, sides_closed[:, 1].max())  # the aggregate is the slab's top
    assert (uv[4 * (c + 2):, 0] < -0.5).all() and (uv[4 * (c + 1): 4 * (c + 2), 0] >= 2).all()
    # Map UVs stay inside their cells (nearest sampling never reads a neighbour).
    u0, v0, u1, v1 = lm.atlas_layout.map_rects[0]
    q = uv[:4]
    assert (q[:, 0] > u0).all() and (q[:, 0] < u1).all() and (q[:, 1] > v0).all() and (q[:, 1] < v1).all()


def test_colour_normalisation_aggregation_update_the_atlas(small_model):
    view = small_model.show()
    lm = view.scene.layers["dw"]
    at = lm.atlas_layout
    cells = lambda: lm.texture.data[: at.palette_row].copy()  # noqa: E731
    before = cells()
    small_model.get_layer("dw").color = "#00FF00"
    assert tuple(tx.atlas_palette(at, lm.texture.data)[tx.CODE_HIGH]) == (0, 255, 0)
    np.testing.assert_array_equal(before, cells())  # a colour change keeps the codes
    view.colormap = "viridis"
    assert tuple(tx.atlas_palette(at, lm.texture.data)[tx.CODE_LOW]) == (68, 1, 84)
    view.normalize = "layer"
    assert not np.array_equal(before, cells())
    u0, v0, u1, v1 = at.aggregate_rect
    H, W = at.shape
    agg = lambda: lm.texture.data[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W)].copy()  # noqa: E731
    mean = agg()
    view.aggregation = "max"
    assert not np.array_equal(mean, agg())


def test_rgb_input_keeps_its_colour_picture(small_model):
    lm = small_model.show().scene.layers[small_model.layers[0].name]
    assert lm.rgb_image and lm.mesh.material.uniforms["rgbImage"]["value"] == 1.0
    assert lm.atlas_layout.n_cells == 6


def _mobilenet_v1():
    layers = [RGBInput(shape=(224, 224, 3), name="input"),
              Conv2d(32, 3, strides=2, padding="same", activation="relu6", name="conv1")]
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (filters, stride) in enumerate(plan, 1):
        layers.append(DepthwiseConv2d(3, strides=stride, padding="same", activation="relu6", name=f"conv_dw_{i}"))
        layers.append(Conv2d(filters, 1, activation="relu6", name=f"conv_pw_{i}"))
    return tsp.Sequential(layers)


def test_mobilenet_v1_224_view_sends_at_most_8_mb():
    t = time.perf_counter()
    model = _mobilenet_v1().init(seed=0)
    model.predict(np.random.default_rng(0).random((224, 224, 3)).astype(np.float32))
    view = model.show()
    total = 0
    for lm in view.scene.layers.values():
        for widget in lm.widgets:
            _, _, buffers = _remove_buffers(widget.get_state())
            total += sum(memoryview(b).nbytes for b in buffers)
    assert total <= 8_000_000, total
    assert time.perf_counter() - t < 30
    view.close()

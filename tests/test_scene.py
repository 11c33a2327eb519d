"""The pythreejs scene, built headlessly: one mesh per layer, model counts, binary data, geometry."""

import ipywidgets
import numpy as np
import pytest
import pythreejs as p3
from ipywidgets.widgets.widget import _remove_buffers

import tspwidget as tsp
from tspwidget.layers import DepthwiseConv2d, Input3d


def reachable_widgets(roots, stop=()):
    """Widget models reachable from ``roots`` through widget-valued traits."""
    seen, todo = {}, list(roots)
    while todo:
        w = todo.pop()
        if not isinstance(w, ipywidgets.Widget) or w.model_id in seen or w in stop:
            continue
        seen[w.model_id] = w
        for name in w.keys:
            value = getattr(w, name)
            if isinstance(value, dict):
                items = value.values()
            else:
                items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                todo.extend(item if isinstance(item, (list, tuple)) else [item])
    return list(seen.values())


def big_model(channels, size):
    dw = DepthwiseConv2d(kernel_size=3, padding="same", name="dw")
    model = tsp.Sequential([Input3d(shape=(size, size, channels)), dw]).init(seed=0)
    model.predict(np.random.default_rng(0).standard_normal((size, size, channels)))
    return model


@pytest.mark.parametrize("channels,size", [(1024, 7), (512, 14), (3, 12)])
def test_one_mesh_and_at_most_12_widget_models_per_layer(channels, size):
    view = big_model(channels, size).show()
    lm = view.scene.layers["dw"]
    own = reachable_widgets([lm.mesh])
    assert len(own) <= 12, sorted(type(w).__name__ for w in own)
    meshes = [w for w in reachable_widgets([view.scene.group]) if isinstance(w, p3.Mesh)]
    assert len(meshes) == 2  # input + depthwise, whatever the channel count
    # Scene-wide, whatever the size: the links, the hover outline, camera, controls, controller.
    everything = reachable_widgets([view])
    assert len(everything) - sum(len(reachable_widgets([m.mesh])) for m in view.scene.layers.values()) < 40


def test_numpy_data_crosses_as_binary_buffers(small_model):
    lm = small_model.show().scene.layers["dw"]
    for widget in (lm.texture, lm.attr_position, lm.attr_morph):
        state, _, buffers = _remove_buffers(widget.get_state())
        assert buffers, f"{type(widget).__name__} sends no binary buffer"
        assert sum(b.nbytes for b in buffers) >= 0.9 * np.asarray(
            widget.data if hasattr(widget, "data") else widget.array).nbytes


def test_atlas_shows_values_and_the_layer_colour(small_model):
    from tspwidget.core import textures as tx

    lm = small_model.show().scene.layers["dw"]
    data = lm.texture.data
    assert data.dtype == np.uint8 and data.ndim == 2  # one byte (a code) per texel
    at = lm.atlas_layout
    cells = data[: at.palette_row]
    # Every value code is shown as a shade of #FBBF1F through the palette stored in the atlas.
    colours = tx.atlas_palette(at, data)[cells[cells >= tx.CODE_LOW]].astype(float)
    ratio = colours[:, 1] / colours[:, 0]
    assert np.allclose(ratio, 191 / 251, atol=0.03)


def test_closed_and_open_layouts_are_base_and_morph(small_model):
    small_model.get_layer("pw").open_layer()  # built open: the morph starts at 1
    view = small_model.show()
    dw, pw = view.scene.layers["dw"], view.scene.layers["pw"]
    c = 6
    closed, opened = dw.attr_position.array, dw.attr_morph.array
    assert np.ptp(closed[: c * 4, 0]) == 0  # closed: maps collapsed at the centre
    assert np.ptp(opened[: c * 4, 0]) > 0
    assert list(pw.mesh.morphTargetInfluences) == [1.0] and list(dw.mesh.morphTargetInfluences) == [0.0]


def test_unit_and_stacking():
    model = tsp.Sequential([Input3d(shape=(20, 40, 2)), DepthwiseConv2d(3)]).init()
    scene = model.show().scene
    first, second = scene.layers.values()
    assert first.layout.map_size == (100.0, 50.0)  # widest input side is 100 units
    assert second.position[1] > first.position[1] and second.position[0] == first.position[0]
    assert tuple(second.mesh.position) == pytest.approx(tuple(second.position))

"""ModelView without a browser: options, two-way status sync, clicks, messages per toggle.

The browser controller (js/controller.js) picks in the browser and tells Python what was clicked:
a status change as state, a map click as a message. ``browser_says`` plays that part here.
"""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget import ModelView
from tspwidget.core.textures import atlas_palette, colormap_rgb
from tspwidget.layers import DepthwiseConv2d, RGBInput


def click(view, layer_name, x, z):
    """What the browser controller does on a click at a point of a layer's plane: it locates the
    point (the same rule as ``LayerLayout.locate``), then sends a status or a selection."""
    lm = view.scene.layers[layer_name]
    what = lm.locate(lm.layer.status, x, z)
    ctl = view.controller
    if what is None:
        return
    if what[0] in ("aggregate", "button"):
        ctl.set_state({"status": {**ctl.status, layer_name: "open" if what[0] == "aggregate" else "close"}})
    else:
        ctl._handle_custom_msg({"event": "select", "layer": layer_name, "channel": what[1],
                                "row": what[2], "col": what[3]}, [])


def test_needs_an_initialised_model_and_valid_options(small_model):
    with pytest.raises(tsp.NotInitializedError, match=r"model.init\(\)"):
        ModelView(tsp.Sequential([RGBInput(shape=(4, 4))]))
    with pytest.raises(TypeError, match="`model`"):
        ModelView("model")
    with pytest.raises(ValueError, match="`aggregation`.*'average'"):
        ModelView(small_model, aggregation="average")
    with pytest.raises(ValueError, match="`normalize`.*'global'"):
        ModelView(small_model, normalize="global")
    with pytest.raises(ValueError, match="`width`"):
        ModelView(small_model, width=0)
    with pytest.raises(ValueError, match="`background`"):
        ModelView(small_model, background="nope")
    view = ModelView(small_model)
    with pytest.raises(ValueError, match="`aggregation`"):
        view.aggregation = "median"


def test_layer_status_follows_layers_and_drives_them(small_model):
    view, other = small_model.show(), small_model.show()
    dw = small_model.get_layer("dw")
    assert view.layer_status == {"image": "close", "dw": "close", "pw": "close"}
    dw.open_layer()
    assert view.layer_status["dw"] == other.layer_status["dw"] == "open"
    assert view.controller.status["dw"] == other.controller.status["dw"] == "open"  # both animate
    view.layer_status = {"dw": "close", "pw": "open"}
    assert dw.status == "close" and small_model.get_layer("pw").status == "open"
    assert other.layer_status["pw"] == "open"
    with pytest.raises(ValueError, match="unknown layer 'x'"):
        view.layer_status = {"x": "open"}
    with pytest.raises(ValueError, match=r"layer_status\['dw'\].*'opened'"):
        view.layer_status = {"dw": "opened"}


def test_init_status_decides_the_first_display():
    model = tsp.Sequential([RGBInput(shape=(6, 6)), DepthwiseConv2d(3, init_status="open", name="d")]).init()
    view = model.show()
    assert view.layer_status["d"] == "open" and view.controller.status["d"] == "open"
    assert list(view.scene.layers["d"].mesh.morphTargetInfluences) == [1.0]  # built open


def test_a_toggle_sends_a_constant_number_of_messages(sent):
    for channels in (3, 512):
        model = tsp.Sequential([tsp.layers.Input3d(shape=(14, 14, channels)),
                                DepthwiseConv2d(3, name="d")]).init()
        model.show()
        sent.clear()
        model.get_layer("d").open_layer()
        assert len(sent) <= 3, [m[1].get("method") for m in sent]
        assert sum(len(str(m[1])) for m in sent) < 2000  # no arrays, no frames
        assert not any(b for m in sent for b in m[2])


def test_hundred_rapid_toggles_end_in_the_last_requested_state(small_model, sent):
    view = small_model.show()
    dw = small_model.get_layer("dw")
    sent.clear()
    for i in range(100):
        dw.open_layer() if i % 2 == 0 else dw.close_layer()
    assert dw.status == "close" and view.layer_status["dw"] == "close"
    assert len(sent) <= 100  # one status message per toggle; the browser animates
    assert view.controller.status["dw"] == "close"  # where the browser ends, whatever it was doing


def test_clicks_open_select_and_close(small_model):
    view = small_model.show()
    dw = small_model.get_layer("dw")
    seen = []
    view.on_select(seen.append)
    click(view, "dw", 1.0, 1.0)
    assert dw.status == "open"
    lay = view.scene.layers["dw"].layout
    (cx, cz), (mw, md) = lay.centers[3], lay.map_size
    click(view, "dw", cx - mw / 2 + 9.5 * mw / 12, cz - md / 2 + 2.5 * md / 12)
    assert view.selected["channel"] == 3 and view.selected["input_channel"] == 1
    assert (view.selected["row"], view.selected["col"]) == (2, 9)
    assert view.selected["value"] == pytest.approx(float(dw.neural_value[2, 9, 3]))
    assert seen == [view.selected]
    assert "map 3" in view.info.value and "input channel 1" in view.info.value
    click(view, "dw", *lay.button[:2])
    assert dw.status == "close"


def test_focus_and_follow(small_model, sent):
    view = small_model.show()
    assert view.focused is None and view.follow and view.controller.follow
    updates = lambda: [m for m in sent if m[1].get("method") == "update"]  # noqa: E731
    sent.clear()
    view.focus("dw")
    assert view.focused == "dw" and len(updates()) == 1  # one state message; the browser eases
    view.controller.set_state({"camera_moved": True})  # the user orbits away ...
    view.focus("dw")  # ... and asks for the same framing again: it is sent again
    assert len(updates()) == 2 and not view.controller.camera_moved
    view.focus(None)
    assert view.focused is None
    with pytest.raises(ValueError, match="`name` 'nope'.*drawn"):
        view.focus("nope")
    view.follow = False
    assert not view.controller.follow
    with pytest.raises(TypeError, match="`follow`"):
        small_model.show(follow="yes")


def _cell(lm, rect):
    """The atlas texels of one cell (a map or the aggregate), as the shader samples them."""
    H, W = lm.atlas_layout.shape
    return lm.texture.data[round(rect[1] * H):round(rect[3] * H), round(rect[0] * W):round(rect[2] * W)]


def _codes(norm):
    """Codes by hand: 0..1 -> 6..255 in 250 steps (core.textures' encoding, restated)."""
    return (6 + np.rint(np.clip(norm, 0, 1) * 249)).astype(np.uint8)


def test_colour_close_button_and_values_update_the_view(small_model):
    view = small_model.show()
    dw = small_model.get_layer("dw")
    lm = view.scene.layers["dw"]
    dw.color = "#00FF00"
    # The palette rows inside the atlas now ramp in green: brightest code is pure green.
    palette = atlas_palette(lm.atlas_layout, lm.texture.data)
    np.testing.assert_array_equal(palette[255], [0, 255, 0])
    assert palette[6][0] == palette[6][2] == 0 and 0 < palette[6][1] < 255
    assert view.controller.plan["nodes"][1]["color"] == "#00FF00"  # the label's colour
    dw.close_button = {"ratio": 3}
    assert view.controller.geometry[1]["button"][2] == pytest.approx(lm.layout.button[2])
    bx, bz, r = lm.layout.button
    button = lm.attr_morph.array[4 * 7:4 * 8]  # quads: 6 maps, the aggregate, then the button
    assert button[:, 0].min() == pytest.approx(bx - r) and button[:, 2].max() == pytest.approx(bz + r)
    x = np.random.default_rng(5).random((12, 12, 3)).astype(np.float32)
    small_model.predict(x)
    values = dw.neural_value
    for k in range(6):  # each map from its own min to its own max
        v = values[..., k]
        np.testing.assert_array_equal(_cell(lm, lm.atlas_layout.map_rects[k]),
                                      _codes((v - v.min()) / (v.max() - v.min())))
    mean = values.mean(axis=2)
    np.testing.assert_array_equal(_cell(lm, lm.atlas_layout.aggregate_rect),
                                  _codes((mean - mean.min()) / (mean.max() - mean.min())))
    view.aggregation = "max"  # the closed layer now shows the max over channels
    peak = values.max(axis=2)
    np.testing.assert_array_equal(_cell(lm, lm.atlas_layout.aggregate_rect),
                                  _codes((peak - peak.min()) / (peak.max() - peak.min())))
    view.normalize = "layer"  # one scale for the whole layer
    lo, hi = values.min(), values.max()
    for k in range(6):
        np.testing.assert_array_equal(_cell(lm, lm.atlas_layout.map_rects[k]),
                                      _codes((values[..., k] - lo) / (hi - lo)))


def test_reinit_rebuilds_the_scene(small_model):
    view = small_model.show()
    old = view.scene.layers["dw"].mesh
    small_model.init(seed=1)
    assert view.scene.layers["dw"].mesh is not old


def test_model_as_last_expression_displays_a_view(small_model, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    small_model._ipython_display_()
    assert isinstance(shown[0], ModelView)


def test_layer_names_are_escaped_in_html(small_model):
    model = tsp.Sequential([RGBInput(shape=(4, 4)), DepthwiseConv2d(1, name="<b>x</b>")]).init()
    model.predict(np.ones((4, 4, 3)))
    view = model.show()
    view._select(model.layers[1], 0, 0, 0)
    assert "&lt;b&gt;x&lt;/b&gt;" in view.info.value and "<b>x</b>" not in view.info.value


def test_close_stops_following_and_closes_the_scene(small_model, sent):
    view = small_model.show()
    mesh = view.scene.layers["dw"].mesh
    view.close()
    assert mesh.comm is None and view.scene.renderer.comm is None
    sent.clear()
    small_model.get_layer("dw").open_layer()
    assert sent == []


def test_hide_layer_types(small_model):
    view = small_model.show(hide=["Conv2d"])
    assert set(view.scene.layers) == {"image", "dw"}
    small_model.get_layer("pw").open_layer()  # hidden layers still follow the model quietly
    assert view.layer_status["pw"] == "open"
    with pytest.raises(ValueError, match="`hide` names \\['Nope'\\]"):
        small_model.show(hide=["Nope"])
    with pytest.raises(TypeError, match="`hide`"):
        small_model.show(hide="Conv2d")
    with pytest.raises(ValueError, match="input layer"):
        small_model.show(hide=["RGBInput"])


def test_clicking_a_depthwise_pixel_shows_its_arithmetic(small_model):
    view = small_model.show()
    dw = small_model.get_layer("dw")
    dw.open_layer()
    lay = view.scene.layers["dw"].layout
    (cx, cz), (mw, md) = lay.centers[5], lay.map_size
    click(view, "dw", cx - mw / 2 + 0.5 * mw / 12, cz - md / 2 + 0.5 * md / 12)
    assert view.panel.layout.display is None
    assert "kernel[:, :, 2, 1]" in view.panel.value and "standard conv" in view.panel.value
    outline = view.scene._outline_attr.array
    assert outline.shape == (8, 3)  # four edges around the window on the input layer
    assert view.scene._outline in view.scene.layers["image"].mesh.children  # moves with it
    dw.close_layer()  # the outline goes with its layer's selection
    assert view.scene._outline not in view.scene.layers["image"].mesh.children
    b = view.inspect("dw", 5, 0, 0)
    assert b["value"] == pytest.approx(float(dw.neural_value[0, 0, 5]), abs=1e-5)


def test_colormap_colorbar_and_projector(small_model):
    view = small_model.show(colormap="viridis")
    lm = view.scene.layers["dw"]
    H, W = lm.atlas_layout.shape
    u0, v0, u1, v1 = lm.atlas_layout.map_rects[0]
    codes = lm.texture.data[round(v0 * H):round(v1 * H), round(u0 * W):round(u1 * W)]
    texels = atlas_palette(lm.atlas_layout, lm.texture.data)[codes].astype(float)  # one byte a texel
    curve = colormap_rgb(np.linspace(0, 1, 512), "viridis", None)
    distance = np.abs(texels.reshape(-1, 1, 3) - curve[None]).max(axis=2).min(axis=1)
    assert distance.max() <= 2  # every texel of the map is a viridis colour
    assert "rgb(68,1,84)" in view.colorbar.value and "magenta" in view.colorbar.value
    view.colormap = "layer"
    assert "rgb(100,76,12)" in view.colorbar.value
    assert view.controller.plan["label_px"] == 13
    view.projector = True
    assert view.controller.plan["label_px"] == 20  # labels this many pixels at the default camera
    assert min(b["label_px"] for b in view.screen_boxes().values()) >= 20 * 0.99
    assert view.info.style.font_size == "16px"
    with pytest.raises(ValueError, match="`colormap`.*'jet'"):
        small_model.show(colormap="jet")
    with pytest.raises(TypeError, match="`projector`"):
        small_model.show(projector="yes")
    small_model.get_layer("dw").open_layer()  # still follows the model after the rebuild
    assert view.layer_status["dw"] == "open" and view.controller.status["dw"] == "open"


def test_load_shows_a_bounded_progress_bar_in_a_kernel(monkeypatch, sent):
    from pathlib import Path

    import tspwidget.progress as progress

    monkeypatch.setattr(progress, "_in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    path = Path(__file__).parent / "fixtures" / "models" / "mobilenet_v1.keras"
    sent.clear()
    model = tsp.load(path)
    assert len(model.layers) > 80
    updates = [m for m in sent if m[0] == "comm_msg" and "value" in m[1].get("state", {})]
    assert 5 <= len(updates) <= 21  # a bounded number of bar updates, not one per layer
    assert any(m[0] == "comm_close" for m in sent)  # the bar goes away when done


def test_save_html_writes_one_self_contained_page(small_model, tmp_path):
    path = small_model.show().save_html(tmp_path / "lesson.html")
    text = path.read_text()
    assert "application/vnd.jupyter.widget-state+json" in text and 'define("anywidget"' in text
    assert "__tspControllers" in text  # the browser controller travels in the state
    assert " src=" not in text.split("<script", 1)[0]
    assert 3_000_000 < path.stat().st_size < 8_000_000


def test_when_ready_runs_once_when_the_browser_reports_the_view_drawn(small_model):
    view = small_model.show()
    calls = []
    view.when_ready(lambda: calls.append("a"))
    view.when_ready(lambda: calls.append("b"))
    assert calls == []  # no browser yet: nothing runs
    view._on_controller_message(view.controller, {"event": "ready"}, [])
    view._on_controller_message(view.controller, {"event": "ready"}, [])  # another page: nothing twice
    assert calls == ["a", "b"]

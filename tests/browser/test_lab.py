"""The widget in JupyterLab 4, in headless Chromium: render, click to open (the layers make room,
the camera frames the grid), the close button, open from Python, "whole model", select a map,
hover, 100 rapid toggles, drag is not a click; the browser's layout equals Python's.

One notebook page (and kernel) serves the file, but every test starts from a view of its own:
cell 0 runs again (a new model, every layer closed, the default camera) and the test waits for
that view's controller to be idle; it ends with no new console error or warning. Tests wait on
conditions, never for a fixed time. Screenshots are kept in tests/artifacts/browser/.
"""

import time

import numpy as np
import pytest

from .harness import (
    ARTIFACTS,
    SHOWN,
    console_clean,
    controller,
    diff_fraction,
    image,
    lit_fraction,
    new_page,
    open_notebook,
    run_cell,
    save,
    show_fresh,
    wait_idle,
    wait_status,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def notebook(lab, browser):
    """widget.ipynb open, its kernel started: no view yet (each test displays its own)."""
    page = new_page(browser)
    open_notebook(page, lab, "widget.ipynb")
    yield page
    page.context.close()


@pytest.fixture
def page(notebook, lab):
    """A fresh view, drawn and idle; ``page.points`` are its screen points from Python."""
    with console_clean(notebook):
        notebook.points = show_fresh(notebook, lab, 0)
        yield notebook


def open_by_click(page, lab):
    """Open dw by clicking its closed slab; returns once the camera has framed it."""
    t0 = time.time()
    click_canvas(page, page.points["closed"])
    assert lab.wait_event(page, "status", after=t0, timeout=20)["new"] == "open"
    wait_status(page, "dw", "open")
    wait_idle(page)


def canvas_shot(page):
    return image(page.locator(".jp-OutputArea canvas").first.screenshot())


def view_shot(page, name):
    """The canvas with its HTML labels, as a user sees it."""
    stage = page.locator(".tsp-view").first
    stage.scroll_into_view_if_needed()
    stage.screenshot(path=str(ARTIFACTS / name))


def canvas_box(page):
    canvas = page.locator(".jp-OutputArea canvas").first
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def click_canvas(page, point):
    box = canvas_box(page)
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def label_rects(page):
    return page.evaluate("""() => Array.from(document.querySelectorAll('.tsp-label'))
        .filter(d => d.style.display !== 'none')
        .map(d => { const r = d.getBoundingClientRect(); return [d.dataset.layer, r.x, r.y, r.right, r.bottom,
                                                                 parseFloat(d.style.fontSize)]; })""")


def overlap(a, b):
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def assert_legible(page, names, width, height):
    """The whole model at the default camera: every layer ``names`` names drawn inside the canvas
    and none over another; labels at least 11 px, off every map and every other label.
    Returns the layers' canvas rectangles."""
    rects = controller(page, "return c.screenRects();")
    assert sorted(rects) == sorted(names)
    for name, r in rects.items():
        assert r[0] >= -1 and r[1] >= -1 and r[2] <= width + 1 and r[3] <= height + 1, (name, r)
    ordered = sorted(rects)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            assert not overlap(rects[a], rects[b]), (a, rects[a], b, rects[b])
    box, labels = canvas_box(page), label_rects(page)
    assert len(labels) == len(rects) and min(label[5] for label in labels) >= 11
    for name, x0, y0, x1, y1, _ in labels:
        rect = (x0 - box["x"], y0 - box["y"], x1 - box["x"], y1 - box["y"])
        assert not any(overlap(rect, m) for m in rects.values()), (name, rect)
        assert not any(overlap((x0, y0, x1, y1), o[1:5]) for o in labels if o[0] != name), name
    return rects


def test_canvas_renders_the_model_with_readable_labels(page):
    canvas = page.locator(".jp-OutputArea canvas").first
    canvas.wait_for(timeout=60_000)
    canvas.scroll_into_view_if_needed()
    wait_idle(page)
    shot = canvas_shot(page)
    save(shot, "lab-1-closed.png")
    view_shot(page, "lab-1-closed-view.png")
    assert lit_fraction(shot) > 0.02, "the canvas is blank"
    labels = label_rects(page)
    assert sorted(label[0] for label in labels) == ["dw", "image", "pw"]
    assert min(label[5] for label in labels) >= 11
    box = canvas.bounding_box()
    maps = controller(page, "return c.screenRects();")
    for name, x0, y0, x1, y1, _ in labels:  # labels inside the canvas, off every map and label
        rect = (x0 - box["x"], y0 - box["y"], x1 - box["x"], y1 - box["y"])
        assert 0 <= rect[0] and rect[2] <= box["width"] and 0 <= rect[1] and rect[3] <= box["height"]
        assert not any(overlap(rect, m) for m in maps.values()), (name, rect, maps)
        assert not any(overlap((x0, y0, x1, y1), other[1:5]) for other in labels if other[0] != name)


def test_the_browser_arranges_exactly_as_python(page):
    for key, flags in (("closed", "false"), ("dw", "n.name === 'dw'"), ("all", "true")):
        js = controller(page, "const p = c.plan; return globalThis.__tspLayout.arrange(p, "
                              f"p.nodes.map(n => {flags})).positions;")
        np.testing.assert_allclose(js, page.points["arranged"][key], rtol=1e-9, atol=1e-9)


def wait_mid_morph(page):
    """Until dw's morph is under way, strictly between closed and open (polled every frame)."""
    page.wait_for_function(f"""() => {SHOWN}.some(c => {{
        const i = c.plan.nodes.findIndex(n => n.name === 'dw');
        const f = c.meshModels[i].obj.morphTargetInfluences[0];
        return f > 0.2 && f < 0.8; }})""", timeout=30_000, polling="raf")


def test_click_opens_makes_room_and_frames_the_grid(page, lab):
    before = controller(page, "return c.screenRects();")
    closed = canvas_shot(page)
    t0 = time.time()
    click_canvas(page, page.points["closed"])
    event = lab.wait_event(page, "status", after=t0, timeout=20)
    assert event["new"] == "open"
    wait_mid_morph(page)
    mid = canvas_shot(page)
    save(mid, "lab-2-opening.png")
    wait_status(page, "dw", "open")
    wait_idle(page)
    opened = canvas_shot(page)
    save(opened, "lab-3-open.png")
    view_shot(page, "lab-3-open-view.png")
    assert diff_fraction(closed, mid) > 0.01
    assert diff_fraction(mid, opened) > 0.01
    rects = controller(page, "return c.screenRects();")
    x0, y0, x1, y1 = rects["dw"]
    assert x0 >= 0 and y0 >= 0 and x1 <= 800 and y1 <= 600, rects["dw"]  # the grid whole ...
    assert (x1 - x0) / 800 > 0.6 or (y1 - y0) / 600 > 0.6  # ... and large
    assert not overlap(rects["dw"], rects["pw"]) and not overlap(rects["dw"], rects["image"])
    assert controller(page, "return [c.model.get('focus'), c.model.get('camera_moved')];") == ["dw", False]
    # The focused layer's full label is the view's title; its neighbours' labels keep quiet.
    title = page.locator(".tsp-title").first
    assert title.is_visible() and "DepthwiseConv2d 3x3 s1 same x2" in title.inner_text()
    assert before["dw"] != rects["dw"]


def test_close_button_closes_and_the_camera_comes_back(page, lab):
    first = canvas_shot(page)
    open_by_click(page, lab)
    t0 = time.time()
    click_canvas(page, page.points["button"])
    event = lab.wait_event(page, "status", after=t0, timeout=20)
    assert event["new"] == "close"
    wait_status(page, "dw", "close")
    wait_idle(page)
    closed = canvas_shot(page)
    save(closed, "lab-4-closed-again.png")
    assert diff_fraction(closed, first) < 0.01
    assert controller(page, "return c.model.get('focus');") is None


def test_open_layer_from_a_later_cell_animates(page, lab):
    t0 = time.time()
    run_cell(page, 1)
    event = lab.wait_event(page, "status", after=t0, timeout=30)
    assert event["new"] == "open"
    # The browser eases through the frames in between: the layer's morph influence is seen
    # strictly between closed and open.
    wait_mid_morph(page)
    wait_status(page, "dw", "open")
    page.locator(".jp-OutputArea canvas").first.scroll_into_view_if_needed()
    wait_idle(page)
    opened = canvas_shot(page)
    save(opened, "lab-5-opened-from-python.png")
    # The same picture as opening it by a click: close with the button, click it open again.
    t0 = time.time()
    click_canvas(page, page.points["button"])
    assert lab.wait_event(page, "status", after=t0, timeout=20)["new"] == "close"
    wait_status(page, "dw", "close")
    wait_idle(page)
    open_by_click(page, lab)
    assert diff_fraction(opened, canvas_shot(page)) < 0.01


def test_click_on_a_map_selects_it(page, lab):
    open_by_click(page, lab)
    t0 = time.time()
    click_canvas(page, page.points["map3"])
    event = lab.wait_event(page, "select", after=t0, timeout=20)
    assert (event["layer"], event["channel"], event["input_channel"]) == ("dw", 3, 1)
    assert (event["row"], event["col"]) == (2, 9)
    assert event["min"] <= event["value"] <= event["max"]
    # The arithmetic inspector opens beside the scene, and the window is outlined on the input.
    panel = page.locator(".widget-html-content", has_text="kernel[:, :, 1, 1]")
    panel.wait_for(timeout=20_000)
    assert "standard conv" in panel.inner_text()
    wait_idle(page)
    page.locator(".jp-OutputArea-output").first.screenshot(path=str(ARTIFACTS / "lab-8-inspector.png"))
    # Beside the scene when the cell is wide enough, else below it at full width with the window,
    # kernel and products side by side, never a narrow column of wrapped lines.
    canvas, box = canvas_box(page), panel.bounding_box()
    beside = box["x"] >= canvas["x"] + canvas["width"] - 1 and box["y"] < canvas["y"] + canvas["height"]
    assert beside or (box["y"] >= canvas["y"] + canvas["height"] - 1 and box["width"] >= 0.95 * canvas["width"]), box
    tables = [t.bounding_box() for t in panel.locator("table").all()[:3]]
    if box["width"] >= 500:
        assert len({round(t["y"]) for t in tables}) == 1, tables


def test_hover_outlines_the_map_and_says_where_it_comes_from(page, lab):
    open_by_click(page, lab)
    box = canvas_box(page)
    x, y = page.points["map3"]
    page.mouse.move(box["x"] + x - 3, box["y"] + y - 3)
    page.mouse.move(box["x"] + x, box["y"] + y)
    caption = page.locator(".tsp-caption").first
    page.wait_for_function("() => document.querySelector('.tsp-caption').textContent.includes('map 3')",
                           timeout=10_000)
    assert "from image channel 1" in caption.inner_text()
    view_shot(page, "lab-9-hover.png")
    # The map itself is brightened through its material's hover uniform (Python's rectangle).
    np.testing.assert_allclose(hover_uniform(page, "dw"), page.points["hover3"], atol=1e-9)
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.wait_for_function("() => document.querySelector('.tsp-caption').textContent === ''", timeout=10_000)
    assert hover_uniform(page, "dw")[0] > hover_uniform(page, "dw")[2], "the hover stays lit"


def hover_uniform(page, name):
    return controller(page, f"""const i = c.plan.nodes.findIndex(n => n.name === '{name}');
        const v = c.meshModels[i].obj.material.uniforms.hover.value;
        return v.toArray ? v.toArray() : Array.from(v);""")


def test_whole_model_button_eases_back(page, lab):
    open_by_click(page, lab)
    home = page.locator(".tsp-home").first
    assert home.is_visible()
    home.click()
    wait_idle(page)
    assert controller(page, "return c.model.get('focus');") is None
    rects = controller(page, "return c.screenRects();")
    assert all(0 <= r[0] and r[2] <= 800 and 0 <= r[1] and r[3] <= 600 for r in rects.values())
    view_shot(page, "lab-10-whole-model-with-dw-open.png")


def test_hundred_rapid_toggles_end_consistent(page, lab):
    first = canvas_shot(page)
    t0 = time.time()
    run_cell(page, 2)
    event = lab.wait_event(page, "ran", after=t0, timeout=60, where=lambda e: e["cell"] == "toggles")
    assert event["status"] == "close" and event["layer_status"]["dw"] == "close"
    page.locator(".jp-OutputArea canvas").first.scroll_into_view_if_needed()
    wait_status(page, "dw", "close")
    wait_idle(page)
    shot = canvas_shot(page)
    save(shot, "lab-6-after-100-toggles.png")
    assert diff_fraction(shot, first) < 0.01


def test_drag_orbits_and_is_not_a_click(page, lab):
    box = canvas_box(page)
    x, y = box["x"] + page.points["closed"][0], box["y"] + page.points["closed"][1]
    before = canvas_shot(page)
    t0 = time.time()
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + 15 * step, y + 4 * step)
    page.mouse.up()
    page.wait_for_function(f"() => {SHOWN}.every(c => c.model.get('camera_moved'))", timeout=10_000)
    after = canvas_shot(page)
    save(after, "lab-7-after-drag.png")
    assert diff_fraction(before, after) > 0.01, "the drag did not orbit the camera"
    assert not [e for e in lab.read_events() if e["kind"] == "status" and e["t"] >= t0]


def kernels_scale(page):
    return controller(page, """const i = c.plan.nodes.findIndex(n => n.name === 'dw');
        const k = c.meshModels[i].obj.children.find(ch => ch.name === 'kernels');
        return k ? k.scale.x : null;""")


def test_kernels_open_and_close_with_their_layer(page, lab):
    t0 = time.time()
    run_cell(page, 3)
    ran = lab.wait_event(page, "ran", after=t0, timeout=60, where=lambda e: e["cell"] == "kernels")
    wait_status(page, "dw", "open")
    page.wait_for_function(f"() => {SHOWN}.some(c => c.meshModels.some(m => "
                           "m.obj.children.some(ch => ch.name === 'kernels')))", timeout=30_000)
    canvas_box(page)
    wait_idle(page)
    assert kernels_scale(page) == pytest.approx(1.0)
    view_shot(page, "lab-11-kernels.png")
    rects = controller(page, "return c.screenRects();")  # the grid, kernels included, framed whole
    x0, y0, x1, y1 = rects["dw"]
    assert x0 >= 0 and y0 >= 0 and x1 <= 800 and y1 <= 600, rects["dw"]
    assert not overlap(rects["dw"], rects["pw"]) and not overlap(rects["dw"], rects["image"])
    click_canvas(page, ran["button"])
    wait_status(page, "dw", "close")
    wait_idle(page)
    assert kernels_scale(page) < 1e-3

"""Real models in JupyterLab 4: the shipped MobileNet file and a MobileNetV2 file (residual Adds).

For each: the default view shows every layer with labels off the maps; a click opens a depthwise
layer, the camera frames its grid (inside the canvas, most of its width or height) and nothing else
overlaps it; the close button closes it and the camera comes back; the widest layer opened from
Python fits the viewport. Screenshots go to tests/artifacts/browser/lab-<model>-*.png.
"""

import time

import pytest

from .harness import (
    ARTIFACTS,
    controller,
    diff_fraction,
    lit_fraction,
    new_page,
    open_notebook,
    our_console,
    run_cell,
    save,
    wait_idle,
    wait_status,
    write_notebook,
)
from .test_lab import canvas_box, canvas_shot, label_rects, overlap

pytestmark = pytest.mark.browser

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
MODELS = {  # model file, the depthwise layer a user clicks, the widest layer
    "v1": (ROOT / "notebooks/models/mobilenet_v1_alpha025_96.keras", "conv_dw_2", "conv_pw_13"),
    "v2": (ROOT / "tests/fixtures/models/mobilenet_v2.keras", "block_2_depthwise", "Conv_1"),
}
W, H = 800, 500

SETUP = '''
import json, os, time
import numpy as np
import tspwidget as tsp

def log(kind, **kw):
    with open(os.environ["TSP_EVENTS"], "a") as f:
        f.write(json.dumps(dict(kind=kind, t=time.time(), **kw)) + "\\n")

model = tsp.load({path!r})
x = np.random.default_rng(0).uniform(-1, 1, model.inputs[0].shape).astype(np.float32)
model.predict(x)
target, widest = model.get_layer({target!r}), model.get_layer({widest!r})
for layer in (target, widest):
    layer.add_observer(lambda l, attr, old, new: log("status", layer=l.name, new=new)
                       if attr == "status" else None)
view = model.show(width={W}, height={H})
sc = view.scene
lay = sc.layers[target.name].layout
OPEN = {{target.name: "open"}}
log("displayed", closed=sc.screen_point(target.name, 0, 0),
    button=sc.screen_point(target.name, *lay.button[:2], status=OPEN, focus=target.name),
    names=list(sc.layers))
view
'''
OPEN_WIDEST = 'widest.open_layer()\nlog("ran", cell="open")'
CLOSE_WIDEST = 'widest.close_layer()\nlog("ran", cell="close")'


@pytest.fixture(scope="module", params=sorted(MODELS))
def page(request, lab, browser):
    key = request.param
    path, target, widest = MODELS[key]
    notebook = f"model_{key}.ipynb"
    setup = SETUP.format(path=str(path), target=target, widest=widest, W=W, H=H)
    write_notebook(lab.root / notebook, [setup, OPEN_WIDEST, CLOSE_WIDEST])
    page = new_page(browser)
    open_notebook(page, lab, notebook)
    t0 = time.time()
    run_cell(page, 0)
    page.points = lab.wait_event(page, "displayed", after=t0, timeout=180)
    page.key, page.target, page.widest = key, target, widest
    page.shots = {}
    page.locator(".jp-OutputArea canvas").first.wait_for(timeout=60_000)
    yield page
    page.context.close()


def shoot(page, name):
    page.locator(".tsp-view").first.screenshot(path=str(ARTIFACTS / f"lab-{page.key}-{name}.png"))


def assert_framed(page, name):
    """The layer's grid lies inside the canvas, covers a good part of it, and overlaps nothing."""
    rects = controller(page, "return c.screenRects();")
    x0, y0, x1, y1 = rects[name]
    assert x0 >= -1 and y0 >= -1 and x1 <= W + 1 and y1 <= H + 1, (name, rects[name])
    assert (x1 - x0) / W > 0.6 or (y1 - y0) / H > 0.6, (name, rects[name])
    others = [n for n in rects if n != name and overlap(rects[name], rects[n])]
    assert not others, (name, rects[name], {n: rects[n] for n in others})


def test_the_whole_model_is_drawn_with_labels_off_the_maps(page):
    canvas_box(page)
    wait_idle(page, timeout=60_000)
    shot = canvas_shot(page)
    page.shots["closed"] = shot
    shoot(page, "1-closed")
    assert lit_fraction(shot) > 0.02, "the canvas is blank"
    rects = controller(page, "return c.screenRects();")
    assert sorted(rects) == sorted(page.points["names"])
    for name, r in rects.items():  # every layer inside the canvas
        assert r[0] >= -1 and r[1] >= -1 and r[2] <= W + 1 and r[3] <= H + 1, (name, r)
    names = sorted(rects)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not overlap(rects[a], rects[b]), (a, rects[a], b, rects[b])
    box = canvas_box(page)
    labels = label_rects(page)
    assert labels and min(label[5] for label in labels) >= 11
    for name, x0, y0, x1, y1, _ in labels:
        rect = (x0 - box["x"], y0 - box["y"], x1 - box["x"], y1 - box["y"])
        assert not any(overlap(rect, m) for m in rects.values()), (name, rect)
        assert not any(overlap((x0, y0, x1, y1), o[1:5]) for o in labels if o[0] != name), name


def click_target(page, lab, point, expect):
    """Click a canvas point; the target layer's status in Python becomes ``expect``; then wait
    for the browser's animations to end."""
    box = canvas_box(page)
    t0 = time.time()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    event = lab.wait_event(page, "status", after=t0, timeout=30, where=lambda e: e["layer"] == page.target)
    assert event["new"] == expect
    wait_idle(page)


def test_click_opens_the_depthwise_layer_and_the_camera_frames_it(page, lab):
    click_target(page, lab, page.points["closed"], "open")
    opened = canvas_shot(page)
    save(opened, f"lab-{page.key}-2-open-canvas.png")
    shoot(page, "2-open")
    assert diff_fraction(page.shots["closed"], opened) > 0.05
    assert_framed(page, page.target)
    assert controller(page, "return c.model.get('focus');") == page.target


def test_close_button_closes_and_the_camera_comes_back(page, lab):
    click_target(page, lab, page.points["button"], "close")
    closed = canvas_shot(page)
    shoot(page, "3-closed-again")
    assert diff_fraction(closed, page.shots["closed"]) < 0.01
    assert controller(page, "return c.model.get('focus');") is None


def test_the_widest_layer_opened_from_python_fits_the_viewport(page, lab):
    t0 = time.time()
    run_cell(page, 1)
    event = lab.wait_event(page, "status", after=t0, timeout=60, where=lambda e: e["layer"] == page.widest)
    assert event["new"] == "open"
    wait_status(page, page.widest, "open", timeout=60_000)
    canvas_box(page)
    wait_idle(page, timeout=60_000)
    shoot(page, "4-widest-open")
    assert_framed(page, page.widest)
    t0 = time.time()
    run_cell(page, 2)
    lab.wait_event(page, "status", after=t0, timeout=60, where=lambda e: e["layer"] == page.widest)
    wait_status(page, page.widest, "close", timeout=60_000)
    canvas_box(page)
    wait_idle(page, timeout=60_000)
    assert diff_fraction(canvas_shot(page), page.shots["closed"]) < 0.01


def test_no_errors_in_the_page(page):
    ours = our_console(page)  # errors and warnings, texture ones included
    assert not ours, ours

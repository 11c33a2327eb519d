"""Real models in JupyterLab 4: the shipped MobileNet file and a MobileNetV2 file (residual Adds).

For each: the default view shows every layer with labels off the maps; a click opens a depthwise
layer, the camera frames its grid (inside the canvas, most of its width or height) and nothing else
overlaps it; the close button closes it and the camera comes back; the widest layer opened from
Python fits the viewport. Screenshots go to tests/artifacts/browser/lab-<model>-*.png.

One notebook page (and kernel) per model loads the file once; every test starts from a view of its
own (every layer closed, a new ``model.show()``), waits on conditions only, and ends with no new
console error or warning.
"""

import time

import pytest

from .harness import (
    ARTIFACTS,
    console_clean,
    controller,
    diff_fraction,
    lit_fraction,
    new_page,
    open_notebook,
    run_cell,
    save,
    show_fresh,
    wait_idle,
    wait_status,
    write_notebook,
)
from .test_lab import assert_legible, canvas_box, canvas_shot, overlap

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
log("loaded")
'''
SHOW = '''
for layer in model.layers:  # a test may have left a layer open
    layer.close_layer()
view = model.show(width={W}, height={H})
sc = view.scene
lay = sc.layers[target.name].layout
OPEN = {{target.name: "open"}}
log("displayed", closed=sc.screen_point(target.name, 0, 0),
    button=sc.screen_point(target.name, *lay.button[:2], status=OPEN, focus=target.name),
    names=list(sc.layers), uid=view.controller.uid)
view
'''
OPEN_WIDEST = 'widest.open_layer()\nlog("ran", cell="open")'
CLOSE_WIDEST = 'widest.close_layer()\nlog("ran", cell="close")'


@pytest.fixture(scope="module", params=sorted(MODELS))
def notebook(request, lab, browser):
    """model_<key>.ipynb open, the model file loaded in its kernel: no view yet."""
    key = request.param
    path, target, widest = MODELS[key]
    name = f"model_{key}.ipynb"
    write_notebook(lab.root / name, [SETUP.format(path=str(path), target=target, widest=widest),
                                     SHOW.format(W=W, H=H), OPEN_WIDEST, CLOSE_WIDEST])
    page = new_page(browser)
    open_notebook(page, lab, name)
    t0 = time.time()
    run_cell(page, 0)
    lab.wait_event(page, "loaded", after=t0, timeout=180)
    page.key, page.target, page.widest = key, target, widest
    yield page
    page.context.close()


@pytest.fixture
def page(notebook, lab):
    """A fresh view of the model, every layer closed, drawn and idle; ``page.points`` are its
    screen points from Python."""
    with console_clean(notebook):
        notebook.points = show_fresh(notebook, lab, 1)
        yield notebook


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
    shot = canvas_shot(page)
    shoot(page, "1-closed")
    assert lit_fraction(shot) > 0.02, "the canvas is blank"
    assert_legible(page, page.points["names"], W, H)


def click_target(page, lab, point, expect):
    """Click a canvas point; the target layer's status in Python becomes ``expect``; then wait
    for the browser to have it and for its animations to end."""
    box = canvas_box(page)
    t0 = time.time()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    event = lab.wait_event(page, "status", after=t0, timeout=30, where=lambda e: e["layer"] == page.target)
    assert event["new"] == expect
    wait_status(page, page.target, expect)
    wait_idle(page)


def test_a_click_opens_the_depthwise_layer_the_camera_frames_it_and_the_x_closes_it(page, lab):
    closed = canvas_shot(page)
    click_target(page, lab, page.points["closed"], "open")
    opened = canvas_shot(page)
    save(opened, f"lab-{page.key}-2-open-canvas.png")
    shoot(page, "2-open")
    assert diff_fraction(closed, opened) > 0.05
    assert_framed(page, page.target)
    assert controller(page, "return c.model.get('focus');") == page.target
    click_target(page, lab, page.points["button"], "close")
    shoot(page, "3-closed-again")
    assert diff_fraction(canvas_shot(page), closed) < 0.01
    assert controller(page, "return c.model.get('focus');") is None


def test_the_widest_layer_opened_from_python_fits_the_viewport(page, lab):
    closed = canvas_shot(page)
    for cell, status in ((2, "open"), (3, "close")):
        t0 = time.time()
        run_cell(page, cell)
        event = lab.wait_event(page, "status", after=t0, timeout=60, where=lambda e: e["layer"] == page.widest)
        assert event["new"] == status
        wait_status(page, page.widest, status, timeout=60_000)
        canvas_box(page)
        wait_idle(page, timeout=60_000)
        if status == "open":
            shoot(page, "4-widest-open")
            assert_framed(page, page.widest)
    assert diff_fraction(canvas_shot(page), closed) < 0.01

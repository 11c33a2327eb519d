"""The drawing pad and the training timeline in JupyterLab 4, in headless Chromium.

A stroke drawn with the mouse on the pad reaches Python as one buffer; the test then recomputes
everything independently in this process from the pixels the kernel received (a fresh digits
model, a fresh view for the expected texture bytes) and compares it with what the page shows: the
chart's bars, the depthwise layer's atlas in three.js, and the canvas pixels. Then the epoch
slider is moved with the keyboard and the same checks run against checkpoint 0. Every Lab test
starts from a pad and view of its own (cell 0 run again) and ends with no new console error.
Screenshots: tests/artifacts/browser/pad-*.png.
"""

import time

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.datasets import DIGITS_EPOCHS

from .harness import (
    ARTIFACTS,
    JupyterServer,
    console_clean,
    controller,
    diff_fraction,
    image,
    new_page,
    next_frames,
    open_notebook,
    run_cell,
    save,
    show_fresh,
    voila_server,
    wait_idle,
    write_notebook,
)

pytestmark = pytest.mark.browser

SETUP = '''
import json, os, time
import numpy as np
import ipywidgets as widgets
import tspwidget as tsp
from tspwidget.datasets import DIGITS_EPOCHS

def log(kind, **kw):
    with open(os.environ["TSP_EVENTS"], "a") as f:
        f.write(json.dumps(dict(kind=kind, t=time.time(), **kw)) + "\\n")

timeline = None  # cell 1 makes one; a re-run of this cell starts without
model = tsp.datasets.digits_model()
view = model.show(width=520, height=420)
pad = view.drawing_pad()

def report(kind):
    dw = model.get_layer("dw_filters").neural_value
    log(kind, stroke=pad.stroke, pixels=pad.image.reshape(-1).tolist(), probabilities=pad.probabilities,
        dw_first=dw[..., 0].reshape(-1).tolist(), dw_sum=float(dw.sum()),
        epoch=timeline.epoch if timeline else None, seconds=pad.timings[-1][1] if pad.timings else None)

pad.on_msg(lambda w, content, buffers: report("stroke") if content.get("event") == "stroke" else None)
log("displayed", names=list(view.scene.layers), uid=view.controller.uid)
widgets.HBox([pad, view])
'''
TIMELINE = '''
timeline = view.timeline(tsp.datasets.digits_checkpoints(), epochs=DIGITS_EPOCHS)
timeline.slider.observe(lambda change: report("epoch"), "index")
log("timeline", epoch=timeline.epoch)
timeline
'''
# A 7 in the pad's 28x28 grid: the top bar, then the diagonal down.
SEVEN = [(8, 6), (20, 6), (12, 23)]


@pytest.fixture(scope="module")
def notebook(lab, browser):
    """pad.ipynb open, its kernel started: no pad yet (each test displays its own)."""
    write_notebook(lab.root / "pad.ipynb", [SETUP, TIMELINE])
    page = new_page(browser)
    open_notebook(page, lab, "pad.ipynb")
    yield page
    page.context.close()


@pytest.fixture
def page(notebook, lab):
    """A fresh pad and view (cell 0 run again), drawn and idle."""
    with console_clean(notebook):
        notebook.names = show_fresh(notebook, lab, 0)["names"]
        notebook.locator(".tsp-pad canvas").first.wait_for(timeout=60_000)
        yield notebook


def scene_shot(page):
    canvases = page.locator(".jp-OutputArea canvas")
    return image(canvases.nth(canvases.count() - 1).screenshot())  # the 3D canvas (the pad's is first)


def changed(a, b):
    """Share of pixels that differ, on the common size (a canvas may land a subpixel further)."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return diff_fraction(a[:h, :w], b[:h, :w])


def output_shot(page, name):
    out = page.locator(".jp-OutputArea-output").first
    out.scroll_into_view_if_needed()
    out.screenshot(path=str(ARTIFACTS / name))


def atlas(page, layer):
    """The bytes three.js samples for ``layer``'s maps, read from the material in the page."""
    return np.array(controller(page, f"""const i = c.plan.nodes.findIndex(n => n.name === '{layer}');
        return Array.from(c.meshModels[i].obj.material.uniforms.atlas.value.image.data);"""), np.uint8)


def chart(page):
    return page.evaluate("""() => Array.from(document.querySelectorAll('.tsp-pad-bar'))
        .map(b => b.dataset.value === '' || b.dataset.value === undefined ? null : parseFloat(b.dataset.value))""")


def expected_atlas(model, x, layer):
    view = model.show()
    model.predict(x, fuse=False)  # as the pad predicts: every layer its own, bit for bit
    data = view.scene.layers[layer].texture.data.reshape(-1).copy()
    view.close()
    return data


def wait_atlas(page, layer, expected, timeout=20):
    deadline = time.time() + timeout
    while True:
        got = atlas(page, layer)
        if got.shape == expected.shape and np.array_equal(got, expected):
            return got
        if time.time() > deadline:
            mismatch = np.mean(got != expected) if got.shape == expected.shape else got.shape
            raise AssertionError(f"{layer}'s atlas in the page never matched: {mismatch}")
        page.wait_for_timeout(200)


def draw_seven(page, box):
    """Drag the mouse along SEVEN over the pad's canvas (``box``); returns when the button went up."""
    to_px = lambda p: (box["x"] + p[0] * box["width"] / 28, box["y"] + p[1] * box["height"] / 28)
    page.mouse.move(*to_px(SEVEN[0]))
    page.mouse.down()
    for a, b in zip(SEVEN, SEVEN[1:]):
        for k in range(1, 13):
            page.mouse.move(*to_px((a[0] + (b[0] - a[0]) * k / 12, a[1] + (b[1] - a[1]) * k / 12)))
            page.wait_for_timeout(8)
    t_up = time.time()
    page.mouse.up()
    return t_up


def draw_a_seven(page, lab, shots=True):
    """Draw SEVEN on a fresh pad and check what the kernel and the page show against an
    independent recomputation; returns (pixels, model input, probabilities, scene after)."""
    assert all(v is None for v in chart(page))  # blank: no bars yet
    before_scene, before_atlas = scene_shot(page), atlas(page, "dw_filters")
    if shots:
        output_shot(page, "pad-1-blank.png")
    pad = page.locator(".tsp-pad canvas").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()  # after the screenshots: they may scroll the page
    assert abs(box["width"] - 280) < 1 and abs(box["height"] - 280) < 1
    t0 = time.time()
    t_up = draw_seven(page, box)
    event = lab.wait_event(page, "stroke", after=t0, timeout=30)
    strokes = [e for e in lab.read_events() if e["kind"] == "stroke" and e["t"] >= t0]
    assert len(strokes) == 1, "one message per stroke, none while drawing"
    pixels = np.array(event["pixels"], np.uint8).reshape(28, 28)
    save(np.repeat(np.repeat(np.stack([pixels] * 3, -1), 10, 0), 10, 1), "pad-received-28x28.png")
    # The picture is the stroke: ink along the path, none far from it.
    assert pixels[6, 14] == 255 and pixels[14, 16] > 200 and pixels[23, 3] == 0 and pixels[27, 27] == 0
    assert 80 < (pixels > 127).sum() < 250
    # Independent: a fresh model in this process on the bytes the kernel received.
    ref = tsp.datasets.digits_model()
    x = pixels[..., None].astype(np.float32) / 255
    expected = ref.predict(x)
    assert int(np.argmax(expected)) == 7
    np.testing.assert_allclose(event["probabilities"], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(event["dw_first"], ref.get_layer("dw_filters").neural_value[..., 0].reshape(-1),
                               rtol=1e-5, atol=1e-6)
    # The page: the chart's bars and the depthwise layer's atlas.
    page.wait_for_function("() => document.querySelector('.tsp-pad-bar').dataset.value !== ''", timeout=20_000)
    np.testing.assert_allclose(chart(page), expected, rtol=1e-5, atol=1e-7)
    best = page.locator(".tsp-pad-bar.tsp-best")
    assert best.count() == 1 and abs(float(best.get_attribute("data-value")) - expected.max()) < 1e-6
    assert "The model says 7" in page.locator(".tsp-pad-caption").inner_text()
    got = wait_atlas(page, "dw_filters", expected_atlas(tsp.datasets.digits_model(), x, "dw_filters"))
    assert not np.array_equal(got, before_atlas)
    wait_idle(page)
    next_frames(page)  # the new atlas is on screen
    after = scene_shot(page)
    if shots:
        save(after, "pad-2-seven-scene.png")
        output_shot(page, "pad-2-seven.png")
    assert changed(before_scene, after) > 0.003, "the maps did not change on screen"
    print(f"stroke end -> kernel logged: {event['t'] - t_up:.3f} s wall; Python {event['seconds'] * 1e3:.1f} ms")
    return pixels, x, expected, after


def test_drawing_a_seven_updates_chart_and_maps_from_one_buffer(page, lab):
    draw_a_seven(page, lab)




def test_the_epoch_slider_swaps_weights_and_the_maps_change(page, lab):
    pixels, x, final, before = draw_a_seven(page, lab, shots=False)
    t0 = time.time()
    run_cell(page, 1)
    lab.wait_event(page, "timeline", after=t0, timeout=60)
    handle = page.locator(".tsp-timeline .noUi-handle").first
    handle.wait_for(timeout=20_000)
    handle.scroll_into_view_if_needed()
    t1 = time.time()
    handle.focus()
    for epoch in DIGITS_EPOCHS[-2::-1]:  # one key press per step, each step's swap waited for
        page.keyboard.press("ArrowLeft")
        event = lab.wait_event(page, "epoch", after=t1, timeout=30, where=lambda e, epoch=epoch: e["epoch"] == epoch)
    assert event["epoch"] == 0
    ckpt = tsp.datasets.digits_checkpoints()[0]
    expected = ckpt.predict(x)  # independent: checkpoint 0 on the same drawn input
    np.testing.assert_array_equal(np.array(event["pixels"], np.uint8).reshape(28, 28), pixels)
    np.testing.assert_allclose(event["probabilities"], expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(expected, final, atol=1e-3)
    page.wait_for_function("(p) => Math.abs(parseFloat(document.querySelector('.tsp-pad-bar')"
                           ".dataset.value) - p) < 1e-6",
                           arg=float(expected[0]), timeout=20_000)
    np.testing.assert_allclose(chart(page), expected, rtol=1e-5, atol=1e-7)
    wait_atlas(page, "dw_filters", expected_atlas(tsp.datasets.digits_checkpoints()[0], x, "dw_filters"))
    next_frames(page)
    after = scene_shot(page)
    save(after, "pad-3-epoch0-scene.png")
    output_shot(page, "pad-3-epoch0.png")
    page.locator(".tsp-timeline").first.screenshot(path=str(ARTIFACTS / "pad-3-timeline.png"))
    assert changed(before, after) > 0.003, "moving the slider did not change the maps on screen"
    assert "epoch 0" in page.locator(".tsp-timeline").first.inner_text()
    # The play button steps the slider (linked in the browser), each step a swap in Python.
    t2 = time.time()
    page.locator(".tsp-timeline .widget-play button").first.click()  # play
    event = lab.wait_event(page, "epoch", after=t2, timeout=30, where=lambda e: e["epoch"] == 1)
    page.locator(".tsp-timeline .widget-play button").nth(1).click()  # pause
    np.testing.assert_allclose(event["probabilities"], tsp.datasets.digits_checkpoints()[1].predict(x),
                               rtol=1e-5, atol=1e-7)


def test_clear_blanks_the_pad_and_the_chart(page, lab):
    draw_a_seven(page, lab, shots=False)
    page.locator(".tsp-pad-clear").first.click()
    page.wait_for_function("() => document.querySelector('.tsp-pad-bar').dataset.value === ''", timeout=20_000)
    assert all(v is None for v in chart(page))
    blank = page.evaluate("""() => { const c = document.querySelector('.tsp-pad canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let i = 0; i < d.length; i += 4) lit += d[i] > 0; return lit; }""")
    assert blank == 0


def test_a_touch_stroke_draws_too(page, lab):
    """Real touch input (Chromium's CDP touch events become pointer events of type "touch")."""
    pad = page.locator(".tsp-pad canvas").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    point = lambda col, row: {"x": box["x"] + col * 10, "y": box["y"] + row * 10}
    t0 = time.time()
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point(14, 4)]})
    for row in range(5, 25):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point(14, row)]})
        page.wait_for_timeout(10)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    event = lab.wait_event(page, "stroke", after=t0, timeout=30)
    pixels = np.array(event["pixels"], np.uint8).reshape(28, 28)
    assert pixels[4:25, 14].min() == 255 and pixels[:, :10].max() == 0 and pixels[:, 19:].max() == 0
    # The brush's rule (solid within 1.3 px of the path, fading to 0 one pixel further): a line at
    # x = 14 covers pixel centres 13.5 and 14.5 fully and 12.5, 15.5 (1.5 px away) at 0.8 = 204.
    np.testing.assert_allclose(pixels[10:20, 11:17], np.tile([0, 204, 255, 255, 204, 0], (10, 1)), atol=8)
    x = pixels[..., None].astype(np.float32) / 255
    assert int(np.argmax(tsp.datasets.digits_model().predict(x))) == 1  # a vertical bar is a 1
    expected = tsp.datasets.digits_model().predict(x)  # no timeline: the trained weights
    assert event["epoch"] is None
    np.testing.assert_allclose(event["probabilities"], expected, rtol=1e-5, atol=1e-7)
    page.wait_for_function("(p) => Math.abs(parseFloat(document.querySelectorAll('.tsp-pad-bar')[1]"
                           ".dataset.value) - p) < 1e-6",
                           arg=float(expected[1]), timeout=20_000)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})
    output_shot(page, "pad-4-touch.png")


def test_the_pad_works_in_notebook7(notebook7, browser):
    write_notebook(notebook7.root / "pad.ipynb", [SETUP, TIMELINE])
    page = new_page(browser)
    try:
        open_notebook(page, notebook7, "pad.ipynb")
        run_cell(page, 0)
        notebook7.wait_event(page, "displayed", timeout=120)
        pad = page.locator(".tsp-pad canvas").first
        pad.wait_for(timeout=60_000)
        pad.scroll_into_view_if_needed()
        wait_idle(page)
        t0 = time.time()
        draw_seven(page, pad.bounding_box())
        event = notebook7.wait_event(page, "stroke", after=t0, timeout=30)
        pixels = np.array(event["pixels"], np.uint8).reshape(28, 28)
        expected = tsp.datasets.digits_model().predict(pixels[..., None].astype(np.float32) / 255)
        np.testing.assert_allclose(event["probabilities"], expected, rtol=1e-5, atol=1e-7)
        page.wait_for_function("() => document.querySelector('.tsp-pad-bar').dataset.value !== ''",
                               timeout=20_000)
        np.testing.assert_allclose(chart(page), expected, rtol=1e-5, atol=1e-7)
        page.locator(".jp-OutputArea-output").first.screenshot(path=str(ARTIFACTS / "pad-nb7.png"))
        ours = [e for e in page.errors
                if "lumino" not in e.lower() and "ReadPixels" not in e and "'schema'" not in e]
        assert not ours, ours
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def voila_pad(tmp_path_factory):
    """Voila serving a notebook of SETUP alone; its kernel logs to TSP_EVENTS like Lab's."""
    home = tmp_path_factory.mktemp("voila-pad")
    write_notebook(home / "pad.ipynb", [SETUP])
    events = home / "events.jsonl"
    with voila_server(home / "pad.ipynb", home, TSP_EVENTS=str(events)) as url:
        server = JupyterServer.__new__(JupyterServer)  # only its event reading
        server.events = events
        yield url, server


def test_the_pad_works_in_voila(voila_pad, browser):
    url, events = voila_pad
    page = new_page(browser)
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=120_000)
        pad = page.locator(".tsp-pad canvas").first
        pad.wait_for(timeout=120_000)
        scene = page.locator("canvas").nth(1)
        scene.wait_for(timeout=60_000)
        wait_idle(page, timeout=60_000)
        before = image(scene.screenshot())
        pad.scroll_into_view_if_needed()
        t0 = time.time()
        draw_seven(page, pad.bounding_box())
        event = events.wait_event(page, "stroke", after=t0, timeout=30)
        pixels = np.array(event["pixels"], np.uint8).reshape(28, 28)
        expected = tsp.datasets.digits_model().predict(pixels[..., None].astype(np.float32) / 255)
        np.testing.assert_allclose(event["probabilities"], expected, rtol=1e-5, atol=1e-7)
        page.wait_for_function("() => document.querySelector('.tsp-pad-bar').dataset.value !== ''",
                               timeout=20_000)
        np.testing.assert_allclose(chart(page), expected, rtol=1e-5, atol=1e-7)
        deadline = time.time() + 20  # the new maps reach the page with (or just after) the chart
        while changed(before, after := image(scene.screenshot())) <= 0.003 and time.time() < deadline:
            next_frames(page)
        page.screenshot(path=str(ARTIFACTS / "pad-voila.png"))
        assert changed(before, after) > 0.003, "the maps did not change on screen"
        ours = [e for e in page.errors if "lumino" not in e.lower() and "ReadPixels" not in e
                and "Unsatisfied version" not in e and "RUNTIME-012" not in e
                and not (page.blocked and "net::ERR_FAILED" in e)
                and not any(u[:100] in e for u in page.blocked)]
        assert not ours, ours
    finally:
        page.context.close()

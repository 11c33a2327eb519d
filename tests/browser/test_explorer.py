"""The what-if explorer in JupyterLab: moving a slider re-runs the op and the maps re-flow (a new
output shape: the new grid grows out of the old one, eased), opening with their animation once the
new view is in the page."""

import time

import numpy as np
import pytest

from .harness import (
    diff_fraction,
    image,
    new_page,
    open_notebook,
    our_console,
    run_cell,
    save,
    wait_idle,
    wait_status,
    write_notebook,
)

pytestmark = pytest.mark.browser
POSE = ("() => { const c = globalThis.__tspFirst; "
        "return c.cameraModel.obj.position.toArray().concat(c.orbitModel.obj.target.toArray()); }")

SETUP = """
import json, os, time
import numpy as np
import tspwidget as tsp

def log(kind, **kw):
    with open(os.environ["TSP_EVENTS"], "a") as f:
        f.write(json.dumps(dict(kind=kind, t=time.time(), **kw)) + "\\n")

x = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
explorer = tsp.DepthwiseExplorer(x, width=700, height=450)
explorer.controls["stride_cols"].observe(lambda ch: log("slider", value=ch["new"]), "value")
log("shown")
explorer
"""
REPORT = ('dw = explorer.view.model.get_layer("depthwise")\n'
          'log("state", shape=dw.output_shape, status=dw.status)')


@pytest.fixture(scope="module")
def lab_explorer(lab):
    write_notebook(lab.root / "explorer.ipynb", [SETUP, REPORT])
    return lab


def test_slider_reruns_and_reflows(lab_explorer, browser):
    lab = lab_explorer
    page = new_page(browser)
    try:
        open_notebook(page, lab, "explorer.ipynb")
        run_cell(page, 0)
        lab.wait_event(page, "shown", timeout=120)
        canvas = page.locator(".jp-OutputArea canvas").first
        canvas.wait_for(timeout=60_000)
        canvas.scroll_into_view_if_needed()
        wait_status(page, "depthwise", "open")  # opened once the browser said it was ready
        wait_idle(page)
        page.evaluate("() => { globalThis.__tspFirst = [...globalThis.__tspLive][0]; "
                      "globalThis.__tspFirstMesh = globalThis.__tspFirst.meshModels[1]; }")
        before = image(canvas.screenshot())
        t0 = time.time()
        handle = page.locator(".widget-slider", has_text="stride (cols)").locator(".noUi-handle")
        handle.focus()
        page.keyboard.press("ArrowRight")
        event = lab.wait_event(page, "slider", after=t0, timeout=20)
        assert event["value"] == 2
        # The same view, re-laid out for the new shape: new meshes under the same controller,
        # which grow out of the old ones: the new depthwise grid starts at the old grid's width
        # (twice its own: a mesh scale near 2, polled every frame) and eases to its own.
        page.wait_for_function("() => { const c = globalThis.__tspFirst, o = c.meshModels[1].obj; "
                               "return c.meshModels[1] !== globalThis.__tspFirstMesh && !!o && "
                               "c.model.get('status').depthwise === 'open' && o.scale.x > 1.2; }",
                               polling="raf", timeout=30_000)
        save(image(canvas.screenshot()), "explorer-reshaping.png")
        wait_idle(page)
        scale = page.evaluate("() => globalThis.__tspFirst.meshModels.map(m => m.obj.scale.toArray())")
        assert scale == [[1, 1, 1], [1, 1, 1]]
        assert page.evaluate("() => globalThis.__tspLive.size") == 1  # no second view or renderer
        canvas = page.locator(".jp-OutputArea canvas").first
        after = image(canvas.screenshot())
        save(after, "explorer-after-slider.png")
        assert diff_fraction(before, after) > 0.01
        t1 = time.time()
        run_cell(page, 1)
        state = lab.wait_event(page, "state", after=t1, timeout=30)
        assert state["shape"] == [16, 8, 6] and state["status"] == "open"
        # A camera the user moved stays where they put it through the next reshape.
        box = canvas.bounding_box()
        x, y = box["x"] + 20, box["y"] + box["height"] - 20
        page.mouse.move(x, y)
        page.mouse.down()
        for k in range(1, 9):
            page.mouse.move(x + 12 * k, y - 3 * k)
        page.mouse.up()
        page.wait_for_function("() => globalThis.__tspFirst.model.get('camera_moved')", timeout=10_000)
        wait_idle(page)
        moved = page.evaluate(POSE)
        page.evaluate("() => { globalThis.__tspFirstMesh = globalThis.__tspFirst.meshModels[1]; }")
        rows = page.locator(".widget-slider", has_text="stride (rows)").locator(".noUi-handle")
        rows.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => globalThis.__tspFirst.meshModels[1] !== globalThis.__tspFirstMesh && "
                               "!!globalThis.__tspFirst.meshModels[1].obj", timeout=30_000)
        wait_idle(page)
        np.testing.assert_allclose(page.evaluate(POSE), moved, atol=1e-6)
        ours = our_console(page)
        assert not ours, ours
    finally:
        page.context.close()

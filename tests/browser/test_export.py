"""Offline HTML export (tspwidget.export.save_html) in headless Chromium, with no network and no
kernel: the page renders, a click opens the closed depthwise layer with its animation, the round
X closes it again, and not one request leaves the file.

Screenshots go to tests/artifacts/browser/export-*.png, the file size to export-report.json.
"""

import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from . import harness
from .harness import diff_fraction, image, lit_fraction, new_page, save

pytestmark = pytest.mark.browser


def _model():
    """The model of conftest.SETUP: an RGB F, a depthwise layer x2 'same', a 1x1 Conv2d."""
    import tspwidget as tsp
    from tspwidget.layers import Conv2d, DepthwiseConv2d, RGBInput

    h = w = 12
    rows, cols = np.mgrid[0:h, 0:w]
    picture = np.zeros((h, w, 3), np.float32)
    picture[..., 0], picture[..., 1] = cols / (w - 1), rows / (h - 1)
    picture[2:10, 2:4, 2] = 1; picture[2:4, 2:9, 2] = 1; picture[5:7, 2:7, 2] = 1  # noqa: E702
    model = tsp.Sequential([
        RGBInput(shape=(h, w, 3), name="image"),
        DepthwiseConv2d(kernel_size=3, depth_multiplier=2, padding="same", name="dw"),
        Conv2d(filters=4, kernel_size=1, name="pw"),
    ])
    model.init(seed=0)
    model.predict(picture)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tspwidget.export import save_html

    model = _model()
    view = model.show(width=800, height=600)
    sc = view.scene
    lay = sc.layers["dw"].layout
    folder = tmp_path_factory.mktemp("export")
    path = save_html(view, folder / "model.html")
    info = {
        "path": path,
        "bytes": path.stat().st_size,
        "closed": sc.screen_point("dw", 0, 0),
        "button": sc.screen_point("dw", *lay.button[:2]),
        "anime_ms": model.get_layer("dw").anime_time,
        "map3": sc.screen_point("dw", *lay.centers[3]),  # centre of open map 3 of dw
    }
    harness.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (harness.ARTIFACTS / "export-report.json").write_text(json.dumps(
        {k: v for k, v in info.items() if k != "path"}, indent=1))
    yield info
    view.close()


@pytest.fixture(scope="module")
def http_url(exported):
    """The exported file served by a local http.server on 127.0.0.1."""
    port = harness.free_port()
    folder = exported["path"].parent
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/{exported['path'].name}"
    deadline = time.time() + 20
    import urllib.request
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read(16)
            break
        except OSError:
            if time.time() > deadline:
                proc.kill()
                raise
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_page_is_self_contained(exported):
    text = exported["path"].read_text(encoding="utf-8")
    markup = re.sub(r"(?s)(<script[^>]*>).*?</script>", r"\1</script>", text)  # the tags only
    assert re.findall(r"<script[^>]*>", markup) == [
        "<script>", "<script>", '<script data-jupyter-widgets-cdn="./no-cdn/">',
        '<script type="application/vnd.tspwidget.state+json" id="tsp-export-state">',
        '<script type="application/json" id="tsp-export-config">', "<script>"]
    assert " src=" not in markup and "<link" not in markup and "http" not in markup
    assert 3_000_000 < exported["bytes"] < 8_000_000, exported["bytes"]


def _open(browser, url):
    """A page on ``url`` where every non-local request is aborted and every request is counted."""
    page = new_page(browser)
    page.goto(url, wait_until="load", timeout=60_000)
    page.wait_for_function("() => window.tspExport && (window.tspExport.ready || window.tspExport.error)",
                           timeout=60_000)
    error = page.evaluate("() => window.tspExport.error")
    assert error is None, error
    return page.context, page, page.requests, page.blocked


def _settle(page, canvas, target, timeout=15.0):
    """Wait until the dw morph is at ``target`` and the picture has stopped changing."""
    page.wait_for_function(f"() => window.tspExport.influence('dw') === {target}", timeout=timeout * 1000)
    shot = image(canvas.screenshot())
    for _ in range(20):
        page.wait_for_timeout(150)
        again = image(canvas.screenshot())
        if diff_fraction(shot, again) == 0:
            break
        shot = again
    return shot


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_offline_click_open_close(browser, exported, http_url, scheme):
    url = http_url if scheme == "http" else exported["path"].resolve().as_uri()
    context, page, requests, blocked = _open(browser, url)
    try:
        canvas = page.locator("canvas").first
        box = canvas.bounding_box()
        assert (round(box["width"]), round(box["height"])) == (800, 600)
        for _ in range(100):
            closed = image(canvas.screenshot())
            if lit_fraction(closed) > 0.02:
                break
            page.wait_for_timeout(100)
        closed = _settle(page, canvas, 0)
        save(closed, f"export-{scheme}-1-closed.png")
        assert lit_fraction(closed) > 0.02

        # Click the closed dw layer: it opens, animated.
        cx, cy = exported["closed"]
        page.mouse.click(box["x"] + cx, box["y"] + cy)
        page.wait_for_timeout(exported["anime_ms"] * 0.4)
        mid = image(canvas.screenshot())
        save(mid, f"export-{scheme}-2-opening.png")
        assert page.evaluate("() => window.tspExport.status.dw") == "open", page.evaluate(
            "() => [window.tspExport.clicks, document.elementFromPoint(%r, %r).outerHTML.slice(0, 200)]"
            % (box["x"] + cx, box["y"] + cy))
        inf = page.evaluate("() => window.tspExport.influence('dw')")
        assert 0 < inf < 1, inf
        opened = _settle(page, canvas, 1)
        save(opened, f"export-{scheme}-3-open.png")
        assert diff_fraction(closed, mid) > 0.005
        assert diff_fraction(mid, opened) > 0.005
        assert diff_fraction(closed, opened) > 0.02
        assert page.evaluate("() => window.tspExport.clicks")[0][:2] == ["dw", "aggregate"]

        # Click a map of the open layer: it is selected (shown in the info line), nothing moves.
        mx, my = exported["map3"]
        page.mouse.click(box["x"] + mx, box["y"] + my)
        page.wait_for_timeout(300)
        selected = page.evaluate("() => window.tspExport.selected")
        assert (selected["layer"], selected["channel"]) == ("dw", 3), selected
        assert "map 3" in page.inner_text("#tsp-export-root")
        assert page.evaluate("() => window.tspExport.status.dw") == "open"

        # Click its round X: it closes, animated, back to the closed picture.
        bx, by = exported["button"]
        page.mouse.click(box["x"] + bx, box["y"] + by)
        page.wait_for_timeout(exported["anime_ms"] * 0.4)
        closing = image(canvas.screenshot())
        save(closing, f"export-{scheme}-4-closing.png")
        assert page.evaluate("() => window.tspExport.status.dw") == "close"
        again = _settle(page, canvas, 0)
        save(again, f"export-{scheme}-5-closed-again.png")
        assert diff_fraction(closing, again) > 0.005
        assert diff_fraction(again, closed) < 0.002, diff_fraction(again, closed)

        # A drag that starts on the closed layer orbits the camera and opens nothing.
        page.mouse.move(box["x"] + cx, box["y"] + cy)
        page.mouse.down()
        page.mouse.move(box["x"] + cx + 150, box["y"] + cy + 40, steps=8)
        page.mouse.up()
        page.wait_for_timeout(400)
        dragged = image(canvas.screenshot())
        save(dragged, f"export-{scheme}-6-after-drag.png")
        assert page.evaluate("() => window.tspExport.status.dw") == "close"
        assert diff_fraction(dragged, again) > 0.005

        # Nothing left the file: the only request is the page itself.
        assert blocked == [], blocked
        assert requests == [url], requests
        assert page.errors == [], page.errors[:5]
    finally:
        context.close()


def test_export_html_builds_its_own_view(tmp_path):
    from tspwidget.export import export_html

    path = export_html(_model(), tmp_path / "m.html", width=400, height=300)
    text = path.read_text(encoding="utf-8")
    assert 'id="tsp-export-config"' in text and '"dw"' in text

"""The widget in JupyterLab 4, in headless Chromium: render, click to open, animation, close button,
open from Python, select a map, 100 rapid toggles, drag is not a click.

The tests share one page and run in file order, like a user working through the notebook.
Screenshots are kept in tests/artifacts/browser/ to be looked at.
"""

import time

import pytest

from .harness import ARTIFACTS, diff_fraction, image, lit_fraction, new_page, open_notebook, run_cell, save

pytestmark = pytest.mark.browser
STATE = {}


@pytest.fixture(scope="module")
def page(lab, browser):
    page = new_page(browser)
    open_notebook(page, lab, "widget.ipynb")
    run_cell(page, 0)
    STATE["points"] = lab.wait_event(page, "displayed", timeout=120)
    yield page
    page.context.close()


def canvas_shot(page):
    canvas = page.locator(".jp-OutputArea canvas").first
    return image(canvas.screenshot())


def click_canvas(page, point):
    box = page.locator(".jp-OutputArea canvas").first.bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def wait_until(page, t):
    page.wait_for_timeout(max(0, int((t - time.time()) * 1000)))


def test_canvas_renders_the_model(page):
    canvas = page.locator(".jp-OutputArea canvas").first
    canvas.wait_for(timeout=60_000)
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(3000)
    shot = canvas_shot(page)
    save(shot, "lab-1-closed.png")
    STATE["closed"] = shot
    assert lit_fraction(shot) > 0.02, "the canvas is blank"


def test_click_on_closed_layer_opens_it_with_an_animation(page, lab):
    anime = STATE["points"]["anime_ms"] / 1000
    t0 = time.time()
    click_canvas(page, STATE["points"]["closed"])
    event = lab.wait_event(page, "status", after=t0, timeout=20)
    assert event["new"] == "open"
    wait_until(page, event["t"] + 0.4 * anime)
    mid = canvas_shot(page)
    save(mid, "lab-2-opening.png")
    wait_until(page, event["t"] + anime + 1.0)
    opened = canvas_shot(page)
    save(opened, "lab-3-open.png")
    STATE["open"] = opened
    assert diff_fraction(STATE["closed"], mid) > 0.01
    assert diff_fraction(mid, opened) > 0.01
    assert diff_fraction(STATE["closed"], opened) > 0.02


def test_close_button_closes(page, lab):
    anime = STATE["points"]["anime_ms"] / 1000
    t0 = time.time()
    click_canvas(page, STATE["points"]["button"])
    event = lab.wait_event(page, "status", after=t0, timeout=20)
    assert event["new"] == "close"
    wait_until(page, event["t"] + anime + 1.0)
    closed = canvas_shot(page)
    save(closed, "lab-4-closed-again.png")
    assert diff_fraction(closed, STATE["closed"]) < 0.01


def test_open_layer_from_a_later_cell_animates(page, lab):
    anime = STATE["points"]["anime_ms"] / 1000
    t0 = time.time()
    run_cell(page, 1)
    event = lab.wait_event(page, "status", after=t0, timeout=30)
    assert event["new"] == "open"
    page.locator(".jp-OutputArea canvas").first.scroll_into_view_if_needed()
    wait_until(page, event["t"] + 0.5 * anime)
    mid = canvas_shot(page)
    wait_until(page, event["t"] + anime + 1.0)
    opened = canvas_shot(page)
    save(opened, "lab-5-opened-from-python.png")
    assert diff_fraction(mid, opened) > 0.01
    assert diff_fraction(opened, STATE["open"]) < 0.01


def test_click_on_a_map_selects_it(page, lab):
    t0 = time.time()
    click_canvas(page, STATE["points"]["map3"])
    event = lab.wait_event(page, "select", after=t0, timeout=20)
    assert (event["layer"], event["channel"], event["input_channel"]) == ("dw", 3, 1)
    assert (event["row"], event["col"]) == (2, 9)
    assert event["min"] <= event["value"] <= event["max"]
    # The arithmetic inspector opens beside the scene, and the window is outlined on the input.
    panel = page.locator(".widget-html-content", has_text="kernel[:, :, 1, 1]")
    panel.wait_for(timeout=20_000)
    assert "standard conv" in panel.inner_text()
    page.wait_for_timeout(1000)
    output = page.locator(".jp-OutputArea-output").first
    output.screenshot(path=str(ARTIFACTS / "lab-8-inspector.png"))


def test_hundred_rapid_toggles_end_consistent(page, lab):
    anime = STATE["points"]["anime_ms"] / 1000
    t0 = time.time()
    run_cell(page, 2)
    event = lab.wait_event(page, "ran", after=t0, timeout=60, where=lambda e: e["cell"] == "toggles")
    assert event["status"] == "close" and event["layer_status"]["dw"] == "close"
    page.locator(".jp-OutputArea canvas").first.scroll_into_view_if_needed()
    wait_until(page, event["t"] + anime + 1.5)
    shot = canvas_shot(page)
    save(shot, "lab-6-after-100-toggles.png")
    assert diff_fraction(shot, STATE["closed"]) < 0.01


def test_drag_orbits_and_is_not_a_click(page, lab):
    box = page.locator(".jp-OutputArea canvas").first.bounding_box()
    x, y = box["x"] + STATE["points"]["closed"][0], box["y"] + STATE["points"]["closed"][1]
    before = canvas_shot(page)
    t0 = time.time()
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + 15 * step, y + 4 * step)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_timeout(2000)
    after = canvas_shot(page)
    save(after, "lab-7-after-drag.png")
    assert diff_fraction(before, after) > 0.01, "the drag did not orbit the camera"
    assert not [e for e in lab.read_events() if e["kind"] == "status" and e["t"] >= t0]


def test_no_errors_in_the_page(page):
    ours = [e for e in page.errors if "lumino" not in e.lower() and "ReadPixels" not in e]
    assert not ours, ours

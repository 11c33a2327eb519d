"""The demo notebooks, as the README's demo command opens them: run all cells in JupyterLab and see
the widget render with no error in the page."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .harness import (
    ARTIFACTS,
    KERNEL_IDLE,
    SHOWN,
    JupyterServer,
    controller,
    image,
    lit_fraction,
    new_page,
    next_frames,
    open_notebook,
    our_console,
    run_all,
    save,
    wait_idle,
)

pytestmark = pytest.mark.browser
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory):
    # A copy: JupyterLab saves what it opens (metadata, outputs), and the repository's notebooks
    # must not change because the tests ran.
    root = tmp_path_factory.mktemp("demo") / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    server = JupyterServer("lab", root, tmp_path_factory.mktemp("demo-tmp"))
    yield server
    server.stop()


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_renders_its_widgets(demo_lab, browser, name):
    page = new_page(browser)
    try:
        open_notebook(page, demo_lab, name)
        run_all(page)
        canvas = page.locator(".jp-OutputArea canvas").first
        try:
            canvas.wait_for(timeout=120_000)
        except PlaywrightTimeout:
            page.screenshot(path=str(ARTIFACTS / f"notebook-{Path(name).stem}-timeout.png"))
            errors = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
            raise AssertionError(f"no canvas in {name}; errors shown: "
                                 f"{[e.inner_text()[-2000:] for e in errors.all()]}") from None
        page.wait_for_function(
            f"() => !!({KERNEL_IDLE})"
            " && document.querySelectorAll('.jp-InputPrompt').length > 0"
            " && [...document.querySelectorAll('.jp-InputPrompt')].every(p => !p.textContent.includes('*'))",
            timeout=120_000,
        )
        canvas.scroll_into_view_if_needed()
        wait_idle(page, timeout=60_000)  # every view drawn, no animation running
        next_frames(page)
        shot = image(canvas.screenshot())
        save(shot, f"notebook-{Path(name).stem}.png")
        assert lit_fraction(shot) > 0.02, "the widget's canvas is blank"
        assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
        errors = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
        assert errors.count() == 0, errors.first.inner_text()
        ours = our_console(page)  # errors and warnings, texture ones included
        assert not ours, ours
        if name == "01_quickstart.ipynb":
            quickstart_is_closed_until_asked(page)
        if name == "05_classroom.ipynb":
            the_quiz_reveals_on_a_click(page)
    finally:
        page.context.close()


def quickstart_is_closed_until_asked(page):
    """Run All leaves every layer closed (a newcomer sees the whole model first); the marked
    cell's button then opens the depthwise layer."""
    statuses = controller(page, "return c.model.get('status');")
    assert set(statuses.values()) == {"close"}, statuses
    page.locator("button", has_text="dw.open_layer()").click()
    page.wait_for_function(f"() => {SHOWN}.some(c => c.model.get('status').depthwise === 'open')", timeout=20_000)


def the_quiz_reveals_on_a_click(page):
    """The classroom quiz: a click on B says right or wrong and opens the quizzed layer."""
    quiz = page.locator(".tsp-quiz").first
    quiz.scroll_into_view_if_needed()
    quiz.locator("button", has_text="B").click()
    page.wait_for_function("() => /Right!|Not quite/.test(document.querySelector('.tsp-quiz').textContent)",
                           timeout=20_000)
    page.wait_for_function(f"() => {SHOWN}.some(c => c.model.get('status').dw_stride2 === 'open')", timeout=20_000)
    quiz.screenshot(path=str(ARTIFACTS / "notebook-05-quiz-answered.png"))

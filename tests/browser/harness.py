"""Drive a real Jupyter server and headless Debian Chromium (Playwright, no browser download).

Recipe and pitfalls: ../shared/reference/browser-testing.md. The kernel writes events as JSON lines
to the file named by ``TSP_EVENTS``; tests read that file instead of scraping the DOM.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """``jupyter lab`` or ``jupyter notebook`` on 127.0.0.1 with throw-away config and settings."""

    def __init__(self, app, root, tmp):
        self.app, self.root, self.port = app, Path(root), free_port()
        self.events = Path(tmp) / "events.jsonl"
        bin_dir = Path(sys.executable).parent
        home = Path(tmp) / "jhome"
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), TSP_EVENTS=str(self.events),
                   PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        settings = "LabApp" if app == "lab" else "JupyterNotebookApp"
        cmd = [str(bin_dir / "jupyter"), app, "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={self.root}",
               f"--{settings}.user_settings_dir={home / 'settings'}",
               f"--{settings}.workspaces_dir={home / 'workspaces'}"]
        # The "get Jupyter news?" toast would sit over the canvas in screenshots: turn it off.
        note = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        if app == "lab":
            cmd += ["--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log = open(Path(tmp) / f"{app}-server.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.root, start_new_session=True)
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/status", timeout=2)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter {app} did not start; see {self.log.name}") from None
                time.sleep(0.3)

    def url(self, notebook):
        path = "lab/tree" if self.app == "lab" else "notebooks"
        return f"http://127.0.0.1:{self.port}/{path}/{notebook}"

    def stop(self):
        stop_process(self.proc)
        self.log.close()

    # ------------------------------------------------------------------ events from the kernel
    def read_events(self):
        if not self.events.exists():
            return []
        return [json.loads(line) for line in self.events.read_text().splitlines() if line.strip()]

    def wait_event(self, page, kind, *, after=0.0, timeout=60, where=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for event in self.read_events():
                if event["kind"] == kind and event["t"] >= after and (where is None or where(event)):
                    return event
            page.wait_for_timeout(100)
        raise AssertionError(f"no {kind!r} event within {timeout}s; events: {self.read_events()[-5:]}")


def stop_process(proc):
    """SIGTERM lets a server shut its kernels down; then make sure through the process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def voila_server(notebook, home, **env):
    """Voila serving ``notebook`` on a free port, settings under ``home``; yields its URL."""
    notebook, home, port = Path(notebook), Path(home), free_port()
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env)
    log = open(home / "voila.log", "w")
    proc = subprocess.Popen([str(bin_dir / "voila"), str(notebook), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1"], stdout=log, stderr=subprocess.STDOUT, env=env,
                            cwd=notebook.parent, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:  # probe the port only: a GET / would run the notebook an extra time
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"voila did not start; see {log.name}") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process(proc)
        log.close()


def write_notebook(path, cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def new_page(browser):
    """A page whose every non-local request is refused, with its console errors collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "file://")
    requests, blocked = [], []

    def route(r):
        requests.append(r.request.url)
        if r.request.url.startswith(local):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.requests, page.blocked = requests, blocked
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e} {getattr(e, 'stack', '')}"))
    page.warnings = []
    page.on("console", lambda m: page.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("console", lambda m: page.warnings.append(m.text) if m.type == "warning" else None)
    page.on("requestfailed", lambda r: page.errors.append(f"requestfailed: {r.url[:120]}"))
    return page


# Console messages that are not ours: JupyterLab's module federation (jupyter-threejs asks for an
# older @lumino/coreutils) and Chromium's software GL noting that screenshots read pixels back.
FOREIGN = ("lumino", "ReadPixels")


def our_console(page):
    """The page's errors and warnings that come from our code (or that we cannot place)."""
    return [m for m in page.errors + [f"warning: {w}" for w in page.warnings]
            if not any(f.lower() in m.lower() for f in FOREIGN)]


def run_cell(page, index):
    """Run cell ``index`` (0-based) as a user would: click into it, press Shift+Enter; returns
    once its prompt shows that it is queued or ran. A key press that reached the page before the
    notebook was ready for it is lost: then it is pressed again (it cannot run a cell twice: a
    queued or running cell's prompt has changed already)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt").first
    before = prompt.inner_text()
    for _ in range(5):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function("([el, before]) => el.textContent !== before",
                                   arg=[prompt.element_handle(), before], timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"cell {index} never started (its prompt stayed {before!r})")


def run_all(page):
    """Run > Run All Cells, as a user would; returns once some cell's prompt shows that it is
    queued or ran. Like a key press, a menu command that reached the notebook before it was ready
    is lost (seen in CI: every prompt stayed empty, the kernel idle): then it is given again,
    which cannot run a cell twice (a queued cell's prompt has changed already)."""
    prompts = "[...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
    for _ in range(5):
        page.click('.lm-MenuBar-itemLabel:text-is("Run")')
        page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
        try:
            page.wait_for_function(f"() => {prompts}.some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))",
                                   timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("Run All Cells never started a cell")


KERNEL_IDLE = "document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')"


def open_notebook(page, server, name):
    # ?reset: start from an empty workspace, not the tabs an earlier test left open.
    url = server.url(name) + ("?reset" if server.app == "lab" else "")
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-editor", timeout=120_000)
    # The kernel is idle (the toolbar's execution indicator says so), or a "Select Kernel"
    # dialog asks first: accept it, then wait for idle.
    page.wait_for_function(f"() => !!({KERNEL_IDLE} || document.querySelector('.jp-Dialog .jp-mod-accept'))",
                           timeout=120_000)
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()
    page.wait_for_function(f"() => !!({KERNEL_IDLE}) && !document.querySelector('.jp-Dialog')", timeout=120_000)


def image(png_bytes):
    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB"), np.int16)


def lit_fraction(img, threshold=40):
    """Share of pixels brighter than the black background."""
    return float((img.max(axis=2) > threshold).mean())


def diff_fraction(a, b, threshold=30):
    return float((np.abs(a - b).max(axis=2) > threshold).mean())


def save(img, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img.astype(np.uint8)).save(ARTIFACTS / name)


# ---------------------------------------------------------------------- the browser controller
# The controllers of views on the page: a controller whose output was replaced (a re-run cell)
# keeps existing in the page's registry, with no view left.
SHOWN = "[...globalThis.__tspLive].filter(c => c.views.size > 0)"
CONTROLLER = ("(async () => { const all = await Promise.all([...globalThis.__tspControllers.values()]); "
              "const c = all.find(c => c.views.size > 0); %s })()")


def controller(page, body):
    """Evaluate ``body`` (JS, may ``return``) with ``c``, the controller of the page's first view."""
    return page.evaluate(CONTROLLER % body)


def wait_idle(page, timeout=30_000):
    """Wait until every tspwidget controller of a view in the page has finished its animations."""
    page.wait_for_function(  # synchronous: an async predicate's promise would count as true
        f"() => !!globalThis.__tspLive && {SHOWN}.length > 0 && {SHOWN}.every(c => !c.busy)",
        timeout=timeout)


def next_frames(page, n=2):
    """Return after the page has drawn ``n`` more animation frames (what an input event started
    is under way by then)."""
    page.evaluate("n => new Promise(done => { const step = k => k ? requestAnimationFrame(() => step(k - 1)) : done(); "
                  "step(n); })", n)


def wait_status(page, layer, status, timeout=30_000):
    """Wait until the browser's controllers have received ``layer``'s new status (Python logs a
    change before its message reaches the page: ``wait_idle`` alone could return too early)."""
    page.wait_for_function(
        f"() => !!globalThis.__tspLive && {SHOWN}.length > 0 && "
        f"{SHOWN}.every(c => c.model.get('status')[{layer!r}] === {status!r})",
        timeout=timeout)


def show_fresh(page, server, cell, timeout=180):
    """Run ``cell``, which displays a view and logs a "displayed" event with the uid of its
    controller; return that event once this view, and no other, is drawn and idle (an earlier
    run's output was replaced: its controller has no view left)."""
    t0 = time.time()
    run_cell(page, cell)
    shown = server.wait_event(page, "displayed", after=t0, timeout=timeout)
    page.wait_for_function(f"() => !!globalThis.__tspLive && {SHOWN}.length === 1 && "
                           f"{SHOWN}[0].model.get('uid') === {shown['uid']!r}", timeout=120_000)
    canvas = page.locator(".jp-OutputArea canvas").first
    canvas.wait_for(timeout=60_000)
    canvas.scroll_into_view_if_needed()
    wait_idle(page, timeout=60_000)
    return shown


@contextlib.contextmanager
def console_clean(page):
    """Fail if the page logs an error or warning of ours while the block runs."""
    seen = len(our_console(page))
    yield
    assert our_console(page)[seen:] == [], "console errors or warnings"

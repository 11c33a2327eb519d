"""``bash run.sh demo`` prints one URL that works as printed: the quickstart notebook, on PORT."""

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.browser.harness import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_a_url_that_opens_the_quickstart(tmp_path):
    port = free_port()
    log = tmp_path / "demo.log"
    env = dict(os.environ, PORT=str(port), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", str(ROOT / "run.sh"), "demo"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    try:
        pattern = re.compile(rf"http://127\.0\.0\.1:{port}/lab/tree/01_quickstart\.ipynb\?token=(\w+)")
        deadline, urls = time.time() + 300, []
        while time.time() < deadline and proc.poll() is None:
            urls = pattern.findall(log.read_text())
            if urls:
                break
            time.sleep(0.5)
        assert urls, log.read_text()[-2000:]
        printed = [line.strip() for line in log.read_text().splitlines() if "01_quickstart.ipynb?token=" in line]
        url = printed[0]
        token = urls[0]
        while True:  # the URL is printed just before the server listens
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    assert page.status == 200
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.5)
        api = f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?token={token}&content=0"
        with urllib.request.urlopen(api, timeout=10) as reply:  # the token is the server's
            assert b'"01_quickstart.ipynb"' in reply.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

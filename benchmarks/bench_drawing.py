"""Drawing pad latency: Python time from "stroke buffer received" to "every texture sent".

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_drawing.py

The digits model in a ModelView with a DrawingPad. Each stroke is what the browser sends at a
stroke end (one custom message, one 784-byte buffer) handed to the pad's message handler; the clock
stops when it returns: the model has predicted, every changed atlas has been sent and the pad's
chart state too. No kernel is needed: the no-kernel DummyComm's publish_msg is replaced by one
that JSON-encodes each message as a kernel's session would (so serialisation is in the time) and
counts messages and bytes. Also: the same for a timeline slider move (weights swapped,
re-predicted). Target (issue 10): <= 150 ms per stroke.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import comm  # noqa: E402
import numpy as np  # noqa: E402

import tspwidget as tsp  # noqa: E402
from tspwidget.datasets import DIGITS_EPOCHS  # noqa: E402

MESSAGES = []


def _publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
    text = json.dumps(data, default=str)  # what a kernel's session does with every message
    MESSAGES.append((msg_type, len(text), [memoryview(b).nbytes for b in buffers or []]))


comm.DummyComm.publish_msg = _publish


def stats(seconds):
    ms = np.array(seconds) * 1e3
    return (f"median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
            f"max {ms.max():.1f} ms (n={len(ms)})")


def main():
    images, _ = tsp.datasets.digits()
    strokes = [np.rint(images[i, ..., 0] * 255).astype(np.uint8) for i in range(1500, 1797)]
    model = tsp.datasets.digits_model()
    view = model.show()
    pad = view.drawing_pad()
    drawn = len(view.scene.layers)

    # Warm-up (first-call costs: numpy paths, ipywidgets serialisers).
    for k in range(5):
        pad._handle_custom_msg({"event": "stroke", "stroke": k + 1}, [memoryview(strokes[k].tobytes())])

    seconds, counts, nbytes, buffers = [], [], [], []
    for k, pixels in enumerate(strokes[5:], start=6):
        MESSAGES.clear()
        buf = memoryview(pixels.tobytes())
        t0 = time.perf_counter()
        pad._handle_custom_msg({"event": "stroke", "stroke": k}, [buf])
        seconds.append(time.perf_counter() - t0)
        counts.append(len(MESSAGES))
        buffers.append(max(len(b) for _, _, b in MESSAGES))
        nbytes.append(sum(n + sum(b) for _, n, b in MESSAGES))

    # Where the time goes: the numpy predict alone, and the pad's own timer (same span).
    bare = tsp.datasets.digits_model()
    predict_s = []
    for pixels in strokes[5:]:
        t0 = time.perf_counter()
        bare.predict(pixels[..., None].astype(np.float32) / 255)
        predict_s.append(time.perf_counter() - t0)

    # Timeline: a slider move swaps the weights and re-predicts the current input.
    timeline = view.timeline(tsp.datasets.digits_checkpoints(), epochs=DIGITS_EPOCHS)
    swap_s, swap_counts = [], []
    for _ in range(5):
        for index in (0, 1, 2, 3, 4, 5):
            MESSAGES.clear()
            t0 = time.perf_counter()
            timeline.slider.index = index
            swap_s.append(time.perf_counter() - t0)
            swap_counts.append(len(MESSAGES))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, numpy {np.__version__}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"digits model, {drawn} drawn layers; {len(seconds)} strokes (held-out digits as 28x28 bytes)")
    print(f"stroke buffer received -> textures sent (Python): {stats(seconds)}")
    print(f"  of which model.predict alone: {stats(predict_s)}")
    print(f"  messages per stroke: {min(counts)}..{max(counts)} (<= {drawn} atlases + 1 pad state + "
          f"1 redraw nudge), at most {max(buffers)} binary buffer per message; "
          f"{np.mean(nbytes) / 1e3:.1f} kB per stroke on average")
    print(f"timeline slider move -> textures sent: {stats(swap_s)}; messages {min(swap_counts)}..{max(swap_counts)}")
    print(f"within the 150 ms target: {'yes' if np.percentile(np.array(seconds) * 1e3, 95) <= 150 else 'NO'} (p95)")


if __name__ == "__main__":
    main()

"""Scale of the 3D view: build time, widget models per layer, messages and bytes per toggle.

Run: python benchmarks/bench_scene.py   (no kernel or browser needed: comm messages are counted
by replacing the no-kernel DummyComm's publish_msg)
"""

from __future__ import annotations

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
from tspwidget.layers import Add, Conv2d, Dense, DepthwiseConv2d, GlobalPooling2d, Input3d, RGBInput  # noqa: E402

MESSAGES = []


def _publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
    MESSAGES.append((msg_type, data, buffers or []))


comm.DummyComm.publish_msg = _publish


def message_bytes(messages):
    import json

    return sum(len(json.dumps(d, default=str)) + sum(memoryview(b).nbytes for b in bufs)
               for _, d, bufs in messages)


def buffer_bytes(messages):
    """Bytes of the binary buffers alone (the numpy arrays: atlases, vertices)."""
    return sum(memoryview(b).nbytes for _, _, bufs in messages for b in bufs)


def view_buffer_bytes(view):
    """Bytes of the binary buffers in the state of every layer's widget models."""
    from ipywidgets.widgets.widget import _remove_buffers

    total = 0
    for lm in view.scene.layers.values():
        for widget in lm.widgets:
            total += sum(memoryview(b).nbytes for b in _remove_buffers(widget.get_state())[2])
    return total


def mobilenet_v1(size=224):
    layers = [RGBInput(shape=(size, size, 3), name="input"),
              Conv2d(32, 3, strides=2, padding="same", activation="relu6", name="conv1")]
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (filters, stride) in enumerate(plan, 1):
        layers.append(DepthwiseConv2d(3, strides=stride, padding="same", activation="relu6", name=f"conv_dw_{i}"))
        layers.append(Conv2d(filters, 1, activation="relu6", name=f"conv_pw_{i}"))
    return tsp.Sequential(layers)


def mobilenet_v2(size=224):
    """MobileNetV2 1.0 (Keras's layer names; BN folded into the convs' activations, which is how
    the view draws it anyway with ``fold=True``), with its residual Adds."""
    x = inp = RGBInput(shape=(size, size, 3), name="input")
    x = Conv2d(32, 3, strides=2, padding="same", activation="relu6", name="Conv1").apply(x)
    channels, block = 32, 0
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride, name, y = (s if i == 0 else 1), f"block_{block}", x
            if t != 1:
                y = Conv2d(channels * t, 1, activation="relu6", name=f"{name}_expand").apply(y)
            y = DepthwiseConv2d(3, strides=stride, padding="same", activation="relu6",
                                name=f"{name}_depthwise").apply(y)
            y = Conv2d(c, 1, name=f"{name}_project").apply(y)
            if stride == 1 and channels == c:
                y = Add(name=f"{name}_add").apply([x, y])
            x, channels, block = y, c, block + 1
    x = Conv2d(1280, 1, activation="relu6", name="Conv_1").apply(x)
    x = GlobalPooling2d(name="global_average_pooling2d").apply(x)
    out = Dense(1000, activation="softmax", name="predictions").apply(x)
    return tsp.Model(inp, out, name="mobilenetv2_1.00_224")


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    rows = []
    for channels, size in [(1024, 7), (512, 14), (32, 112)]:
        model = tsp.Sequential([Input3d(shape=(size, size, channels)),
                                DepthwiseConv2d(3, padding="same", name="dw")]).init(seed=0)
        model.predict(np.random.default_rng(0).standard_normal((size, size, channels)))
        seconds, _ = timed(lambda: model.show().close())  # noqa: B023 (run at once); closed views stop listening
        view = model.show()  # one live view, so that messages are counted for one view
        lm = view.scene.layers["dw"]
        MESSAGES.clear()
        model.get_layer("dw").open_layer()
        toggle = list(MESSAGES)
        rows.append((f"{size}x{size}x{channels}", seconds, len(lm.widgets),
                     lm.texture.data.shape[:2], len(toggle), message_bytes(toggle)))
    print("\n| layer | build (s, Python) | widget models | atlas (rows x cols) | messages per toggle "
          "| bytes per toggle |")
    print("|---|---|---|---|---|---|")
    for name, s, n, atlas, msgs, nbytes in rows:
        print(f"| {name} | {s:.3f} | {n} | {atlas[0]}x{atlas[1]} | {msgs} | {nbytes} |")

    model = mobilenet_v1().init(seed=0)
    x = np.random.default_rng(0).random((224, 224, 3)).astype(np.float32)
    predict_s, _ = timed(lambda: model.predict(x), repeat=2)
    build_s, _ = timed(lambda: model.show().close(), repeat=2)
    MESSAGES.clear()
    view = model.show()
    build_msgs = len(MESSAGES)
    build_bytes = message_bytes(MESSAGES)
    build_buffers = buffer_bytes(MESSAGES)
    state_buffers = view_buffer_bytes(view)
    atlas = sum(np.asarray(lm.texture.data).nbytes for lm in view.scene.layers.values())
    MESSAGES.clear()
    model.predict(x[::-1].copy())  # new values: every layer's atlas changes
    update_msgs, update_bytes = len(MESSAGES), message_bytes(MESSAGES)
    MESSAGES.clear()
    for name in ("conv_dw_5", "conv_dw_13"):
        model.get_layer(name).open_layer()
    print(f"\nMobileNetV1 224x224 ({len(model.layers)} layers): predict {predict_s:.3f} s; "
          f"ModelView build {build_s:.3f} s Python time; build sends {build_msgs} messages "
          f"({build_bytes / 1e6:.2f} MB, of which binary buffers {build_buffers / 1e6:.2f} MB; "
          f"layer widgets' buffers {state_buffers / 1e6:.2f} MB, atlases {atlas / 1e6:.2f} MB); "
          f"a new predict updates the view in {update_msgs} messages ({update_bytes / 1e6:.2f} MB); "
          f"opening 2 layers sent {len(MESSAGES)} messages ({message_bytes(MESSAGES)} bytes).")
    view.close()

    model = mobilenet_v2().init(seed=0)
    predict_s, _ = timed(lambda: model.predict(x), repeat=2)
    build_s, _ = timed(lambda: model.show().close(), repeat=2)
    MESSAGES.clear()
    view = model.show()
    sent = list(MESSAGES)
    plan_s, _ = timed(view.scene._plan, repeat=2)  # private: the layout search alone
    print(f"\nMobileNetV2 1.0 224x224 ({len(model.layers)} layers, {len(view.scene.layers)} drawn): "
          f"predict {predict_s:.3f} s; ModelView build {build_s:.3f} s Python time (of which the layout "
          f"plan {plan_s:.3f} s); build sends {len(sent)} messages ({message_bytes(sent) / 1e6:.2f} MB, "
          f"of which binary buffers {buffer_bytes(sent) / 1e6:.2f} MB).")


if __name__ == "__main__":
    main()

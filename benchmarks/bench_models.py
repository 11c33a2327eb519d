"""tspwidget.load(...).predict against Keras model(x), on MobileNet V1 and V2, in one process.

Keras is a dev-only peer here (never a tspwidget dependency). Run with a Python that has keras
and tensorflow, and tspwidget importable, e.g.:
    /work/refenv/bin/python benchmarks/bench_models.py [--quick]
Models get seeded random weights and randomised BatchNorm statistics (no downloads).
"""

from __future__ import annotations

import os
import sys

if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tspwidget as tsp  # noqa: E402

QUICK = "--quick" in sys.argv


def randomise(model, seed):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if type(layer).__name__ == "BatchNormalization":
            new = []
            for w, name in zip(weights, [v.name for v in layer.weights]):
                if "variance" in name:
                    new.append(rng.uniform(0.5, 1.5, w.shape))
                elif "mean" in name:
                    new.append(rng.normal(0, 0.1, w.shape))
                elif "gamma" in name:
                    new.append(rng.uniform(0.8, 1.2, w.shape))
                else:
                    new.append(rng.normal(0, 0.1, w.shape))
            layer.set_weights([w.astype(np.float32) for w in new])
        else:
            layer.set_weights([(rng.standard_normal(w.shape) * np.sqrt(2 / max(1, np.prod(w.shape[:-1])))
                                ).astype(np.float32) for w in weights])


def interleaved_ms(fns, rounds, budget_s=0.15):
    """Median ms per call of each function, timed in alternating rounds (so that load from other
    processes hits every contender alike)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, times):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < budget_s or n == 0:
                fn()
                n += 1
            out.append((time.perf_counter() - t0) / n * 1e3)
    return [float(np.median(t)) for t in times]


def main():
    import keras
    import tensorflow as tf

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"python {platform.python_version()}, numpy {np.__version__}, keras {keras.__version__}, "
          f"tensorflow {tf.__version__}; both libraries use their default thread counts; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    cases = [("MobileNet V1 alpha 0.25", keras.applications.MobileNet, 0.25, 128),
             ("MobileNet V1 alpha 1.0", keras.applications.MobileNet, 1.0, 224),
             ("MobileNet V2 alpha 0.35", keras.applications.MobileNetV2, 0.35, 128),
             ("MobileNet V2 alpha 1.0", keras.applications.MobileNetV2, 1.0, 224)]
    print("\n| model | input | Keras model(x) ms | Keras tf.function ms | tspwidget predict ms "
          "| tspwidget / model(x) | tspwidget / tf.function | max abs diff (softmax) |")
    print("|---|---|---|---|---|---|---|---|")
    rounds = 3 if QUICK else 9
    with tempfile.TemporaryDirectory() as tmp:
        for title, make, alpha, size in cases:
            model = make(alpha=alpha, input_shape=(size, size, 3), weights=None)
            randomise(model, 0)
            path = os.path.join(tmp, "m.keras")
            model.save(path)
            ours = tsp.load(path)
            x = np.random.default_rng(1).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
            xt = tf.constant(x)
            want = model(xt, training=False).numpy()
            got = ours.predict(x)
            diff = float(np.abs(want - got).max())
            graph = tf.function(lambda v, model=model: model(v, training=False))  # Keras compiled
            k, g, t = interleaved_ms([lambda: model(xt, training=False), lambda: graph(xt),  # noqa: B023
                                      lambda: ours.predict(x)], rounds)  # noqa: B023 (run at once)
            print(f"| {title} | {size}x{size} | {k:.2f} | {g:.2f} | {t:.2f} | {t / k:.2f}x | "
                  f"{t / g:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()

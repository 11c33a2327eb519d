"""tspwidget's predict on PyTorch models against torch eager and onnxruntime, one thread, one run.

torch, torchvision and onnxruntime are dev-only peers (never tspwidget dependencies). Run with a
Python that has them and tspwidget importable, e.g. (torch 2.14.1 + torchvision 0.29.1 install from
this machine's disk for Python 3.11):
    PYTHONPATH=. /tmp/torchenv/bin/python benchmarks/bench_torch.py [--quick]
Models are torchvision's, with seeded random weights (no downloads), in eval mode, at 224x224.
The same exported ONNX bytes feed tspwidget (tsp.load) and onnxruntime.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread each
    os.environ[var] = "1"

import io  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

import tspwidget as tsp  # noqa: E402

QUICK = "--quick" in sys.argv
torch.set_num_threads(1)


def interleaved_ms(fns, rounds):
    """Median ms per call of each function, timed in alternating rounds (load from other
    processes then hits every contender alike)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, times):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1e3)
    return [float(np.median(t)) for t in times]


def exported(module, x):
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, opset_version=17, input_names=["input"],
                          output_names=["output"], training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False)
    return buf.getvalue()


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"onnxruntime {ort.__version__}; one thread each; load average {os.getloadavg()[0]:.1f}")
    print("\n| model | torch eager (ms) | onnxruntime (ms) | tspwidget (ms) | tspwidget / torch | "
          "tspwidget / onnxruntime | max abs diff vs torch |")
    print("|---|---|---|---|---|---|---|")
    rounds = 3 if QUICK else 15
    for name in ("mobilenet_v2", "resnet18"):
        torch.manual_seed(0)
        module = getattr(torchvision.models, name)(weights=None).eval()
        x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        data = exported(module, x)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{name}.onnx")
            with open(path, "wb") as f:
                f.write(data)
            ours = tsp.load(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        xn = x.numpy()
        image = xn[0].transpose(1, 2, 0)
        with torch.no_grad():
            want = module(x).numpy()[0]
        diff = float(np.abs(ours.predict(image) - want).max())

        def eager(module=module, x=x):
            with torch.no_grad():
                module(x)

        t, o, us = interleaved_ms([eager, lambda s=session, v=xn: s.run(None, {"input": v}),
                                   lambda m=ours, v=image: m.predict(v)], rounds)
        print(f"| {name} 1.0 224x224 | {t:.1f} | {o:.1f} | {us:.1f} | {us / t:.2f}x | {us / o:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()

"""``from_torch``: a PyTorch module as a tspwidget model, through ONNX in memory.

torch is imported only when this is called (``import tspwidget`` never needs it). The module is
exported in eval mode with BatchNorm kept as its own node, so the model shows every module; the
result is read by the same code as ``tsp.load("model.onnx")``: weights as numpy arrays, layers
named after the modules (``features.3.conv.1``), inference in numpy.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from ..core.model import Model

OPSET = 17


def _as_example(torch, example_input):
    x = example_input if isinstance(example_input, torch.Tensor) else torch.as_tensor(
        np.asarray(example_input, dtype=np.float32))
    if x.ndim == 3:  # one (c, h, w) image
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"`example_input` must be one image (C, H, W) or a batch (N, C, H, W), "
                         f"got shape {tuple(x.shape)}.")
    return x[:1].float()


def from_torch(module, example_input, *, name=None, opset=OPSET, model_class=Model):
    """A tspwidget ``Model`` of ``module`` (a ``torch.nn.Module`` taking one NCHW image).

    ``example_input``: a tensor or array of shape ``(C, H, W)`` or ``(N, C, H, W)``; it fixes
    the input size. The module is left in the mode it was in. ``predict`` of the result takes
    ``(H, W, C)`` images: pass ``x.transpose(1, 2, 0)`` for a ``(C, H, W)`` array. ``opset``:
    the ONNX opset the module is exported at (11 to 18 are tested). ``model_class``: what to
    build (``tspwidget.Model``, which can be shown, by ``tsp.from_torch``; the core's by default).
    """
    try:
        import torch
    except ModuleNotFoundError as err:
        raise ImportError("tsp.from_torch needs PyTorch (pip install torch); reading an "
                          "exported .onnx file with tsp.load does not.") from err
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"`module` must be a torch.nn.Module, got {type(module).__name__}.")
    x = _as_example(torch, example_input)
    buf = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notes, not the user's
            torch.onnx.export(module, (x,), buf, dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=["output"],
                              training=torch.onnx.TrainingMode.PRESERVE,
                              do_constant_folding=False)
    finally:
        module.train(was_training)
    from ._onnx import load_onnx

    label = name or type(module).__name__
    return load_onnx(f"<{label}>.onnx", data=buf.getvalue(), name=label, model_class=model_class)

"""tspwidget: see what a convolutional network does, in 3D, inside a notebook.

>>> import tspwidget as tsp
>>> model = tsp.Sequential([tsp.layers.RGBInput(shape=(8, 8, 3)),
...                         tsp.layers.DepthwiseConv2d(kernel_size=3, depth_multiplier=2)])
>>> model.init(seed=0).layers[1].output_shape
(6, 6, 6)
"""

from . import datasets, layers
from .core.layers import NotInitializedError
from .core.ops import conv_output_shape, conv_pads, depthwise_conv2d
from .models import Model, Sequential, from_torch, load  # from_torch imports torch only when called

__version__ = "0.1.0"
__all__ = ["DepthwiseExplorer", "DrawingPad", "Timeline", "Model", "ModelView", "export_html",
           "NotInitializedError", "Sequential", "__version__", "conv_output_shape", "conv_pads",
           "datasets", "depthwise_conv2d", "from_torch", "layers", "load"]

# The numpy core works alone; the 3D view comes with ipywidgets and pythreejs when they are there.
try:
    from .drawing import DrawingPad
    from .explorer import DepthwiseExplorer
    from .timeline import Timeline
    from .widget import ModelView, export_html
except ModuleNotFoundError as err:  # pragma: no cover - tests/core/test_isolation.py checks it
    if (err.name or "").split(".")[0] not in {"ipywidgets", "pythreejs", "traitlets", "IPython"}:
        raise
    ModelView = DepthwiseExplorer = DrawingPad = Timeline = export_html = None

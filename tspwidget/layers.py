"""Public layer types: ``tspwidget.layers.DepthwiseConv2d`` and friends."""

from .core.layers import *  # noqa: F403
from .core.layers import __all__  # noqa: F401

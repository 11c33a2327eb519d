"""Layer types. Each is a small class over :class:`~tspwidget.core.layers.base.Layer`."""

from .base import Layer, NotInitializedError
from .conv import Conv2d, DepthwiseConv2d
from .inputs import GreyscaleInput, Input3d, RGBInput
from .pooling import Pooling2d

__all__ = ["Conv2d", "DepthwiseConv2d", "GreyscaleInput", "Input3d", "Layer",
           "NotInitializedError", "Pooling2d", "RGBInput"]

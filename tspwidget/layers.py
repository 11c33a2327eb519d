"""Public layer types: ``tspwidget.layers.DepthwiseConv2d`` and friends."""

from .core.layers import (
    Conv2d,
    DepthwiseConv2d,
    GreyscaleInput,
    Input3d,
    Layer,
    NotInitializedError,
    Pooling2d,
    RGBInput,
)

__all__ = ["Conv2d", "DepthwiseConv2d", "GreyscaleInput", "Input3d", "Layer",
           "NotInitializedError", "Pooling2d", "RGBInput"]

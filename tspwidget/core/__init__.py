"""The numpy core: ops, layers, models and pure layout geometry. Never imports a widget library."""

from .layers import (
    Conv2d,
    DepthwiseConv2d,
    GreyscaleInput,
    Input3d,
    Layer,
    NotInitializedError,
    Pooling2d,
    RGBInput,
)
from .model import Model, Sequential
from .ops import conv2d, conv_output_shape, conv_pads, depthwise_conv2d, pool2d

__all__ = ["Conv2d", "DepthwiseConv2d", "GreyscaleInput", "Input3d", "Layer", "Model",
           "NotInitializedError", "Pooling2d", "RGBInput", "Sequential", "conv2d",
           "conv_output_shape", "conv_pads", "depthwise_conv2d", "pool2d"]

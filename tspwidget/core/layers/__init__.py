"""Layer types. Each is a small class over :class:`~tspwidget.core.layers.base.Layer`."""

from .affine import ChannelAffine
from .base import Layer, NotInitializedError
from .conv import Conv2d, DepthwiseConv2D, DepthwiseConv2d
from .deconv import Conv2dTranspose
from .elementwise import Activation, BatchNorm, Dropout, Padding2d, Rescaling
from .flat import Dense, Flatten, GlobalPooling2d, Reshape
from .inputs import GreyscaleInput, Input3d, RGBInput
from .merge import Add, Concatenate, Multiply
from .norm import LayerNorm
from .pooling import Pooling2d
from .rearrange import Rearrange
from .upsample import Upsampling2d

__all__ = ["Activation", "Add", "BatchNorm", "ChannelAffine", "Concatenate", "Conv2d",
           "Conv2dTranspose", "Dense", "DepthwiseConv2D", "DepthwiseConv2d", "Dropout", "Flatten",
           "GlobalPooling2d", "GreyscaleInput", "Input3d", "Layer", "LayerNorm", "Multiply",
           "NotInitializedError", "Padding2d", "Pooling2d", "RGBInput", "Rearrange", "Reshape",
           "Rescaling", "Upsampling2d"]

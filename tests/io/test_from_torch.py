"""tsp.from_torch on hand-built modules: every layer carries its module's name and matches that
module's output (forward hooks), the depthwise channel order is torch's, the module's mode is
kept. Needs torch: CI installs it (a missing torch there fails); elsewhere these tests skip."""

import os
from collections import defaultdict

import numpy as np
import pytest

import tspwidget as tsp

from .test_onnx import WEIGHTED, as_ours, close

if os.environ.get("CI"):
    import torch
else:
    torch = pytest.importorskip("torch")
nn = torch.nn


class MobileBlock(nn.Module):
    """Conv-BN-ReLU6, a depthwise stride-2 conv (symmetric pads: not TensorFlow's "same"),
    HardSwish, pooling and a classifier."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8), nn.BatchNorm2d(16), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(16, 5))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, squeezed):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.relu = nn.Conv2d(c, squeezed, 1), nn.ReLU()
        self.fc2, self.gate = nn.Conv2d(squeezed, c, 1), nn.Hardsigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.relu(self.fc1(self.avgpool(x)))))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c, 2 * c, 1), nn.BatchNorm2d(2 * c), nn.SiLU())
        self.dw = nn.Sequential(nn.Conv2d(2 * c, 2 * c, 5, padding=2, groups=2 * c),
                                nn.BatchNorm2d(2 * c), nn.SiLU())
        self.se = SqueezeExcite(2 * c, 4)
        self.project = nn.Sequential(nn.Conv2d(2 * c, c, 1), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.project(self.se(self.dw(self.expand(x))))


class EfficientLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8),
                                  nn.SiLU())
        self.blocks = nn.Sequential(Residual(8), Residual(8))
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean([2, 3]))


class ShuffleLike(nn.Module):
    """chunk, channel shuffle (view/transpose/reshape), a ceil-mode max pool and a flatten of a
    5x5 map into a Linear: each one changes the order of values."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.branch = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1,
                                                                               groups=4))
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.fc = nn.Linear(8 * 5 * 5, 6)

    def forward(self, x):
        x = self.conv(x)
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, self.branch(b)), dim=1)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        x = torch.cat([x], dim=1)  # DenseNet's first layer does this
        return self.fc(torch.flatten(self.pool(x), 1))


class Normalizing(nn.Module):
    """Input normalisation inside forward (per-channel constants) and GoogLeNet's
    transform_input (a channel picked with x[:, 0], unsqueezed, scaled, concatenated)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = torch.cat([torch.unsqueeze(x[:, 0], 1) * 0.5 + 0.1, x[:, 1:]], 1)
        return self.conv(x).mean([2, 3])


class Decoder(nn.Module):
    """A small U-Net-like decoder: PyTorch's interpolations up and down, transposed convs."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.deconv = nn.ConvTranspose2d(6, 5, 3, stride=2, padding=1, output_padding=1)
        self.deconv2 = nn.ConvTranspose2d(5, 3, 4, stride=1, padding=3, dilation=2)
        self.head = nn.Conv2d(12, 4, 1)

    def forward(self, x):
        z = torch.relu(self.down(x))
        y = torch.cat([self.up(z), x, self.deconv2(self.deconv(z))], 1)
        y = nn.functional.interpolate(self.head(y), size=(7, 11), mode="bilinear")
        return nn.functional.interpolate(y, scale_factor=2, mode="bilinear", align_corners=True)


class ConvNeXtLike(nn.Module):
    """ConvNeXt's block: depthwise 7x7, permute to channel last, LayerNorm, Linear, GELU,
    Linear, permute back, a per-channel layer scale, the residual; then LayerNorm2d's
    permute-normalise-permute on the pooled map and a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 2, stride=2)
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 8)
        self.gamma = nn.Parameter(torch.rand(8, 1, 1))
        self.head_norm, self.head = nn.LayerNorm(8), nn.Linear(8, 3)

    def forward(self, x):
        x = self.stem(x)
        y = self.fc2(self.act(self.fc1(self.norm(self.dw(x).permute(0, 2, 3, 1)))))
        x = x + self.gamma * y.permute(0, 3, 1, 2)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        x = self.head_norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(torch.flatten(x, 1))


def randomized(module, seed):
    torch.manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return module.eval()


def module_outputs(module, x):
    calls, found = defaultdict(int), {}

    def hook(name):
        def record(_m, _i, out):
            found[name if calls[name] == 0 else f"{name}_{calls[name]}"] = out.detach().clone()
            calls[name] += 1
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in module.named_modules() if n]
    with torch.no_grad():
        out = module(x)
    for h in handles:
        h.remove()
    return out[0].numpy(), {k: v[0].numpy() for k, v in found.items()}


@pytest.mark.parametrize("opset", [11, 13, 17, 18])  # Clip, Split, Squeeze, ReduceMean change
@pytest.mark.parametrize("make,size", [(MobileBlock, 16), (EfficientLike, 20), (ShuffleLike, 12),
                                       (Normalizing, 9), (Decoder, 10)])
def test_every_layer_matches_its_module(make, size, opset):
    check_every_layer(make, size, opset)


@pytest.mark.parametrize("opset", [17, 18])  # LayerNormalization is an op from opset 17 on
def test_convnext_blocks_match(opset):
    model = check_every_layer(ConvNeXtLike, 20, opset)  # 10x10 maps of 8: never ambiguous
    assert {"LayerNorm", "Dense", "ChannelAffine"} <= {layer.layer_type for layer in model.layers}


def check_every_layer(make, size, opset):
    module = randomized(make(), seed=size)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(size))
    model = tsp.from_torch(module, x, opset=opset)
    expected, outputs = module_outputs(module, x)
    expected = expected.transpose(1, 2, 0) if expected.ndim == 3 else expected  # a map out
    y = model.predict(x[0].numpy().transpose(1, 2, 0))
    assert close(y, expected) and y.argmax() == expected.argmax()
    compared = 0
    for layer in model.layers:
        if layer.layer_type in WEIGHTED:
            assert layer.name in outputs, f"{layer.name!r} is not a module name"
        if layer.name in outputs:
            assert close(layer.neural_value, as_ours(layer, outputs[layer.name])), layer.name
            compared += 1
    assert compared >= sum(layer.layer_type in WEIGHTED for layer in model.layers)
    assert model.name == make.__name__
    return model


def test_layers_carry_module_names_and_types():
    module = randomized(EfficientLike(), seed=0)
    model = tsp.from_torch(module, torch.rand(3, 20, 20))  # one (c, h, w) image is fine
    names = {layer.name: layer.layer_type for layer in model.layers}
    assert names["blocks.1.dw.0"] == "DepthwiseConv2d"
    assert names["blocks.1.se.fc1"] == "Conv2d" and names["blocks.1.se"] == "Multiply"
    assert names["blocks.1.se.gate"] == "Activation" and names["blocks.0.dw.2"] == "Activation"
    assert model.get_layer("blocks.0.dw.2").activation == "swish"
    assert names["blocks.0"] == "Add"


def test_a_depthwise_conv_keeps_torch_channel_order():
    conv = nn.Conv2d(4, 8, 3, groups=4)
    model = tsp.from_torch(nn.Sequential(conv), torch.rand(1, 4, 6, 6))
    layer = model.get_layer("0")
    assert layer.layer_type == "DepthwiseConv2d"
    assert layer.depth_multiplier == 2 and layer.source_channel(5) == 2
    kernel = layer.kernel  # (kh, kw, C, M): output c*M + m is torch's output c*M + m
    w = conv.weight.detach().numpy()  # (C*M, 1, kh, kw)
    for c in range(4):
        for m in range(2):
            assert np.array_equal(kernel[:, :, c, m], w[c * 2 + m, 0])


def test_the_module_mode_is_kept_and_inputs_are_checked():
    module = MobileBlock().train()
    tsp.from_torch(module, np.random.rand(1, 3, 16, 16))  # numpy input too
    assert module.training
    with pytest.raises(ValueError, match=r"\(C, H, W\) or a batch \(N, C, H, W\)"):
        tsp.from_torch(module, torch.rand(16, 16))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        tsp.from_torch(lambda x: x, torch.rand(1, 3, 16, 16))

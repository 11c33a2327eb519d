"""The layers PyTorch/ONNX models need: torch-style pooling (pads, ceil_mode, count_include_pad),
broadcasting Multiply and Rearrange, checked against loops written from PyTorch's definitions."""

import itertools

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.layers import Input3d, Multiply, Pooling2d, Rearrange


def torch_pool(x, k, s, p, mode, ceil_mode, count_include_pad):
    """PyTorch's max_pool2d / avg_pool2d on (H, W, C), as its CPU kernel computes it."""
    h, w, c = x.shape

    def size(n):
        out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
        return out - 1 if ceil_mode and (out - 1) * s >= n + p else out

    out = np.zeros((size(h), size(w), c), np.float64)
    for i, j in itertools.product(range(out.shape[0]), range(out.shape[1])):
        h0, w0 = i * s - p, j * s - p
        h1, w1 = min(h0 + k, h + p), min(w0 + k, w + p)
        pool_size = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
        window = x[h0:h1, w0:w1].reshape(-1, c)
        if mode == "max":
            out[i, j] = window.max(axis=0)
        else:
            out[i, j] = window.sum(axis=0) / (pool_size if count_include_pad else len(window))
    return out


def run(layer, x):
    inp = Input3d(shape=x.shape)
    model = tsp.Model(inp, layer.apply(inp)).init()
    return model.predict(x)


CASES = [(3, 2, 1), (3, 2, 0), (2, 2, 0), (3, 1, 1), (5, 3, 2)]


@pytest.mark.parametrize("k,s,p", CASES)
@pytest.mark.parametrize("mode,count_include_pad", [("max", False), ("avg", False), ("avg", True)])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("hw", [(7, 7), (10, 9), (13, 8)])
def test_pooling_matches_torch_definition(k, s, p, mode, ceil_mode, count_include_pad, hw):
    x = np.random.default_rng(k * 100 + s * 10 + p).normal(size=(*hw, 3)).astype(np.float32)
    x -= 5  # all negative: a zero from the padding would win a max
    layer = Pooling2d(k, strides=s, mode=mode, pads=((p, p), (p, p)), ceil_mode=ceil_mode,
                      count_include_pad=count_include_pad)
    expected = torch_pool(x.astype(np.float64), k, s, p, mode, ceil_mode, count_include_pad)
    got = run(layer, x)
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-5)


def test_asymmetric_pads_and_labels():
    x = -np.arange(1, 5 * 6 + 1, dtype=np.float32).reshape(5, 6, 1)
    layer = Pooling2d(2, strides=2, pads=((0, 1), (1, 0)))
    got = run(layer, x)[..., 0]
    padded = np.pad(x[..., 0], ((0, 1), (1, 0)), constant_values=-np.inf)
    assert np.array_equal(got, padded[:, :6].reshape(3, 2, 3, 2).max(axis=(1, 3)))
    assert layer.config_text == "max 2x2 s2 pad ((0, 1), (1, 0))"
    assert Pooling2d(3, strides=2, ceil_mode=True).config_text == "max 3x3 s2 ceil"
    assert Pooling2d(2).config_text == "max 2x2 s2 valid"


def test_pooling_arguments_are_checked():
    with pytest.raises(ValueError, match="need padding='valid'"):
        Pooling2d(2, padding="same", pads=((1, 1), (1, 1)))
    with pytest.raises(TypeError, match=r"`pads` must be \(\(top, bottom\), \(left, right\)\)"):
        Pooling2d(2, pads=3)
    with pytest.raises(ValueError, match="`pads`"):
        Pooling2d(2, pads=((-1, 0), (0, 0)))
    with pytest.raises(TypeError, match="`ceil_mode` must be True or False"):
        Pooling2d(2, ceil_mode=1)
    with pytest.raises(ValueError, match="does not fit"):
        run(Pooling2d(5, pads=((0, 0), (0, 0)), ceil_mode=True), np.zeros((3, 3, 1), np.float32))


def test_multiply_broadcasts_a_gate_over_a_map():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(2, 4, 5, 3)).astype(np.float32), rng.normal(size=(2, 1, 1, 3))
    a, b = Input3d(shape=(4, 5, 3), name="a"), Input3d(shape=(1, 1, 3), name="b")
    mul = Multiply(name="mul").apply([a, b])
    model = tsp.Model([a, b], mul).init()
    assert mul.output_shape == (4, 5, 3)
    assert np.allclose(model.predict([x, g.astype(np.float32)]), x * g)


def test_multiply_refuses_shapes_that_do_not_broadcast():
    a, b = Input3d(shape=(4, 5, 3)), Input3d(shape=(4, 5, 2))
    with pytest.raises(ValueError, match="cannot broadcast"):
        tsp.Model([a, b], Multiply().apply([a, b])).init()


def test_rearrange_shuffles_channels_like_reshape_transpose_reshape():
    h, w, c, groups = 3, 2, 6, 2
    x = np.random.default_rng(1).normal(size=(h, w, c)).astype(np.float32)
    # torch: x.view(g, c/g, h, w).transpose(0, 1).reshape(c, h, w), here channel last.
    order = np.arange(c).reshape(groups, c // groups).T.reshape(-1)
    flat = np.arange(h * w * c).reshape(h, w, c)[..., order].reshape(-1)
    layer = Rearrange(flat, (h, w, c))
    got = run(layer, x)
    assert np.array_equal(got, x[..., [0, 3, 1, 4, 2, 5]])
    assert list(layer.channel_sources()) == [0, 3, 1, 4, 2, 5]
    assert layer.config_text == "channel order"


def test_rearrange_slice_and_gather_labels():
    x = np.arange(2 * 2 * 4, dtype=np.float32).reshape(2, 2, 4)
    half = Rearrange(np.arange(16).reshape(2, 2, 4)[..., 2:].reshape(-1), (2, 2, 2))
    assert np.array_equal(run(half, x), x[..., 2:])
    assert half.config_text == "channels 2-3"
    flip = Rearrange(np.arange(16)[::-1], (16,))
    assert np.array_equal(run(flip, x), x.reshape(-1)[::-1])
    assert flip.config_text == "gather" and flip.channel_sources() is None


def test_rearrange_arguments_are_checked():
    with pytest.raises(ValueError, match="holds 8 values"):
        Rearrange(np.arange(6), (2, 2, 2))
    with pytest.raises(TypeError, match="1-D array of ints"):
        Rearrange(np.zeros(4), (4,))
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\)"):
        run(Rearrange(np.array([0, 9]), (2,)), np.zeros((1, 1, 4), np.float32))


def test_channel_affine_scales_and_shifts_each_channel():
    from tspwidget.layers import ChannelAffine

    x = np.random.default_rng(2).normal(size=(3, 4, 2)).astype(np.float32)
    layer = ChannelAffine([2.0, -1.0], [0.5, 3.0])
    assert np.allclose(run(layer, x), x * [2.0, -1.0] + [0.5, 3.0])
    assert layer.config_text == "per channel" and ChannelAffine(2, 1).config_text == "x2 +1"
    with pytest.raises(ValueError, match=r"must be \(1,\) or \(2,\)"):
        run(ChannelAffine([1.0, 2.0, 3.0]), x)


def test_upsampling_nearest_and_bilinear():
    from tspwidget.layers import Upsampling2d

    x = np.random.default_rng(5).normal(size=(3, 4, 2)).astype(np.float32)
    assert np.array_equal(run(Upsampling2d((6, 12)), x), x.repeat(2, axis=0).repeat(3, axis=1))

    def interp(src_rows, src_cols):  # separable, with numpy's own linear interpolation
        rows = np.stack([np.stack([np.interp(src_rows, np.arange(3), x[:, j, c])
                                   for j in range(4)], 1) for c in range(2)], -1)
        return np.stack([np.stack([np.interp(src_cols, np.arange(4), rows[i, :, c])
                                   for c in range(2)], -1) for i in range(len(src_rows))])

    corners = run(Upsampling2d((5, 7), mode="bilinear", align_corners=True), x)
    assert np.allclose(corners, interp(np.linspace(0, 2, 5), np.linspace(0, 3, 7)), atol=1e-6)
    half = run(Upsampling2d((5, 7), mode="bilinear"), x)
    centres = [(np.arange(n) + 0.5) * (m / n) - 0.5 for m, n in ((3, 5), (4, 7))]
    assert np.allclose(half, interp(*(np.clip(c, 0, None) for c in centres)), atol=1e-6)
    assert Upsampling2d(4, mode="bilinear").config_text == "bilinear to 4x4"
    with pytest.raises(ValueError, match="align_corners=True` needs mode='bilinear'"):
        Upsampling2d(4, align_corners=True)


def scatter_transpose(x, kernel, s, pads, output_padding, d):
    """Transposed conv by its definition: each input pixel adds kernel-weighted copies of itself
    to the full output, which the pads then crop."""
    (h, w, _), (kh, kw, f, _) = x.shape, kernel.shape
    full = np.zeros(((h - 1) * s + d * (kh - 1) + 1 + output_padding,
                     (w - 1) * s + d * (kw - 1) + 1 + output_padding, f))
    for i, j, a, b in itertools.product(range(h), range(w), range(kh), range(kw)):
        full[i * s + a * d, j * s + b * d] += kernel[a, b] @ x[i, j]
    (t, bottom), (left, r) = pads
    return full[t:full.shape[0] - bottom, left:full.shape[1] - r]


@pytest.mark.parametrize("k,s,pad,op,d", [(3, 2, 1, 1, 1), (4, 2, 1, 0, 1), (3, 1, 0, 0, 2),
                                          (3, 2, 3, 1, 1), (2, 3, 0, 2, 1), (5, 2, 2, 0, 2)])
def test_conv2d_transpose_is_its_definition(k, s, pad, op, d):
    from tspwidget.layers import Conv2dTranspose

    rng = np.random.default_rng(k + s + pad)
    x = rng.normal(size=(5, 4, 3)).astype(np.float32)
    kernel = rng.normal(size=(k, k, 2, 3)).astype(np.float32)
    layer = Conv2dTranspose(kernel=kernel, strides=s, pads=((pad, pad), (pad, pad)),
                            output_padding=op, dilation=d, use_bias=False)
    expected = scatter_transpose(x.astype(np.float64), kernel, s, ((pad, pad), (pad, pad)), op, d)
    got = run(layer, x)
    assert got.shape == expected.shape and np.allclose(got, expected, atol=1e-4)
    assert layer.config_text == f"{k}x{k} s{s} f2" and layer.param_count == k * k * 2 * 3


def test_conv2d_transpose_arguments_are_checked():
    from tspwidget.layers import Conv2dTranspose

    with pytest.raises(ValueError, match="`output_padding` .* must be smaller"):
        Conv2dTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(TypeError, match="needs `filters` and `kernel_size`"):
        Conv2dTranspose(2)
    with pytest.raises(ValueError, match="leave no output"):
        run(Conv2dTranspose(2, 1, pads=((1, 1), (0, 0))), np.zeros((1, 3, 1), np.float32))


def test_layer_norm_normalises_each_pixel_over_its_channels():
    from tspwidget.layers import LayerNorm

    rng = np.random.default_rng(6)
    x = rng.normal(2, 3, size=(3, 4, 5)).astype(np.float32)
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    got = run(LayerNorm(epsilon=1e-5, gamma=gamma, beta=beta), x)
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    assert np.allclose(got, expected * gamma + beta, atol=1e-5)
    with pytest.raises(ValueError, match=r"must be \(5,\)"):
        run(LayerNorm(gamma=np.ones(4)), x)


def test_erf_and_gelu_match_their_definitions():
    import math

    from tspwidget.core.activations import activate

    x = np.linspace(-6, 6, 241).astype(np.float32)
    erf = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert np.abs(activate(x.copy(), "erf") - erf).max() < 5e-7  # 1.5e-7 + float32 rounding
    gelu = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x.astype(np.float64)]))
    assert np.allclose(activate(x.copy(), "gelu_erf"), gelu, atol=1e-6)
    tanh = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    assert np.allclose(activate(x.copy(), "gelu_tanh"), tanh, atol=1e-6)

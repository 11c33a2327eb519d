"""Convolution and pooling with TensorFlow/Keras semantics, in numpy only.

Layout is channel-last everywhere: inputs ``(H, W, C)`` or ``(N, H, W, C)``; depthwise kernels
``(kh, kw, C, M)`` (Keras's layout), whose output channel ``c*M + m`` comes from input channel ``c``.

Padding follows TensorFlow: "valid" keeps only windows that fit; "same" gives ``ceil(in / stride)``
outputs and pads ``max((out - 1)*s + (k - 1)*d + 1 - in, 0)`` in total, ``pad // 2`` at the top/left
and the rest at the bottom/right. Strides and dilations may differ per axis and may both exceed 1.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ._validation import as_float_array, as_int, as_padding, as_pair

__all__ = ["conv_output_shape", "conv_pads", "depthwise_conv2d", "conv2d", "pool2d"]

_AXES = (("height", "rows"), ("width", "columns"))


def _axis_geometry(size, k, s, d, padding, axis):
    """Return (out, pad_before, pad_after) along one spatial axis."""
    span = (k - 1) * d + 1  # the dilated kernel's extent
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + span - size, 0)
        return out, total // 2, total - total // 2
    out = (size - span) // s + 1
    if out < 1:
        what, unit = _AXES[axis]
        raise ValueError(
            f"padding='valid' gives an output {what} of floor(({size} - ({k} - 1)*{d} - 1) / {s}) + 1"
            f" = {out} {unit}, below 1: the kernel_size {k} with dilation {d} spans {span} {unit},"
            f" more than the input's {size}. Use padding='same', a smaller kernel_size or dilation,"
            f" or a larger input."
        )
    return out, 0, 0


def _geometry(input_hw, kernel_size, strides, padding, dilation):
    """Per axis (out, pad_before, pad_after); arguments are validated here (cheap when already)."""
    kernel_size = as_pair(kernel_size, "kernel_size")
    strides = as_pair(strides, "strides")
    dilation = as_pair(dilation, "dilation")
    padding = as_padding(padding)
    input_hw = as_pair(input_hw, "input_shape")
    return tuple(
        _axis_geometry(input_hw[a], kernel_size[a], strides[a], dilation[a], padding, a)
        for a in range(2)
    )


def conv_output_shape(input_hw, kernel_size, *, strides=1, padding="valid", dilation=1):
    """Spatial output size ``(rows, cols)`` of a convolution or pooling window.

    Parameters
    ----------
    input_hw : (int, int)
        Input rows and columns.
    kernel_size, strides, dilation : int or (int, int)
    padding : {"valid", "same"}

    Raises
    ------
    ValueError
        If "valid" padding leaves no output; the message shows the formula with the numbers.

    Examples
    --------
    >>> conv_output_shape((7, 5), 3, strides=(2, 1), padding="same")
    (4, 5)
    """
    rows, cols = _geometry(input_hw, kernel_size, strides, padding, dilation)
    return rows[0], cols[0]


def conv_pads(input_hw, kernel_size, *, strides=1, padding="valid", dilation=1):
    """Zero padding ``((top, bottom), (left, right))`` that TensorFlow applies."""
    rows, cols = _geometry(input_hw, kernel_size, strides, padding, dilation)
    return (rows[1], rows[2]), (cols[1], cols[2])


# --------------------------------------------------------------------------- depthwise engine
#
# Why this shape of code: depthwise convolution has too little arithmetic per byte for BLAS, and a
# loop over taps with numpy temporaries makes several passes over memory. The fastest pure-numpy
# form measured here (../shared/reference/performance.md) is ONE einsum over a strided view:
#   * the input is copied once into a zero-padded buffer, split into `sw` column phases so that for
#     every kernel tap the run of `Wo*C*M` values it reads is contiguous, and each channel repeated
#     M times so output channel c*M+m is a plain elementwise product;
#   * the kernel is tiled along the output row to match that run;
#   * einsum's sum-of-products loop then accumulates in place with no temporaries.
# The padded buffer and the tiled kernel live in a per-shape workspace that is reused, because
# fresh multi-MB buffers cost page faults that can triple the time of a call.


class _Plan:
    """Workspace and strided views for one depthwise problem shape (one sample)."""

    def __init__(self, hw, c, m, kernel_hw, strides, dilation, pads, out_hw, dtype):
        (h, w), (kh, kw), (sh, sw), (dh, dw) = hw, kernel_hw, strides, dilation
        (pt, _), (pl, _) = pads
        ho, wo = out_hw
        cm = c * m
        if dw % sw == 0:
            # Every tap lands on the same column phase: one phase, taps `dw // sw` columns apart.
            phases, step = 1, dw // sw
            taps = [(0, j) for j in range(kw)]
            n_slots = kw
        else:
            # Taps spread over the phases; slot (p, q) of a dense grid reads phase p, offset q.
            phases, step = sw, 1
            taps = [((j * dw) % sw, (j * dw) // sw) for j in range(kw)]
            n_slots = max(q for _, q in taps) + 1
        # Slots that no tap uses (a 3x3 stride 2 has 4 slots for 3 taps) would get zero weight
        # ("phantom" taps, see `run`); when each phase's taps are its first slots, one einsum
        # per phase over those slots only avoids them: 25% less arithmetic for 3x3 stride 2.
        per_phase = [sorted(q for tp, q in taps if tp == p) for p in range(phases)]
        self.split = None
        if phases * n_slots > kw and all(qs == list(range(len(qs))) for qs in per_phase):
            self.split = [(p, len(qs)) for p, qs in enumerate(per_phase) if qs]
        self.has_phantoms = phases * n_slots > kw and self.split is None
        hp = (ho - 1) * sh + (kh - 1) * dh + 1
        wq = wo + (n_slots - 1) * step
        self.buf = np.zeros((phases, hp, wq, c, m), dtype)
        self.kt_shape = (kh, phases, n_slots, wo, c, m)
        self.taps, self.step, self.out_hw = taps, step, out_hw
        self.row_steps = (sh, dh)

        # Where each phase's columns come from in the input (rows are the same for every phase).
        self.rows = (pt, min(hp, pt + h))
        self.copies = []
        for p in range(phases):
            t0 = max(0, -(-(pl - p) // sw))
            t1 = min(wq, -(-(w + pl - p) // sw))
            if t1 > t0 and self.rows[1] > self.rows[0]:
                self.copies.append((p, t0, t1, t0 * sw + p - pl))
        self.sw = sw

        isz = self.buf.itemsize
        row = wq * cm
        flat = self.buf.reshape(-1)
        self.view = as_strided(
            flat,
            shape=(ho, kh, phases, n_slots, wo * cm),
            strides=(sh * row * isz, dh * row * isz, hp * row * isz, step * cm * isz, isz),
            writeable=False,
        )
        self.kt = self.kernel = None  # the tiled kernel of `load_kernel`, and a copy of it untiled
        self.nbytes = self.buf.nbytes + int(np.prod(self.kt_shape)) * self.buf.itemsize
        if self.split is not None:
            self.partial = np.empty((ho, wo * cm), dtype)  # a later phase's sum, added to out
            self.nbytes += self.partial.nbytes

    def tile(self, kernel):
        """``kernel (kh, kw, C, M)`` laid out as ``run`` reads it: ``(kh, phases, slots, Wo*C*M)``."""
        kt = np.zeros(self.kt_shape, kernel.dtype)
        for j, (p, q) in enumerate(self.taps):
            kt[:, p, q] = kernel[:, j, None, :, :]
        return kt.reshape(*self.kt_shape[:3], -1)

    def load_kernel(self, kernel):
        # Tiling writes kh*kw*Wo*C*M values (0.5 MB for 112x112x32), comparing reads only the
        # kernel: a model's layers call with the same weights every time (0.8 ms per MobileNetV2).
        if self.kernel is None or not np.array_equal(kernel, self.kernel):
            self.kt = self.tile(kernel)
            self.kernel = np.array(kernel)
        return self.kt

    def load_input(self, x):
        r0, r1 = self.rows
        n_rows = r1 - r0
        for p, t0, t1, c0 in self.copies:
            cols = slice(c0, c0 + (t1 - t0 - 1) * self.sw + 1, self.sw)
            src = x[:n_rows, cols]
            # One copy per multiplier index: broadcasting x[..., None] into (C, M) would make
            # numpy's inner loop M elements long, which halves the speed of the copy for M = 2.
            for m in range(self.buf.shape[4]):
                self.buf[p, r0:r1, t0:t1, :, m] = src

    def run(self, x, out, kt):
        """Write the convolution of one sample ``x (H, W, C)`` with the tiled kernel ``kt``
        into ``out (Ho, Wo, C*M)``."""
        self.load_input(x)
        out2d = out.reshape(self.out_hw[0], -1)
        if self.split is not None:
            for p, n in self.split:
                dest = out2d if p == self.split[0][0] else self.partial
                np.einsum("hiqk,iqk->hk", self.view[:, :, p, :n], kt[:, p, :n], out=dest)
                if dest is self.partial:
                    out2d += dest
            return
        np.einsum("hipqk,ipqk->hk", self.view, kt, out=out2d)
        if self.has_phantoms and not np.isfinite(np.add.reduce(out2d, axis=None)):
            # A phantom tap multiplies real data by 0, which turns an Inf in the input into a NaN
            # the true sum may not have: redo such (rare) results with the exact tap-by-tap route.
            self._run_exact(out, kt.reshape(self.kt_shape))

    def _run_exact(self, out, kt):
        out.fill(0)
        ho, wo = self.out_hw
        out5 = out.reshape(ho, wo, *self.buf.shape[3:])
        sh, dh = self.row_steps
        for i in range(kt.shape[0]):
            rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
            for p, q in set(self.taps):
                cols = slice(q * self.step, q * self.step + wo)
                out5 += self.buf[p, rows, cols] * kt[i, p, q, 0]


class _PlanCache(threading.local):
    """Per-thread LRU of plans, bounded in bytes (threads never share a workspace)."""

    max_bytes = 256 * 2**20

    def __init__(self):
        self.plans = OrderedDict()
        self.nbytes = 0

    def get(self, key, make):
        plan = self.plans.get(key)
        if plan is not None:
            self.plans.move_to_end(key)
            return plan
        plan = make()
        self.plans[key] = plan
        self.nbytes += plan.nbytes
        while self.nbytes > self.max_bytes and len(self.plans) > 1:
            _, old = self.plans.popitem(last=False)
            self.nbytes -= old.nbytes
        return plan

    def clear(self):
        self.plans.clear()
        self.nbytes = 0


_plans = _PlanCache()


def clear_workspace():
    """Free the cached per-shape workspaces of this thread."""
    _plans.clear()


def _check_out(out, shape, dtype):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"`out` must be a numpy array or None, got {type(out).__name__}.")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"`out` must have shape {shape} and dtype {dtype}, got shape {out.shape} "
            f"and dtype {out.dtype}."
        )
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(
            f"`out` must be a writeable C-contiguous array, got one with "
            f"c_contiguous={out.flags.c_contiguous}, writeable={out.flags.writeable}."
        )


def _as_batch(x, name="x"):
    x = as_float_array(x, name)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"`{name}` must have shape (H, W, C) or (N, H, W, C), got shape {x.shape}."
        )
    if 0 in x.shape:
        raise ValueError(f"`{name}` must not be empty, got shape {x.shape}.")
    return x if x.ndim == 4 else x[None], x.ndim == 4


def _as_kernel(kernel, c, dtype, what):
    kernel = as_float_array(kernel, "kernel")
    if kernel.ndim != 4 or 0 in kernel.shape:
        raise ValueError(f"`kernel` must have shape {what}, got shape {kernel.shape}.")
    if kernel.shape[2] != c:
        raise ValueError(
            f"`kernel` has {kernel.shape[2]} input channels (shape {kernel.shape}) but the input "
            f"has {c}: the kernel must have shape {what} with C = {c}."
        )
    return kernel.astype(dtype, copy=False)


def _as_bias(bias, n, dtype):
    if bias is None:
        return None
    bias = as_float_array(bias, "bias")
    if bias.shape != (n,):
        raise ValueError(f"`bias` must have shape ({n},), got shape {bias.shape}.")
    return bias.astype(dtype, copy=False)


def _prepare_out(out, shape, dtype, batched):
    full = shape if batched else shape[1:]
    if out is None:
        return np.empty(full, dtype)
    _check_out(out, full, dtype)
    return out


def depthwise_conv2d(x, kernel, bias=None, *, strides=1, padding="valid", dilation=1, out=None):
    """Depthwise 2D convolution (TensorFlow ``tf.nn.depthwise_conv2d`` / Keras ``DepthwiseConv2D``).

    Parameters
    ----------
    x : array, shape (H, W, C) or (N, H, W, C)
        float32 stays float32 and float64 stays float64; integers are computed in float32.
        Never modified.
    kernel : array, shape (kh, kw, C, M)
        Output channel ``c*M + m`` is input channel ``c`` convolved with ``kernel[:, :, c, m]``
        (cross-correlation, as in every deep-learning framework).
    bias : array, shape (C*M,), optional
    strides, dilation : int or (rows, cols)
        Both may exceed 1 at the same time.
    padding : {"valid", "same"}, any case
    out : array, optional
        C-contiguous array of the result's shape and dtype to write into.

    Returns
    -------
    ndarray, shape (Ho, Wo, C*M) or (N, Ho, Wo, C*M), same batch-ness and float dtype as ``x``.

    Examples
    --------
    >>> x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    >>> depthwise_conv2d(x, np.ones((2, 2, 1, 1)), strides=2)[..., 0]
    array([[10., 18.],
           [42., 50.]], dtype=float32)
    """
    xb, batched = _as_batch(x)
    n, h, w, c = xb.shape
    kernel = _as_kernel(kernel, c, xb.dtype, "(kh, kw, C, M)")
    kh, kw, _, m = kernel.shape
    bias = _as_bias(bias, c * m, xb.dtype)
    strides, dilation = as_pair(strides, "strides"), as_pair(dilation, "dilation")
    padding = as_padding(padding)
    rows, cols = _geometry((h, w), (kh, kw), strides, padding, dilation)
    out_hw = (rows[0], cols[0])
    pads = (rows[1:], cols[1:])
    result = _prepare_out(out, (n, *out_hw, c * m), xb.dtype, batched)
    result_b = result if batched else result[None]

    depthwise_batch(xb, kernel, bias, strides, dilation, pads, out_hw, result_b)
    return result


def explicit_out_hw(input_hw, kernel_hw, strides, dilation, pads):
    """Output ``(rows, cols)`` of a window over an input padded by ``((top, bottom), (left, right))``."""
    return tuple((input_hw[a] + sum(pads[a]) - (kernel_hw[a] - 1) * dilation[a] - 1) // strides[a] + 1
                 for a in range(2))


def depthwise_batch(xb, kernel, bias, strides, dilation, pads, out_hw, out):
    """The engine under :func:`depthwise_conv2d`, for arguments already checked: ``xb`` a batch
    ``(N, H, W, C)``, explicit ``pads``, ``out`` a C-contiguous ``(N, Ho, Wo, C*M)`` to fill,
    ``bias`` as :func:`add_bias` takes it."""
    plan = _plan_for(xb.shape, kernel.shape, strides, dilation, pads, out_hw, xb.dtype)
    kt = plan.load_kernel(kernel)
    for i in range(xb.shape[0]):
        plan.run(xb[i], out[i], kt)
    return add_bias(out, bias)


def depthwise_runner(x_shape, kernel, strides, dilation, pads, out_hw):
    """``run(xb, out)``: :func:`depthwise_batch` without bias for inputs of ``x_shape`` and this
    ``kernel``, which must not change in place. Model.predict keeps one per chain: the workspace
    lookup and the kernel's tiling are done once (layers of one shape share a workspace, and
    comparing kernels to keep it would re-tile at every layer)."""
    plan = _plan_for(x_shape, kernel.shape, strides, dilation, pads, out_hw, kernel.dtype)
    kt = plan.tile(kernel)

    def run(xb, out):
        for i in range(xb.shape[0]):
            plan.run(xb[i], out[i], kt)

    return run


def _plan_for(x_shape, kernel_shape, strides, dilation, pads, out_hw, dtype):
    _, h, w, c = x_shape
    kh, kw, _, m = kernel_shape
    key = (h, w, c, m, kh, kw, strides, dilation, pads, np.dtype(dtype).str)
    return _plans.get(key, lambda: _Plan((h, w), c, m, (kh, kw), strides, dilation, pads, out_hw, dtype))


def add_bias(out, bias):
    """``out (..., C)`` plus ``bias``, in place: ``bias`` is ``(C,)`` or that bias repeated along
    a whole output row (then numpy's inner loop runs over the row, not over C: twice as fast)."""
    if bias is not None:
        rows = out.reshape(-1, bias.shape[0])
        np.add(rows, bias, out=rows)
    return out


# --------------------------------------------------------------------------- standard conv, pooling


def _pad(xb, pads, value):
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return xb
    return np.pad(xb, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def _tap(xp, i, j, out_hw, strides, dilation):
    """The (N, Ho, Wo, C) view of the padded input that kernel tap (i, j) reads."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, strides, dilation
    return xp[:, i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]


def conv2d(x, kernel, bias=None, *, strides=1, padding="valid", dilation=1, groups=1):
    """Standard 2D convolution (Keras ``Conv2D``), kernel shape ``(kh, kw, C // groups, F)``.

    Each tap is one matrix product ``(N*Ho*Wo, C) @ (C, F)`` accumulated into the output, so BLAS
    does the work and no im2col matrix is ever built. With ``groups`` > 1, input channels and
    filters are split into that many groups, as Keras does (group g sees channels of group g only).
    """
    xb, batched = _as_batch(x)
    n, h, w, c = xb.shape
    groups = as_int(groups, "groups")
    if c % groups:
        raise ValueError(f"`groups` {groups} must divide the input's {c} channels.")
    kernel = _as_kernel(kernel, c // groups, xb.dtype, f"(kh, kw, C // groups = {c // groups}, filters)")
    kh, kw, cg, f = kernel.shape
    if f % groups:
        raise ValueError(f"`groups` {groups} must divide the {f} filters.")
    bias = _as_bias(bias, f, xb.dtype)
    strides, dilation = as_pair(strides, "strides"), as_pair(dilation, "dilation")
    rows, cols = _geometry((h, w), (kh, kw), strides, padding, dilation)
    result = conv2d_batch(xb, kernel, bias, strides, dilation, (rows[1:], cols[1:]),
                          (rows[0], cols[0]), groups)
    return result if batched else result[0]


def conv2d_batch(xb, kernel, bias, strides, dilation, pads, out_hw, groups=1, out=None):
    """The engine under :func:`conv2d`, for arguments already checked: ``xb`` a batch
    ``(N, H, W, C)``, explicit ``pads``, ``bias`` as :func:`add_bias` takes it, ``out`` None or a
    C-contiguous ``(N, Ho, Wo, F)`` to fill. Model.predict calls it directly with folded weights.

    Without groups, the taps' views are joined along the channels (im2col) while that matrix is
    small, so BLAS does one product with a deep inner dimension (a 3x3 conv over 3 channels is
    one 27-deep product, not nine 3-deep ones); larger ones add one product per tap through a
    reused temporary. The bias is added in place.
    """
    kh, kw, cg, f = kernel.shape
    xp = _pad(xb, pads, 0)
    taps = [_tap(xp, i, j, out_hw, strides, dilation) for i in range(kh) for j in range(kw)]
    if groups == 1:
        if len(taps) == 1:
            result = _product(taps[0], kernel[0, 0], out)
        elif taps[0].size * len(taps) * taps[0].itemsize <= _IM2COL_BYTES:
            result = _product(_columns(xp, (kh, kw), strides, dilation), kernel.reshape(-1, f), out)
        else:
            result = _product(taps[0], kernel[0, 0], out)
            scratch = np.empty_like(result)
            for tap, k in zip(taps[1:], kernel.reshape(-1, cg, f)[1:]):
                result += np.matmul(tap, k, out=scratch)
    else:
        result = np.empty((xb.shape[0], *out_hw, f), xb.dtype) if out is None else out
        result.fill(0)
        fg = f // groups
        for tap, k in zip(taps, kernel.reshape(-1, cg, f)):
            for g in range(groups):
                result[..., g * fg:(g + 1) * fg] += tap[..., g * cg:(g + 1) * cg] @ k[:, g * fg:(g + 1) * fg]
    return add_bias(result, bias)


def conv2d_runner(x_shape, kernel, strides, dilation, pads, out_hw, groups):
    """``run(xb, out)``: :func:`conv2d_batch` without bias for inputs of ``x_shape``, for
    Model.predict's chains. A 1x1 convolution with nothing to skip or pad is just the product;
    a small im2col matrix (a stem over 3 channels) and its zero-padded input are kept and
    refilled (their fresh copies were half of the time of MobileNetV2's stem)."""
    kh, kw, c, f = kernel.shape
    if (kh, kw) == (1, 1) and strides == (1, 1) and pads == ((0, 0), (0, 0)) and groups == 1:
        k = kernel[0, 0]
        return lambda xb, out: _product(xb, k, out)
    n, h, w, _ = x_shape
    if groups != 1 or n * out_hw[0] * out_hw[1] * kh * kw * c * kernel.itemsize > _KEPT_COLUMNS_BYTES:
        return lambda xb, out: conv2d_batch(xb, kernel, None, strides, dilation, pads, out_hw, groups, out)
    (pt, pb), (pl, pr) = pads
    xp = np.zeros((n, h + pt + pb, w + pl + pr, c), kernel.dtype)  # the border stays zero
    inside = xp[:, pt:pt + h, pl:pl + w]
    windows = _columns(xp, (kh, kw), strides, dilation, as_view=True)
    columns = np.empty(windows.shape, kernel.dtype)
    matrix, k = columns.reshape(*columns.shape[:3], -1), kernel.reshape(-1, f)

    def run(xb, out):
        inside[...] = xb
        columns[...] = windows
        _product(matrix, k, out)

    return run


_KEPT_COLUMNS_BYTES = 4 * 2**20
_IM2COL_BYTES = 64 * 2**20


def _columns(xp, kernel_hw, strides, dilation, as_view=False):
    """The im2col matrix ``(N, Ho, Wo, kh*kw*C)``, taps in (row, column) order, made by one
    copy of a window view (joining the taps' views instead is 2x slower on few channels: a 7x7
    stem over 3 channels, 8.6 -> 0.9 ms measured); ``as_view``: that view, ``(N, Ho, Wo, kh,
    kw, C)``, not copied."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, strides, dilation
    windows = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    windows = windows[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)
    return windows if as_view else windows.reshape(*windows.shape[:3], -1)


def _product(x, k, out=None):
    """``x (N, H, W, K) @ k (K, F)``, into ``out`` if given. A contiguous ``x`` is one 2-D
    product over all positions: numpy runs a 4-D matmul as one BLAS call per row of the
    picture, which measured 1.1x (112x112) to 1.6x (14x14) slower, 2-6x on 7x7."""
    if out is None:
        out = np.empty((*x.shape[:3], k.shape[1]), x.dtype)
    if x.flags.c_contiguous:
        np.matmul(x.reshape(-1, x.shape[3]), k, out=out.reshape(-1, k.shape[1]))
    else:
        np.matmul(x, k, out=out)
    return out


def pool2d(x, pool_size=2, *, strides=None, padding="valid", mode="max"):
    """Max or average pooling (Keras ``MaxPooling2D`` / ``AveragePooling2D``).

    ``strides`` defaults to ``pool_size``. With "same" padding, averages count only the input
    values inside each window, as TensorFlow does, and maxima ignore the padding.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f'`mode` must be "max" or "avg", got {mode!r}.')
    xb, batched = _as_batch(x)
    _, h, w, _ = xb.shape
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    rows, cols = _geometry((h, w), pool_size, strides, padding, 1)
    (ho, wo), pads = (rows[0], cols[0]), (rows[1:], cols[1:])
    sh, sw = strides
    fill = -np.inf if mode == "max" else 0
    windows = sliding_window_view(_pad(xb, pads, fill), pool_size, axis=(1, 2))
    windows = windows[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
    if mode == "max":
        result = windows.max(axis=(-2, -1))
    else:
        result = windows.sum(axis=(-2, -1))
        ones = _pad(np.ones((1, h, w, 1), xb.dtype), pads, 0)
        counts = sliding_window_view(ones, pool_size, axis=(1, 2))
        counts = counts[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw].sum(axis=(-2, -1))
        result /= counts
    return result if batched else result[0]


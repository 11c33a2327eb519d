"""Slow, obviously-correct float64 references (loops over the output), for tests only."""

import numpy as np


def axis(size, k, s, d, padding):
    span = (k - 1) * d + 1
    if padding == "same":
        out = -(-size // s)
        return out, max((out - 1) * s + span - size, 0) // 2
    return (size - span) // s + 1, 0


def taps(h, w, kernel_hw, strides, padding, dilation):
    """Every (out row, out col, tap row, tap col, input row, input col) inside the input."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, strides, dilation
    ho, pt = axis(h, kh, sh, dh, padding)
    wo, pl = axis(w, kw, sw, dw, padding)
    for r in range(ho):
        for q in range(wo):
            for i in range(kh):
                for j in range(kw):
                    rr, cc = r * sh + i * dh - pt, q * sw + j * dw - pl
                    if 0 <= rr < h and 0 <= cc < w:
                        yield r, q, i, j, rr, cc


def depthwise(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
    x = np.asarray(x, np.float64)
    batched = x.ndim == 4
    x = x if batched else x[None]
    k = np.asarray(kernel, np.float64)
    n, h, w, c = x.shape
    kh, kw, _, m = k.shape
    ho, wo = axis(h, kh, strides[0], dilation[0], padding)[0], axis(w, kw, strides[1], dilation[1], padding)[0]
    y = np.zeros((n, ho, wo, c * m))
    for r, q, i, j, rr, cc in taps(h, w, k.shape[:2], strides, padding, dilation):
        # (n, c, 1) * (c, m) -> output channel c*M + m order
        y[:, r, q] += (x[:, rr, cc, :, None] * k[i, j]).reshape(n, c * m)
    if bias is not None:
        y += np.asarray(bias, np.float64)
    return y if batched else y[0]


def conv(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
    x = np.asarray(x, np.float64)
    k = np.asarray(kernel, np.float64)
    h, w, c = x.shape
    kh, kw, _, f = k.shape
    ho, wo = axis(h, kh, strides[0], dilation[0], padding)[0], axis(w, kw, strides[1], dilation[1], padding)[0]
    y = np.zeros((ho, wo, f))
    for r, q, i, j, rr, cc in taps(h, w, k.shape[:2], strides, padding, dilation):
        y[r, q] += x[rr, cc] @ k[i, j]
    return y if bias is None else y + bias


def pool(x, size, strides, padding, mode):
    x = np.asarray(x, np.float64)
    h, w, c = x.shape
    ho, pt = axis(h, size[0], strides[0], 1, padding)
    wo, pl = axis(w, size[1], strides[1], 1, padding)
    y = np.zeros((ho, wo, c))
    for r in range(ho):
        for q in range(wo):
            r0, c0 = r * strides[0] - pt, q * strides[1] - pl
            win = x[max(r0, 0):r0 + size[0], max(c0, 0):c0 + size[1]].reshape(-1, c)
            y[r, q] = win.max(0) if mode == "max" else win.mean(0)
    return y

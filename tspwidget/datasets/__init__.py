"""Data and trained models that ship with tspwidget: scikit-learn's 8x8 digits and a classifier for them.

::

    import tspwidget as tsp
    images, labels = tsp.datasets.digits()   # needs scikit-learn (the `demo` / `test` extras)
    model = tsp.datasets.digits_model()      # numpy only: the trained model, read from the package
    model.predict(images[1500]).argmax(), labels[1500]

The model was trained by the dev-only script ``tests/fixtures/train_digits.py`` (Keras 3) on the first
``DIGITS_TRAIN_SAMPLES`` digits; the other 297 were held out. ``digits_checkpoints()`` gives the same
architecture after each of ``DIGITS_EPOCHS`` training epochs (0 = the untrained start).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models import load

__all__ = ["DIGITS_EPOCHS", "DIGITS_TRAIN_SAMPLES", "digits", "digits_checkpoints", "digits_model",
           "upsample_digits"]

HERE = Path(__file__).resolve().parent
DIGITS_EPOCHS = (0, 1, 2, 5, 10, 40)  # the last one is the model digits_model() returns
DIGITS_TRAIN_SAMPLES = 1500  # trained on digits[:1500]; digits[1500:] (297 images) held out
_SIZE, _BORDER = 24, 2  # 8x8 -> 24x24 bilinear, then a 2-pixel zero border: 28x28
_MAX_VALUE = 16.0  # sklearn's digits are counts 0..16 of set pixels in 4x4 blocks


def _bilinear_matrix(n_in, n_out):
    """``(n_out, n_in)`` weights of a half-pixel-centred bilinear resize along one axis.

    Output pixel ``i`` samples the input at ``(i + 0.5) * n_in / n_out - 0.5`` (edge values
    repeat beyond the first and last centres), as PIL and ``tf.image.resize`` do without antialias.
    """
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = pos - low
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), low), 1 - frac)
    np.add.at(weights, (np.arange(n_out), high), frac)
    return weights


def upsample_digits(images):
    """sklearn's 8x8 digits to the model's input: ``(N, 28, 28, 1)`` float32 in [0, 1].

    ``images`` is ``(N, 8, 8)`` or ``(N, 64)`` (``load_digits().images`` / ``.data``), or one
    ``(8, 8)`` image (giving ``(28, 28, 1)``), with values 0..16. Each image is scaled to [0, 1]
    (divided by 16), resized to 24x24 by bilinear interpolation (half-pixel centres: each 8x8 pixel
    becomes a 3x3 block whose centre keeps its value, blended towards its neighbours) and given a
    2-pixel zero border, like MNIST's margin around the stroke. The training script and the
    runtime both call this function, so the model sees exactly what it was trained on.
    """
    arr = np.asarray(images, dtype=np.float64)
    single = arr.shape == (8, 8)
    if single:
        arr = arr[None]
    elif arr.ndim == 2 and arr.shape[1] == 64:
        arr = arr.reshape(-1, 8, 8)
    if arr.ndim != 3 or arr.shape[1:] != (8, 8):
        raise ValueError(f"`images` must have shape (N, 8, 8), (N, 64) or (8, 8), got shape {np.shape(images)}.")
    if arr.size and (arr.min() < 0 or arr.max() > _MAX_VALUE):
        raise ValueError(f"`images` must hold sklearn digit values 0..16, got values from "
                         f"{arr.min()} to {arr.max()}.")
    resize = _bilinear_matrix(8, _SIZE)
    big = np.einsum("ij,njk,lk->nil", resize, arr / _MAX_VALUE, resize)
    out = np.pad(big, ((0, 0), (_BORDER, _BORDER), (_BORDER, _BORDER)))[..., None].astype(np.float32)
    return out[0] if single else out


def digits():
    """All 1797 of scikit-learn's digits, in its order, as the digits model expects them.

    Returns ``(images, labels)``: images ``(1797, 28, 28, 1)`` float32 (see ``upsample_digits``),
    labels ``(1797,)`` int. Needs scikit-learn, which bundles the data (nothing is downloaded).
    """
    try:
        from sklearn.datasets import load_digits  # optional: only this function needs it
    except ImportError as err:
        raise ImportError("tspwidget.datasets.digits() needs scikit-learn, which bundles the digits: "
                          "pip install scikit-learn (or pip install 'tspwidget[demo]').") from err
    bunch = load_digits()
    return upsample_digits(bunch.images), bunch.target.astype(np.int64)


def _model_path(epoch):
    return HERE / ("digits.keras" if epoch == DIGITS_EPOCHS[-1] else f"digits_epoch_{epoch:02d}.keras")


def digits_model():
    """The trained digits classifier (28x28x1 in, 10 softmax probabilities out), a fresh Model."""
    return load(_model_path(DIGITS_EPOCHS[-1]), progress=False)


def digits_checkpoints():
    """The digits model after each of ``DIGITS_EPOCHS`` epochs, in that order (fresh Models)."""
    return [load(_model_path(epoch), progress=False) for epoch in DIGITS_EPOCHS]

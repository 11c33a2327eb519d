"""The models users hold: the core's ``Model`` and ``Sequential`` plus what needs more than numpy,
showing them (ipywidgets and pythreejs) and reading weights from files (``tspwidget.io``).

The numpy core knows neither: it never imports io or the widget. Everything that hands a model
to a user (``tsp.load``, ``tsp.from_torch``, the datasets, the explorer) builds these classes.
"""

from __future__ import annotations

from . import io
from .core import model as core
from .io._torch import OPSET
from .io._torch import from_torch as _from_torch
from .progress import progress_bar


class _Viewable:
    """What a model gets above the core."""

    def load_weights(self, path):
        """Fill the weights from a Keras or TF.js file, matching layers by name; returns self.

        Keras 3 ``.weights.h5`` files (``model.save_weights``) are matched by the layer names
        they record. See :func:`tspwidget.io.load_weights`.
        """
        return io.load_weights(self, path)

    def show(self, **options):
        """A :class:`tspwidget.ModelView` of this model (options as ModelView's)."""
        try:
            # Imported here, not at module level: the rest of tspwidget works without widget libraries.
            from .widget import ModelView
        except ModuleNotFoundError as err:
            raise ImportError(f"showing a model needs ipywidgets and pythreejs ({err}): "
                              f"pip install tspwidget") from err
        return ModelView(self, **options)

    def _ipython_display_(self):
        from IPython.display import display  # only ever called from inside IPython

        if not self.is_initialized:
            self.summary()
            return
        try:
            view = self.show()
        except ImportError:
            self.summary()
        else:
            display(view)


class Model(_Viewable, core.Model):
    __doc__ = core.Model.__doc__


class Sequential(_Viewable, core.Sequential):
    __doc__ = core.Sequential.__doc__


def load(path, *, progress=True):
    """Read a model file into an initialised :class:`Model` (see :mod:`tspwidget.io`), with a
    progress bar in notebooks unless ``progress=False``."""
    if not progress:
        return io.load(path, model_class=Model)
    with progress_bar(f"loading {path}") as callback:
        return io.load(path, progress=callback, model_class=Model)


def from_torch(module, example_input, *, name=None, opset=OPSET):
    return _from_torch(module, example_input, name=name, opset=opset, model_class=Model)


from_torch.__doc__ = _from_torch.__doc__

"""A progress bar for long work in a notebook (loading big models), and nothing elsewhere."""

from __future__ import annotations

from contextlib import contextmanager


def _in_kernel():
    """True inside a Jupyter kernel (where widgets reach a browser)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@contextmanager
def progress_bar(description):
    """Yield a ``progress(done, total)`` callback that drives an ipywidgets bar in a notebook
    (about twenty updates at most, never one message per step); outside a kernel, or without
    ipywidgets, it does nothing."""
    widgets = None
    if _in_kernel():
        try:
            import ipywidgets as widgets
            from IPython.display import display
        except ModuleNotFoundError:  # the numpy core alone: no bar
            widgets = None
    if widgets is None:
        yield None
        return

    bar = widgets.IntProgress(value=0, min=0, max=20, description=description,
                              style={"description_width": "initial"})
    display(bar)
    state = {"shown": -1}

    def progress(done, total):
        step = int(20 * done / max(total, 1))
        if step != state["shown"]:
            state["shown"] = step
            bar.value = step

    try:
        yield progress
    finally:
        bar.close()


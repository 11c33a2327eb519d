"""The numpy core works where no widget library is installed (house rule: core imports numpy only)."""

import subprocess
import sys
import textwrap
from pathlib import Path


def test_core_imports_and_computes_without_widget_libraries():
    script = textwrap.dedent(
        """
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {"ipywidgets", "pythreejs", "traitlets", "IPython"}:
                    raise ModuleNotFoundError(f"blocked: {name}", name=name)

        sys.meta_path.insert(0, Block())
        import numpy as np
        import tspwidget
        from tspwidget.core import Sequential, RGBInput, DepthwiseConv2d
        model = Sequential([RGBInput(shape=(6, 6)), DepthwiseConv2d(3)]).init(seed=0)
        print(model.predict(np.ones((6, 6, 3))).shape)
        assert tspwidget.ModelView is None
        import tspwidget.progress
        tspwidget.progress._in_kernel = lambda: True  # as in a notebook: the bar needs ipywidgets
        loaded = tspwidget.load(sys.argv[1])  # the users' loader works too, with no progress bar
        assert isinstance(loaded, tspwidget.Model) and loaded.is_initialized
        assert not any(m.split(".")[0] in {"ipywidgets", "pythreejs"} for m in sys.modules)
        """
    )
    model_file = Path(__file__).parents[1] / "fixtures" / "models" / "sequential.keras"
    result = subprocess.run([sys.executable, "-c", script, str(model_file)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(4, 4, 3)"

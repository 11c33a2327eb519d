"""Copy the JavaScript that ``tspwidget.export`` inlines into ``tspwidget/static/``.

    cd js && npm ci          # or: npm install (versions pinned in package.json / package-lock.json)
    python build.py

Writes, next to the Python package (so ``pip install`` needs no node):
  static/require.js            requirejs/require.js                               (AMD loader)
  static/jupyter-threejs.js    jupyter-threejs/dist/index.js                      (named AMD module, three r97)
  static/embed-amd.js          @jupyter-widgets/html-manager/dist/embed-amd.js    (widget manager)
  static/anywidget.js          anywidget/dist/index.js (named AMD "anywidget")      (anywidget front end)
  static/controller.js         js/controller.js  (the browser controller, live and offline; anywidget ESM)
  static/drawing_pad.js        js/drawing_pad.js (tspwidget.DrawingPad's front end; anywidget ESM)
  static/VERSIONS.json         package versions and sha256 of every file above
"""
import hashlib
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
NM = HERE / "node_modules"
STATIC = HERE.parent / "tspwidget" / "static"

FILES = {
    "require.js": ("requirejs", NM / "requirejs" / "require.js"),
    "jupyter-threejs.js": ("jupyter-threejs", NM / "jupyter-threejs" / "dist" / "index.js"),
    "embed-amd.js": ("@jupyter-widgets/html-manager",
                     NM / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js"),
    "anywidget.js": ("anywidget", NM / "anywidget" / "dist" / "index.js"),
    "controller.js": (None, HERE / "controller.js"),
    "drawing_pad.js": (None, HERE / "drawing_pad.js"),
}
# anywidget's dist is an anonymous AMD module; inlined in a page it must carry its name.
RENAME = {"anywidget.js": ('define(["@jupyter-widgets/base"]', 'define("anywidget", ["@jupyter-widgets/base"]')}


def main():
    STATIC.mkdir(parents=True, exist_ok=True)
    versions = {}
    for name, (package, src) in FILES.items():
        text = src.read_text(encoding="utf-8")
        # Inlined in <script>: these sequences would end or confuse the element.
        for bad in ("</script", "<!--"):
            if bad in text.lower():
                raise SystemExit(f"{src} contains {bad!r}: cannot be inlined as is")
        if name in RENAME:
            old, new = RENAME[name]
            if old not in text:
                raise SystemExit(f"{src}: cannot name its AMD module ({old!r} not found)")
            (STATIC / name).write_text(text.replace(old, new, 1), encoding="utf-8")
        else:
            shutil.copyfile(src, STATIC / name)
        entry = {"sha256": hashlib.sha256(src.read_bytes()).hexdigest(), "bytes": src.stat().st_size}
        if package:
            entry["package"] = package
            entry["version"] = json.loads((NM / package / "package.json").read_text())["version"]
        versions[name] = entry
    (STATIC / "VERSIONS.json").write_text(json.dumps(versions, indent=1) + "\n")
    print(json.dumps(versions, indent=1))


if __name__ == "__main__":
    main()

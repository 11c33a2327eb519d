/* tspwidget offline controller: renders an exported ModelView with no kernel and replays, in the
 * browser, what Python does on a click (tspwidget.widget.ModelView._on_click, scene.LayerMesh).
 *
 * Inputs, both written into the page by tspwidget/export.py:
 *   <script type="application/vnd.tspwidget.state+json" id="tsp-export-state">   widget state
 *   <script type="application/json" id="tsp-export-config">                        layout per layer
 * The state uses its own MIME type so html-manager's automatic renderWidgets() ignores it: we make
 * the manager ourselves, and so can reach every model (and its three.js object, `model.obj`).
 *
 * A click (not a drag) on the canvas: the ray from the camera is cut with each layer's plane
 * (y = 0 in the layer mesh's own frame), the hit point goes through LayerLayout.locate (ported
 * below) with the status this page keeps per layer; "aggregate" opens the layer, "button" closes it, "map" selects
 * it (shown in the info line). Opening/closing drives the layer's AnimationAction exactly like
 * LayerMesh.animate_to: timeScale sign, time when at rest, then the model's own play().
 *
 * window.tspExport exposes {ready, error, manager, status, open(name), close(name),
 * influence(name), locate(...), pickAt(clientX, clientY), selected, clicks} for tests.
 */
(function () {
  "use strict";

  var api = (window.tspExport = { ready: false, error: null, status: {}, clicks: [], selected: null });

  function pixel(x, z, cx, cz, w, d, rows, cols) {
    var u = (x - cx + w / 2) / w, v = (z - cz + d / 2) / d;
    if (!(u >= 0 && u <= 1 && v >= 0 && v <= 1)) return null;
    return [Math.min(Math.floor(v * rows), rows - 1), Math.min(Math.floor(u * cols), cols - 1)];
  }

  // Port of tspwidget.core.layout.LayerLayout.locate.
  function locate(L, status, x, z) {
    var w = L.map_size[0], d = L.map_size[1], hit;
    if (status === "close") {
      hit = pixel(x, z, 0, 0, w, d, L.rows, L.cols);
      return hit === null ? null : ["aggregate", hit[0], hit[1]];
    }
    var bx = L.button[0], bz = L.button[1], r = L.button[2];
    if (L.button_visible && (x - bx) * (x - bx) + (z - bz) * (z - bz) <= r * r) return ["button"];
    for (var c = 0; c < L.centers.length; c++) {
      var cx = L.centers[c][0], cz = L.centers[c][1];
      if (Math.abs(cx - x) <= w / 2 && Math.abs(cz - z) <= d / 2) {
        hit = pixel(x, z, cx, cz, w, d, L.rows, L.cols);
        if (hit !== null) return ["map", c, hit[0], hit[1]];
      }
    }
    return null;
  }

  function requireP(names) {
    return new Promise(function (resolve, reject) {
      window.requirejs(names, function () { resolve(Array.prototype.slice.call(arguments)); }, reject);
    });
  }

  function waitFor(fn, ms) {
    return new Promise(function (resolve, reject) {
      var t0 = Date.now();
      (function poll() {
        var v = fn();
        if (v) return resolve(v);
        if (Date.now() - t0 > ms) return reject(new Error("timed out waiting for the canvas"));
        setTimeout(poll, 30);
      })();
    });
  }

  async function start() {
    var cfg = JSON.parse(document.getElementById("tsp-export-config").textContent);
    var state = JSON.parse(document.getElementById("tsp-export-state").textContent);
    var mods = await requireP(["@jupyter-widgets/html-manager",
                               "@jupyter-widgets/html-manager/dist/libembed-amd"]);
    var manager = new mods[0].HTMLManager({ loader: mods[1].requireLoader });
    api.manager = manager;
    await manager.set_state(state);
    var root = await manager.get_model(cfg.root);
    var view = await manager.create_view(root);
    var host = document.getElementById("tsp-export-root");
    await manager.display_view(view, host);

    async function model(id) {
      var m = await manager.get_model(id);
      if (m.initPromise) await m.initPromise;
      return m;
    }
    var camera = await model(cfg.camera);
    var sceneModel = await model(cfg.scene);
    var info = cfg.info ? await manager.get_model(cfg.info) : null;
    var layers = {};
    for (var i = 0; i < cfg.layers.length; i++) {
      var L = Object.assign({}, cfg.layers[i]);
      L.meshModel = await model(L.mesh);
      L.actionModel = await model(L.action);
      layers[L.name] = L;
      api.status[L.name] = L.status;
    }
    var CLIP = cfg.clip_seconds;

    function rerender() { sceneModel.trigger("rerender", sceneModel, {}); }

    // Python aims the camera with camera.lookAt(target), a message that is not in the saved
    // state; OrbitControls (whose target is in the state) only re-aims it on interaction.
    if (cfg.target) {
      camera.obj.lookAt(cfg.target[0], cfg.target[1], cfg.target[2]);
      camera.obj.updateMatrixWorld();
    }

    function influence(L) {
      var inf = L.meshModel.obj.morphTargetInfluences;
      return inf && inf.length ? inf[0] : 0;
    }

    // Start from the pictures the statuses say (the exported state may hold a mid-way influence).
    Object.keys(layers).forEach(function (name) {
      var L = layers[name];
      var target = (L.status === "open") === L.base_open ? 0 : 1;
      var act = L.actionModel.obj;
      act.paused = true;
      act.time = target * CLIP;
      L.meshModel.obj.morphTargetInfluences[0] = target;
    });
    rerender();

    // Port of scene.LayerMesh.animate_to.
    function animateTo(L, status) {
      var target = (status === "open") === L.base_open ? 0 : 1;
      var act = L.actionModel.obj;
      var current = Math.min(1, Math.max(0, influence(L)));
      var atRest = act.paused || !act.isRunning();
      if (atRest && current === target) return;
      var direction = target > current ? 1 : -1;
      act.timeScale = direction * CLIP / L.seconds;
      if (atRest) act.time = current * CLIP;
      // Mid-way, the action just reverses from wherever it is: no jump.
      L.actionModel.pause(); // drops the previous frame hook, so hooks never pile up
      L.actionModel.play();
    }

    function setStatus(name, status) {
      var L = layers[name];
      if (!L || api.status[name] === status) return;
      api.status[name] = status;
      animateTo(L, status);
    }
    api.open = function (name) { setStatus(name, "open"); };
    api.close = function (name) { setStatus(name, "close"); };
    api.influence = function (name) { return influence(layers[name]); };
    api.locate = function (name, status, x, z) { return locate(layers[name], status, x, z); };

    function select(L, what) {
      var sel = { layer: L.name, channel: what[1], row: what[2], col: what[3] };
      api.selected = sel;
      if (info) {
        info.set("value", "<b>" + L.name.replace(/[<>&]/g, "") + "</b> \u00b7 map " + sel.channel +
                 " \u00b7 pixel (row " + sel.row + ", col " + sel.col + ")" +
                 " <span style='opacity:.6'>(offline export: values need the kernel)</span>");
      }
    }

    // ---------------------------------------------------------------- clicks
    var el = await waitFor(function () { return host.querySelector(".jupyter-threejs"); }, 20000);
    await waitFor(function () { return el.querySelector("canvas, img"); }, 20000);
    var press = null;

    // Two world points on the click ray: the camera and a point in the frustum under the cursor.
    function ray(event) {
      var target = el.querySelector("canvas, img") || el;
      var rect = target.getBoundingClientRect();
      var ndcX = ((event.clientX - rect.left) / rect.width) * 2 - 1;
      var ndcY = -((event.clientY - rect.top) / rect.height) * 2 + 1;
      var cam = camera.obj;
      cam.updateMatrixWorld();
      var origin = cam.position.clone().setFromMatrixPosition(cam.matrixWorld);
      var through = cam.position.clone().set(ndcX, ndcY, 0.5).unproject(cam);
      return { origin: origin, through: through };
    }

    // The first layer content along the ray (scene.Scene.pick): the ray is cut with each layer's
    // plane in the mesh's own frame (y = 0 there, whatever groups move the model), and the hit
    // (x, z) goes through locate() like LayerMesh.locate does.
    function pick(r) {
      var best = null;
      Object.keys(layers).forEach(function (name) {
        var L = layers[name], mesh = L.meshModel.obj;
        mesh.updateMatrixWorld();
        var a = mesh.worldToLocal(r.origin.clone()), b = mesh.worldToLocal(r.through.clone());
        var dy = b.y - a.y;
        if (Math.abs(dy) < 1e-12) return;
        var t = -a.y / dy; // same parameter along the world ray (affine map)
        if (t <= 0) return;
        var x = a.x + t * (b.x - a.x), z = a.z + t * (b.z - a.z);
        var what = locate(L, api.status[name], x, z);
        if (what && (!best || t < best.t)) best = { t: t, layer: L, what: what };
      });
      return best;
    }

    api.pickAt = function (clientX, clientY) {
      var r = ray({ clientX: clientX, clientY: clientY });
      var hit = pick(r);
      return { origin: r.origin.toArray(), through: r.through.toArray(),
               hit: hit ? [hit.layer.name].concat(hit.what) : null };
    };

    el.addEventListener("pointerdown", function (e) {
      press = { x: e.clientX, y: e.clientY };
    }, true);
    el.addEventListener("click", function (e) {
      var p = press;
      press = null;
      if (!p || Math.abs(e.clientX - p.x) + Math.abs(e.clientY - p.y) > 4) return; // a drag
      var hit = pick(ray(e));
      api.clicks.push(hit ? [hit.layer.name].concat(hit.what) : null);
      if (!hit) return;
      if (hit.what[0] === "aggregate") setStatus(hit.layer.name, "open");
      else if (hit.what[0] === "button") setStatus(hit.layer.name, "close");
      else if (hit.what[0] === "map") select(hit.layer, hit.what);
    }, true);

    api.ready = true;
    document.documentElement.setAttribute("data-tsp-ready", "1");
  }

  function go() {
    start().catch(function (err) {
      api.error = String(err && err.stack ? err.stack : err);
      console.error("tspwidget offline export:", err);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
  else go();
})();

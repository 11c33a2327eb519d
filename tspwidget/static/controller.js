// tspwidget browser controller: an anywidget ESM module (no imports, no bundler needed).
//
// It holds references to a ModelView's pythreejs objects and owns, in the browser, everything that
// moves: the open/close morphs, the layers making room, the camera easing to a layer and back,
// picking (click and hover), the labels and the connection lines. Python syncs *state* only:
//   plan       nodes, footprints, label texts and sizes (tspwidget.core.layout.Plan.to_json)
//   geometry   per node: what locate() needs (map grid, centres, close button)
//   status     {node name: "open" | "close"}        set by Python, or here on a click
//   anime      {node name: milliseconds}
//   focus      null (the whole model) or a node name: what the camera frames
//   camera_moved  true once the user orbits/zooms away from that framing
//   follow     ease the camera to a layer when it opens
// and receives map clicks as messages ({event: "select", ...}). The same file runs in the
// exported offline page (tspwidget.export), where there is no kernel.
//
// arrange(), screenExtent() and frame() are tspwidget.core.layout's functions of the same names;
// tests/browser/test_layout_browser.py checks that both give the same numbers.

const EASE = (t) => (t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2); // cubic in-out
const LINK_POINTS = 8;
const RESHAPE_MS = 900; // a rebuilt scene (new shapes) grows out of the old one in this time
const HOVER_OFF = [-1, -1, -2, -2]; // core/shaders.py HOVER_OFF: u0 > u1 is off

// ------------------------------------------------------------------ layout (port of core/layout.py)
// Perspective allowances (layout._slack, layout.label_offset).
const rad = (deg) => (deg * Math.PI) / 180;
const slackOf = (elevation, fov) => Math.tan(rad(fov) / 2) / Math.tan(rad(elevation));

function bands(f, h, se, ce, C, slack) {
  const slab = C.SLAB * (f[1] - f[0]) * ce;
  return [Math.max(-f[2] * se * (1 + slack) + slab, h / 2), Math.max(f[3] * se * (1 + slack), h / 2)];
}

function labelOffset(f, h, C, plan) {
  const near = (Math.tan(rad(plan.fov) / 2) * plan.aspect * Math.cos(rad(plan.elevation)) * (f[3] - f[2])) / 2;
  return f[1] + C.LABEL_GAP * h + near;
}

// Labels keep plan.label_px pixels at the default camera whatever is open (layout.arrange).
export function arrange(plan, openFlags) {
  const C = plan.constants, goal = plan.label_px;
  const px = (h) => {
    const arr = arrangeWith(plan, openFlags, h);
    const f = frame(screenExtent(arr, C), plan.aspect, plan.elevation, plan.fov, C.FRAME_MARGIN);
    return [arr, minLabelPx(arr, C, f.position, f.target, plan.fov, plan.height_px)];
  };
  let h0 = plan.label_h, [arr0, p0] = px(h0);
  const hMax = h0 * C.MAX_LABEL_GROWTH;
  if (Math.abs(p0 / goal - 1) < C.FIT_TOLERANCE) return arr0;
  let h1 = Math.min((h0 * goal) / p0, hMax), [arr1, p1] = px(h1);
  for (let k = 0; k < 8; k++) {
    if (Math.abs(p1 / goal - 1) < C.FIT_TOLERANCE || h1 === h0) break;
    const slope = (p1 - p0) / (h1 - h0);
    let h2 = slope > 0 ? h1 + (goal - p1) / slope : (h1 * goal) / p1;
    h2 = Math.min(Math.max(h2, h1 / 4), h1 * 4, hMax);
    [h0, p0] = [h1, p1];
    h1 = h2;
    [arr1, p1] = px(h2);
  }
  return arr1;
}

function minLabelPx(arr, C, eye, aim, fov, heightPx) {
  const f = aim.map((v, k) => v - eye[k]), len = Math.hypot(...f);
  let depth = -Infinity;
  arr.positions.forEach((p, i) => {
    const a = labelAnchor(arr, i, C);
    depth = Math.max(depth, ((a[0] - eye[0]) * f[0] + (a[1] - eye[1]) * f[1] + (a[2] - eye[2]) * f[2]) / len);
  });
  return (arr.h * heightPx) / 2 / Math.tan((fov * Math.PI) / 360) / depth;
}

function arrangeWith(plan, openFlags, h) {
  const C = plan.constants, el = (plan.elevation * Math.PI) / 180, ef = (C.FOCUS_ELEVATION * Math.PI) / 180;
  const se = Math.sin(el), ce = Math.cos(el), sf = Math.sin(ef), cf = Math.cos(ef), n = plan.nodes.length;
  const feet = plan.nodes.map((node, i) => (openFlags[i] ? node.opened : node.closed));
  const labelW = plan.nodes.map((node) => node.label.length * C.CHAR_WIDTH * h);
  const left = feet.map((f) => f[0]);
  const right = feet.map((f, i) => labelOffset(f, h, C, plan) + labelW[i]);
  const slack = slackOf(plan.elevation, plan.fov), focusSlack = slackOf(C.FOCUS_ELEVATION, plan.fov);
  const byLevel = {};
  plan.nodes.forEach((node, i) => (byLevel[node.level] = byLevel[node.level] || []).push(i));
  const positions = Array.from({ length: n }, () => [0, 0, 0]);
  const columnOf = new Array(n).fill(0), down = new Array(n).fill(0), up = new Array(n).fill(0);
  const columns = [];
  let xCursor = 0;
  const nColumns = Math.max(...plan.level_column) + 1;
  for (let column = 0; column < nColumns; column++) {
    const xRel = new Map(), yOf = new Map();
    let y = 0, previous = null;
    plan.level_column.forEach((col, level) => {
      if (col !== column) return;
      const members = byLevel[level] || [];
      if (members.length === 1) xRel.set(members[0], 0);
      else if (members.length > 1) {
        const total = members.reduce((s, i) => s + right[i] - left[i], 0) + C.SIBLING_GAP * h * (members.length - 1);
        let x = -total / 2;
        for (const i of members) { xRel.set(i, x - left[i]); x += right[i] - left[i] + C.SIBLING_GAP * h; }
      }
      if (!members.length) return;
      const home = members.map((i) => bands(feet[i], h, se, ce, C, slack));
      const focus = members.map((i) => bands(feet[i], h, sf, cf, C, focusSlack));
      const now = [Math.max(...home.map((b) => b[0])), Math.max(...home.map((b) => b[1])),
        Math.max(...focus.map((b) => b[0])), Math.max(...focus.map((b) => b[1])), members.some((i) => openFlags[i])];
      if (previous !== null) {
        let step = (previous[0] + now[1] + C.LEVEL_GAP * h) / ce;
        if (previous[4] || now[4]) step = Math.max(step, ((previous[2] + now[3]) * (1 + C.FOCUS_MARGIN) + C.LEVEL_GAP * h) / cf);
        y += step;
      }
      previous = now;
      members.forEach((i, k) => { yOf.set(i, y); up[i] = home[k][0]; down[i] = home[k][1]; });
    });
    if (!xRel.size) continue;
    let colLeft = Infinity, colRight = -Infinity;
    for (const [i, x] of xRel) { colLeft = Math.min(colLeft, x + left[i]); colRight = Math.max(colRight, x + right[i]); }
    const axis = xCursor - colLeft;
    for (const [i, x] of xRel) { positions[i] = [axis + x, yOf.get(i), 0]; columnOf[i] = column; }
    columns.push({ left: xCursor, right: axis + colRight });
    xCursor = axis + colRight + C.COLUMN_GAP * h;
  }
  return { positions, feet, labelW, h, elevation: plan.elevation, plan, columnOf, up, down, left, right, columns };
}

function mapBox(arr, i, C) {
  const [x, y, z] = arr.positions[i], f = arr.feet[i];
  const t = C.SLAB * (f[1] - f[0]);
  return [x + f[0], y, z + f[2], x + f[1], y + t, z + f[3]];
}

function labelAnchor(arr, i, C) {
  const [x, y, z] = arr.positions[i];
  return [x + labelOffset(arr.feet[i], arr.h, C, arr.plan), y, z];
}

export function screenExtent(arr, C, indexes, elevation, withLabels = true) {
  const el = ((elevation ?? arr.elevation) * Math.PI) / 180, se = Math.sin(el), ce = Math.cos(el);
  const idx = indexes || arr.positions.map((_, i) => i);
  const xs = [], vs = [], ds = [];
  for (const i of idx) {
    const [x0, y0, z0, x1, y1, z1] = mapBox(arr, i, C);
    const [ax, ay] = labelAnchor(arr, i, C);
    for (const [x, y, z] of [[x0, y0, z0], [x1, y1, z1], [x0, y1, z0], [x1, y0, z1]]) {
      xs.push(x); vs.push(y * ce - z * se); ds.push(y * se + z * ce);
    }
    if (!withLabels) continue;
    const ly0 = ay - arr.h / 2, ly1 = ay + arr.h / 2;
    xs.push(ax, ax + arr.labelW[i]); vs.push(ly0 * ce, ly1 * ce); ds.push(ly0 * se, ly1 * se);
  }
  return [Math.min(...xs), Math.max(...xs), Math.min(...vs), Math.max(...vs), Math.min(...ds), Math.max(...ds)];
}

export function frame(extent, aspect, elevation, fov, margin) {
  const [x0, x1, v0, v1, , d1] = extent;
  const el = (elevation * Math.PI) / 180, se = Math.sin(el), ce = Math.cos(el);
  const target = [(x0 + x1) / 2, (v0 + v1) / 2 / ce, 0];
  const tan = Math.tan((fov * Math.PI) / 180 / 2);
  const fit = Math.max((v1 - v0) / 2 / tan, (x1 - x0) / 2 / (tan * aspect)) * margin;
  const dist = fit + Math.max(d1 - target[1] * se, 0);
  return { position: [target[0], target[1] + dist * se, target[2] + dist * ce], target };
}

// Port of tspwidget.core.layout.LayerLayout.locate: what a point of a layer's plane falls on.
function pixel(x, z, cx, cz, w, d, rows, cols) {
  const u = (x - cx + w / 2) / w, v = (z - cz + d / 2) / d;
  if (!(u >= 0 && u <= 1 && v >= 0 && v <= 1)) return null;
  return [Math.min(Math.floor(v * rows), rows - 1), Math.min(Math.floor(u * cols), cols - 1)];
}

export function locate(g, status, x, z) {
  const w = g.map_size[0], d = g.map_size[1];
  if (status === "close") {
    const hit = pixel(x, z, 0, 0, w, d, g.rows, g.cols);
    return hit === null ? null : ["aggregate", hit[0], hit[1]];
  }
  const [bx, bz, r] = g.button;
  if (g.button_visible && (x - bx) ** 2 + (z - bz) ** 2 <= r * r) return ["button"];
  for (let c = 0; c < g.centers.length / 2; c++) {
    const cx = g.centers[2 * c], cz = g.centers[2 * c + 1];
    if (Math.abs(cx - x) <= w / 2 && Math.abs(cz - z) <= d / 2) {
      const hit = pixel(x, z, cx, cz, w, d, g.rows, g.cols);
      if (hit !== null) return ["map", c, hit[0], hit[1]];
    }
  }
  return null;
}

// ------------------------------------------------------------------ the controller (one per model)
function unref(v) { return typeof v === "string" && v.startsWith("IPY_MODEL_") ? v.slice(10) : v; }
const registry = (globalThis.__tspControllers = globalThis.__tspControllers || new Map());
globalThis.__tspLayout = { arrange, screenExtent, frame, locate };  // for the browser tests

class Controller {
  constructor(model) {
    this.model = model;
    this.views = new Set();
    this.anims = [];      // per node: {inf, pos} tweens
    this.cam = null;      // camera tween
    this.frameRequested = false;
    this.hovered = null;
    this.busy = true;
  }

  async load() {
    const m = this.model, wm = m.widget_manager;
    const get = async (ref) => {
      const x = await wm.get_model(unref(ref));
      if (x.initPromise) await x.initPromise;
      return x;
    };
    this.sceneModel = await get(m.get("scene"));
    this.cameraModel = await get(m.get("camera"));
    this.orbitModel = await get(m.get("orbit"));
    this.linksModel = await get(m.get("links"));
    this.hoverModel = await get(m.get("hover"));
    this.meshModels = await Promise.all(m.get("meshes").map(get));
    this.rebuildState();
    const orbit = this.orbitModel.obj;
    // A plain click also starts and ends the controls: only a camera that moved counts.
    let startPose = null;
    const pose = () => this.cameraModel.obj.position.toArray().concat(orbit.target.toArray());
    orbit.addEventListener("start", () => { startPose = pose(); this.cam = null; });
    orbit.addEventListener("change", () => this.requestFrame());
    orbit.addEventListener("end", () => {
      const moved = startPose && pose().some((v, k) => Math.abs(v - startPose[k]) > 1e-6);
      if (moved && !m.get("camera_moved")) { m.set("camera_moved", true); m.save_changes(); }
    });
    for (const name of ["status", "focus", "camera_moved", "follow"]) m.on("change:" + name, () => this.schedule());
    // Sent after the textures it is about, so by now they are in the three.js objects.
    m.on("change:redraw", () => requestAnimationFrame(() => this.sceneModel.trigger("rerender", this.sceneModel, {})));
    const reload = async () => {  // a rebuilt scene: new meshes, links, plan and geometry together
      const before = this.seen;
      [this.meshModels, this.linksModel] = await Promise.all([Promise.all(m.get("meshes").map(get)),
                                                              get(m.get("links"))]);
      this.loading = false;
      this.rebuildState();
      if (before) this.reshapeFrom(before.boxes, before.camera);
      this.views.forEach((v) => v.rebuildLabels());
    };
    let reloadQueued = false;
    m.on("change:plan change:meshes change:geometry change:links", () => {
      this.loading = true;  // the new plan must not move the old meshes: nothing steps until reload
      if (reloadQueued) return;
      reloadQueued = true;
      Promise.resolve().then(() => { reloadQueued = false; reload(); });
    });
    return this;
  }

  get plan() { return this.model.get("plan"); }
  get C() { return this.plan.constants; }
  flags(status) { return this.plan.nodes.map((n) => (status || this.model.get("status"))[n.name] === "open"); }

  // Jump to the state the traits describe (a fresh page, or a rebuilt scene).
  rebuildState() {
    this.arr = arrange(this.plan, this.flags());
    this.shown = this.flags();
    this.anims = this.meshModels.map((mm, i) => {
      const obj = mm.obj, inf = this.shown[i] ? 1 : 0;
      obj.morphTargetInfluences[0] = inf;
      foldKernels(obj, inf);
      obj.scale.set(1, 1, 1);
      obj.position.set(...this.arr.positions[i]);
      return { inf: { from: inf, to: inf, t0: 0, dur: 1 }, pos: { from: this.arr.positions[i], to: this.arr.positions[i], t0: 0, dur: 1 } };
    });
    const pose = this.pose();
    this.setCamera(pose.position, pose.target);
    this.camKey = JSON.stringify([this.model.get("focus"), this.model.get("camera_moved")]);
    this.updateLinks();
    this.seen = this.snapshot();
    this.requestFrame();
  }

  // Every node's maps as drawn now, by name, and the camera: what a rebuilt scene grows out of.
  snapshot() {
    const live = this.live();
    return { boxes: new Map(this.plan.nodes.map((n, i) => [n.name, mapBox(live, i, this.C)])),
      camera: [this.cameraModel.obj.position.toArray(), this.orbitModel.obj.target.toArray()] };
  }

  // A rebuilt scene (an explorer step that changes the output shape, other options) is not a
  // jump cut: a layer that is still there starts at its old place and size (a mesh scale) and
  // eases to its new ones, so a stride of 2 is seen halving the maps; a new layer grows from its
  // centre; the camera eases from where it was to the new framing (or stays, if the user moved it).
  reshapeFrom(before, camFrom) {
    const now = performance.now(), C = this.C;
    this.anims.forEach((a, i) => {
      const to = this.arr.positions[i], f = this.arr.feet[i], old = before.get(this.plan.nodes[i].name);
      let scale = [1e-3, 1e-3, 1e-3], from = to;
      if (old) {
        const sx = (old[3] - old[0]) / (f[1] - f[0]), sz = (old[5] - old[2]) / (f[3] - f[2]);
        scale = [sx, (old[4] - old[1]) / (C.SLAB * (f[1] - f[0])), sz];
        from = [old[0] - sx * f[0], old[1], old[2] - sz * f[2]];
      }
      this.meshModels[i].obj.scale.set(...scale);
      this.meshModels[i].obj.position.set(...from);
      a.scale = { from: scale, to: [1, 1, 1], t0: now, dur: RESHAPE_MS };
      a.pos = { from, to, t0: now, dur: RESHAPE_MS };
    });
    const cam = this.cameraModel.obj, orbit = this.orbitModel.obj;
    // A camera the user moved stays where they put it; else it eases to the new framing.
    this.cam = this.model.get("camera_moved") ? null : { fromP: camFrom[0], fromT: camFrom[1],
      toP: cam.position.toArray(), toT: orbit.target.toArray(), t0: now, dur: RESHAPE_MS };
    this.setCamera(...camFrom);
    this.updateLinks();
    this.requestFrame();
  }

  // The camera pose for the current focus and the arrangement the statuses will end in.
  pose(arr) {
    arr = arr || this.arr;
    const p = this.plan, focus = this.model.get("focus");
    const i = p.nodes.findIndex((n) => n.name === focus);
    // A focused grid is seen from higher up, where its maps read best.
    const elevation = i >= 0 ? this.C.FOCUS_ELEVATION : p.elevation;
    // ... and framed without its label, which the view shows as a title instead.
    const ext = screenExtent(arr, this.C, i >= 0 ? [i] : null, elevation, i < 0);
    return frame(ext, p.aspect, elevation, p.fov, this.C.FRAME_MARGIN);
  }

  // Between a rebuild's close of the old meshes and the arrival of the new ones (``reload``)
  // there is nothing to animate; ``rebuildState`` then jumps to what the traits say.
  get between() {
    return this.loading || this.meshModels.length !== this.plan.nodes.length || this.meshModels.some((mm) => !mm.obj);
  }

  // Bring the picture to what the traits say, from wherever the animations are now: the last
  // request wins, and a reversal mid-way starts from the current frame (no jump).
  sync() {
    if (this.between) return;
    const now = performance.now(), m = this.model, plan = this.plan, anime = m.get("anime");
    const flags = this.flags();
    const changed = flags.map((f, i) => f !== this.shown[i]);
    const statusChanged = changed.some(Boolean);
    if (statusChanged) {
      this.hTween = { from: this.live().h, t0: now, dur: 1 };
      this.arr = arrange(plan, flags);
      this.lastDur = Math.max(...plan.nodes.map((n, i) => (changed[i] ? anime[n.name] || 2000 : 0)));
      this.anims.forEach((a, i) => {
        const obj = this.meshModels[i].obj, inf = flags[i] ? 1 : 0, to = this.arr.positions[i];
        if (a.inf.to !== inf) a.inf = { from: obj.morphTargetInfluences[0], to: inf, t0: now, dur: anime[plan.nodes[i].name] || 2000 };
        if (to.some((v, k) => Math.abs(v - a.pos.to[k]) > 1e-9)) a.pos = { from: obj.position.toArray(), to, t0: now, dur: this.lastDur };
      });
      this.hTween.dur = this.lastDur;
      this.shown = flags;
      if (m.get("follow")) {  // the camera follows an opened layer, and comes back when it closes
        const opened = flags.findIndex((f, i) => f && changed[i]);
        const fi = plan.nodes.findIndex((n) => n.name === m.get("focus"));
        const focus = opened >= 0 ? plan.nodes[opened].name : fi >= 0 && !flags[fi] ? null : undefined;
        if (focus !== undefined) {
          m.set({ focus, camera_moved: false });
          m.save_changes();
        }
      }
    }
    const key = JSON.stringify([m.get("focus"), m.get("camera_moved")]);
    const explicit = key !== this.camKey;
    this.camKey = key;
    if (!m.get("camera_moved") && (explicit || (statusChanged && m.get("follow")))) {
      const pose = this.pose(), cam = this.cameraModel.obj, orbit = this.orbitModel.obj;
      this.cam = { fromP: cam.position.toArray(), fromT: orbit.target.toArray(), toP: pose.position,
        toT: pose.target, t0: now, dur: Math.max(this.lastDur || 0, 800) };
    }
    this.updateLinks();
    this.requestFrame();
  }

  schedule() {
    this.busy = true;  // a trait changed: not idle before sync() and its frames have run
    if (this.syncQueued) return;
    this.syncQueued = true;
    Promise.resolve().then(() => { this.syncQueued = false; this.sync(); });
  }

  setCamera(p, t) {
    const cam = this.cameraModel.obj, orbit = this.orbitModel.obj;
    cam.position.set(p[0], p[1], p[2]);
    orbit.target.set(t[0], t[1], t[2]);
    cam.lookAt(orbit.target);
    cam.updateMatrixWorld();
  }

  requestFrame() {
    this.busy = true;  // until the frame says otherwise: a change is on its way to the screen
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => { this.frameRequested = false; this.step(); });
  }

  step() {
    if (this.between) { this.busy = !!this.loading; return; }  // reload() requests the next frame
    const now = performance.now();
    let busy = false;
    const lerp = (a, b, t) => a + (b - a) * t;
    this.anims.forEach((a, i) => {
      const obj = this.meshModels[i].obj;
      const ti = Math.min(1, (now - a.inf.t0) / a.inf.dur), tp = Math.min(1, (now - a.pos.t0) / a.pos.dur);
      obj.morphTargetInfluences[0] = lerp(a.inf.from, a.inf.to, EASE(ti));
      foldKernels(obj, obj.morphTargetInfluences[0]);
      const e = EASE(tp);
      obj.position.set(...a.pos.from.map((v, k) => lerp(v, a.pos.to[k], e)));
      busy = busy || ti < 1 || tp < 1;
      if (a.scale) {  // a reshape (reshapeFrom) under way
        const ts = Math.min(1, (now - a.scale.t0) / a.scale.dur), es = EASE(ts);
        obj.scale.set(...a.scale.from.map((v, k) => lerp(v, a.scale.to[k], es)));
        if (ts >= 1) a.scale = null; else busy = true;
      }
    });
    if (this.cam) {
      const c = this.cam, t = Math.min(1, (now - c.t0) / c.dur), e = EASE(t);
      this.setCamera(c.fromP.map((v, k) => lerp(v, c.toP[k], e)), c.fromT.map((v, k) => lerp(v, c.toT[k], e)));
      if (t >= 1) {
        this.cam = null;
        if (this.orbitModel.update_controlled) this.orbitModel.update_controlled(); // tell the models
      } else busy = true;
    }
    this.updateLinks();
    this.sceneModel.trigger("rerender", this.sceneModel, {});
    this.views.forEach((v) => v.placeLabels());
    this.seen = this.snapshot();
    this.busy = busy;
    if (busy) this.requestFrame();
  }

  // Canvas-pixel rectangles [x0, y0, x1, y1] of every node's maps as drawn now (for tests, and
  // for anyone checking what the camera shows).
  screenRects() {
    const cam = this.cameraModel.obj, live = this.live(), { width, height } = this.model.get("size");
    cam.updateMatrixWorld();
    const v = cam.position.clone();
    const out = {};
    this.plan.nodes.forEach((n, i) => {
      const [a, b, c, d, e, f] = mapBox(live, i, this.C);
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const x of [a, d]) for (const y of [b, e]) for (const z of [c, f]) {
        v.set(x, y, z).project(cam);
        const px = ((v.x + 1) / 2) * width, py = ((1 - v.y) / 2) * height;
        x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
      }
      out[n.name] = [x0, y0, x1, y1];
    });
    return out;
  }

  // Current (animated) arrangement: node positions as drawn now, footprints blended by the morph
  // (and scaled while a reshape is under way).
  live() {
    const positions = this.meshModels.map((mm) => mm.obj.position.toArray());
    const infs = this.meshModels.map((mm) => mm.obj.morphTargetInfluences[0]);
    const scales = this.meshModels.map((mm) => mm.obj.scale);
    const feet = this.plan.nodes.map((n, i) => n.closed.map((c, k) => (c + (n.opened[k] - c) * infs[i])
                                                            * (k < 2 ? scales[i].x : scales[i].z)));
    const t = this.hTween ? EASE(Math.min(1, (performance.now() - this.hTween.t0) / this.hTween.dur)) : 1;
    const h = this.hTween ? this.hTween.from + (this.arr.h - this.hTween.from) * t : this.arr.h;
    const labelW = this.arr.labelW.map((w) => (w * h) / this.arr.h);
    return Object.assign({}, this.arr, { positions, feet, h, labelW });
  }

  updateLinks() {
    if (this.between || !this.linksModel.obj) return;
    const attr = this.linksModel.obj.geometry.attributes.position;
    if (!attr) return;
    const out = attr.array, live = this.live(), plan = this.plan, h = live.h;
    const ce = Math.cos((plan.elevation * Math.PI) / 180);
    let k = 0;
    const lane = (col, l0, l1) => {
      let x = Infinity;
      plan.nodes.forEach((n, j) => {
        if (live.columnOf[j] === col && n.level >= l0 && n.level <= l1) x = Math.min(x, live.positions[j][0] + live.feet[j][0]);
      });
      return x - 1.2 * h;
    };
    // Where a link leaves or reaches a layer: an edge of its maps, never across them (an open
    // grid would be crossed): the far edge (-z, the top on screen) towards the layer above, the
    // near edge towards the one below, the left edge towards a lane on the left.
    const far = (j) => [live.positions[j][0], live.positions[j][1], live.positions[j][2] + live.feet[j][2]];
    const near = (j) => [live.positions[j][0], live.positions[j][1], live.positions[j][2] + live.feet[j][3]];
    const left = (j) => [live.positions[j][0] + live.feet[j][0], live.positions[j][1], live.positions[j][2]];
    plan.nodes.forEach((nb, b) => {
      for (const a of nb.inputs) {
        const na = plan.nodes[a], pa = live.positions[a], pb = live.positions[b];
        const ca = live.columnOf[a], cb = live.columnOf[b];
        let pts;
        if (ca === cb) {
          const between = plan.nodes.some((n, j) => live.columnOf[j] === ca && n.level > na.level && n.level < nb.level);
          if (!between) pts = [far(a), near(b)];
          else {
            const x = lane(ca, na.level, nb.level);
            pts = [left(a), [x, pa[1], 0], [x, pb[1], 0], left(b)];
          }
        } else {
          const colA = live.columns[ca], colB = live.columns[cb];
          const yOver = pa[1] + (live.up[a] + h) / ce;
          const xGap = (colA.right + colB.left) / 2;
          let first = Infinity, firstDown = 0;
          plan.nodes.forEach((n, j) => { if (live.columnOf[j] === cb && live.positions[j][1] < first) { first = live.positions[j][1]; firstDown = live.down[j]; } });
          const yUnder = first - (firstDown + h) / ce;
          const firstLevel = Math.min(...plan.nodes.filter((n, j) => live.columnOf[j] === cb).map((n) => n.level));
          pts = [far(a), [pa[0], yOver, 0], [xGap, yOver, 0], [xGap, yUnder, 0]];
          if (nb.level === firstLevel) pts.push([pb[0], yUnder, 0], near(b));
          else { const x = lane(cb, firstLevel, nb.level); pts.push([x, yUnder, 0], [x, pb[1], 0], left(b)); }
        }
        for (let s = 0; s < LINK_POINTS - 1; s++) {
          const p = pts[Math.min(s, pts.length - 1)], q = pts[Math.min(s + 1, pts.length - 1)];
          out.set(p, k); out.set(q, k + 3); k += 6;
        }
      }
    });
    attr.needsUpdate = true;
  }

  // The first layer content under a canvas point: {node, what} or null.
  pick(ndcX, ndcY) {
    if (this.between) return null;
    const cam = this.cameraModel.obj;
    cam.updateMatrixWorld();
    const origin = cam.position.clone();
    const through = cam.position.clone().set(ndcX, ndcY, 0.5).unproject(cam);
    const geom = this.model.get("geometry"), status = this.model.get("status");
    let best = null;
    this.meshModels.forEach((mm, i) => {
      const mesh = mm.obj;
      mesh.updateMatrixWorld();
      const a = mesh.worldToLocal(origin.clone()), b = mesh.worldToLocal(through.clone());
      const dy = b.y - a.y;
      if (Math.abs(dy) < 1e-12) return;
      const t = -a.y / dy;
      if (t <= 0) return;
      const name = this.plan.nodes[i].name;
      const what = locate(geom[i], status[name], a.x + t * (b.x - a.x), a.z + t * (b.z - a.z));
      if (what && (!best || t < best.t)) best = { t, node: i, name, what };
    });
    return best;
  }

  click(hit) {
    const m = this.model;
    if (!hit) return;
    if (hit.what[0] === "aggregate" || hit.what[0] === "button") {
      const status = Object.assign({}, m.get("status"));
      status[hit.name] = hit.what[0] === "aggregate" ? "open" : "close";
      m.set("status", status);
      m.save_changes();
    } else if (hit.what[0] === "map") {
      m.send({ event: "select", layer: hit.name, channel: hit.what[1], row: hit.what[2], col: hit.what[3] });
    }
    this.lastClick = [hit.name].concat(hit.what);
  }

  setHover(node, cell) {  // cell: a map index, -1 the aggregate, null off
    const u = this.meshModels[node].obj.material.uniforms.hover;
    const rect = cell === null ? HOVER_OFF : atlasRect(this.model.get("geometry")[node].atlas, cell);
    if (u.value && u.value.set) u.value.set(...rect); else u.value = rect; // r97 takes an array too
  }

  // Brighten what is under the pointer (the material's hover uniform: a map, or a closed
  // layer's aggregate), outline a hovered map and draw the line to the map it comes from.
  hover(hit) {
    const attr = this.hoverModel.obj.geometry.attributes.position;
    const out = attr.array;
    out.fill(0);
    if (this.hovered && !this.between) this.setHover(this.hovered.node, null);
    this.hovered = hit;
    if (hit && hit.what[0] !== "button") this.setHover(hit.node, hit.what[0] === "map" ? hit.what[1] : -1);
    if (hit && hit.what[0] === "map") {
      const g = this.model.get("geometry")[hit.node], p = this.meshModels[hit.node].obj.position;
      const [w, d] = g.map_size, c = hit.what[1];
      const cx = p.x + g.centers[2 * c], cz = p.z + g.centers[2 * c + 1], y = p.y + 0.3;
      const corners = [[cx - w / 2, cz - d / 2], [cx + w / 2, cz - d / 2], [cx + w / 2, cz + d / 2], [cx - w / 2, cz + d / 2]];
      corners.forEach((q, k) => {
        const r = corners[(k + 1) % 4];
        out.set([q[0], y, q[1], r[0], y, r[1]], 6 * k);
      });
      const src = g.source;
      if (src) {
        const sg = this.model.get("geometry")[src.node], sp = this.meshModels[src.node].obj.position;
        const open = this.model.get("status")[this.plan.nodes[src.node].name] === "open";
        const ch = Math.floor(c / src.group);
        const sx = sp.x + (open ? sg.centers[2 * ch] : 0), sz = sp.z + (open ? sg.centers[2 * ch + 1] : 0);
        out.set([cx, y, cz, sx, sp.y + 0.3, sz], 24);
      }
    }
    attr.needsUpdate = true;
    this.sceneModel.trigger("rerender", this.sceneModel, {});
  }
}

// A depthwise layer's kernels (scene.KernelMesh, a child named "kernels") open and close with its
// maps: scaled about the layer's centre by the morph influence (never below core/kernels.py's
// FOLDED, 1e-4: a zero scale would make a singular matrix).
function foldKernels(obj, inf) {
  for (const child of obj.children) if (child.name === "kernels") child.scale.setScalar(Math.max(inf, 1e-4));
}

// The atlas UV rectangle of cell k (AtlasLayout.rect in core/textures.py); -1 is the aggregate.
function atlasRect(atlas, k) {
  const cell = k < 0 ? atlas.aggregate : k, [h, w] = atlas.cell, [H, W] = atlas.shape;
  const r0 = Math.floor(cell / atlas.grid_cols) * h, c0 = (cell % atlas.grid_cols) * w;
  return [c0 / W, r0 / H, (c0 + w) / W, (r0 + h) / H];
}

const live = (globalThis.__tspLive = globalThis.__tspLive || new Set()); // loaded ones (tests)

function controllerFor(model) {
  const uid = model.get("uid");
  if (!registry.has(uid)) {
    registry.set(uid, new Controller(model).load().then((c) => {
      live.add(c);
      model.send({ event: "ready" });  // Python's view.when_ready callbacks (no-op without a kernel)
      return c;
    }));
  }
  return registry.get(uid);
}

// ------------------------------------------------------------------ one displayed view
class View {
  constructor(ctl, el) {
    this.ctl = ctl;
    this.el = el;
    const { width, height } = ctl.model.get("size");
    Object.assign(el.style, { position: "relative", width: width + "px", height: height + "px",
      pointerEvents: "none", overflow: "hidden", alignSelf: "start" });
    el.classList.add("tsp-overlay");
    this.labels = document.createElement("div");
    this.caption = document.createElement("div");
    Object.assign(this.caption.style, { position: "absolute", left: "6px", bottom: "4px", font: "12px sans-serif",
      color: "#ddd", textShadow: "0 0 3px #000", whiteSpace: "nowrap" });
    this.caption.className = "tsp-caption";
    this.home = document.createElement("button");
    this.home.textContent = "whole model";
    this.home.title = "Frame the whole model (view.focus(None))";
    this.home.className = "tsp-home";
    Object.assign(this.home.style, { position: "absolute", right: "6px", top: "6px", pointerEvents: "auto",
      font: "12px sans-serif", padding: "2px 8px", background: "rgba(40,40,40,.85)", color: "#eee",
      border: "1px solid #777", borderRadius: "10px", cursor: "pointer" });
    this.home.addEventListener("click", (e) => {
      e.stopPropagation();
      ctl.model.set({ focus: null, camera_moved: false });
      ctl.model.save_changes();
    });
    this.title = document.createElement("div");
    this.title.className = "tsp-title";
    Object.assign(this.title.style, { position: "absolute", left: "8px", top: "8px", right: "110px",
      fontFamily: "'Liberation Mono', 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      fontSize: Math.round(ctl.plan.label_px) + "px", textShadow: "0 0 3px #000", display: "none" });
    el.append(this.labels, this.caption, this.home, this.title);
    this.rebuildLabels();
    this.listen();
  }

  rebuildLabels() {
    const plan = this.ctl.plan;
    this.labels.replaceChildren();
    this.labelEls = plan.nodes.map((n) => {
      const d = document.createElement("div");
      d.className = "tsp-label";
      d.textContent = n.label;
      d.title = n.full;
      d.dataset.layer = n.name;
      Object.assign(d.style, { position: "absolute", whiteSpace: "nowrap", color: n.color || "#ddd",
        fontFamily: "'Liberation Mono', 'DejaVu Sans Mono', Menlo, Consolas, monospace",
        lineHeight: "1", transform: "translateY(-50%)", textShadow: "0 0 2px #000, 0 0 4px #000" });
      this.labels.append(d);
      return d;
    });
    this.placeLabels();
  }

  // Labels are world objects drawn in HTML: anchored right of their maps, as tall on screen as
  // `label_h` world units at their depth (so they scale with the scene and never blur).
  placeLabels() {
    if (this.ctl.between) return;
    const ctl = this.ctl, cam = ctl.cameraModel.obj, plan = ctl.plan;
    const { width, height } = ctl.model.get("size");
    cam.updateMatrixWorld();
    const live = ctl.live(), C = plan.constants, focus = ctl.model.get("focus");
    const focal = height / 2 / Math.tan((plan.fov * Math.PI) / 360);
    const eye = cam.position, fwd = cam.getWorldDirection(cam.position.clone());
    const v = cam.position.clone();
    plan.nodes.forEach((n, i) => {
      const d = this.labelEls[i];
      if (!d) return;
      const a = labelAnchor(live, i, C);
      v.set(a[0], a[1], a[2]);
      const depth = v.clone().sub(eye).dot(fwd);
      v.project(cam);
      // World-sized, but never huge when zoomed in; a focused layer's neighbours keep quiet.
      const px = Math.min((live.h * focal) / depth, 1.8 * plan.label_px);
      const quiet = focus !== null && !ctl.model.get("camera_moved");
      const visible = depth > 0 && px >= 6 && !quiet && Math.abs(v.x) < 1.2 && Math.abs(v.y) < 1.2;
      d.style.display = visible ? "block" : "none";
      if (!visible) return;
      d.style.left = ((v.x + 1) / 2) * width + "px";
      d.style.top = ((1 - v.y) / 2) * height + "px";
      d.style.fontSize = px.toFixed(2) + "px";
    });
    this.home.style.display = focus !== null || ctl.model.get("camera_moved") ? "block" : "none";
    // A focused layer says everything in a title: framed whole, it leaves no room beside it.
    const node = plan.nodes.find((n) => n.name === focus);
    this.title.style.display = node && !ctl.model.get("camera_moved") ? "block" : "none";
    if (node && this.title.textContent !== node.full) {
      this.title.textContent = node.full;
      this.title.style.color = node.color || "#ddd";
    }
  }

  listen() {
    const ctl = this.ctl;
    const host = this.el.parentElement;
    let press = null, pending = null;
    const ndc = (e) => {
      const target = e.target.closest ? e.target.closest("canvas, img") : null;
      if (!target) return null;
      const r = target.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1];
    };
    host.addEventListener("pointerdown", (e) => { press = [e.clientX, e.clientY]; }, true);
    host.addEventListener("click", (e) => {
      const p = press;
      press = null;
      if (!p || Math.abs(e.clientX - p[0]) + Math.abs(e.clientY - p[1]) > 4) return; // a drag orbits
      const q = ndc(e);
      if (q) ctl.click(ctl.pick(q[0], q[1]));
    }, true);
    host.addEventListener("pointermove", (e) => {  // capture: the renderer view may stop it
      if (e.buttons) return;
      pending = e;
      if (this.hoverQueued) return;
      this.hoverQueued = true;
      requestAnimationFrame(() => {
        this.hoverQueued = false;
        const q = ndc(pending);
        const hit = q ? ctl.pick(q[0], q[1]) : null;
        ctl.hover(hit);
        this.caption.textContent = hit ? this.describe(hit) : "";
        (host.querySelector("canvas") || {}).style && (host.querySelector("canvas").style.cursor =
          hit && hit.what[0] !== "map" ? "pointer" : "");
      });
    }, true);
    host.addEventListener("pointerleave", () => { ctl.hover(null); this.caption.textContent = ""; });
  }

  describe(hit) {
    const n = this.ctl.plan.nodes[hit.node], g = this.ctl.model.get("geometry")[hit.node];
    if (hit.what[0] === "button") return `${n.name}: click to close`;
    if (hit.what[0] === "aggregate") return `${n.full} · click to open`;
    let text = `${n.name} · map ${hit.what[1]} of ${g.centers.length / 2} · ${g.rows}x${g.cols} · pixel (${hit.what[2]}, ${hit.what[3]})`;
    if (g.source) text += ` · from ${this.ctl.plan.nodes[g.source.node].name} channel ${Math.floor(hit.what[1] / g.source.group)}`;
    return text;
  }
}

async function render({ model, el }) {
  const ctl = await controllerFor(model);
  const view = new View(ctl, el);
  ctl.views.add(view);
  ctl.requestFrame();
  return () => ctl.views.delete(view);
}

export default { render };

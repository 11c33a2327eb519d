// tspwidget drawing pad: an anywidget ESM module (no imports, no bundler needed).
//
// A canvas of the model's input size (rows x cols, e.g. 28x28) shown `size` CSS pixels wide with
// square pixels, painted with a soft round brush (solid within `brush` pixels of the pointer's path,
// fading to nothing one pixel further, like MNIST's anti-aliased strokes). Pointer events serve
// mouse, pen and touch alike. On each stroke end the whole picture goes to Python as ONE binary
// buffer of rows*cols bytes in one custom message {event: "stroke", stroke: n}; nothing is sent
// while drawing. Python answers with state: `pixels` (the model's current input), `probabilities`
// and `caption`, drawn here as the picture, a bar chart and a line of text; `stroke` says which
// stroke that answers, so an answer to an older stroke never wipes a newer one.

const CSS = `
.tsp-pad { display: inline-flex; flex-direction: column; gap: 6px; font: 13px sans-serif;
  color: var(--jp-ui-font-color1, #222); padding: 4px; }
.tsp-pad canvas { image-rendering: pixelated; touch-action: none; cursor: crosshair;
  outline: 1px solid #888; background: #000; display: block; }
.tsp-pad-row { display: flex; gap: 8px; align-items: center; }
.tsp-pad button { font: inherit; padding: 2px 10px; cursor: pointer; }
.tsp-pad-caption { min-height: 1.3em; max-width: 100%; }
.tsp-pad-chart { display: grid; grid-template-columns: auto 1fr 3.6em; gap: 2px 6px; align-items: center; }
.tsp-pad-label { text-align: right; font-variant-numeric: tabular-nums; }
.tsp-pad-track { height: 12px; background: rgba(128, 128, 128, 0.18); border-radius: 2px; }
.tsp-pad-bar { height: 100%; width: 0; background: #4C9BE8; border-radius: 2px; transition: width 120ms; }
.tsp-pad-bar.tsp-best { background: #F28E2B; }
.tsp-pad-pct { font-variant-numeric: tabular-nums; text-align: right; }
`;

function addStyle(el) {
  const style = document.createElement("style");
  style.textContent = CSS;
  el.appendChild(style);
}

function bytesOf(value) {
  // A Bytes trait arrives as a DataView (or ArrayBuffer / typed array in other managers).
  if (!value) return new Uint8Array(0);
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(0);
}

function render({ model, el }) {
  const rows = model.get("rows"), cols = model.get("cols");
  const size = model.get("size");
  const scale = size / Math.max(rows, cols);
  const root = document.createElement("div");
  root.className = "tsp-pad";
  addStyle(root);

  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.width = `${cols * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  canvas.setAttribute("aria-label", `drawing pad, ${rows} by ${cols} pixels`);
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cols, rows);
  const ink = new Float32Array(rows * cols); // 0..1, what is drawn

  const buttons = document.createElement("div");
  buttons.className = "tsp-pad-row";
  const clear = document.createElement("button");
  clear.textContent = "Clear";
  clear.className = "tsp-pad-clear";
  const caption = document.createElement("span");
  caption.className = "tsp-pad-caption";
  buttons.append(clear, caption);

  const chart = document.createElement("div");
  chart.className = "tsp-pad-chart";
  chart.style.width = `${cols * scale}px`;
  const bars = [];
  function buildChart() {
    chart.textContent = "";
    bars.length = 0;
    for (const text of model.get("labels")) {
      const label = document.createElement("span");
      label.className = "tsp-pad-label";
      label.textContent = text;
      const track = document.createElement("div");
      track.className = "tsp-pad-track";
      const bar = document.createElement("div");
      bar.className = "tsp-pad-bar";
      track.appendChild(bar);
      const pct = document.createElement("span");
      pct.className = "tsp-pad-pct";
      chart.append(label, track, pct);
      bars.push({ bar, pct, label });
    }
  }

  function paint() {
    const d = image.data;
    for (let i = 0; i < ink.length; i++) {
      const v = Math.round(Math.min(1, Math.max(0, ink[i])) * 255);
      d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = v;
      d[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  function showChart() {
    const probs = model.get("probabilities") || [];
    let best = -1;
    probs.forEach((p, i) => { if (best < 0 || p > probs[best]) best = i; });
    bars.forEach(({ bar, pct }, i) => {
      const p = i < probs.length ? probs[i] : null;
      bar.style.width = p === null ? "0%" : `${(100 * p).toFixed(2)}%`;
      bar.classList.toggle("tsp-best", i === best);
      pct.textContent = p === null ? "" : `${(100 * p).toFixed(1)}%`;
      bar.dataset.value = p === null ? "" : String(p);
    });
    caption.textContent = model.get("caption") || "";
  }

  // ---------------------------------------------------------------- state from Python
  let sent = model.get("stroke"); // strokes sent so far (numbered from Python's last answer)
  let drawing = false;
  function showPixels() {
    if (drawing || model.get("stroke") < sent) return; // a newer stroke is on its way
    const px = bytesOf(model.get("pixels"));
    if (px.length !== ink.length) return;
    for (let i = 0; i < ink.length; i++) ink[i] = px[i] / 255;
    paint();
  }

  // ---------------------------------------------------------------- drawing
  const brush = () => model.get("brush");
  let last = null, queued = false;
  function toGrid(ev) {
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * cols, ((ev.clientY - r.top) / r.height) * rows];
  }
  function stamp(x, y) {
    // Pixel (i, j) covers [j, j+1) x [i, i+1); its centre is (j + .5, i + .5).
    const r0 = brush(), r1 = r0 + 1;
    const i0 = Math.max(0, Math.floor(y - r1)), i1 = Math.min(rows - 1, Math.ceil(y + r1));
    const j0 = Math.max(0, Math.floor(x - r1)), j1 = Math.min(cols - 1, Math.ceil(x + r1));
    for (let i = i0; i <= i1; i++) {
      for (let j = j0; j <= j1; j++) {
        const d = Math.hypot(j + 0.5 - x, i + 0.5 - y);
        const v = Math.min(1, Math.max(0, r1 - d));
        if (v > ink[i * cols + j]) ink[i * cols + j] = v;
      }
    }
  }
  function segment(a, b) {
    const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / 0.25));
    for (let k = 1; k <= steps; k++) stamp(a[0] + ((b[0] - a[0]) * k) / steps, a[1] + ((b[1] - a[1]) * k) / steps);
  }
  function schedulePaint() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; paint(); });
  }
  canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== undefined && ev.button !== 0) return;
    ev.preventDefault();
    canvas.setPointerCapture && canvas.setPointerCapture(ev.pointerId);
    drawing = true;
    last = toGrid(ev);
    stamp(last[0], last[1]);
    schedulePaint();
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drawing) return;
    ev.preventDefault();
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    for (const e of events.length ? events : [ev]) {
      const p = toGrid(e);
      segment(last, p);
      last = p;
    }
    schedulePaint();
  });
  function end(ev) {
    if (!drawing) return;
    drawing = false;
    last = null;
    paint();
    // What Python gets is exactly what is shown: quantise the ink to the bytes sent.
    const bytes = new Uint8Array(ink.length);
    for (let i = 0; i < ink.length; i++) {
      bytes[i] = Math.round(Math.min(1, Math.max(0, ink[i])) * 255);
      ink[i] = bytes[i] / 255;
    }
    sent = Math.max(sent, model.get("stroke")) + 1;
    model.send({ event: "stroke", stroke: sent, rows, cols }, undefined, [bytes.buffer]);
    el.dispatchEvent(new CustomEvent("tsp-stroke", { bubbles: true, detail: { stroke: sent } }));
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clear.addEventListener("click", () => {
    ink.fill(0);
    paint();
    sent = Math.max(sent, model.get("stroke")) + 1;
    model.send({ event: "clear", stroke: sent });
  });

  root.append(canvas, buttons, chart);
  el.appendChild(root);
  buildChart();
  showPixels();
  showChart();
  const onPixels = () => showPixels();
  const onChart = () => showChart();
  const onLabels = () => { buildChart(); showChart(); };
  model.on("change:pixels", onPixels);
  model.on("change:stroke", onPixels);
  model.on("change:probabilities", onChart);
  model.on("change:caption", onChart);
  model.on("change:labels", onLabels);
  return () => {
    model.off("change:pixels", onPixels);
    model.off("change:stroke", onPixels);
    model.off("change:probabilities", onChart);
    model.off("change:caption", onChart);
    model.off("change:labels", onLabels);
  };
}

export default { render };

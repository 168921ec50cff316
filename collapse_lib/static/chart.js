// Client-side chart of collapse_lib.figures: draws precomputed frames with uPlot (prepended to this module by
// figures.py, as the module-local `uPlot`). A frame is data only: panels of series (lines, bands, points, bars,
// reference lines), axis settings, and a read-out. The frame shown is picked from the controls' indices c0..c7
// (linked to the controls in the browser), so the figure answers every control without a kernel.

const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#555555", "#F0E442"];
const DASHES = [[], [7, 4], [8, 3, 2, 3], [2, 3], [10, 2], [4, 2, 1, 2]];
const MAX_CONTROLS = 8;
const PING_TRIES = 10;   // about a minute of asking whether a kernel is there

function color(i) { return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]; }
function dash(s) { return s.dash === null || s.dash === undefined ? DASHES[s.i % DASHES.length] : DASHES[s.dash % DASHES.length]; }

function resolve(v, arrays) { return typeof v === "number" ? arrays[v] : v; }

// Tick labels: plain numbers, few enough to read on a phone.
function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const e = Math.floor(Math.log10(a)), m = v / 10 ** e;
    const ms = Math.abs(m - 1) < 1e-9 ? "" : (+m.toPrecision(2)) + "×";
    return ms + "10" + String(e).split("").map(c => "⁰¹²³⁴⁵⁶⁷⁸⁹"["0123456789".indexOf(c)] || "⁻").join("");
  }
  return String(+v.toPrecision(3));
}

function logTicks(u, vals) {
  // Label decades; add 2 and 5 only when the axis spans few decades.
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const span = Math.log10(hi / lo);
  return vals.map(v => {
    const m = +(v / 10 ** Math.floor(Math.log10(v) + 1e-9)).toFixed(6);
    return m === 1 || span <= 1.2 || (span <= 2.5 && (m === 2 || m === 5)) ? fmt(v) : "";
  });
}

function marker(ctx, shape, x, y, r) {
  ctx.beginPath();
  if (shape === "square") ctx.rect(x - r, y - r, 2 * r, 2 * r);
  else if (shape === "triangle") { ctx.moveTo(x, y - 1.2 * r); ctx.lineTo(x + 1.1 * r, y + 0.8 * r); ctx.lineTo(x - 1.1 * r, y + 0.8 * r); ctx.closePath(); }
  else if (shape === "diamond") { ctx.moveTo(x, y - 1.3 * r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + 1.3 * r); ctx.lineTo(x - r, y); ctx.closePath(); }
  else ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
}

// Aligned data for uPlot: the union of the x values of every x-carrying series, with nulls where a series has none.
function align(panel, arrays) {
  const withX = panel.series.filter(s => s.x !== undefined && s.kind !== "vline");
  const xs = withX.map(s => resolve(s.x, arrays));
  let grid;
  if (xs.length && xs.every(x => x === xs[0])) grid = xs[0];
  else {
    const set = new Set();
    xs.forEach(x => x.forEach(v => { if (v !== null) set.add(v); }));
    grid = Array.from(set).sort((a, b) => a - b);
  }
  const pos = new Map(grid.map((v, k) => [v, k]));
  const column = (x, y) => {
    if (x === grid) return y;
    const out = new Array(grid.length).fill(null);
    x.forEach((v, k) => { if (v !== null) out[pos.get(v)] = y[k]; });
    return out;
  };
  return { grid, column };
}

function buildPanel(panel, arrays, width, height) {
  const { grid, column } = align(panel, arrays);
  const logy = !!panel.logy, logx = !!panel.logx;
  const floor = v => (logy && v !== null && v <= 0 ? null : v);
  const data = [grid];
  const series = [{}];
  const bands = [];
  const overlays = [];   // drawn by hand after uPlot: markers, reference lines
  for (const s of panel.series) {
    const c = color(s.i);
    if (s.kind === "line") {
      data.push(column(resolve(s.x, arrays), resolve(s.y, arrays).map(floor)));
      series.push({ stroke: c, width: s.width || 2, dash: dash(s), points: { show: false }, spanGaps: true });
    } else if (s.kind === "bars") {
      data.push(column(resolve(s.x, arrays), resolve(s.y, arrays)));
      series.push({ stroke: c, fill: c + "99", width: 1, points: { show: false },
                    paths: uPlot.paths.bars({ size: [0.92, Infinity] }) });
    } else if (s.kind === "band") {
      const x = resolve(s.x, arrays), lo = resolve(s.lo, arrays), hi = resolve(s.hi, arrays);
      const hiIdx = data.length;
      // The band spans the gaps the union x grid leaves between its own points (its x differ from the curves').
      data.push(column(x, hi.map(floor)));
      series.push({ stroke: "transparent", width: 0, points: { show: false }, spanGaps: true });
      data.push(column(x, lo.map(v => (logy && v !== null && v <= 0 ? Math.min(...hi.filter(h => h > 0)) * 1e-3 : v))));
      series.push({ stroke: "transparent", width: 0, points: { show: false }, spanGaps: true });
      bands.push({ series: [hiIdx, hiIdx + 1], fill: c + "38" });
      overlays.push({ kind: "points", x, y: resolve(s.y, arrays), c, shape: s.marker || "circle", size: s.size || 4 });
    } else if (s.kind === "points") {
      const x = resolve(s.x, arrays), y = resolve(s.y, arrays);
      data.push(column(x, y.map(floor)));   // invisible: only so the scales include the points
      series.push({ stroke: "transparent", width: 0, points: { show: false } });
      overlays.push({ kind: "points", x, y, c, shape: s.marker || "circle", size: s.size || 5 });
    } else if (s.kind === "hline" || s.kind === "vline") {
      overlays.push({ kind: s.kind, v: s.v, c: s.i === undefined ? "#555555" : c, dash: s.dash === false ? [] : [2, 3] });
      if (s.kind === "hline") {   // constant series so the y-range includes the line
        data.push(grid.map(() => floor(s.v)));
        series.push({ stroke: "transparent", width: 0, points: { show: false } });
      }
    }
  }
  const draw = u => {
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    for (const o of overlays) {
      ctx.strokeStyle = o.c;
      if (o.kind === "hline" || o.kind === "vline") {
        ctx.lineWidth = 1.5 * uPlot.pxRatio;
        ctx.setLineDash(o.dash.map(d => d * uPlot.pxRatio));
        ctx.beginPath();
        if (o.kind === "hline") {
          const y = u.valToPos(o.v, "y", true);
          ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y);
        } else {
          const x = u.valToPos(o.v, "x", true);
          ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height);
        }
        ctx.stroke();
      } else {
        ctx.setLineDash([]);
        ctx.fillStyle = o.c;
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 0.8 * uPlot.pxRatio;
        o.x.forEach((xv, k) => {
          const yv = o.y[k];
          if (xv === null || yv === null || (logy && yv <= 0) || (logx && xv <= 0)) return;
          marker(ctx, o.shape, u.valToPos(xv, "x", true), u.valToPos(yv, "y", true), o.size * uPlot.pxRatio);
        });
      }
    }
    ctx.restore();
  };
  const range = (lim, log) => (u, mn, mx) => {
    if (lim) return [lim[0], lim[1]];
    if (mn === null || mx === null) return log ? [0.1, 10] : [0, 1];
    if (log) return uPlot.rangeLog(mn, mx, 10, true);
    if (mn === mx) return [mn - 1, mx + 1];
    const pad = 0.05 * (mx - mn);
    return [mn >= 0 && mn - pad < 0 ? 0 : mn - pad, mx + pad];
  };
  const logSplits = (u, axisIdx, mn, mx) => {
    const out = [];
    const span = Math.log10(mx / mn), subs = span > 4 ? [1] : span > 2.5 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (let e = Math.floor(Math.log10(mn)); e <= Math.ceil(Math.log10(mx)); e++)
      for (const m of subs) { const v = m * 10 ** e; if (v >= mn * (1 - 1e-9) && v <= mx * (1 + 1e-9)) out.push(+v.toPrecision(12)); }
    return out;
  };
  const axis = (label, log) => ({
    label, labelSize: 18, labelFont: "13px system-ui, sans-serif", font: "12px system-ui, sans-serif",
    stroke: "#222222", grid: { stroke: "#e6e6e6", width: 1 }, ticks: { stroke: "#bbbbbb", width: 1, size: 4 },
    values: log ? logTicks : (u, vals) => vals.map(fmt),
    ...(log ? { splits: logSplits } : {}),
  });
  const opts = {
    width, height, title: panel.title || undefined, legend: { show: false }, cursor: { show: false },
    select: { show: false }, pxAlign: 0,
    scales: {
      x: { time: false, distr: logx ? 3 : 1, log: 10, range: range(panel.xlim, logx) },
      y: { distr: logy ? 3 : 1, log: 10, range: range(panel.ylim, logy) },
    },
    axes: [axis(panel.xlabel || "", logx), Object.assign(axis(panel.ylabel || "", logy), { size: 52 })],
    series, bands, hooks: { draw: [draw] },
  };
  return { opts, data };
}

function legendItem(s) {
  const c = s.kind === "hline" || s.kind === "vline" ? (s.i === undefined ? "#555555" : color(s.i)) : color(s.i);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", "26"); svg.setAttribute("height", "12"); svg.setAttribute("aria-hidden", "true");
  const ns = "http://www.w3.org/2000/svg";
  if (s.kind === "band" || s.kind === "bars") {
    const r = document.createElementNS(ns, "rect");
    Object.entries({ x: 1, y: 2, width: 24, height: 8, fill: c, "fill-opacity": s.kind === "band" ? 0.25 : 0.6 })
      .forEach(([k, v]) => r.setAttribute(k, v));
    svg.appendChild(r);
  }
  if (s.kind === "band" || s.kind === "points") {
    const shapes = { square: "9,2 17,2 17,10 9,10", triangle: "13,1 18,10 8,10", diamond: "13,0 18,6 13,12 8,6" };
    const m = shapes[s.marker] ? document.createElementNS(ns, "polygon") : document.createElementNS(ns, "circle");
    const attrs = shapes[s.marker] ? { points: shapes[s.marker] } : { cx: 13, cy: 6, r: 4 };
    Object.entries({ ...attrs, fill: c, stroke: "#fff" }).forEach(([k, v]) => m.setAttribute(k, v));
    svg.appendChild(m);
  } else if (s.kind !== "bars") {
    const l = document.createElementNS(ns, "line");
    const d = s.kind === "line" ? dash(s) : (s.dash === false ? [] : [2, 3]);
    Object.entries({ x1: 1, y1: 6, x2: 25, y2: 6, stroke: c, "stroke-width": 2, "stroke-dasharray": d.join(" ") })
      .forEach(([k, v]) => l.setAttribute(k, v));
    svg.appendChild(l);
  }
  const item = document.createElement("span");
  item.className = "cl-legend-item";
  item.appendChild(svg);
  item.appendChild(document.createTextNode(" " + s.label));
  return item;
}

function signature(panel) {
  return JSON.stringify([panel.series.map(s => [s.kind, s.i, s.dash, s.marker]), panel.logx, panel.logy,
                         panel.xlabel, panel.ylabel, panel.xlim, panel.ylim, !!panel.title]);
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "cl-chart";
  root.setAttribute("role", "figure");
  root.setAttribute("aria-label", model.get("aria_label"));
  root.dataset.rerun = String(!!model.get("rerun"));   // the figure can re-run its Monte Carlo with a kernel
  const panelsEl = document.createElement("div");
  panelsEl.className = "cl-panels";
  const readout = document.createElement("div");
  readout.className = "cl-readout";
  readout.setAttribute("aria-live", "polite");
  const note = document.createElement("div");
  note.className = "cl-note";
  note.textContent = model.get("note");
  const rerun = document.createElement("button");
  rerun.className = "cl-rerun";
  rerun.type = "button";
  rerun.textContent = "Re-run the Monte Carlo with a new seed";
  rerun.hidden = true;   // shown only when a live kernel answers (a static page has none)
  root.append(panelsEl, readout, note, rerun);
  el.appendChild(root);

  let plots = [];        // [{u, sig, wrap}]
  let liveFrame = null;  // a frame recomputed by the kernel for the current indices
  let liveKey = null;

  const flatIndex = () => {
    const shape = model.get("shape");
    let idx = 0;
    shape.forEach((n, k) => { idx = idx * n + Math.min(Math.max(model.get("c" + k) | 0, 0), n - 1); });
    return idx;
  };
  const panelWidth = count => {
    const w = Math.max(root.clientWidth || el.clientWidth || 640, 240);
    const perRow = count > 1 && w >= 300 * count ? count : 1;
    return Math.floor(w / perRow) - 4;
  };

  const draw = () => {
    const t0 = performance.now();
    const idx = flatIndex();
    const frame = liveFrame && liveKey === idx ? liveFrame : model.get("frames")[idx];
    const arrays = liveFrame && liveKey === idx ? (liveFrame.arrays || []) : model.get("arrays");
    readout.textContent = frame.readout || "";
    root.dataset.frame = String(idx);
    if (frame.error) {
      plots.forEach(p => p.u.destroy());
      plots = [];
      panelsEl.replaceChildren();
      const msg = document.createElement("div");
      msg.className = "cl-error";
      msg.textContent = "Outside the formula's domain: " + frame.error;
      panelsEl.appendChild(msg);
    } else {
      if (plots.length !== frame.panels.length || !plots.length || !plots[0].u) {
        plots.forEach(p => p.u && p.u.destroy());
        panelsEl.replaceChildren();
        plots = frame.panels.map(() => ({ u: null, sig: null, wrap: null }));
      }
      const w = panelWidth(frame.panels.length);
      const h = Math.round(Math.min(320, Math.max(220, 0.62 * w)));
      frame.panels.forEach((panel, k) => {
        const p = plots[k];
        const sig = signature(panel);
        const { opts, data } = buildPanel(panel, arrays, w, h);
        if (p.u && p.sig === sig) {
          // Same structure: swap the data and the hand-drawn overlays only (the fast path).
          p.u.hooks.draw = opts.hooks.draw;
          p.u.batch(() => {
            p.u.setData(data, true);
            if (panel.title) p.u.root.querySelector(".u-title").textContent = panel.title;
          });
        } else {
          if (p.u) p.u.destroy();
          if (!p.wrap) {
            p.wrap = document.createElement("div");
            p.wrap.className = "cl-panel";
            panelsEl.appendChild(p.wrap);
          }
          p.wrap.replaceChildren();
          p.u = new uPlot(opts, data, p.wrap);
          p.legend = document.createElement("div");
          p.legend.className = "cl-legend";
          p.wrap.appendChild(p.legend);
          p.sig = sig;
        }
        p.legend.replaceChildren(...panel.series.filter(s => s.label).map(legendItem));
      });
    }
    root.dataset.redrawMs = (performance.now() - t0).toFixed(3);
    root.dataset.draws = String((+root.dataset.draws || 0) + 1);
  };

  const onIndex = () => { draw(); };
  for (let k = 0; k < MAX_CONTROLS; k++) model.on("change:c" + k, onIndex);
  model.on("change:frames", onIndex);
  let answered = false, pings = 0, pingTimer = 0;   // has a live kernel answered our ping (see below)
  model.on("msg:custom", msg => {
    if (msg.type === "pong") { answered = true; rerun.hidden = !model.get("rerun"); }
    else if (msg.type === "frame") { liveFrame = msg.frame; liveKey = msg.index; draw(); }
  });
  rerun.addEventListener("click", () => {
    const shape = model.get("shape");
    model.send({ type: "rerun", index: flatIndex(), indices: shape.map((_, k) => model.get("c" + k)) });
  });
  let lastWidth = 0;
  const ro = new ResizeObserver(() => {
    const w = root.clientWidth;
    if (Math.abs(w - lastWidth) < 8) return;
    lastWidth = w;
    plots.forEach(p => p.u && p.u.destroy());
    plots = [];
    panelsEl.replaceChildren();
    draw();
  });
  draw();
  ro.observe(root);
  // A ping sent while the page is still connecting to its kernel can be lost, so ask again (2, 4, 8, 8, ... s apart)
  // until the kernel answers; a static page has no kernel and simply never answers.
  const ping = () => {
    if (answered || pings >= PING_TRIES) return;
    model.send({ type: "ping" });
    pingTimer = setTimeout(ping, 1000 * Math.min(2 ** ++pings, 8));
  };
  if (model.get("rerun")) ping();
  return () => { clearTimeout(pingTimer); ro.disconnect(); plots.forEach(p => p.u && p.u.destroy()); };
}

export default { render };

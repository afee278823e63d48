// cnncalc report: switches fold levels, colours nodes by cost, draws the charts and the table, and
// links nodes, bars and rows. All data comes from the JSON block above; nothing is fetched.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const L = D.layers;
  const T = D.bench && D.bench.matched ? D.bench.layers : null;
  const $ = (s, el) => (el || document).querySelector(s);
  const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
  const SVGNS = "http://www.w3.org/2000/svg";
  const svgs = $$("svg.graph");
  const hash = new URLSearchParams(location.hash.slice(1));
  let level = Math.min(svgs.length - 1, Math.max(0, hash.has("fold") ? +hash.get("fold") || 0 : D.first));
  let metric = ["macs", "params", "mem", ...(T ? ["time"] : [])].includes(hash.get("by")) ? hash.get("by") : "macs";
  if (T) { // measured times: one more way to colour the graph
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.metric = "time";
    b.textContent = "time";
    $("#metric").appendChild(b);
  }
  let zoom = +hash.get("zoom") || 0; // 0: fit the pane's width (never above 100%)
  let sel = new Set(), ev_unfold = false;

  function human(n, bytes) {
    const units = bytes ? [[1099511627776, "TiB"], [1073741824, "GiB"], [1048576, "MiB"], [1024, "KiB"]]
      : [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
    for (const [f, u] of units) if (n >= f) return (n / f).toFixed(2) + " " + u;
    return bytes ? n + " B" : String(n);
  }
  const STOPS = [[244, 246, 250], [253, 227, 167], [249, 166, 90], [232, 85, 62], [163, 25, 44]];
  function ramp(t) {
    t = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
    const c = STOPS[i].map((a, k) => Math.round(a + (STOPS[i + 1][k] - a) * f));
    return "rgb(" + c.join(",") + ")";
  }
  const NAMES = { macs: "MACs", params: "params", mem: "activation memory", time: "measured time" };

  // ---- graph ---------------------------------------------------------------------------------
  function cost(g) { // the node's share of the chosen cost: a data attribute, or measured time summed
    if (metric !== "time") return +g.dataset[metric];
    return members(g).reduce((a, i) => a + (T[i] || 0), 0);
  }
  function colour() {
    for (const svg of svgs) {
      const nodes = $$("g.node:not(.input)", svg);
      const max = Math.max(1e-12, ...nodes.map(cost));
      for (const g of nodes) {
        const t = Math.sqrt(cost(g) / max);
        $("rect", g).style.fill = ramp(t);
        for (const tx of $$("text", g)) tx.style.fill = t > 0.62 ? "#fff" : "#1d2330";
      }
    }
    if (!svgs.length) return;
    const max = Math.max(0, ...$$("g.node:not(.input)", svgs[level]).map(cost));
    $("#legend").innerHTML = "";
    const lab = document.createElement("span");
    lab.textContent = NAMES[metric] + ": 0";
    const bar = document.createElement("span");
    bar.className = "ramp";
    bar.style.background = "linear-gradient(90deg," + [0, .25, .5, .75, 1].map((t) => ramp(t)).join(",") + ")";
    const hi = document.createElement("span");
    hi.textContent = (metric === "time" ? max.toPrecision(3) + " ms" : human(max, metric === "mem")) + " (√ scale) · dashed: folded, ⊕ unfolds";
    $("#legend").append(lab, bar, hi);
  }
  function members(g) { return g.dataset.m ? g.dataset.m.split(",").map(Number) : []; }
  function nodeOf(i, svg) { return svg ? $$("g.node", svg).find((g) => members(g).includes(i)) : undefined; }
  function applyZoom() {
    if (!svgs.length) return;
    const svg = svgs[level], w = +svg.dataset.w, h = +svg.dataset.h;
    const z = zoom || Math.min(1, ($("#graph").clientWidth - 12) / w);
    svg.setAttribute("width", Math.round(w * z));
    svg.setAttribute("height", Math.round(h * z));
    $("#zoomval").textContent = Math.round(z * 100) + "%" + (zoom ? "" : " (fit)");
  }
  function showLevel(k, focus) {
    level = k;
    svgs.forEach((s, j) => s.classList.toggle("on", j === k));
    applyZoom();
    $$("#levels button").forEach((b, j) => b.classList.toggle("on", j === k));
    colour();
    mark();
    if (focus !== undefined) scrollToNode(nodeOf(focus, svgs[k]));
  }
  function scrollToNode(g) {
    if (!g) return;
    const box = $("#graph"), r = g.getBoundingClientRect(), b = box.getBoundingClientRect();
    box.scrollTop += r.top - b.top - b.height / 3;
    box.scrollLeft += r.left - b.left - b.width / 2 + r.width / 2;
  }
  for (const svg of svgs) {
    for (const g of $$("g.node", svg)) {
      g.addEventListener("mouseenter", () => hover(members(g), true));
      g.addEventListener("mouseleave", () => hover(members(g), false));
      g.addEventListener("click", (ev) => {
        const m = members(g);
        ev_unfold = ev.target.classList.contains("unfold");
        if (ev_unfold && level + 1 < svgs.length) {
          select(m, "none");
          showLevel(level + 1, m[0]);
          return;
        }
        select(m, "graph");
      });
      g.addEventListener("dblclick", () => { // fold: the next coarser level, on this node's block
        if (level > 0 && !ev_unfold) showLevel(level - 1, members(g)[0]);
      });
    }
  }
  $$("#levels button").forEach((b) => b.addEventListener("click", () => showLevel(+b.dataset.level, [...sel][0])));
  function setMetric(m) {
    metric = m;
    $$("#metric button").forEach((x) => x.classList.toggle("on", x.dataset.metric === m));
    colour();
  }
  $$("#metric button").forEach((b) => b.addEventListener("click", () => setMetric(b.dataset.metric)));
  $$("#zoom button").forEach((b) => b.addEventListener("click", () => {
    const now = zoom || +$("#zoomval").textContent.replace(/%.*/, "") / 100;
    zoom = b.dataset.z === "fit" ? 0 : Math.max(0.2, Math.min(2, now * +b.dataset.z));
    applyZoom();
  }));

  // ---- selection -------------------------------------------------------------------------------
  function hover(m, on) {
    for (const i of m) { const tr = rows[i]; if (tr) tr.classList.toggle("hover", on); }
  }
  function select(m, origin) {
    sel = new Set(m);
    mark();
    if (origin === "graph" && m.length) scrollRow(Math.min(...m));
    if (origin === "table" || origin === "chart") scrollToNode(nodeOf(m[0], svgs[level]));
  }
  function scrollRow(i) { // inside the table's own scroll box: the page itself stays put
    const wrap = $(".table-wrap"), r = rows[i].getBoundingClientRect(), w = wrap.getBoundingClientRect();
    wrap.scrollTop += r.top - w.top - w.height / 2;
  }
  function mark() {
    for (const svg of svgs) for (const g of $$("g.node", svg)) g.classList.toggle("sel", members(g).some((i) => sel.has(i)));
    rows.forEach((tr, i) => tr.classList.toggle("sel", sel.has(i)));
    for (const c of charts) c.mark();
  }

  // ---- charts ----------------------------------------------------------------------------------
  const charts = [];
  function el(tag, attrs, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function barChart(title, values, fmt) {
    const box = document.createElement("div");
    box.className = "chart";
    const total = values.reduce((a, v) => a + (v || 0), 0);
    box.innerHTML = "<h3></h3>";
    $("h3", box).textContent = title + " ";
    const sub = document.createElement("span");
    sub.textContent = "per layer · total " + fmt(total);
    $("h3", box).appendChild(sub);
    $("#charts").appendChild(box);
    const svg = el("svg", {}, box);
    const bars = [];
    function draw() {
      svg.innerHTML = "";
      bars.length = 0;
      const W = svg.clientWidth || 300, H = 96, top = 12, n = values.length, max = Math.max(1e-12, ...values.map((v) => v || 0));
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      el("line", { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: "axis" }, svg);
      el("text", { x: 2, y: 9, class: "tick" }, svg).textContent = "max " + fmt(max);
      const step = W / n;
      values.forEach((v, i) => {
        const h = ((v || 0) / max) * (H - top);
        bars.push(el("rect", { x: i * step, y: H - h, width: Math.max(0.8, step * 0.82), height: h, class: "bar" }, svg));
        const hit = el("rect", { x: i * step, y: 0, width: Math.max(1, step), height: H, class: "hit" }, svg);
        el("title", {}, hit).textContent = L[i].name + ": " + fmt(v || 0);
        hit.addEventListener("click", () => select([i], "chart"));
        hit.addEventListener("mouseenter", () => hover([i], true));
        hit.addEventListener("mouseleave", () => hover([i], false));
      });
      mark();
    }
    function mark() { bars.forEach((b, i) => b.classList.toggle("sel", sel.has(i))); }
    charts.push({ draw, mark });
  }
  function rfChart() {
    const box = document.createElement("div");
    box.className = "chart";
    box.innerHTML = "<h3>receptive field <span>input pixels, by depth</span></h3>";
    $("#charts").appendChild(box);
    const svg = el("svg", {}, box);
    let selLine = null;
    const inputSize = Math.max(0, ...D.input);
    function draw() {
      svg.innerHTML = "";
      const W = svg.clientWidth || 300, H = 96, top = 12, n = L.length;
      const max = Math.max(1, inputSize, ...L.map((l) => l.rfSize || 0));
      const x = (i) => (i + 0.5) * (W / n), y = (v) => H - (v / max) * (H - top);
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      el("line", { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: "axis" }, svg);
      if (inputSize) {
        el("line", { x1: 0, x2: W, y1: y(inputSize), y2: y(inputSize), class: "inputline" }, svg);
        el("text", { x: 2, y: y(inputSize) - 2, class: "tick" }, svg).textContent = "input " + inputSize;
      }
      el("text", { x: 2, y: 9, class: "tick" }, svg).textContent = "max " + max;
      const pts = [];
      L.forEach((l, i) => { if (l.rfSize != null) pts.push(x(i).toFixed(1) + "," + y(l.rfSize).toFixed(1)); });
      el("polyline", { points: pts.join(" "), class: "rfline" }, svg);
      const g = L.findIndex((l) => l.global);
      if (g >= 0) el("text", { x: x(g) - 3, y: H - 5, class: "tick", "text-anchor": "end" }, svg).textContent = "global from here →";
      L.forEach((l, i) => {
        const hit = el("rect", { x: i * (W / n), y: 0, width: Math.max(1, W / n), height: H, class: "hit" }, svg);
        el("title", {}, hit).textContent = l.name + ": RF " + l.rf;
        hit.addEventListener("click", () => select([i], "chart"));
      });
      selLine = el("line", { y1: 0, y2: H, class: "selline", visibility: "hidden" }, svg);
      mark();
    }
    function mark() {
      if (!selLine) return;
      const i = Math.min(...sel);
      const W = svg.clientWidth || 300;
      if (!isFinite(i)) { selLine.setAttribute("visibility", "hidden"); return; }
      const xi = (i + 0.5) * (W / L.length);
      selLine.setAttribute("x1", xi); selLine.setAttribute("x2", xi); selLine.setAttribute("visibility", "visible");
    }
    charts.push({ draw, mark });
  }
  barChart("MACs", L.map((l) => l.macs), (v) => human(v));
  barChart("parameters", L.map((l) => l.params), (v) => human(v));
  barChart("activation memory", L.map((l) => l.mem), (v) => human(v, true));
  rfChart();
  if (T) barChart("measured time", T, (v) => (v || 0).toPrecision(3) + " ms");

  // ---- table -----------------------------------------------------------------------------------
  const COLS = [
    { k: "i", h: "#", num: true, v: (l, i) => i, t: (l, i) => String(i + 1), cls: "idx" },
    { k: "name", h: "layer", v: (l) => l.name, t: (l) => l.name, cls: "name" },
    { k: "type", h: "type", v: (l) => l.type, t: (l) => l.type },
    { k: "shape", h: "output", v: (l) => l.shape, t: (l) => l.shape },
    { k: "params", h: "params", num: true, v: (l) => l.params, t: (l) => l.paramsText },
    { k: "macs", h: "MACs", num: true, v: (l) => l.macs, t: (l) => l.macsText },
    { k: "share", h: "MACs %", num: true, v: (l) => l.macs, share: true },
    { k: "flops", h: "FLOPs", num: true, v: (l) => l.flops, t: (l) => l.flopsText },
    { k: "mem", h: "memory", num: true, v: (l) => l.mem, t: (l) => l.memText },
    { k: "rf", h: "RF", num: true, v: (l) => (l.global ? Infinity : l.rfSize == null ? -1 : l.rfSize), t: (l) => l.rf },
  ];
  if (T) {
    const sum = T.reduce((a, v) => a + (v || 0), 0) || 1;
    COLS.push({ k: "time", h: "time ms", num: true, v: (l, i) => (T[i] == null ? -1 : T[i]), t: (l, i) => (T[i] == null ? "—" : T[i].toPrecision(3)) });
    COLS.push({ k: "tshare", h: "time %", num: true, v: (l, i) => T[i] || 0, t: (l, i) => (T[i] == null ? "—" : (100 * T[i] / sum).toFixed(1) + "%") });
  }
  const thead = $("#layers thead"), tbody = $("#layers tbody");
  const hr = document.createElement("tr");
  for (const c of COLS) {
    const th = document.createElement("th");
    th.textContent = c.h;
    if (c.num) th.className = "num";
    th.addEventListener("click", () => sortBy(c, th));
    hr.appendChild(th);
  }
  thead.appendChild(hr);
  const rows = L.map((l, i) => {
    const tr = document.createElement("tr");
    tr.dataset.i = i;
    for (const c of COLS) {
      const td = document.createElement("td");
      if (c.share) {
        const pct = D.totalMacs ? (100 * l.macs) / D.totalMacs : 0;
        const b = document.createElement("span");
        b.className = "share";
        b.style.width = Math.max(pct ? 1 : 0, Math.round(pct * 0.6)) + "px";
        td.append(b, pct ? pct.toFixed(1) + "%" : "");
      } else td.textContent = c.t(l, i);
      td.className = (c.num ? "num " : "") + (c.cls || "");
      if (c.k === "params" || c.k === "macs") td.title = l.exact;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => select([i], "table"));
    tr.addEventListener("mouseenter", () => { const g = nodeOf(i, svgs[level]); if (g) g.classList.add("hover"); });
    tr.addEventListener("mouseleave", () => $$("g.node.hover").forEach((g) => g.classList.remove("hover")));
    tbody.appendChild(tr);
    return tr;
  });
  let sortKey = "i", asc = true;
  function sortBy(c, th) {
    asc = sortKey === c.k ? !asc : !c.num || c.k === "i";
    sortKey = c.k;
    const order = L.map((l, i) => i).sort((a, b) => {
      const x = c.v(L[a], a), y = c.v(L[b], b);
      const d = typeof x === "string" ? x.localeCompare(y) : x - y;
      return (asc ? d : -d) || a - b;
    });
    for (const i of order) tbody.appendChild(rows[i]);
    $$("th", thead).forEach((h) => h.classList.remove("sorted", "asc"));
    th.classList.add("sorted");
    if (asc) th.classList.add("asc");
  }

  function drawCharts() { for (const c of charts) c.draw(); }
  window.addEventListener("resize", () => { drawCharts(); applyZoom(); });
  drawCharts();
  setMetric(metric);
  showLevel(level);
  const first = L.findIndex((l) => l.name === hash.get("sel"));
  if (first >= 0) { select([first], "none"); scrollToNode(nodeOf(first, svgs[level])); scrollRow(first); }
  // for tests and the curious: the state, read-only
  window.cnncalcReport = { level: () => level, selected: () => [...sel].sort((a, b) => a - b), levels: svgs.length };
})();

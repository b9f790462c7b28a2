(function mountExplorer(root, data, live) {
  // The backward-pass explorer: wires one root element (made by viz/explorer.py) to its frames.
  // Everything is looked up inside `root`, so several explorers can share a page.
  // `live` is null for a static page; the notebook widget passes {request(message), ...} and
  // calls the returned show(k) when the kernel's stepper has moved.
  "use strict";
  var frames = data.frames, steps = data.steps;
  var $ = function (sel) { return root.querySelector(sel); };
  var viewport = $(".tgr-viewport"), slider = $(".tgr-slider");
  var canvases = {};
  root.querySelectorAll(".tgr-canvas").forEach(function (c) { canvases[c.getAttribute("data-view")] = c; });
  var elements = {ops: {}, cells: {}, rolled: {}};
  Object.keys(canvases).forEach(function (view) {
    canvases[view].querySelectorAll("g.node").forEach(function (g) { elements[view][g.getAttribute("data-id")] = g; });
  });
  Object.keys(canvases).forEach(function (v) {  // the drawing keeps its own size whatever the host's CSS says
    var svg = canvases[v].querySelector("svg");    // (JupyterLab: max-width: 100% on every svg of an output)
    if (svg) { svg.style.maxWidth = "none"; svg.style.maxHeight = "none"; }
  });
  var view = data.view, position = -1, selected = null;
  var pan = {ops: null, cells: null};

  // --- the state at position k, accumulated from the frames (done nodes, latest gradients) ----
  var cache = {k: 0, done: {}, grads: {}, contributions: []};
  function reset() {
    cache = {k: 0, done: {}, grads: {}, contributions: []};
    absorb(frames[0]);
  }
  function absorb(f) {
    if (f.node !== null) cache.done[f.node] = true;
    Object.keys(f.grads).forEach(function (t) { cache.grads[t] = f.grads[t]; });
    f.contributions.forEach(function (c) { cache.contributions.push(c); });
  }
  function stateAt(k) {
    if (k < cache.k) reset();
    while (cache.k < k) { cache.k += 1; absorb(frames[cache.k]); }
    return cache;
  }

  // --- pan and zoom: the canvas is translated and scaled inside the viewport ---------------
  function natural(view) { var c = canvases[view]; return {w: c.offsetWidth, h: c.offsetHeight}; }
  function apply(view, animate) {
    var c = canvases[view], p = pan[view];
    c.style.transition = animate ? "transform 0.25s ease-out" : "none";
    c.style.transform = "translate(" + p.x + "px," + p.y + "px) scale(" + p.s + ")";
    overviewWindow();
  }
  function fitWidth(view, animate, exact) {
    var size = natural(view), vw = viewport.clientWidth, vh = viewport.clientHeight;
    if (!size.w || !vw) return false;
    var s = Math.min(1.25, vw / size.w);
    if (s < 0.45 && !exact) s = 0.9;  // a long unroll: readable size, and the view follows the action
    pan[view] = {x: Math.max(0, (vw - size.w * s) / 2), y: Math.max(0, (vh - size.h * s) / 2), s: s};
    apply(view, animate);
    return true;
  }
  function showAll(view) {
    var size = natural(view), vw = viewport.clientWidth, vh = viewport.clientHeight;
    var s = Math.min(1.25, vw / size.w, vh / size.h);
    pan[view] = {x: (vw - size.w * s) / 2, y: (vh - size.h * s) / 2, s: s};
    apply(view, true);
  }
  function zoom(factor, cx, cy) {
    var p = pan[view];
    if (!p) return;
    var s = Math.max(0.05, Math.min(4, p.s * factor));
    if (cx === undefined) { cx = viewport.clientWidth / 2; cy = viewport.clientHeight / 2; }
    p.x = cx - (cx - p.x) * s / p.s; p.y = cy - (cy - p.y) * s / p.s; p.s = s;
    apply(view, false);
  }
  function box(el) {  // an element's box in the viewport's pixels, whatever the current transform
    var r = el.getBoundingClientRect(), v = viewport.getBoundingClientRect();
    return {x: r.left - v.left, y: r.top - v.top, w: r.width, h: r.height};
  }
  function bring(el, animate) {  // pan so that el is in view: centred, if it was not wholly inside
    var p = pan[view];
    if (!el || !p) return;
    var c = canvases[view], cr = c.getBoundingClientRect(), now = cr.width / c.offsetWidth;
    var r = el.getBoundingClientRect();
    // the element's centre in canvas pixels (independent of a transition in flight)
    var cx = (r.left + r.width / 2 - cr.left) / now, cy = (r.top + r.height / 2 - cr.top) / now;
    var vw = viewport.clientWidth, vh = viewport.clientHeight;
    var sx = p.x + cx * p.s, sy = p.y + cy * p.s;
    var w = r.width / now * p.s, h = r.height / now * p.s;
    var mx = Math.min(30, vw * 0.05), my = Math.min(30, vh * 0.05);
    if (sx - w / 2 < mx || sx + w / 2 > vw - mx) p.x = vw / 2 - cx * p.s;
    if (sy - h / 2 < my || sy + h / 2 > vh - my) p.y = vh / 2 - cy * p.s;
    apply(view, animate);
  }
  function zoomTo(els) {  // fit a set of elements (a time step's ops) into the viewport
    var c = canvases[view], cr = c.getBoundingClientRect(), now = cr.width / c.offsetWidth;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    els.forEach(function (el) {
      var r = el.getBoundingClientRect();
      x0 = Math.min(x0, (r.left - cr.left) / now); y0 = Math.min(y0, (r.top - cr.top) / now);
      x1 = Math.max(x1, (r.right - cr.left) / now); y1 = Math.max(y1, (r.bottom - cr.top) / now);
    });
    if (!isFinite(x0)) return;
    var vw = viewport.clientWidth, vh = viewport.clientHeight, pad = 40;
    var s = Math.min(1.5, (vw - pad) / (x1 - x0), (vh - pad) / (y1 - y0));
    pan[view] = {x: vw / 2 - (x0 + x1) / 2 * s, y: vh / 2 - (y0 + y1) / 2 * s, s: s};
    apply(view, true);
  }

  // --- styling one frame ------------------------------------------------------------------
  function setStatus(g, status) {  // only elements whose status changed are touched: stepping stays fast
    if (g.tgrStatus === status) return;
    g.tgrStatus = status;
    ["done", "current", "next", "pending", "partial"].forEach(function (s) { g.classList.toggle(s, s === status); });
  }
  function paint(g, look) {  // look: {fill, font} from the gradient-norm palette, or null for the drawn colours
    var key = look ? look.fill + look.font : "";
    if (g.tgrColour === key) return;
    g.tgrColour = key;
    g.querySelectorAll("polygon, ellipse, path").forEach(function (shape) { shape.style.fill = look ? look.fill : ""; });
    g.querySelectorAll("text").forEach(function (t) { t.style.fill = look ? look.font : ""; });
  }
  function nodeStatus(i, f, st) {
    if (i === f.node) return "current";
    if (i === f.next) return "next";
    return st.done[i] ? "done" : "pending";
  }
  function styleOps(f, st) {
    var els = elements.ops;
    data.nodes.forEach(function (n, i) {
      var g = els["op" + i];
      if (!g) return;
      var status = nodeStatus(i, f, st);
      setStatus(g, status);
      paint(g, status === "done" ? n.colour : null);
    });
    data.tensors.forEach(function (t, k) {
      var g = els["v" + k];
      if (!g) return;
      var grad = st.grads[k];
      g.classList.toggle("known", grad !== undefined);
      paint(g, grad !== undefined ? grad.colour : null);
    });
  }
  function styleCells(f, st) {
    (data.groups || []).forEach(function (group) {
      var g = elements.cells[group.id];
      if (!g) return;
      var done = 0, status;
      group.nodes.forEach(function (i) { if (st.done[i]) done += 1; });
      if (group.nodes.indexOf(f.node) >= 0) status = "current";
      else if (group.nodes.indexOf(f.next) >= 0) status = "next";
      else status = done === group.nodes.length ? "done" : done === 0 ? "pending" : "partial";
      setStatus(g, status);
      paint(g, status === "done" || status === "partial" ? group.colour : null);
    });
  }
  function groupOf(i) {
    var found = null;
    (data.groups || []).forEach(function (group) { if (group.nodes.indexOf(i) >= 0) found = group; });
    return found;
  }
  function focusElement(f) {
    var i = f.node !== null ? f.node : f.next;
    if (i === null) return null;
    if (view === "rolled") return rolledElement(i);
    if (view === "cells") { var group = groupOf(i); return group ? elements.cells[group.id] : null; }
    return elements.ops["op" + i] || null;
  }

  function show(k, animate) {
    k = Math.max(0, Math.min(steps, k));
    position = k;
    if (!pan[view]) fitWidth(view, false);
    var f = frames[k], st = stateAt(k);
    slider.value = k;
    $(".tgr-counter").textContent = "step " + k + " of " + steps;
    $(".tgr-event").textContent = f.text;
    $(".tgr-rule").innerHTML = (f.rules || []).map(ruleMath).join("");
    $(".tgr-where").textContent = f.where;
    $(".tgr-leaves").textContent = f.leaves;
    if (canvases.ops) styleOps(f, st);
    if (canvases.cells) styleCells(f, st);
    wholeAndPart(f);
    root.setAttribute("data-position", String(k));
    root.setAttribute("data-current", f.node === null ? "" : String(f.node));
    if (selected) describe(selected);
    if (follow.checked) bring(focusElement(f), animate !== false);
  }

  // --- what a click shows ------------------------------------------------------------------
  function ruleMath(r) {  // viz/mathml.py's rule(), from the expressions the page ships once (data.math)
    var M = data.math, left = "<mtd style=\"text-align: left\">";
    function num(v) {
      var shape = /^\(\d+(?:, \d+)*,?\)/.exec(v), head = shape ? "<mtext>" + esc(shape[0]) + "</mtext>" : "";
      return "<mrow>" + head + "<mn>" + esc(shape ? v.slice(shape[0].length) : v) + "</mn></mrow>";
    }
    var names = r.tokens.map(function (t) { return M[typeof t === "string" ? t : t.name]; }).join("");
    var values = r.tokens.map(function (t) { return typeof t === "string" ? M[t] : num(t.value); }).join("");
    return "<div class=\"tgr-formula\"><math class=\"tgr-math\"><mtable columnalign=\"left\"><mtr>" + left +
      "<mrow>" + M[r.lhs] + "<mo>" + (r.op === "+=" ? "+=" : "=") + "</mo>" + names + "</mrow></mtd></mtr><mtr>" +
      left + "<mrow><mspace width=\"1.5em\"/><mo>=</mo>" + values + "<mo>=</mo>" + num(r.result) +
      "</mrow></mtd></mtr></mtable></math></div>";
  }
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function gradText(k) {
    var st = stateAt(position), g = st.grads[k];
    if (g !== undefined) return g.text;
    var pieces = st.contributions.filter(function (c) { return c.tensor === k; });
    if (pieces.length) return "(not in .grad yet: its pieces are being summed in dL/d" + pieces[0].into +
                              ", see Leaf gradients so far)";
    return "(not known yet)";
  }
  function tensorInfo(k) {
    var t = data.tensors[k], parts = [];
    parts.push("<b>" + esc(t.label) + "</b>" + (t.torch ? " (PyTorch: " + esc(t.torch) + ")" : "") + ": " +
               esc(t.kind) + ", shape " + esc(t.shape));
    if (t.producer !== null) parts.push("made by " + esc(data.nodes[t.producer].op) + " at " +
                                         esc(data.nodes[t.producer].scope || "(top level)"));
    parts.push("<pre>value = " + esc(t.value) + "\ngradient dL/d" + esc(t.label) + " = " +
               esc(t.requires_grad ? gradText(k) : "(none: it does not require grad)") + "</pre>");
    if (t.leaf) parts.push(barChart(k));
    return parts.join("<br>");
  }
  function barChart(k) {
    var pieces = stateAt(position).contributions.filter(function (c) { return c.tensor === k; });
    var total = data.tensors[k].uses;
    var head = "<div class='tgr-chart-title'>contributions to its gradient: " + pieces.length + " of " + total +
               " so far (the BPTT sum)</div>";
    if (!pieces.length) return head;
    var byT = {}, order = [];
    pieces.forEach(function (c) {
      var key = c.t === null ? "-" : String(c.t);
      if (!(key in byT)) { byT[key] = 0; order.push(key); }
      byT[key] = Math.sqrt(byT[key] * byT[key] + c.norm * c.norm);
    });
    order.sort(function (a, b) { return (a === "-" ? 1e9 : +a) - (b === "-" ? 1e9 : +b); });
    var max = Math.max.apply(null, order.map(function (key) { return byT[key]; })) || 1;
    var bw = Math.max(6, Math.min(26, Math.floor(260 / order.length))), h = 80, top = 34;  // top: room for values
    var w = Math.max(200, bw * order.length);
    var bars = order.map(function (key, j) {
      var bh = Math.max(1, byT[key] / max * h);
      return "<rect class='tgr-bar' data-t='" + key + "' x='" + (j * bw + 1) + "' y='" + (top + h - bh) +
             "' width='" + (bw - 2) + "' height='" + bh + "'><title>t=" + key + ": ||contribution|| = " +
             byT[key].toPrecision(4) + "</title></rect>" +
             (order.length <= 20 ? "<text x='" + (j * bw + bw / 2) + "' y='" + (top + h + 11) +
             "' text-anchor='middle'>" + key + "</text>" + barValue(j * bw + bw / 2, top + h - bh - 3, byT[key]) : "");
    }).join("");
    var height = top + h + 26;
    return head + "<svg class='tgr-chart' width='" + (w + 4) + "' height='" + height + "' viewBox='0 0 " + (w + 4) +
           " " + height + "'>" + bars + "<text x='" + (w / 2) + "' y='" + (height - 2) +
           "' text-anchor='middle'>bar height: ||contribution_t||, against t</text></svg>";
  }
  function barValue(x, y, value) {  // the bar's number, written upwards above it (issue 23: bars carry values)
    return "<text class='tgr-bar-value' transform='translate(" + x + "," + y + ") rotate(-90)' " +
           "dominant-baseline='middle'>" + value.toPrecision(2) + "</text>";
  }
  function nodeInfo(i) {
    var n = data.nodes[i], st = stateAt(position), f = frames[position];
    var status = nodeStatus(i, f, st);
    var parts = ["<b>" + esc(n.op) + "</b> at " + esc(n.scope || "(top level)") + " (" + status + ")",
                 "<pre>local rule " + esc(n.formula) + "</pre>"];
    for (var j = 1; j <= position; j++) {  // once processed: its rule filled in with this pass's numbers
      if (frames[j].node === i) { parts.push("<div class='tgr-rule'>" + (frames[j].rules || []).map(ruleMath).join("") +
                                             "</div>"); break; }
    }
    n.outputs.forEach(function (k) {
      parts.push("<pre>output " + esc(data.tensors[k].label) + " = " + esc(data.tensors[k].value) +
                 "\ngradient = " + esc(gradText(k)) + "</pre>");
    });
    parts.push("inputs: " + n.inputs.map(function (k) { return esc(data.tensors[k].label); }).join(", "));
    return parts.join("");
  }
  function describe(sel) {
    var info = $(".tgr-info");
    if (sel.kind === "op") info.innerHTML = nodeInfo(sel.index);
    else if (sel.kind === "tensor") info.innerHTML = tensorInfo(sel.index);
    else info.innerHTML = sel.html;
    foldButtons(sel);
  }
  function expand(group) {  // a time step of the cells view, opened in the ops view
    if (!canvases.ops) {
      selected = {kind: "note", html: "The ops view is not drawn for this graph (" + esc(data.ops_note) + ")."};
      describe(selected);
      return;
    }
    setView("ops");
    zoomTo(group.nodes.map(function (i) { return elements.ops["op" + i]; }).filter(Boolean));
    selected = {kind: "note", html: "<b>" + esc(group.scope) + "</b>: " + group.nodes.length +
                " ops, opened in the ops view (the <i>cells</i> button goes back)."};
    describe(selected);
  }
  function clicked(g) {
    if (partClicked(g)) return;
    var id = g.getAttribute("data-id");
    if (view === "cells") {
      var group = (data.groups || []).filter(function (x) { return x.id === id; })[0];
      if (group && group.cell) { expand(group); return; }
      if (id.charAt(0) === "v") { selected = {kind: "tensor", index: +id.slice(1)}; describe(selected); }
      return;
    }
    if (id.slice(0, 2) === "op") selected = {kind: "op", index: +id.slice(2)};
    else if (id.charAt(0) === "v") selected = {kind: "tensor", index: +id.slice(1)};
    else return;
    describe(selected);
  }

  // --- controls --------------------------------------------------------------------------
  var follow = $(".tgr-follow");
  function go(k) {
    k = Math.max(0, Math.min(steps, k));
    if (live) live.request({action: "go_to", position: k});
    else show(k);
  }
  function setView(name) {
    if (!canvases[name]) return;
    view = name;
    Object.keys(canvases).forEach(function (v) { canvases[v].style.display = v === name ? "" : "none"; });
    root.querySelectorAll(".tgr-viewbtn").forEach(function (b) {
      b.classList.toggle("tgr-on", b.getAttribute("data-view") === name);
    });
    root.setAttribute("data-view", name);
    if (!pan[name]) fitWidth(name, false);
    if (follow.checked && position >= 0) bring(focusElement(frames[position]), false);
  }
  function runTo(target) {
    target = target.trim();
    if (!target) return;
    if (live) { live.request({action: "run_to", target: target}); return; }
    var want = target.split("/").filter(Boolean);
    for (var j = position; j <= steps; j++) {
      var i = frames[j].next;
      if (i === null) continue;
      var n = data.nodes[i], have = n.scope ? n.scope.split("/") : [];
      var hit = n.outputs.some(function (k) {
        return data.tensors[k].label === target || data.tensors[k].plain === target;
      }) || target === n.op + "#" + i;
      for (var a = 0; !hit && want.length && a + want.length <= have.length; a++) {
        hit = want.every(function (s, b) { return have[a + b] === s; });
      }
      if (hit) {
        show(j);
        var made = n.outputs.map(function (k) { return data.tensors[k].label; }).join(", ");
        message("stopped just before the first node of " + target + ": " + n.op + " -> " + made + " (next)");
        return;
      }
    }
    message(runToError(target));
  }
  function runToError(target) {  // word for word the kernel stepper's run_to error, which the widget shows
    var ahead = {}, st = stateAt(position);
    data.nodes.forEach(function (n, i) {
      if (!st.done[i]) (n.scope ? n.scope.split("/") : []).forEach(function (s) { if (s) ahead[s] = true; });
    });
    return "run_to('" + target + "'): no pending node is in that scope or produces a tensor of that name; " +
           "scope segments still ahead: " + (Object.keys(ahead).sort().join(", ") || "(none)");
  }
  function message(text) { $(".tgr-message").textContent = text; }

  $(".tgr-prev").addEventListener("click", function () { go(position - 1); });
  $(".tgr-next").addEventListener("click", function () { go(position + 1); });
  $(".tgr-first").addEventListener("click", function () { go(0); });
  $(".tgr-last").addEventListener("click", function () { go(steps); });
  slider.addEventListener("input", function () { go(+slider.value); });
  $(".tgr-zoomin").addEventListener("click", function () { zoom(1.25); });
  $(".tgr-zoomout").addEventListener("click", function () { zoom(0.8); });
  $(".tgr-fit").addEventListener("click", function () { fitWidth(view, true, true); });
  $(".tgr-all").addEventListener("click", function () { showAll(view); });
  follow.addEventListener("change", function () { if (follow.checked) bring(focusElement(frames[position]), true); });
  root.querySelectorAll(".tgr-viewbtn").forEach(function (b) {
    b.addEventListener("click", function () { setView(b.getAttribute("data-view")); });
  });
  $(".tgr-runto").addEventListener("submit", function (e) {
    e.preventDefault();
    runTo($(".tgr-target").value);
  });
  $(".tgr-target").addEventListener("keydown", function (e) {
    // Enter runs to the target right here rather than through the form's implicit submission: JupyterLab
    // cancels that one (its input guard prevents the "insertLineBreak" of an Enter typed inside a cell).
    if (e.key !== "Enter" || e.isComposing) return;
    e.preventDefault();
    e.stopPropagation();
    runTo($(".tgr-target").value);
  });
  root.addEventListener("keydown", function (e) {
    if (e.target.tagName === "INPUT" && e.target.type === "text") return;
    var keys = {ArrowRight: 1, n: 1, ArrowLeft: -1, p: -1};
    if (e.key in keys) go(position + keys[e.key]);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(steps);
    else if (e.key === "+" || e.key === "=") zoom(1.25);
    else if (e.key === "-") zoom(0.8);
    else if (e.key === "f" || e.key === "u") foldKey(e.key);
    else return;
    e.preventDefault();
    e.stopPropagation();
  });
  viewport.addEventListener("wheel", function (e) {
    e.preventDefault();
    var v = viewport.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - v.left, e.clientY - v.top);
  }, {passive: false});
  var drag = null;
  viewport.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || !pan[view]) return;
    drag = {x: e.clientX, y: e.clientY, px: pan[view].x, py: pan[view].y, moved: false,
            target: e.target.closest ? e.target.closest("g.node") : null};
    root.focus({preventScroll: true});
  });
  viewport.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
    if (!drag.moved) { drag.moved = true; viewport.setPointerCapture(e.pointerId); }
    pan[view].x = drag.px + dx; pan[view].y = drag.py + dy;
    apply(view, false);
  });
  viewport.addEventListener("pointerup", function () {
    if (drag && !drag.moved && drag.target) clicked(drag.target);
    drag = null;
  });
  viewport.addEventListener("pointercancel", function () { drag = null; });

  // --- the whole and the part: the rolled picture, scopes that fold, the overview strip -------
  // rolled: the folded cell (one step drawn once); the op the backward pass is at is lit there and
  // "t = 7 of 20" says which copy. Any scope folds into one box in place (collapse / expand, a
  // button in the side panel, the keys f and u) and unfolds where it was. The overview strip
  // shows every time step, coloured by gradient norm, with the visible window as a rectangle.
  var SVGNS = "http://www.w3.org/2000/svg";
  var folds = {}, lit = [], stepX = {};
  var strip = $(".tgr-overview-strip"), windowRect = $(".tgr-overview-window");
  var consumers = null;
  function segs(scope) { return scope ? scope.split("/").filter(Boolean) : []; }
  function within(scope, prefix) {  // scope lies inside prefix, segment by segment
    var a = segs(scope), b = segs(prefix);
    if (b.length > a.length) return false;
    for (var j = 0; j < b.length; j++) if (a[j] !== b[j]) return false;
    return true;
  }
  function rolledElement(i) {
    var r = data.rolled && data.rolled[i];
    return r ? elements.rolled["op" + r[0]] || null : null;
  }
  function styleRolled(f) {
    if (!canvases.rolled || !data.rolled) return;
    lit.forEach(function (g) { g.classList.remove("tgr-lit"); });
    lit = [];
    var i = f.node !== null ? f.node : f.next, where = $(".tgr-rolled-where");
    if (i === null) { where.textContent = "backward pass done"; return; }
    var g = rolledElement(i), r = data.rolled[i], n = data.nodes[i];
    if (g) { g.classList.add("tgr-lit"); lit.push(g); }
    var gate = segs(n.scope).slice(-1)[0] || "top level";
    where.textContent = (r && r[1] !== null ? "t = " + r[1] + " of " + r[2] + ": " : "outside the steps: ") +
                        n.op + " in " + gate.replace(/_/g, " ") + (f.node === null ? " (next)" : "");
  }

  // folding: the members of a scope in a view, and the box that stands for them
  function scopeMembers(scope, v) {
    var ids = [], nodes = [];
    if (v === "cells") {
      (data.groups || []).forEach(function (group) {
        if (within(group.scope, scope)) { ids.push(group.id); nodes = nodes.concat(group.nodes); }
      });
    } else if (v === "ops") {
      data.nodes.forEach(function (n, i) { if (within(n.scope, scope)) { ids.push("op" + i); nodes.push(i); } });
      data.tensors.forEach(function (t, k) {
        if (t.producer !== null && within(data.nodes[t.producer].scope, scope)) ids.push("v" + k);
      });
    }
    return {ids: ids.filter(function (id) { return elements[v] && elements[v][id]; }), nodes: nodes};
  }
  function boundary(nodes) {  // the tensors that enter and leave a set of nodes
    if (!consumers) {
      consumers = {};
      data.nodes.forEach(function (n, i) {
        n.inputs.forEach(function (k) { (consumers[k] = consumers[k] || []).push(i); });
      });
    }
    var inside = {}, ins = [], outs = [];
    nodes.forEach(function (i) { inside[i] = true; });
    nodes.forEach(function (i) {
      data.nodes[i].inputs.forEach(function (k) {
        var p = data.tensors[k].producer;
        if ((p === null || !inside[p]) && ins.indexOf(k) < 0) ins.push(k);
      });
      data.nodes[i].outputs.forEach(function (k) {
        var users = consumers[k] || [];
        if ((!users.length || users.some(function (u) { return !inside[u]; })) && outs.indexOf(k) < 0) outs.push(k);
      });
    });
    return {ins: ins, outs: outs};
  }
  function names(ks) {
    var shown = ks.map(function (k) { return data.tensors[k].label; });
    return shown.length > 6 ? shown.slice(0, 6).join(", ") + " and " + (shown.length - 6) + " more"
                            : shown.join(", ") || "none";
  }
  function foldText(fold) {
    var b = fold.edges, grads = stateAt(position).grads, sum = 0, known = 0;
    b.outs.forEach(function (k) { var g = grads[k]; if (g !== undefined) { sum += g.norm * g.norm; known += 1; } });
    return ["\u25B8 " + fold.scope + " (" + fold.nodes.length + " ops, folded: click to unfold)",
            "in: " + names(b.ins), "out: " + names(b.outs),
            "\u2016grad out\u2016 = " + (known ? Math.sqrt(sum).toPrecision(4) + (known < b.outs.length ?
              " (" + known + " of " + b.outs.length + " known)" : "") : "not known yet")];
  }
  function drawFold(fold) {
    var lines = foldText(fold), box = fold.box;
    while (fold.g.firstChild) fold.g.removeChild(fold.g.firstChild);
    var title = document.createElementNS(SVGNS, "title");
    title.textContent = lines.join("\n");
    var rect = document.createElementNS(SVGNS, "rect");
    fold.g.appendChild(title);
    fold.g.appendChild(rect);
    var widest = 0;
    lines.forEach(function (line, j) {
      var t = document.createElementNS(SVGNS, "text");
      t.setAttribute("x", box.x + 8);
      t.setAttribute("y", box.y + 18 + 16 * j);
      if (j === 0) t.setAttribute("font-weight", "bold");
      t.textContent = line;
      fold.g.appendChild(t);
      widest = Math.max(widest, t.getComputedTextLength ? t.getComputedTextLength() : 0);
    });
    rect.setAttribute("x", box.x);
    rect.setAttribute("y", box.y);
    rect.setAttribute("rx", 6);
    rect.setAttribute("width", Math.max(box.w, widest + 16));
    rect.setAttribute("height", Math.max(box.h, 16 * lines.length + 10));
  }
  function collapseScope(scope, v) {
    scope = segs(String(scope)).join("/");
    folds[v] = folds[v] || {};
    var open = Object.keys(folds[v]);
    if (open.some(function (s) { return within(scope, s); })) return 0;  // already inside a fold
    var m = scopeMembers(scope, v);
    if (!m.ids.length) {
      message("fold " + scope + ": no node of that scope is drawn in the " + v + " view");
      return 0;
    }
    open.forEach(function (s) { if (within(s, scope)) expandScope(s, v); });  // inner folds join this one
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, hidden = {};
    m.ids.forEach(function (id) {
      var b = elements[v][id].getBBox();
      x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y);
      x1 = Math.max(x1, b.x + b.width); y1 = Math.max(y1, b.y + b.height);
      hidden[id] = true;
    });
    var parent = elements[v][m.ids[0]].parentNode, edges = [];
    canvases[v].querySelectorAll("g.edge").forEach(function (e) {
      var ends = (e.querySelector("title") || {textContent: ""}).textContent.split("->");
      if (ends.length === 2 && hidden[ends[0].split(":")[0]] && hidden[ends[1].split(":")[0]]) edges.push(e);
    });
    var members = m.ids.map(function (id) { return elements[v][id]; }).concat(edges);
    members.forEach(function (el) { el.style.display = "none"; });
    var g = document.createElementNS(SVGNS, "g");
    g.setAttribute("class", "node tgr-folded");
    g.setAttribute("data-id", "fold:" + scope);
    g.setAttribute("data-scope", scope);
    parent.appendChild(g);
    var pad = 8, label = 14;  // over the scope's own box and its label line
    var fold = {scope: scope, g: g, members: members, nodes: m.nodes, edges: boundary(m.nodes),
                box: {x: x0 - pad, y: y0 - pad - label, w: x1 - x0 + 2 * pad, h: y1 - y0 + 2 * pad + label}};
    folds[v][scope] = fold;
    drawFold(fold);
    stepX[v] = null;
    return m.ids.length;
  }
  function expandScope(scope, v) {
    scope = segs(String(scope)).join("/");
    var opened = 0;
    Object.keys(folds[v] || {}).forEach(function (s) {
      if (!within(s, scope) && !within(scope, s)) return;
      var fold = folds[v][s];
      fold.members.forEach(function (el) { el.style.display = ""; });
      fold.g.parentNode.removeChild(fold.g);
      delete folds[v][s];
      opened += 1;
    });
    if (opened) stepX[v] = null;
    return opened;
  }
  function followFolds(f) {  // following the current node unfolds what hides it
    var i = f.node !== null ? f.node : f.next;
    Object.keys(folds[view] || {}).forEach(function (s) {
      if (i !== null && within(data.nodes[i].scope, s)) expandScope(s, view);
      else if (folds[view][s]) drawFold(folds[view][s]);  // its gradient norm as of this step
    });
  }
  function partClicked(g) {
    if (!g.classList.contains("tgr-folded")) {
      root.querySelectorAll(".tgr-selected").forEach(function (x) { x.classList.remove("tgr-selected"); });
      g.classList.add("tgr-selected");  // a clicked node stays marked
      return false;
    }
    expandScope(g.getAttribute("data-scope"), view);
    return true;
  }
  function selectedScope(sel) {
    if (!sel) return null;
    if (sel.kind === "op") return data.nodes[sel.index].scope;
    if (sel.kind === "tensor" && data.tensors[sel.index].producer !== null) {
      return data.nodes[data.tensors[sel.index].producer].scope;
    }
    return null;
  }
  function foldButtons(sel) {
    var scope = selectedScope(sel);
    if (!scope || (view !== "ops" && view !== "cells")) return;
    var parts = segs(scope), div = document.createElement("div");
    div.className = "tgr-folds";
    div.appendChild(document.createTextNode("fold (f: the innermost; u: unfold all): "));
    for (var j = parts.length; j > 0; j--) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "tgr-fold";
      b.setAttribute("data-scope", parts.slice(0, j).join("/"));
      b.textContent = parts[j - 1].replace(/_/g, " ");
      b.addEventListener("click", function (e) { collapseScope(e.target.getAttribute("data-scope"), view); });
      div.appendChild(b);
    }
    $(".tgr-info").appendChild(div);
  }
  function foldKey(key) {
    if (key === "u") { Object.keys(folds[view] || {}).forEach(function (s) { expandScope(s, view); }); return; }
    var scope = selectedScope(selected);
    if (scope) collapseScope(scope, view);
    else message("f folds the scope of the clicked node: click an op first");
  }

  // the overview strip: every time step, the visible window, click to jump
  var T = (data.overview || []).length;
  function stepCentres(v) {  // canvas x of each time step's middle, in view v (measured once per layout)
    if (stepX[v]) return stepX[v];
    var c = canvases[v], cr = c.getBoundingClientRect(), now = cr.width / c.offsetWidth, lo = {}, hi = {};
    if (!now) return null;
    function take(t, el) {
      if (!el || t === null) return;
      var r = el.getBoundingClientRect();
      if (!r.width) return;
      var a = (r.left - cr.left) / now, b = (r.right - cr.left) / now;
      lo[t] = Math.min(lo[t] === undefined ? Infinity : lo[t], a);
      hi[t] = Math.max(hi[t] === undefined ? -Infinity : hi[t], b);
    }
    if (v === "cells") {
      (data.groups || []).forEach(function (group) {
        var last = segs(group.scope).slice(-1)[0] || "";
        if (group.cell && /^t\d+$/.test(last)) take(+last.slice(1), elements.cells[group.id]);
      });
    } else {
      data.step_t.forEach(function (t, i) { take(t, elements[v] && elements[v]["op" + i]); });
    }
    var xs = {};
    Object.keys(lo).forEach(function (t) { xs[t] = (lo[t] + hi[t]) / 2; });
    stepX[v] = xs;
    return xs;
  }
  function overviewWindow() {
    if (!strip || !windowRect) return;
    var p = pan[view], xs = (view === "cells" || view === "ops") && p ? stepCentres(view) : null;
    if (!xs) { windowRect.setAttribute("width", 0); return; }
    var left = -p.x / p.s, right = (viewport.clientWidth - p.x) / p.s, t0 = Infinity, t1 = -Infinity;
    Object.keys(xs).forEach(function (t) {
      if (xs[t] >= left && xs[t] <= right) { t0 = Math.min(t0, +t); t1 = Math.max(t1, +t); }
    });
    if (!isFinite(t0)) { windowRect.setAttribute("width", 0); return; }
    windowRect.setAttribute("x", t0 - 1);
    windowRect.setAttribute("width", t1 - t0 + 1);
    root.setAttribute("data-overview", t0 + "-" + t1);
  }
  function jumpTo(t) {
    if (view !== "cells" && view !== "ops") setView(canvases.cells ? "cells" : "ops");
    var xs = stepCentres(view), p = pan[view];
    if (!xs || xs[t] === undefined || !p) return;
    p.x = viewport.clientWidth / 2 - xs[t] * p.s;
    apply(view, true);
  }
  if (strip) {
    strip.addEventListener("click", function (e) {
      var r = strip.getBoundingClientRect();
      jumpTo(Math.max(1, Math.min(T, Math.floor((e.clientX - r.left) / r.width * T) + 1)));
    });
  }
  function foldSteps() {  // every time step of the ops view folded: the cells view, unfolding in place
    if (view !== "ops") setView("ops");
    var scopes = {};
    data.nodes.forEach(function (n) {
      var parts = segs(n.scope), cut = -1;
      parts.forEach(function (p, j) { if (cut < 0 && /^t\d+$/.test(p)) cut = j; });
      if (cut >= 0) scopes[parts.slice(0, cut + 1).join("/")] = true;
    });
    var folded = 0;
    Object.keys(scopes).forEach(function (s) { if (collapseScope(s, "ops")) folded += 1; });
    return folded;
  }
  var foldStepsButton = $(".tgr-foldsteps");
  if (foldStepsButton) {
    if (!canvases.ops) foldStepsButton.style.display = "none";
    foldStepsButton.addEventListener("click", function () { foldSteps(); });
  }
  function wholeAndPart(f) {
    styleRolled(f);
    if (follow.checked) followFolds(f);
    else Object.keys(folds[view] || {}).forEach(function (s) { drawFold(folds[view][s]); });
  }

  setView(view);
  show(data.start, false);
  if (window.ResizeObserver) {  // shown later (a notebook output, a widget not yet on the page): fit then
    new ResizeObserver(function () {
      if (!pan[view] && fitWidth(view, false) && follow.checked) bring(focusElement(frames[position]), false);
    }).observe(viewport);
  }
  if (data.autofocus) root.focus({preventScroll: true});
  return {show: show, message: message, position: function () { return position; },
          collapse: function (scope) { return collapseScope(scope, view); },
          expand: function (scope) { return expandScope(scope, view); },
          folded: function () { return Object.keys(folds[view] || {}); },
          foldSteps: function () { return foldSteps(); }};
})

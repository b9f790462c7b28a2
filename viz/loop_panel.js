(function mountLoopPanel(panel) {
  // The BPTT-loop panel (viz/explorer.py loop_panel): follows its explorer's data-current (the node
  // of the step just taken), marks the loop line that runs that node's backward rule and says at
  // which t. It only reads the explorer root's attributes, so it works the same in a page and in
  // the notebook widget.
  "use strict";
  var root = panel.closest(".tgr-explorer");
  var at = JSON.parse(panel.querySelector(".tgr-loop-data").textContent);
  var code = panel.querySelector(".tgr-loop-code"), label = panel.querySelector(".tgr-loop-at");
  var lines = code.querySelectorAll(".tgr-line"), marked = null;
  function update() {
    var node = root.getAttribute("data-current"), hit = node ? at[node] : null;
    if (marked) marked.classList.remove("tgr-loop-current");
    marked = null;
    if (!hit) {
      label.textContent = node ? "this step has no line of its own" : "no step taken yet";
      panel.setAttribute("data-line", "");
      panel.setAttribute("data-t", "");
      return;
    }
    marked = lines[hit[0] - 1];
    marked.classList.add("tgr-loop-current");
    label.textContent = "line " + hit[0] + (hit[1] === null ? ", outside the loops" : ", t = " + hit[1]);
    panel.setAttribute("data-line", String(hit[0]));
    panel.setAttribute("data-t", hit[1] === null ? "" : String(hit[1]));
    code.scrollTop = Math.max(0, marked.offsetTop - code.clientHeight / 2);
  }
  new MutationObserver(update).observe(root, {attributes: true, attributeFilter: ["data-current"]});
  update();

  // line -> step: a click on a line of the loop goes to the backward step that runs it, at the t
  // shown now (else the first such step). Pages only: the notebook widget's view follows its kernel.
  var positions = null;
  code.addEventListener("click", function (e) {
    var line = e.target.closest ? e.target.closest(".tgr-line") : null;
    if (!line || !root.tgrExplorer) return;
    if (!positions) {
      positions = {};
      JSON.parse(root.querySelector(".tgr-data").textContent).frames.forEach(function (f, k) {
        if (f.node !== null) positions[f.node] = k;
      });
    }
    var number = +line.getAttribute("data-line"), t = panel.getAttribute("data-t"), best = null;
    Object.keys(at).forEach(function (node) {
      if (at[node][0] !== number || positions[node] === undefined) return;
      var here = t !== "" && String(at[node][1]) === t;
      if (best === null || (here && !best.here) || (here === best.here && positions[node] < best.k)) {
        best = {k: positions[node], here: here};
      }
    });
    if (best !== null) root.tgrExplorer.show(best.k);
  });
})

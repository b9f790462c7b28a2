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
})

"""``viz.explore(loss_or_stepper)``: the explorer as a live Jupyter widget (needs anywidget).

The view is the explorer of ``viz.explorer``; its buttons, slider, keys and
"run to" box do not move a copy: they send a message to the kernel, where
the widget calls the real ``BackwardStepper`` (``step``, ``back``,
``go_to``, ``run_to``), and the view follows the stepper's new position. So
in the next cell ``W.grad`` is exactly what the view shows.

    w = viz.explore(loss); w          # display it; press step, or:
    w.step(); w.run_to("t1"); w.back()
    w.stepper.position                # the same stepper the view shows

Install: ``pip install -e '.[notebook]'`` (anywidget).
"""

from __future__ import annotations

from typing import Any

try:
    import anywidget
    import traitlets
except ModuleNotFoundError as missing:  # pragma: no cover - depends on the installation
    raise ModuleNotFoundError(
        f"viz.explore needs anywidget ({missing.name} is not installed): pip install -e '.[notebook]'. "
        "Without it, display the stepper itself (the explorer inline, no kernel needed) or use "
        "viz.backward_player(loss, 'backward.html')."
    ) from None

from tinygrad_rnn.stepper import BackwardStepper

from .explorer import LOOP_SCRIPT, SCRIPT, _stepper, explorer_html

_ESM = (
    "const mount = " + SCRIPT.read_text(encoding="utf-8").strip() + ";\n"
    + "const mountLoop = " + LOOP_SCRIPT.read_text(encoding="utf-8").strip() + ";\n"
    + """
function render({ model, el }) {
  el.innerHTML = model.get("html");
  const root = el.querySelector(".tgr-explorer");
  const data = JSON.parse(root.querySelector(".tgr-data").textContent);
  data.start = model.get("position");
  const view = mount(root, data, { request: (message) => model.send(message) });
  root.querySelectorAll(".tgr-loop-panel").forEach(mountLoop);  // the BPTT loop beside the graph
  model.on("change:position", () => view.show(model.get("position")));
  model.on("change:message", () => view.message(model.get("message")));
}
export default { render };
"""
)


class Explorer(anywidget.AnyWidget):
    """The explorer bound to a live stepper: ``position`` is the stepper's, kept in sync."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    html = traitlets.Unicode("").tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, stepper: BackwardStepper, **options: Any):
        super().__init__()
        self.stepper = stepper
        self.html = explorer_html(stepper, script=False, **options)
        self.position = stepper.position
        self.on_msg(self._on_message)

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        """What the view's controls send: {"action": "go_to", "position": k} or {"action": "run_to", "target": s}."""
        try:
            if content.get("action") == "go_to":
                self.go_to(int(content["position"]))
            elif content.get("action") == "run_to":
                self.run_to(str(content["target"]))
        except (ValueError, KeyError) as error:
            self.message = str(error)

    def _sync(self) -> None:
        self.message = ""
        self.position = self.stepper.position

    def step(self, n: int = 1) -> None:
        """One step (or n) of the real stepper; the view follows."""
        self.stepper.step(n)
        self._sync()

    def back(self) -> None:
        """Undo the last step; the view follows."""
        self.stepper.back()
        self._sync()

    def go_to(self, position: int) -> None:
        """Move to ``position`` steps taken (one step forwards or back is a step or a back)."""
        position = max(0, min(self.stepper.steps, position))
        if position == self.stepper.position + 1:
            self.stepper.step()
        elif position == self.stepper.position - 1:
            self.stepper.back()
        else:
            self.stepper.go_to(position)
        self._sync()

    def run_to(self, name_or_scope: str) -> None:
        """``stepper.run_to``: step until the next node is in that scope (errors show in the view);
        the view says where it stopped and why, as the page and the shell do."""
        moved = self.stepper.run_to(name_or_scope)
        self._sync()
        node = self.stepper.current
        if moved and node is not None:
            made = ", ".join(self.stepper.label(t) for t in node.outputs)
            self.message = f"stopped just before the first node of {name_or_scope}: {node.op} -> {made} (next)"


def explore(loss_or_stepper: Any, **options: Any) -> Explorer:
    """A live explorer widget for a loss (a new stepper) or an existing stepper.

    ``options`` go to ``viz.explorer_html`` (title, view="auto"|"ops"|"cells",
    max_nodes, height).
    """
    return Explorer(_stepper(loss_or_stepper, "viz.explore"), **options)

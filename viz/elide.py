"""Eliding the middle of a long unroll: t = 1, 2, 3, "… 194 steps …", 198, 199, 200.

A static picture of T = 200 steps drawn op by op is a strip some 270,000 pixels
long: nobody reads its middle, and every step there is a copy of the ones at
its ends. So the ops view of a long unroll can keep ``keep`` steps at each end
and leave the rest out (``viz.draw(..., elide=3)``; ``tinygrad-rnn render``
does so unless given ``--full``). The step after the gap says how many were
left out ("t = 198 (… 194 steps left out …)"), and the state that step receives (h, c) is drawn as coming straight
from the last step before the gap, dashed: the chain of the recurrence with
its middle taken out. What is left is a regular unroll of 2·keep steps, tiled
as usual; every label and tooltip keeps the step's real t (h₁₉₈, not h₄).
"""

from __future__ import annotations

from typing import Any

from .draw import _time_index

MIN_LEFT_OUT = 4  # eliding fewer steps than this saves too little to be worth a gap


def elide(view: Any, keep: int) -> None:
    """Drop the middle steps from ``view.items`` / ``view.links`` (an ops view after ``collect()``).

    Steps 1..keep and T-keep+1..T of every row stay; the kept steps are renumbered 1..2·keep in
    their scope paths (what the tiler lays out) and ``view.step_labels`` gives each its real label.
    Nothing happens unless every row has the same T and at least MIN_LEFT_OUT steps would go.
    """
    where: dict[str, tuple] = {}  # item name -> (row, t)
    for item in view.items:
        cut = _time_index(item.path)
        if cut is not None:
            where[item.name] = (item.path[:cut], int(item.path[cut][1:]))
    lengths = {row: 0 for row, _ in where.values()}
    for row, t in where.values():
        lengths[row] = max(lengths[row], t)
    if not lengths or len(set(lengths.values())) != 1:
        return
    T = next(iter(lengths.values()))
    gap = T - 2 * keep
    if keep < 1 or gap < MIN_LEFT_OUT:
        return
    low, high = keep, T - keep + 1  # the last step before the gap and the first after it

    def kept(t: int) -> bool:
        return t <= low or t >= high

    order: dict[tuple, list[str]] = {}  # (row, t) -> names in the order they ran: the k-th is the k-th of any step
    for item in view.items:
        if item.name in where:
            order.setdefault(where[item.name], []).append(item.name)
    position = {name: k for names in order.values() for k, name in enumerate(names)}
    by_name = {item.name: item for item in view.items}

    def across(name: str) -> str | None:
        """The counterpart, on the far side of the gap, of a left-out step's node next to it."""
        row, t = where[name]
        other = {low + 1: high, high - 1: low}.get(t)
        if other is None:
            return None
        names = order.get((row, other), [])
        k = position[name]
        return names[k] if k < len(names) else None

    links = []
    for link in view.links:
        a, b = where.get(link.tail), where.get(link.head)
        drop_a, drop_b = a is not None and not kept(a[1]), b is not None and not kept(b[1])
        if not drop_a and not drop_b:
            links.append(link)
            continue
        if drop_a and not drop_b and b is not None and a[0] == b[0] and abs(a[1] - b[1]) == 1:
            tail = across(link.tail)  # the recurrence, bridged over the gap
            if tail is not None:
                link.tail, link.tail_path = tail, by_name[tail].path
                link.style = dict(link.style, style="dashed", tooltip=f"{gap} steps left out between "
                                  f"t = {low} and t = {high} (draw them all: --full, or elide=None)")
                links.append(link)
    view.links = links
    view.items = [item for item in view.items if item.name not in where or kept(where[item.name][1])]

    def renumbered(t: int) -> int:
        return t if t <= low else t - gap

    labels: dict[tuple, str] = {}
    for item in view.items:
        if item.name in where:
            row, t = where[item.name]
            cut = len(row)
            item.path = item.path[:cut] + (f"t{renumbered(t)}",) + item.path[cut + 1 :]
            labels[row + (f"t{renumbered(t)}",)] = (f"t = {t}" if t != high else
                                                    f"t = {t}   (\u2026 {gap} steps left out \u2026)")
    for link in view.links:
        for end in ("tail", "head"):
            name = getattr(link, end)
            if name in where:
                setattr(link, f"{end}_path", by_name[name].path)
    view.step_labels = labels

"""A small Python highlighter for the written loop: standard library ``tokenize``, no network."""

from __future__ import annotations

import html
import io
import keyword
import tokenize
import uuid

_CLASSES = {tokenize.COMMENT: "c", tokenize.STRING: "s", tokenize.NUMBER: "m"}


def highlight_html(source: str, current: int | None = None) -> str:
    """``source`` as <pre> HTML with keywords, comments, strings and numbers coloured; line ``current``
    (1-based) marked. Every line is a block <span class="tgr-line" data-line=N>."""
    marks: dict[int, list[tuple[int, int, str]]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            cls = _CLASSES.get(tok.type)
            if tok.type == tokenize.NAME and keyword.iskeyword(tok.string):
                cls = "k"
            if cls and tok.start[0] == tok.end[0]:
                marks.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], cls))
    except (tokenize.TokenError, IndentationError):
        marks = {}
    uid = uuid.uuid4().hex[:12]  # the styles apply to this block only (a page may hold several)
    out = [f'<pre class="tgr-loop" data-tgr-code="{uid}" style="font:12px/1.4 monospace;white-space:pre;'
           'background:#fafafa;padding:6px">']
    for number, line in enumerate(source.split("\n"), start=1):
        pieces, at = [], 0
        for start, end, cls in sorted(marks.get(number, [])):
            pieces.append(html.escape(line[at:start]))
            pieces.append(f'<span class="tgr-{cls}">{html.escape(line[start:end])}</span>')
            at = end
        pieces.append(html.escape(line[at:]))
        extra = ' style="background:#fff3b0"' if number == current else ""
        out.append(f'<span class="tgr-line" data-line="{number}"{extra}>{"".join(pieces)}</span>')
    rules = {"k": "color:#0000b0;font-weight:bold", "c": "color:#707070;font-style:italic", "s": "color:#a31515",
             "m": "color:#098658", "line": "display:block;min-height:1.4em"}
    styles = "<style>" + "".join(f'[data-tgr-code="{uid}"] .tgr-{k}{{{v}}}' for k, v in rules.items()) + "</style>"
    return styles + out[0] + "".join(out[1:]) + "</pre>"  # (each line is a block: no newlines between)

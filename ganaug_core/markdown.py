"""User text inside Markdown: names and reasons that someone typed, shown as exactly their characters.

Streamlit renders Markdown in st.markdown, captions, alerts, toasts, labels and image captions, and the benchmark
writes report.md, which the app shows too. A class folder named `![x](http:\\host\\p.png)` (`\\` is `/` in an
http URL) or a reason holding a link would otherwise make every reader's browser fetch an image or show a link.
"""

from __future__ import annotations

import re

# The characters that open a Markdown construct inline (a link, an image, emphasis, code, an HTML tag, Streamlit's
# `:red[…]`), and those that open a block at the start; a backslash before one makes it literal.
_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*_{}\[\]<>!|~$&]")
_MARKDOWN_BLOCK_START = re.compile(r"^(?:#{1,6}(?= |$)|>|[+-](?= |$)|\d{1,9}[.)](?= |$))")  # heading, quote, list


def plain(text) -> str:
    """`text` as Markdown that shows exactly these characters. Line breaks become spaces: such text is a name or a
    one-line reason. Never put the result inside backticks (a code span shows the backslashes)."""
    inline = _MARKDOWN_PUNCTUATION.sub(lambda m: "\\" + m.group(), " ".join(str(text).split()))
    return _MARKDOWN_BLOCK_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], inline)


def chart_text(text) -> str:
    """`text` for a Plotly chart's labels (an axis's categories, a legend entry, a title), shown as exactly its
    characters. Plotly reads a subset of HTML there: a class folder named `<a href="https://…">7</a>` was a live link
    on the Overview chart's axis, and a `<span style="font-size:400px">` covered the chart. Plotly turns `&lt;`,
    `&gt;` and `&amp;` back into the characters they stand for."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

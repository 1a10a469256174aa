"""Verdicts as coloured badges, the same on the landing page, the ledger and each chapter's box.

Inline styles rather than a stylesheet: the badges also appear in the executed notebooks, which
Colab and Jupyter render without the book's CSS.
"""

from __future__ import annotations

import html

# Green for reproduced through red for not reproduced; neutral tones for what was not decided.
VERDICT_COLORS = {
    "reproduced": "#1a7f37",
    "partly reproduced": "#6f9a1f",
    "mixed": "#8250df",
    "inconclusive": "#9a6700",
    "not reproduced": "#cf222e",
    "not run": "#6e7781",
    "answered": "#0969da",  # a question's answer: no verdict, no colour of praise or blame
}


def badge(verdict: str, text: str | None = None) -> str:
    """An HTML badge for a verdict (unknown verdicts get the neutral colour), reading ``text``
    (default: the verdict)."""
    color = VERDICT_COLORS.get(verdict, VERDICT_COLORS["not run"])
    style = (f"background-color:{color};color:#ffffff;padding:0.1em 0.55em;border-radius:0.8em;"
             "font-size:0.85em;font-weight:600;white-space:nowrap")
    return f'<span class="optbook-verdict" style="{style}">{html.escape(text or verdict)}</span>'

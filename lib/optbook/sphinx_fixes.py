"""A Sphinx extension for the book's HTML (listed in ``_config.yml``'s ``extra_extensions``).

Jupyter Book 1 loads sphinx-thebe, whose configuration snippet (``const thebe_selector = ...``)
can end up twice in a page's scripts; the second ``const`` is a SyntaxError in every page's
JavaScript console. Each page keeps the first copy of every script.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    filename = getattr(script, "filename", script)
    attributes = getattr(script, "attributes", {}) or {}
    return filename, attributes.get("body")


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

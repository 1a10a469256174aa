"""A Sphinx extension for the book's HTML (listed in ``_config.yml``'s ``extra_extensions``).

- **Author-year bibliography.** The text cites "Baydin et al. [2018]"; the list is labelled the
  same way ("Baydin et al. 2018") and sorted by author, instead of pybtex's alpha labels
  ("[BCMR+18]"). Select it with ``bibtex_default_style: optbook``.
- **One copy of each script per page.** Jupyter Book 1 loads sphinx-thebe, whose configuration
  snippet (``const thebe_selector = ...``) can end up twice in a page's scripts; the second
  ``const`` is a SyntaxError in every page's JavaScript console.
- **Buttons follow the repository setting.** Launch (Colab) and repository buttons appear only
  when ``repository.url`` is set, and a bad one stops the build with the install cells' message.
"""

from __future__ import annotations

from sphinx.errors import ExtensionError

BIBLIOGRAPHY_STYLE = "optbook"


def _author_year_style():
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle
    from pybtex.style.labels import BaseLabelStyle
    from pybtex.style.sorting.author_year_title import SortingStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield f"{_authors(entry)} {entry.fields.get('year', 'n.d.')}"

    class AuthorYearStyle(UnsrtStyle):
        default_label_style = AuthorYearLabels
        default_sorting_style = SortingStyle

    return AuthorYearStyle


def _authors(entry) -> str:
    """"Baydin et al.", "Welling and Teh", "Krizhevsky": the way the text cites them."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(person.last_names) or " ".join(person.first_names) for person in people]
    names = [name.replace("{", "").replace("}", "") for name in names]
    if people and str(people[-1]) == "others":  # BibTeX's "and others"
        names = names[:-1] + ["et al."]
    if not names:
        return entry.key
    if len(names) == 1:
        return names[0]
    if len(names) == 2 and names[1] != "et al.":
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _script_key(script) -> tuple:
    # An inline script is registered once with filename None and once with "" (Sphinx normalises
    # one copy, not the other): both mean "no file".
    filename = getattr(script, "filename", script) or None
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


def buttons_follow_the_repository(app, config) -> None:
    """Launch and repository buttons exactly when the publisher set ``repository.url`` (checked as
    the install cells check it): one setting, and no buttons pointing at a repository nobody named."""
    from optbook.pipeline.install_cell import ConfigError, read_repository

    options = config.html_theme_options
    try:
        url, _ = read_repository(app.confdir)
    except ConfigError as err:
        raise ExtensionError(str(err)) from None
    if url is None:
        options.pop("launch_buttons", None)
        options.pop("repository_url", None)
        options["use_repository_button"] = False
    else:
        options["repository_url"] = url
        options["use_repository_button"] = True


def setup(app):
    from pybtex.plugin import register_plugin

    register_plugin("pybtex.style.formatting", BIBLIOGRAPHY_STYLE, _author_year_style(), force=True)
    app.connect("config-inited", buttons_follow_the_repository)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Author-year labels for the book's bibliography (a Sphinx extension; not needed to use the library).

The book cites with ``bibtex_reference_style: author_year``, so the text reads "[Dohmatob et al., 2024]". The list on
the bibliography page takes its labels from the pybtex formatting style, and pybtex ships only "alpha" ([DFK24]) and
numeric labels, so the list and the citations disagreed. This extension registers a pybtex style, ``authoryear``:
the ``plain`` formatting and sorting (by author, then year) with labels "Surname, 2024", "Surname and Other, 2024" or
"Surname et al., 2024" (a letter is appended when two entries would share a label). When the extension is loaded and
``bibtex_default_style`` is still sphinxcontrib-bibtex's default, it switches the default to ``authoryear``.
"""
from __future__ import annotations

import re
import string

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

__all__ = ["AuthorYearLabelStyle", "AuthorYearStyle", "author_year_label", "setup"]

STYLE_NAME = "authoryear"


def _surname(person) -> str:
    """The last name(s) of a pybtex Person, without TeX braces."""
    return re.sub(r"[{}]", "", " ".join(person.prelast_names + person.last_names)).strip()


def author_year_label(entry) -> str:
    """"Surname, 2024", "Surname and Other, 2024" or "Surname et al., 2024" (editors if there are no authors)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if not names:
        who = re.sub(r"[{}]", "", entry.fields.get("title", entry.key)).split(":")[0].strip()
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year", "n.d.")
    return f"{who}, {year}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """pybtex label style: author-year labels, made unique with a, b, ... where two entries would collide."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        counts = {lab: labels.count(lab) for lab in labels}
        seen: dict[str, int] = {}
        for lab in labels:
            if counts[lab] == 1:
                yield lab
            else:
                k = seen.get(lab, 0)
                seen[lab] = k + 1
                yield lab + string.ascii_lowercase[k]


class AuthorYearStyle(PlainStyle):
    """pybtex formatting style: ``plain`` (sorted by author and year) with author-year labels."""

    default_label_style = STYLE_NAME


def _register():
    # force: re-registering in the same process (a second Sphinx build) replaces the entry instead of failing
    register_plugin("pybtex.style.labels", STYLE_NAME, AuthorYearLabelStyle, force=True)
    register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle, force=True)


def _default_style(app, config):
    if config.bibtex_default_style == "alpha":
        config.bibtex_default_style = STYLE_NAME


def setup(app):
    _register()
    app.connect("config-inited", _default_style)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Tables for the book's pages: one small helper so every chapter shows results the same way.

Presentation only: callers pass already formatted cells. The table sits in a box that scrolls sideways on a narrow
screen (with a visible cue), so a wide table never makes the whole page scroll.
"""
from __future__ import annotations

import html

__all__ = ["Table", "html_table"]


class Table:
    """An HTML table that displays itself as a notebook cell's last expression (``_repr_html_``)."""

    def __init__(self, header, rows, note: str = ""):
        header = [str(h) for h in header]
        rows = [[str(c) for c in row] for row in rows]
        if not header:
            raise ValueError("header must be a non-empty list of column titles")
        for k, row in enumerate(rows):
            if len(row) != len(header):
                raise ValueError(f"row {k} has {len(row)} cells, the header has {len(header)}")
        if not isinstance(note, str):
            raise ValueError(f"note must be a string, got {type(note).__name__}")
        self.header, self.rows, self.note = header, rows, note

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        foot = f"<p class='cl-table-note'><small>{esc(self.note)}</small></p>" if self.note else ""
        return ("<div class='cl-table' style='overflow-x:auto;max-width:100%;"
                "background:linear-gradient(to left,#00000014,#0000 12px) right/12px 100% no-repeat local;'>"
                f"<table class='table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{foot}")


def html_table(header, rows, note: str = "") -> Table:
    """A table of formatted cells.

    Parameters
    ----------
    header : list of str, length C
        Column titles.
    rows : list of lists, each of length C
        Cell contents (formatted strings or numbers; shown as text).
    note : str
        A line under the table: what the ± means, seeds, units.
    """
    return Table(header, rows, note)

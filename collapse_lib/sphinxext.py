"""A small Sphinx extension for the book's HTML (listed in ``_config.yml``; not needed to use the library).

* **One copy of each inline script.** sphinx-thebe 0.3.1 (loaded by Jupyter Book 1 even with Thebe off) registers its
  inline configuration script after the builder is initialised, and Sphinx 7.4 then writes it into every page twice;
  the second copy re-declares a ``const`` and throws in the console. We drop exact duplicates from each page's script
  list, which removes the cause rather than hiding the error.
* **One search box.** On wide screens the theme shows a search field in the sidebar and another in a header bar
  that holds nothing else; we hide that header bar (on narrow screens it is already hidden, and the article's
  search button remains).
* **A proof index with titles.** sphinx-proof's index lists bare labels (``thm-ch4-ridge-collapse``); ours lists
  each result's title and kind, grouped by initial as before.
* **Wide content scrolls in its own box.** Tables and code cells scroll sideways inside their own box with a visible
  edge shadow, so a page never scrolls sideways on a phone.
"""
from __future__ import annotations

from collections import defaultdict

from docutils import nodes

_STYLE = """<style>
.bd-header { display: none !important; }
.bd-article table:not(.cl-chart table) { display: block; max-width: 100%; overflow-x: auto; }
.bd-article .cell_output, .bd-article .output { max-width: 100%; overflow-x: auto; }
.bd-article div.highlight pre, .bd-article dt.sig, .bd-article dl.py, .bd-article dl.field-list { overflow-x: auto; }
.bd-article :is(p, li, dd, td) code, .bd-article :is(p, li, dd, td) code span.pre {
  white-space: normal; overflow-wrap: anywhere; }
.bd-article .cl-table, .bd-article .cell_output .output { background:
  linear-gradient(to left, #0000001a, #0000 10px) right / 10px 100% no-repeat local; }
.bd-article .widget-slider .widget-readout { min-width: 3.5em; }
</style>"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # an inline script is registered once with filename None and once with "": the same script
        key = (getattr(js, "filename", str(js)) or "",
               tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique
    context["metatags"] = context.get("metatags", "") + _STYLE


def _record_titles(app, doctree):
    """Remember the title of every sphinx-proof block of this document (the index shows titles, not labels)."""
    proofs = getattr(app.env, "proof_list", {})
    titles = app.env.__dict__.setdefault("cl_proof_titles", {})
    for node in doctree.findall(nodes.Element):
        ids = node.get("ids") or []
        if ids and ids[0] in proofs:
            title = next(iter(node.findall(nodes.title)), None)
            text = title.astext().strip() if title is not None else ""
            titles[ids[0]] = text.strip("() ") or ids[0]


def _titled_index(base):
    class TitledProofIndex(base):
        def generate(self, docnames=None):
            env = self.domain.env
            proofs = getattr(env, "proof_list", {})
            titles = getattr(env, "cl_proof_titles", {})
            content = defaultdict(list)
            for anchor, v in proofs.items():
                title = titles.get(anchor, anchor)
                content[title[:1].upper()].append(
                    (title, 0, v["docname"], anchor, env.titles[v["docname"]].astext()
                     if v["docname"] in env.titles else v["docname"], "", v["realtype"]))
            return sorted((k, sorted(v)) for k, v in content.items()), True

    return TitledProofIndex


def setup(app):
    from sphinx_proof.domain import ProofDomain, ProofIndex

    ProofDomain.indices = [_titled_index(ProofIndex)]
    app.connect("doctree-read", _record_titles)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": False, "parallel_write_safe": True}

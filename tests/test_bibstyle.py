"""Author-year labels for the bibliography list match the author-year citations in the text."""
from pybtex.database import Entry, Person
from pybtex.plugin import find_plugin

from collapse_lib import bibstyle


def entry(authors, year="2024", title="A title"):
    return Entry("article", fields={"title": title, "year": year},
                 persons={"author": [Person(a) for a in authors]})


def test_labels_name_one_two_or_many_authors():
    assert bibstyle.author_year_label(entry(["Bach, Francis"])) == "Bach, 2024"
    assert bibstyle.author_year_label(entry(["Caponnetto, Andrea", "De Vito, Ernesto"], "2007")) == \
        "Caponnetto and De Vito, 2007"
    assert bibstyle.author_year_label(entry(["Dohmatob, Elvis", "Feng, Yunzhen", "Kempe, Julia"])) == \
        "Dohmatob et al., 2024"


def test_colliding_labels_get_letters():
    style = bibstyle.AuthorYearLabelStyle()
    labels = list(style.format_labels([entry(["Xu, A", "He, B", "Cheng, C"], "2025"),
                                       entry(["Xu, A", "Li, D", "Wu, E"], "2025"), entry(["Bach, F"])]))
    assert labels == ["Xu et al., 2025a", "Xu et al., 2025b", "Bach, 2024"]


def test_setup_registers_the_pybtex_style():
    class App:
        def connect(self, event, fn):
            self.hook = (event, fn)

    app = App()
    bibstyle.setup(app)
    assert find_plugin("pybtex.style.formatting", "authoryear") is bibstyle.AuthorYearStyle
    assert find_plugin("pybtex.style.labels", "authoryear") is bibstyle.AuthorYearLabelStyle

    class Config:
        bibtex_default_style = "alpha"

    cfg = Config()
    app.hook[1](app, cfg)
    assert cfg.bibtex_default_style == "authoryear"

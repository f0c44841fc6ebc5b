"""The two flavours of site (the `jupyterlab` answer, 4 or 3) as the browser tests use them.

A browser test takes the `lite` fixture (tests/conftest.py): the session's built site of its
flavour, served, and how a person opens one of its documents. It runs on 4, the default answer;
the core set that 3 keeps takes the `jupyterlab` parameter on both (ON_BOTH), and what only 3
has takes it on 3 (ON_3). Modules named for one flavour's pages (test_lab4_*.py, and those that
take lab3_site) run on that one.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from .browsers import LitePage
from .collaboration import first_document, open_in_lab
from .lab4_pages import Lab4Page
from .sites import JUPYTERLABS, build_env

ON_BOTH = pytest.mark.parametrize(
    "jupyterlab", JUPYTERLABS, ids=[f"jupyterlab {each}" for each in JUPYTERLABS]
)
# Scenarios of JupyterLab 3.5 alone (RetroLab, its way of loading cells without ids).
ON_3 = pytest.mark.parametrize("jupyterlab", ["3"], ids=["jupyterlab 3"])
PAGES = {"3": LitePage, "4": Lab4Page}


@dataclass(frozen=True)
class Lite:
    """A built site of one flavour, served at `url` in the tests' network."""

    jupyterlab: str
    site: Path
    url: str

    @property
    def python(self) -> Path:
        """The site's build environment's Python, which runs its preview.py."""
        return build_env(self.site) / "bin" / "python"

    @property
    def text(self):
        return first_document(self.site, ".md")

    @property
    def notebook(self):
        return first_document(self.site, ".ipynb")

    @property
    def page_class(self):
        return PAGES[self.jupyterlab]

    @property
    def open_in(self):
        return opener(self.jupyterlab)


def opener(jupyterlab):
    """How a person opens a document on a site of this flavour (open_in_lab's arguments)."""
    return functools.partial(open_in_lab, page_class=PAGES[jupyterlab])

"""The two flavours of site (the `jupyterlab` answer, 3 or 4) as the browser tests use them.

A scenario that holds on both takes the `jupyterlab` parameter (ON_BOTH) and the `lite` fixture
(tests/conftest.py): the session's built site of that flavour, served, and how a person opens
one of its documents. Tests that take neither run on JupyterLab 3, today's default.
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
    def open_in(self):
        return opener(self.jupyterlab)


def opener(jupyterlab):
    """How a person opens a document on a site of this flavour (open_in_lab's arguments)."""
    return functools.partial(open_in_lab, page_class=PAGES[jupyterlab])

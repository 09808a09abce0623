"""Sphinx configuration of the requests-resharmonics documentation (built by ``tox -e docs``)."""

from __future__ import annotations

import re
from typing import Any

from requests_resharmonics import __version__

project = "requests-resharmonics"
author = "The requests-resharmonics authors"
copyright = "2026, The requests-resharmonics authors"  # Sphinx's name for it
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Each constructor parameter once: the class's signature on its own line (one parameter a
# line when long), its Args as the one list, with the types from the annotations.
autodoc_class_signature = "mixed"
autodoc_typehints_description_target = "documented_params"
python_maximum_signature_line_length = 88
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# The docstrings' examples talk to the live service: they are read, not run. The pages'
# own examples run in the test suite against the fake (tests/test_readme_examples.py).
doctest_test_doctest_blocks = ""

# README.rst is also read on GitHub and PyPI, which know no Sphinx roles: its references to
# other sections are substitutions, defined at its end for those readers and here as Sphinx
# references, so that a section moved to another page breaks this build, not the reader.
rst_prolog = """
.. |exports| replace:: :ref:`exports`
.. |configuration| replace:: :ref:`configuration`
"""

html_theme = "alabaster"
html_static_path = ["_static"]
html_css_files = ["wrap.css"]  # long lines of code wrap instead of being cut off
# Wider than alabaster's 940 px (and within a 1280-px screen): most examples' lines fit whole.
html_theme_options = {"page_width": "1180px", "sidebar_width": "230px"}
html_title = f"requests-resharmonics {release}"
exclude_patterns = ["_build"]


_URI_LOOKALIKE = re.compile(r"(?<![`\\])Res:Harmonics")


def _escape_the_service_name(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Keep docutils from reading "Res:Harmonics" in a docstring as a link (a ``res:`` URI)."""
    lines[:] = [_URI_LOOKALIKE.sub(r"Res\\:Harmonics", line) for line in lines]


def _no_builtin_type_docstring(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Keep a constant's page from showing its type's docstring (dict's, tuple's...).

    A constant's description is written in api.rst, under its ``autodata``.
    """
    if what == "data" and type(obj).__module__ == "builtins":
        lines[:] = []


def setup(app: Any) -> None:
    """Connect the docstring hooks."""
    app.connect("autodoc-process-docstring", _escape_the_service_name)
    app.connect("autodoc-process-docstring", _no_builtin_type_docstring)

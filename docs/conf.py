"""Sphinx configuration of the requests-resharmonics documentation (built by ``tox -e docs``)."""

from __future__ import annotations

import re
from pathlib import Path
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

# README.rst is also read on GitHub and PyPI, which know no Sphinx roles: its links to the
# pages are substitutions, defined at its end as links to the source files, and here (where
# README.rst is the front page) as Sphinx references made from those definitions, so that a
# page or section that moves breaks this build, not the reader.
_README = Path(__file__).resolve().parent.parent / "README.rst"
_LINK = re.compile(r"^\.\. \|([\w-]+)\| replace:: `([^<`]+) <([^>#]+)(?:#([\w-]+))?>`__$", re.M)
_PAGES = {"SECURITY.rst": "security", "CHANGELOG.rst": "changelog"}


def _readme_links(readme: str) -> str:
    """Return README.rst's link substitutions as references to this site's pages."""
    lines = []
    for name, text, path, anchor in _LINK.findall(readme):
        page = _PAGES.get(path) or path.removeprefix("docs/").removesuffix(".rst")
        target = f":ref:`{text} <{anchor}>`" if anchor else f":doc:`{text} </{page}>`"
        lines.append(f".. |{name}| replace:: {target}")
    return "\n".join(lines)


rst_prolog = _readme_links(_README.read_text(encoding="utf-8"))

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

"""Sphinx configuration of the requests-resharmonics documentation (built by ``tox -e docs``)."""

from __future__ import annotations

from requests_resharmonics import __version__

project = "requests-resharmonics"
author = "The requests-resharmonics authors"
copyright = "2026, The requests-resharmonics authors"  # Sphinx's name for it
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# The docstrings' examples talk to the live service: they are read, not run. The pages'
# own examples run in the test suite against the fake (tests/test_readme_examples.py).
doctest_test_doctest_blocks = ""

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"requests-resharmonics {release}"
exclude_patterns = ["_build"]

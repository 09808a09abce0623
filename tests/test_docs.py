"""The documentation site as readers get it: the built HTML, every link of it followed.

Sphinx's ``-W`` catches broken ``:ref:`` and ``:doc:`` references, not a word docutils took
for a URI ("Res:Harmonics" is a ``res:`` link), nor a link to an anchor that is not there.
These tests build the site (or read the one ``tox -e docs`` built, named by ``DOCS_HTML``)
and follow every link that stays on it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import runpy
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where a link may lead off the site; anything else with a scheme is a word read as a URI.
SCHEMES = frozenset({"http", "https", "mailto"})


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if name == "href" and tag == "a" and value is not None:
                self.links.append(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, _Page]:
    """Every page of the built site, by its path relative to the site's root."""
    built = os.environ.get("DOCS_HTML")
    if built:
        html = Path(built)
    else:
        pytest.importorskip("sphinx", reason="install sphinx (tox -e docs runs these tests)")
        html = tmp_path_factory.mktemp("html")
        command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        build = subprocess.run(
            [*command, "docs", str(html)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert build.returncode == 0, build.stderr
    pages = {}
    for path in sorted(html.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path.relative_to(html).as_posix()] = page
    assert "index.html" in pages
    return pages


def test_no_word_of_the_text_is_a_link(site: dict[str, _Page]) -> None:
    made_up = [
        (name, link)
        for name, page in site.items()
        for link in page.links
        if urlsplit(link).scheme and urlsplit(link).scheme not in SCHEMES
    ]
    assert made_up == []


def broken_links(site: dict[str, _Page]) -> list[tuple[str, str]]:
    """Return the (page, link) pairs whose page or anchor on the site does not exist."""
    broken = []
    for name, page in site.items():
        folder = Path(name).parent
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("_sources/"):
                continue
            target = (folder / unquote(parts.path)).as_posix() if parts.path else name
            target = os.path.normpath(target)
            if target.endswith("/") or target == ".":
                target = os.path.join(target, "index.html")
            if target not in site:
                if target.endswith(".html"):
                    broken.append((name, link))
            elif parts.fragment and unquote(parts.fragment) not in site[target].ids:
                broken.append((name, link))
    return broken


def test_every_link_within_the_site_finds_its_page_and_anchor(site: dict[str, _Page]) -> None:
    assert broken_links(site) == []


def test_a_link_to_a_missing_anchor_or_page_is_found() -> None:
    here, there = _Page(), _Page()
    here.feed('<a href="there.html#kept">ok</a><a href="there.html#moved">x</a><a href="#top">')
    here.feed('<a href="gone.html">y</a><h1 id="top">t</h1>')
    there.feed('<section id="kept"></section>')
    assert broken_links({"here.html": here, "there.html": there}) == [
        ("here.html", "there.html#moved"),
        ("here.html", "gone.html"),
    ]


def test_the_service_api_documentation_is_linked(site: dict[str, _Page]) -> None:
    assert "https://apidocs.resharmonics.com" in site["index.html"].links


def test_cross_references_lead_to_the_sections_they_name(site: dict[str, _Page]) -> None:
    # "see Exports" and "the variables of Configuration" are on other pages here.
    assert "exports.html" in site["getting-started.html"].links
    assert "getting-started.html#configuration" in site["cli.html"].links


#: The pages of every site Sphinx builds, which are not pages of ours.
GENERATED = frozenset({"genindex.html", "search.html", "py-modindex.html"})


def test_every_page_is_one_click_from_the_front_page(site: dict[str, _Page]) -> None:
    pages = {name for name in site if "/" not in name and name not in GENERATED}
    linked = {urlsplit(link).path for link in site["index.html"].links}
    assert pages - {"index.html"} <= linked
    assert len(pages) >= 15


def test_each_tool_has_a_page_the_readme_links(site: dict[str, _Page]) -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    for page in (
        "httpx",
        "dlt",
        "testing",
        "fake-server",
        "observability",
        "notebooks",
        "cli",
        "caches",
        "errors",
    ):
        assert f"<docs/{page}.rst>`__" in readme, page
        assert f"{page}.html" in site["index.html"].links, page


def test_the_site_defines_every_link_of_the_readme() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    defined = re.findall(r"^\.\. \|([\w-]+)\| replace::", readme, re.MULTILINE)
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    made = re.findall(r"^\.\. \|([\w-]+)\| replace:: :(?:doc|ref):", conf["rst_prolog"], re.M)
    assert defined and made == defined


#: Names of __all__ that the reference leaves out for now.
NOT_YET: frozenset[str] = frozenset()
#: The public modules, and the library each needs (an extra), if any.
PUBLIC_MODULES = {
    "requests_resharmonics": None,
    "requests_resharmonics.testing": None,
    "requests_resharmonics.cache": None,
    "requests_resharmonics.httpx": "httpx",
    "requests_resharmonics.httpx2": "httpx2",
    "requests_resharmonics.dlt": "dlt",
}


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_is_in_the_api_reference(module: str) -> None:
    needs = PUBLIC_MODULES[module]
    if needs is not None and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} is not installed")
    names = importlib.import_module(module).__all__
    reference = (ROOT / "docs" / "api.rst").read_text(encoding="utf-8")
    directive = r"^\.\. auto\w+:: requests_resharmonics[\w.]*\.(\w+)$"
    documented = set(re.findall(directive, reference, re.MULTILINE))
    assert set(names) - NOT_YET - documented == set()

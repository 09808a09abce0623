"""README.rst as a new user follows it: the install that works first, the whole test matrix,
examples that do not read one page as the whole list, and text that is not a link."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.rst").read_text(encoding="utf-8")


def _section(title: str) -> str:
    heading = rf"^{re.escape(title)}\n=+\n"
    match = re.search(heading + r"(.*?)(?=^[^\n]+\n=+\n|\Z)", README, re.M | re.S)
    assert match, title
    return match[1]


def test_the_first_install_line_works_from_a_checkout() -> None:
    install = _section("Install")
    commands = re.findall(r"^    (.*pip install.*)$", install, re.M)
    assert "pip install '.[" in commands[0]
    index = install.index("pip install requests-resharmonics")
    assert "Once it is published" in install[:index]


def test_the_python_readme_promises_is_the_one_setup_cfg_requires() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    oldest = setup["options"]["python_requires"].strip().removeprefix(">=")
    assert f"Python {oldest} or newer" in _section("Install")
    assert f"Python {oldest} to 3.13" in " ".join(_section("Install").split())


def test_the_readme_says_how_to_run_the_whole_matrix() -> None:
    development = " ".join(_section("Development").split())
    assert "pyenv local 3.11 3.10 3.12 3.13" in development
    assert "--skip-missing-interpreters true" in development


def test_the_first_fake_server_example_reads_every_page() -> None:
    page = (ROOT / "docs" / "fake-server.rst").read_text(encoding="utf-8")
    block = re.search(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", page, re.M)
    assert block
    first = block[1]
    assert "session.paginate(" in first
    assert "a plain GET is one page" in first


def _rendered_body() -> str:
    core = pytest.importorskip("docutils.core", reason="install the 'tests' extra")
    writer = pytest.importorskip("docutils.writers.html4css1").Writer()
    html = core.publish_parts(README, writer=writer, settings_overrides={"report_level": 4})
    return str(html["body"])


def test_the_readme_rendered_anywhere_has_no_res_link() -> None:
    body = _rendered_body()
    assert 'href="Res:' not in body
    assert 'href="docs/exports.rst"' in body  # the links to the pages resolve here too
    assert 'href="docs/getting-started.rst#configuration"' in body


def test_every_link_of_the_readme_leads_to_a_file_and_section_of_the_checkout() -> None:
    # GitHub resolves these against the checkout; the documentation site has its own (conf.py).
    links = re.findall(r'href="([^"#:]+)(?:#([^"]+))?"', _rendered_body())
    assert len(links) >= 15
    for path, anchor in links:
        target = ROOT / path
        assert target.is_file(), path
        if anchor:  # a section of that page, which docutils and GitHub name alike
            text = target.read_text(encoding="utf-8")
            assert f".. _{anchor}:" in text, (path, anchor)

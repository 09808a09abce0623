"""``resharmonics contract``: check, with real credentials, that the fake still matches production.

The comparison is `_contract.compare`; this module fetches the live document and prints
the report. The CLI adds the command with `add_contract_command`, passing its own
credential options and session, so that ``contract`` takes the same settings as every
command (the ``RESHARMONICS_*`` variables or the flags, base URL included).
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, TYPE_CHECKING, Any, Callable

from ..errors import ResharmonicsError
from ._contract import Document, compare, fake_document

if TYPE_CHECKING:
    from ..session import ResharmonicsSession

#: Where the live service publishes its OpenAPI document (seen against production).
API_DOCS_PATH = "/v3/api-docs"


def add_contract_command(
    commands: Any,
    credential_options: Callable[[argparse.ArgumentParser], None],
    session: Callable[[argparse.Namespace], ResharmonicsSession],
) -> argparse.ArgumentParser:
    """Add ``contract`` to the CLI's subparsers; return its parser.

    ``credential_options`` adds the CLI's credential flags to a parser; ``session`` makes a
    session from the parsed arguments, as the other commands do.
    """
    contract: argparse.ArgumentParser = commands.add_parser(
        "contract",
        help="compare the live API's OpenAPI document with the fake server's",
        description="Fetch the live /v3/api-docs with your credentials and compare it with "
        "the document of requests_resharmonics.testing.FakeResharmonics: operations, "
        "parameters, request and answer fields, enum values. Prints each difference in "
        "words, grouped by operation; exits 1 when the fake is behind the live API (it "
        "lacks, or describes otherwise, something the live API has), 0 when it is not. Run "
        "it before a release of your own integration to know the fake your tests use still "
        "matches production.",
    )
    contract.add_argument("--json", action="store_true", help="print the report as JSON, for CI")
    credential_options(contract)
    contract.set_defaults(run=lambda args: run_contract(session(args), as_json=args.json))
    return contract


def run_contract(
    session: ResharmonicsSession, *, as_json: bool = False, out: IO[str] | None = None
) -> int:
    """Compare the live document with the fake's and print the report; return the exit status."""
    with session:
        live = live_document(session)
    report = compare(live, fake_document())
    print(report.as_json() if as_json else report.text(), file=out or sys.stdout)
    return 1 if report.behind else 0


def live_document(session: ResharmonicsSession) -> Document:
    """Fetch the live OpenAPI document, or raise a `ResharmonicsError` saying what came back."""
    where = session.base_url + API_DOCS_PATH
    response = session.get(API_DOCS_PATH)
    if response.status_code != 200:
        raise ResharmonicsError(f"GET {where} answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise ResharmonicsError(f"GET {where} did not answer JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ResharmonicsError(f"GET {where} did not answer an OpenAPI document (no paths)")
    return document

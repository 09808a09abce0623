"""``resharmonics contract``: check, with real credentials, that the fake still matches production.

The comparison lives with the fake (`requests_resharmonics.testing.check_against_live`),
imported when the command runs, so that other commands do not load the fake. The command
takes the same settings as every command: the CLI passes its credential options and its
session maker to `add_contract_command`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..session import ResharmonicsSession


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

    def run(args: argparse.Namespace) -> int:
        from ..testing import check_against_live

        report = check_against_live(session(args))
        print(report.as_json() if args.json else report.text(), flush=True)
        return 1 if report.behind else 0

    contract.set_defaults(run=run)
    return contract

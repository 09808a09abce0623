"""`Portfolio`: the fake service's data, a `Store` filled from a seed around a day.

Every endpoint of the fake renders from this store, so every view agrees with every other:
a unit held by a stay is unavailable on those nights in its intervals, its rates and the
availability search; a guest stay's dates and status are its room stay's.
"""

from __future__ import annotations

import datetime

from ._seed import seed_portfolio
from ._store import Store, days, next_id

__all__ = ["Portfolio", "days", "next_id"]


class Portfolio(Store):
    """The fake service's data: dictionaries of records by id, and the rules that keep them true.

    Besides the places, people and stays, it holds the reference data (booking types,
    billing frequencies, channels, cities, areas, access groups, extras, VAT profiles,
    activities) and the ledger: ``sales_invoices`` (raised with `add_invoice`, posted with
    `post_invoice`, exported with `mark_exported`) and ``payments`` (`record_payment`).

    Read and change it from tests through `FakeResharmonics.portfolio`. The ``add_*``
    methods keep every view consistent (they refuse a stay that would double-book a unit);
    records can also be edited in place (``portfolio.units[1001].bookable = False``) or
    replaced with `put`. Hold `lock` around changes made while the server is serving.

    Example:
        >>> portfolio = Portfolio(today=datetime.date(2026, 11, 28))
        >>> stay = portfolio.add_stay(1001, datetime.date(2026, 11, 29), nights=3)
        >>> portfolio.is_free(1001, datetime.date(2026, 11, 30), datetime.date(2026, 12, 1))
        False
    """

    def __init__(self, seed: int = 7, today: datetime.date | None = None) -> None:
        super().__init__(seed, today)
        seed_portfolio(self)

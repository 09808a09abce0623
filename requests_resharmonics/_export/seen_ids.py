"""The ids an export has delivered: a set while small, then about 16 bytes each, not 80.

An export of a million rows would otherwise hold 80 MB of ids for its repeat check. Past
`SMALL` ids (a set, the fastest), they are kept as their 64-bit hashes in an open-addressing
table in an ``array``: whole-number ids below 2**61 hash to themselves, so they never
collide; two distinct string ids would have to share a 64-bit hash (about one chance in
10**8 for a million rows).
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterable
from typing import Any

#: Ids kept in a plain set (about 1.6 MB of them) before the compact table takes over.
SMALL = 20_000

_EMPTY = 0
_ZERO = -1  # the hash 0 is stored as this, and the hash -1 (which Python never gives) kept free


class IdSet:
    """The set of ids seen so far, compact.

    Example:
        >>> seen = IdSet()
        >>> seen.update([1, 2, 3])
        >>> seen.seen_of([3, 4])
        [3]
    """

    def __init__(self) -> None:
        self._small: set[Any] | None = set()
        self._slots = array("q", [_EMPTY]) * 1024
        self._count = 0

    def __len__(self) -> int:
        return len(self._small) if self._small is not None else self._count

    def seen_of(self, ids: Collection[Any]) -> list[Any]:
        """Return those of ``ids`` already in the set (unchanged)."""
        small = self._small
        if small is not None:
            return [] if small.isdisjoint(ids) else [key for key in ids if key in small]
        slots, mask = self._slots, len(self._slots) - 1
        found = []
        for key in ids:
            stored = hash(key) or _ZERO
            index = stored & mask
            while True:
                value = slots[index]
                if value == stored:
                    found.append(key)
                    break
                if value == _EMPTY:
                    break
                index = (index + 1) & mask
        return found

    def update(self, ids: Iterable[Any]) -> None:
        """Add ``ids``."""
        small = self._small
        if small is not None:
            small.update(ids)
            if len(small) <= SMALL:
                return
            self._small, ids = None, small
        for key in ids:
            if (self._count + 1) * 2 > len(self._slots):
                self._grow()
            self._count += self._add(self._slots, hash(key) or _ZERO)

    @staticmethod
    def _add(slots: array[int], stored: int) -> int:
        mask = len(slots) - 1
        index = stored & mask
        while True:
            value = slots[index]
            if value == stored:
                return 0
            if value == _EMPTY:
                slots[index] = stored
                return 1
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("q", [_EMPTY]) * (2 * len(old))  # no temporary copy
        for stored in old:
            if stored != _EMPTY:
                self._add(self._slots, stored)

"""Getting and keeping a token: the manager, its endpoint, renewals, events and stats.

No requests or httpx response object passes upward from here.
"""

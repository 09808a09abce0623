"""The change feed: the rows of a list created or changed since the last complete pass, once."""

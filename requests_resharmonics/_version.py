"""The installed version of requests-resharmonics."""

__version__ = "0.1.0"

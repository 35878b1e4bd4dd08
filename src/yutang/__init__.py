"""yutang (鱼塘): a self-hosted private-domain traffic pool."""

__version__ = "0.1.0"

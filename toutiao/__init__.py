"""toutiao: a news platform backend."""

__version__ = "0.1.0"

"""optbook: optimizers that learn or follow physics, and the book that reproduces their papers."""

__version__ = "0.1.0"

from optbook.session import setup  # noqa: E402  (setup needs __version__)

__all__ = ["__version__", "setup"]

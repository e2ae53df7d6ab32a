"""leadstream: small-business leads through scrape → enrich → dedupe → score → mockup → email."""

from config import VERSION as __version__

__all__ = ["__version__"]

"""leadstream: small-business leads through scrape → enrich → dedupe → score → mockup → email."""

__version__ = "0.1.0"

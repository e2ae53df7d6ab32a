"""Topology (topic names, keys, headers) and the one stage runner every agent uses."""

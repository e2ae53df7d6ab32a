"""Provider simulator: one aiohttp app on loopback speaking the subset of each
real API that leadstream's adapters use (business search, business websites via
an HTTP proxy, OpenAI-compatible and Ollama chat, SendGrid v3).

Deterministic under a seed; latency, error rates and 429s are configurable per
API family; everything received is recorded for tests to assert on.
"""

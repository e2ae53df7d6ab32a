"""Fixtures for the mockup tests: the simulator (LLM endpoints), one Chromium, sample leads."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import pytest_asyncio

from providers.chromium import DEFAULT_EXECUTABLE
from providers.html_render import ChromiumRenderer
from schemas.lead import Contact, Enrichment, Lead, Performance, Tech

CHROMIUM = DEFAULT_EXECUTABLE  # what workers run: the headless shell when installed


@pytest.fixture
def llm_sim(fresh_sim):
    """(base_url, sim): the whole simulator, faults reset; its LLM routes are simulator.llm."""
    return fresh_sim


@pytest_asyncio.fixture(scope="session")
async def renderer():
    async with ChromiumRenderer(CHROMIUM, max_concurrency=2) as chromium:
        yield chromium


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (fails on anything that is not a PNG)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def png_size():
    return _png_size


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame segment (fails on anything that is not a JPEG)."""
    assert data[:3] == b"\xff\xd8\xff", "not a JPEG signature"
    at = 2
    while at + 9 <= len(data):
        assert data[at] == 0xFF, f"no marker at {at}"
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):  # baseline, extended, progressive
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no start-of-frame segment")


@pytest.fixture
def jpeg_size():
    return _jpeg_size


@pytest.fixture
def make_lead():
    return _make_lead


def _make_lead(lead_id: str = "ld_test1", **changes) -> Lead:
    """An old, slow, insecure plumber site: every problem code but no_website/no_contact_form."""
    fields = dict(
        lead_id=lead_id,
        geo_key="IL:627",
        source="yelp",
        name="Joe's Plumbing & Heating",
        street="12 Elm St",
        city="Springfield",
        state="IL",
        zip="62701",
        phone="(217) 555-0134",
        website="http://joesplumbing.example",
        vertical="plumber",
        enrichment=Enrichment(
            final_url="http://joesplumbing.example/",
            tech=[Tech(name="jQuery", version="1.12.4"), Tech(name="WordPress", version="5.8.1")],
            performance=Performance(lcp_ms=4800, page_bytes=3_500_000, https=False, mobile_responsive=False),
            contacts=[Contact(email="office@joesplumbing.example")],
        ),
    )
    fields.update(changes)
    return Lead(**fields)


@pytest.fixture
def blob_root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"

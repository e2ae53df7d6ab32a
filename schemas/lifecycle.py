"""A lead's life: the stages it passes through, in order, and where it can end.

    ingest → scrape → enrich → dedupe → score → mockup → email

The system of record never lets an older stage's write overwrite a newer one
(redeliveries arrive out of order), so each stage has a rank. `TerminalState`
(in `schemas.lead`) lists the ends.
"""

from __future__ import annotations

STAGES: tuple[str, ...] = ("scrape", "enrich", "dedupe", "score", "mockup", "email")

# Order of stages in a lead's life; "ingest" is a lead pushed straight into leads.scraped.
STAGE_RANK: dict[str, int] = {"ingest": 0, **{stage: i + 1 for i, stage in enumerate(STAGES)}}

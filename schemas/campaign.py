"""Campaign configuration: verticals × metros (YAML) → scrape jobs.

Errors name the file, the line and the problem, like every config file here.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.lead import ScrapeJob
from schemas.yaml_limits import oversized


class Metro(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    zips: list[str] = Field(min_length=1)

    @field_validator("zips")
    @classmethod
    def _zips(cls, zips: list[str]) -> list[str]:
        bad = [z for z in zips if not (isinstance(z, str) and len(z) == 5 and z.isdigit())]
        if bad:
            raise ValueError(f"ZIPs must be 5-digit strings (quote them in YAML), got {bad}")
        return zips


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verticals: list[str] = Field(min_length=1)
    metros: list[Metro] = Field(min_length=1)
    sources: list[str] = Field(default_factory=lambda: ["yelp", "google"])
    max_results: int = Field(100, ge=1, le=1000)
    enrich_tier: int | None = Field(
        None, ge=1, le=3, description="1 basic, 2 + screenshot, 3 + site audit; default: the worker's."
    )

    def jobs(self) -> list[ScrapeJob]:
        return [
            ScrapeJob(
                zip=z, vertical=v, sources=self.sources, max_results=self.max_results, enrich_tier=self.enrich_tier
            )
            for metro in self.metros
            for z in metro.zips
            for v in self.verticals
        ]


class CampaignError(ValueError):
    """Every problem of a campaign file, one `FILE:LINE: problem` per line."""


def _line_of(node: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the YAML node at pydantic location `loc` (the closest existing parent)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
    return node.start_mark.line + 1


def load_campaign(path: str | Path) -> Campaign:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        if node is not None and (problem := oversized(node)) is not None:
            raise CampaignError(f"{path}:{problem[0].start_mark.line + 1}: {problem[1]}")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CampaignError(
            f"{path}:{mark.line + 1 if mark else 1}: YAML syntax: {getattr(exc, 'problem', exc)}"
        ) from exc
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}:{_line_of(node, err['loc']) if node else 1}: {'.'.join(map(str, err['loc'])) or 'file'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise CampaignError("\n".join(lines)) from exc

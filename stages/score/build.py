"""The score stage as configured: rules shared through Redis (or the file's, without Redis), mockup tiers."""

from __future__ import annotations

from config import Settings
from stages.score.rules import RuleSet, RulesSource, load_rules
from stages.score.scorer import Scorer
from stages.score.stage import Counters, ScoreStage
from storage.db import Pool


async def build_score(settings: Settings, pool: Pool | None = None, counters: Counters | None = None) -> ScoreStage:
    """`counters`: the score-counters table (`tables.score_counters`). The stage writes no SQL of its own."""
    s = settings
    source: RulesSource | RuleSet
    if s.redis_url:
        source = RulesSource(s.rules_file, s.redis_url, key_prefix=s.redis_prefix("rules"))
        await source.start()  # refuses to start on invalid rules
    else:  # no Redis (the embedded demo): the file's rules, no shared reload
        source = load_rules(s.rules_file)
    return ScoreStage(Scorer(source), s.mockup_tiers, counters, source)

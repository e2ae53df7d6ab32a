"""Dedupe stage: streaming entity resolution (see docs/dedupe.md)."""

from stages.dedupe.csvtool import dedupe_csv
from stages.dedupe.engine import EntityResolver, GrayPair, Resolution, to_decision
from stages.dedupe.judge import OllamaJudge, Verdict
from stages.dedupe.model import PairModel, Thresholds
from stages.dedupe.record import DedupeInput
from stages.dedupe.review import DedupeLog, ReviewQueue, save_merges

__all__ = ["DedupeInput", "DedupeLog", "EntityResolver", "GrayPair", "OllamaJudge", "PairModel", "Resolution", "ReviewQueue",
           "Thresholds", "Verdict", "dedupe_csv", "save_merges", "to_decision"]

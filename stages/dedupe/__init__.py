"""The dedupe stage: streaming entity resolution (see docs/dedupe.md).

    normalize.py, address.py, record.py   a lead as comparable fields
    vocabulary.py                          the words it knows: kinds, places, departments, city aliases
    blocking.py, features.py, model.py     candidates, per-field similarities, the pair model (model.json)
    outlets.py                             two outlets of one venue or brand (the veto at one site)
    state.py, merge.py, engine.py          entity state in a key-value table; EntityResolver
    derived.py                             the index, names and counts, derived from entity records (not logged)
    frequency.py                           name-word counts per region (term-frequency weights)
    retention.py                           entity state expires 7 days after it was last seen
    phone_look.py                          the directory (phone; name, street line, city): twins in two states meet
    judge.py                               the LLM's say on gray-zone pairs (adapter: providers.llm)
    stage.py                               DedupeStage and ReviewDecisionStage
    build.py                               build_dedupe(settings, pool, resolver): wired from the settings
    csvtool.py, columns.py                 `leadstream dedupe INPUT.csv`: the same engine over a file
    train.py, traindata.py, evaluate.py    fitting and measuring the pair model
    evalset/                               the generator's evaluation set (businesses, listing forms, units)
    realdata.py                            public labelled real sets (never committed) for evaluate.py
Review queue and merge audit tables: storage.dedupe_review; the phone directory's table: storage.dedupe_phones.
"""

from stages.dedupe.csvtool import dedupe_csv
from stages.dedupe.engine import EntityResolver, GrayPair, Resolution, to_decision
from stages.dedupe.judge import OllamaJudge, Verdict
from stages.dedupe.model import PairModel, Thresholds
from stages.dedupe.record import DedupeInput

__all__ = [
    "DedupeInput",
    "EntityResolver",
    "GrayPair",
    "OllamaJudge",
    "PairModel",
    "Resolution",
    "Thresholds",
    "Verdict",
    "dedupe_csv",
    "to_decision",
]

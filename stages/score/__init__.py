"""The score stage: YAML rules → a score with its explanation → route or disqualify (see docs/rules.md).

rules/      the rules language: load, validate (FILE:LINE), compile, explain, share through Redis
scorer.py   Scorer: rules plus the stage's disqualification reasons; offline scoring of a JSONL file
stage.py    ScoreStage: counters in a Faust table, the next topic by tier
build.py    build_score(settings, pool, counters): the stage from the settings
"""

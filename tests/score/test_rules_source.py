"""Reload through a real Redis: last valid rules kept, valid changes picked up, workers converge."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import redis.asyncio as aioredis
from score_helpers import dedent, make_lead

from stages.score.rules import RulesError, RulesSource
from tests.waiting import until

RULES = """
version: "{version}"
settings:
  base: 50
  min: 0
  max: 100
  tiers: {{A: 75, B: 50, C: 0}}
  qualify: [A, B]
rules:
  - name: old_jquery
    description: outdated jQuery
    condition: "jquery < 3.0"
    delta: {delta}
"""
INVALID = RULES.replace('"jquery < 3.0"', "{{perf.lcp: {{gt: fast}}}}")


def rules_text(version: str, delta: float = 10) -> str:
    return dedent(RULES.format(version=version, delta=delta))


@pytest.fixture
async def redis_client(redis_url):
    client = aioredis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def sources(redis_url, unique, tmp_path):
    """Factory of RulesSource instances sharing one Redis key; all closed at the end."""
    made: list[RulesSource] = []

    def make(filename: str, text: str, *, age_s: float = 0, poll_s: float = 30) -> RulesSource:
        path = tmp_path / filename
        path.write_text(text, encoding="utf-8")
        if age_s:
            past = time.time() - age_s
            os.utime(path, (past, past))
        source = RulesSource(path, redis_url, ttl_s=600, poll_s=poll_s, name=f"test-{unique}")
        made.append(source)
        return source

    yield make
    for source in made:
        await source.close()


async def test_start_refuses_invalid_or_missing_rules(sources, redis_url, tmp_path):
    with pytest.raises(RulesError) as caught:
        await sources("bad.yaml", dedent(INVALID.format(version="1", delta=1))).start()
    assert "unknown field 'perf.lcp'" in str(caught.value) and "bad.yaml:11:" in str(caught.value)
    with pytest.raises(RulesError, match="cannot read rules file"):
        await RulesSource(tmp_path / "absent.yaml", redis_url).start()


async def test_start_publishes_validated_rules_with_ttl(sources, redis_client):
    source = sources("rules.yaml", rules_text("v1"))
    ruleset = await source.start()
    assert ruleset.version == source.version == "v1"
    entry = await redis_client.hgetall(source.key)
    assert entry["version"] == "v1" and entry["text"] == rules_text("v1")
    assert source.key.startswith("leadstream:rules:test-")
    assert 590 <= await redis_client.ttl(source.key) <= 600


async def test_reload_keeps_last_valid_rules_then_takes_a_valid_change(sources, redis_client):
    source = sources("rules.yaml", rules_text("v1", delta=10))
    await source.start()
    lead = make_lead(tech={"jQuery": "1.12.4"})
    assert source.current().score(lead).value == 60

    source.path.write_text(dedent(INVALID.format(version="v2", delta=30)), encoding="utf-8")
    assert await source.refresh() is False
    assert source.version == "v1" and source.current().score(lead).value == 60
    assert source.last_error is not None and "perf.lcp" in str(source.last_error)
    assert (await redis_client.hgetall(source.key))["version"] == "v1"  # the invalid text was never shared

    source.path.write_text(rules_text("v3", delta=30), encoding="utf-8")
    assert await source.refresh() is True
    assert source.version == "v3" and source.current().score(lead).value == 80
    assert source.last_error is None
    assert (await redis_client.hgetall(source.key))["version"] == "v3"
    assert await source.refresh() is False  # nothing new


async def test_second_worker_gets_the_version_from_redis(sources, redis_client):
    first = sources("worker1.yaml", rules_text("v2"))
    await first.start()
    # Another worker whose own copy of the file is older (e.g. not yet redeployed).
    second = sources("worker2.yaml", rules_text("v1"), age_s=3600)
    await second.start()
    assert second.version == "v2"
    assert (await redis_client.hgetall(first.key))["version"] == "v2"  # the stale worker did not overwrite it

    first.path.write_text(rules_text("v3", delta=5), encoding="utf-8")
    await first.refresh()
    assert await second.refresh() is True
    assert second.version == "v3"
    assert second.current().score(make_lead(tech={"jQuery": "2.0"})).value == 55


async def test_newer_file_wins_over_older_shared_version(sources, redis_client):
    old = sources("old.yaml", rules_text("v1"), age_s=3600)
    await old.start()
    new = sources("new.yaml", rules_text("v2"))
    await new.start()
    assert new.version == "v2" and (await redis_client.hgetall(new.key))["version"] == "v2"
    assert await old.refresh() is True and old.version == "v2"


async def test_invalid_entry_in_redis_is_ignored(sources, redis_client):
    source = sources("rules.yaml", rules_text("v1"))
    await source.start()
    await redis_client.hset(
        source.key,
        mapping={
            "text": "rules: [",
            "version": "vX",
            "digest": "x",
            "published_at": repr(time.time() + 60),
            "origin": "other",
        },
    )
    assert await source.refresh() is False
    assert source.version == "v1"
    assert (await redis_client.hgetall(source.key))["version"] == "vX"  # not overwritten: it is newer


async def test_expired_entry_is_published_again(sources, redis_client):
    source = sources("rules.yaml", rules_text("v1"))
    await source.start()
    await redis_client.delete(source.key)
    await source.refresh()
    assert (await redis_client.hgetall(source.key))["version"] == "v1"


async def test_run_loop_picks_up_a_change_within_poll_interval(sources):
    source = sources("rules.yaml", rules_text("v1"), poll_s=0.1)
    await source.start()
    task = asyncio.create_task(source.run())
    try:
        source.path.write_text(rules_text("v2"), encoding="utf-8")
        await until(lambda: source.version == "v2", timeout_s=10, what="the run loop to read v2")
    finally:
        task.cancel()


def test_poll_interval_must_be_at_most_a_minute(redis_url, tmp_path):
    with pytest.raises(ValueError):
        RulesSource(tmp_path / "r.yaml", redis_url, poll_s=61)
    with pytest.raises(RuntimeError):
        RulesSource(tmp_path / "r.yaml", redis_url).current()


async def test_runs_under_two_topic_prefixes_keep_their_own_rules(redis_url, unique, tmp_path):
    """Two runs on one Redis, each with a rules file of one name (two demos, two tests): each scores with its own,
    where before the newer file won across runs. Two workers of one run still converge (the guard).
    The workers' own path: `build_score` with each run's settings (`Settings.redis_prefix`)."""
    from config import Settings
    from stages.score.build import build_score

    def rules_file(run: str, version: str, age_s: float):
        path = tmp_path / run / version / "rules.yaml"  # one stem, so one key without the prefix
        path.parent.mkdir(parents=True)
        path.write_text(rules_text(version), encoding="utf-8")
        past = time.time() - age_s
        os.utime(path, (past, past))
        return path

    made = []
    try:
        for run, version, age_s in (("a", "a-old", 600), ("b", "b-new", 60), ("a", "a-newer", 30)):
            settings = Settings(
                redis_url=redis_url, topic_prefix=f"t{unique}{run}.", rules_file=rules_file(run, version, age_s)
            )
            made.append(await build_score(settings))
        sources = [stage.rules_source for stage in made]
        for source in sources:
            assert isinstance(source, RulesSource)
            await source.refresh()
        assert [source.version for source in sources] == ["a-newer", "b-new", "a-newer"]
    finally:
        keys = [stage.rules_source.key for stage in made if isinstance(stage.rules_source, RulesSource)]
        for stage in made:
            await stage.stop()
        client = aioredis.from_url(redis_url)
        await client.delete(*keys)
        await client.aclose()

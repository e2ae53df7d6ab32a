"""A score counter's key names the message key it was written under, so a view can ask its owner."""

from __future__ import annotations

from schemas import Lead
from stages.score.scorer import counter_keys
from tables.views import message_partition, score_counter_geo


def test_counter_keys_lead_back_to_the_message_key_and_its_partition():
    class Score:
        value, tier = 72.5, "A"

    for geo in ("NY", "WA", "unknown", "PR"):
        lead = Lead(lead_id="ld_1", geo_key=geo, source="test", name="Valley Heating", vertical="HVAC")
        for key in counter_keys(lead, Score()):  # type: ignore[arg-type]
            assert score_counter_geo(key) == geo
    assert score_counter_geo("e:ent_1") is None and score_counter_geo("seq") is None


def test_partitions_are_the_producers():
    from aiokafka.partitioner import DefaultPartitioner

    every = list(range(12))
    for key in ("NY", "CA", "unknown", "ld_0123"):
        assert message_partition(key, 12) == DefaultPartitioner()(key.encode(), every, every)
    assert len({message_partition(f"ld_{n}", 12) for n in range(200)}) == 12

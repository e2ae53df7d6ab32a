"""Table views that answer the same from every worker of a group.

A table's data is split by partition over the group's workers; each worker holds
only its active partitions (and standby copies, which may lag and are never
served). Faust's own key view routes by hashing the *table key*, but our tables
are written under the event's partition (the message key: the geography key),
so it asked the wrong worker. These views route instead:

* ``GET /table/`` — the listing: every table, every worker of the group (its
  advertised URL, `LEADSTREAM_WEB_HOST`) and the partitions each one owns.
* ``GET /table/<name>/`` — a summary gathered from every worker: its partitions,
  keys per kind, and for ``score-counters`` the counts per geography ×
  vertical × tier and the score histogram.
* ``GET /table/<name>/<key>/`` — the value. When the key names its partition (score
  counters ``tier:<geo>:…`` / ``hist:<geo>:…``: the geography key is the message
  key) the request goes to the one worker that owns it; otherwise every worker
  looks in the partitions it owns (dedupe keys such as ``e:<entity>``,
  ``l:<lead>``; ``seq`` exists once per partition and answers once per partition).
* ``GET /dedupe/lead/<lead id>/`` — the lead's resolution and its entity (root
  of its merges), from whichever worker owns it.

``?local=1`` answers from this worker alone (what peers ask each other);
``/table/<name>/?local=1&keys=1`` also lists the keys this worker owns. A
forwarded request carries the caller's ``Authorization`` header, so the bearer
token of the internal surface (`LEADSTREAM_WEB_TOKEN`) guards peers too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import faust
import orjson
from aiokafka.partitioner import DefaultPartitioner

from schemas.geo import STATE_CODES
from tables import DEDUPE_STATE, SCORE_COUNTERS
from tables.scope import partition_scope

log = logging.getLogger(__name__)

PEER_TIMEOUT_S = 5.0
MAX_LISTED_KEYS = 10_000
_partitioner = DefaultPartitioner()


def message_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the producers use) gives `key`."""
    every = list(range(partitions))
    return int(_partitioner(key.encode(), every, every))


def score_counter_geo(key: str) -> str | None:
    """The geography key (the message key) a score counter was written under: ``tier:ny:…`` → ``NY``."""
    kind, _, rest = key.partition(":")
    if kind not in ("tier", "hist") or not rest:
        return None
    part = rest.split(":", 1)[0]
    return part.upper() if part.upper() in STATE_CODES else part


# Table → how a key names the message key of its partition (None: it does not; ask every worker).
PARTITION_KEYS: dict[str, Callable[[str], str | None]] = {SCORE_COUNTERS: score_counter_geo}


def _value(raw: Any) -> Any:
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(raw)
    return raw


class TableViews:
    """The views over `tables` (name → Faust table) of one worker."""

    def __init__(self, app: faust.App, tables: dict[str, Any]) -> None:
        self.app, self.tables = app, tables

    # ---- what this worker owns --------------------------------------------------------------------

    @property
    def me(self) -> str:
        return str(self.app.conf.canonical_url)

    def changelog(self, name: str) -> str:
        return str(self.tables[name].changelog_topic.get_topic_name())

    def active_partitions(self, name: str) -> list[int]:
        topic = self.changelog(name)
        return sorted(tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == topic)

    def _distribution(self) -> dict[Any, Any]:
        """Worker URL → changelog topic → partitions: the group's last assignment, as the assignor shared it."""
        assignor: Any = self.app.assignor  # faust's PartitionAssignor (its stub type lacks the attribute)
        return dict(assignor.changelog_distribution)

    def owners(self, name: str) -> dict[str, list[int]]:
        """Worker URL → the partitions of table `name` it owns (from the group's last assignment)."""
        topic = self.changelog(name)
        owned: dict[str, list[int]] = {}
        for url, topics in self._distribution().items():
            owned[str(url)] = sorted(topics.get(topic, []))
        owned.setdefault(self.me, self.active_partitions(name))
        return owned

    def peers(self) -> list[str]:
        return sorted({str(url) for url in self._distribution()} - {self.me})

    def local_hits(self, name: str, key: str) -> list[dict[str, Any]]:
        table, hits = self.tables[name], []
        for partition in self.active_partitions(name):
            with partition_scope(partition):
                if key in table:
                    hits.append({"partition": partition, "worker": self.me, "value": _value(table[key])})
        return hits

    def local_summary(self, name: str, list_keys: bool = False) -> dict[str, Any]:
        """Keys of the partitions this worker owns (RocksDB: actives only; standby copies are not counted);
        with `list_keys`, the keys themselves (up to `MAX_LISTED_KEYS`)."""
        kinds: Counter[str] = Counter()
        rollup: dict[str, Any] = {}
        keys = 0
        listed: list[str] = []
        for key, value in self.tables[name].items():
            keys += 1
            self._note(name, str(key), _value(value), kinds, rollup)
            if list_keys and len(listed) < MAX_LISTED_KEYS:
                listed.append(str(key))
        return {
            **({"key_list": listed} if list_keys else {}),
            "worker": self.me,
            "partitions": self.active_partitions(name),
            "keys": keys,
            "kinds": dict(kinds),
            **({"counters": rollup} if name == SCORE_COUNTERS else {}),
        }

    @staticmethod
    def _note(name: str, key: str, value: Any, kinds: Counter[str], rollup: dict[str, Any]) -> None:
        kind = key.split(":", 1)[0] if ":" in key else key
        kinds[kind] += 1
        if name != SCORE_COUNTERS:
            return
        parts = key.split(":")
        if parts[0] == "tier" and len(parts) == 4:
            _, geo, vertical, tier = parts
            tiers = rollup.setdefault(geo, {}).setdefault("tiers", {}).setdefault(vertical, {})
            tiers[tier] = tiers.get(tier, 0) + int(value or 0)
        elif parts[0] == "hist" and len(parts) == 3:
            _, geo, bucket = parts
            hist = rollup.setdefault(geo, {}).setdefault("histogram", {})
            hist[bucket] = hist.get(bucket, 0) + int(value or 0)

    # ---- asking peers -----------------------------------------------------------------------------

    async def ask(self, url: str, path: str, request: Any) -> tuple[int, Any]:
        headers = {}
        if request.headers.get("Authorization"):
            headers["Authorization"] = request.headers["Authorization"]
        target = url.rstrip("/") + path
        try:
            async with self.app.http_client.get(
                target,
                params={"local": "1"},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT_S),
            ) as response:
                return response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("table view: peer %s did not answer %s: %r", url, path, exc)
            return 503, {"error": f"peer {url} did not answer: {type(exc).__name__}"}

    async def key(self, name: str, key: str, request: Any, path: str) -> tuple[int, dict[str, Any]]:
        if request.query.get("local"):
            return 200, {"hits": self.local_hits(name, key)}
        hits: list[dict[str, Any]] = []
        errors: list[str] = []
        routes = PARTITION_KEYS.get(name)
        routed_by = routes(key) if routes is not None else None
        if routed_by is not None:
            partition = message_partition(routed_by, self.tables[name].partitions or 1)
            owner = next((url for url, owned in self.owners(name).items() if partition in owned), None)
            targets = [owner] if owner else [self.me, *self.peers()]
        else:
            targets = [self.me, *self.peers()]
        answers = await asyncio.gather(
            *(
                self._local_answer(name, key) if url == self.me else self.ask(url, path, request)
                for url in targets
                if url
            )
        )
        for status, body in answers:
            if status == 200:
                hits.extend(body.get("hits", []))
            else:
                errors.append(str(body.get("error", status)))
        out: dict[str, Any] = {"table": name, "key": key, "found": bool(hits), "hits": hits}
        if len(hits) == 1:
            out["value"] = hits[0]["value"]
        if errors:
            out["errors"] = errors
        return (200 if hits else 503 if errors else 404), out

    async def _local_answer(self, name: str, key: str) -> tuple[int, dict[str, Any]]:
        return 200, {"hits": self.local_hits(name, key)}

    async def summary(self, name: str, request: Any, path: str) -> tuple[int, dict[str, Any]]:
        if request.query.get("local"):
            return 200, self.local_summary(name, list_keys=bool(request.query.get("keys")))
        answers = [(200, self.local_summary(name))]
        answers += await asyncio.gather(*(self.ask(url, path, request) for url in self.peers()))
        workers, errors = [], []
        kinds: Counter[str] = Counter()
        rollup: dict[str, Any] = {}
        for status, body in answers:
            if status != 200:
                errors.append(str(body.get("error", status)))
                continue
            workers.append({k: body[k] for k in ("worker", "partitions", "keys")})
            kinds.update(body.get("kinds", {}))
            _merge(rollup, body.get("counters", {}))
        out: dict[str, Any] = {
            "table": name,
            "workers": workers,
            "keys": sum(w["keys"] for w in workers),
            "kinds": dict(kinds),
        }
        if name == SCORE_COUNTERS:
            out["counters"] = rollup
        if errors:
            out["errors"] = errors
        return (200 if not errors else 206), out

    def listing(self) -> dict[str, Any]:
        return {
            "worker": self.me,
            "tables": {
                name: {
                    "changelog": self.changelog(name),
                    "partitions": self.tables[name].partitions,
                    "owners": self.owners(name),
                    "help": getattr(self.tables[name], "help", ""),
                }
                for name in sorted(self.tables)
            },
            "views": [
                "/table/",
                "/table/<name>/",
                "/table/<name>/<key>/",
                "/dedupe/lead/<lead id>/",
            ],
        }

    def local_lead(self, lead_id: str) -> list[dict[str, Any]]:
        """The lead's resolution (``l:<id>``) and its root entity (merges followed), where this worker holds it."""
        table, hits = self.tables[DEDUPE_STATE], []
        for partition in self.active_partitions(DEDUPE_STATE):
            with partition_scope(partition):
                if "l:" + lead_id not in table:
                    continue
                outcome = _value(table["l:" + lead_id])
                entity_id = outcome.get("e") if isinstance(outcome, dict) else None
                entity = None
                for _ in range(64):  # union-find pointers: short after path compression
                    if not entity_id or "e:" + entity_id not in table:
                        break
                    entity = _value(table["e:" + entity_id])
                    if not (isinstance(entity, dict) and "into" in entity):
                        break
                    entity_id = entity["into"]
            hits.append(
                {"partition": partition, "worker": self.me, "value": outcome, "entity_id": entity_id, "entity": entity}
            )
        return hits

    async def lead(self, lead_id: str, request: Any, path: str) -> tuple[int, dict[str, Any]]:
        if request.query.get("local"):
            return 200, {"hits": self.local_lead(lead_id)}
        hits, errors = self.local_lead(lead_id), []
        for status, body in await asyncio.gather(*(self.ask(url, path, request) for url in self.peers())):
            if status == 200:
                hits.extend(body.get("hits", []))
            else:
                errors.append(str(body.get("error", status)))
        out: dict[str, Any] = {"lead_id": lead_id, "found": bool(hits), "hits": hits}
        if len(hits) == 1:
            out.update(resolution=hits[0]["value"], entity_id=hits[0]["entity_id"], entity=hits[0]["entity"])
        if errors:
            out["errors"] = errors
        return (200 if hits else 503 if errors else 404), out


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


def register_table_views(app: faust.App, tables: dict[str, Any]) -> TableViews:
    """Serve `tables` at /table/… and the dedupe lead view, routed to the owning worker (module doc)."""
    views = TableViews(app, tables)

    @app.page("/table/")
    async def table_listing(self: Any, request: Any) -> Any:
        return self.json(views.listing())

    @app.page("/table/{name}/")
    async def table_summary(self: Any, request: Any, name: str) -> Any:
        if name not in tables:
            return self.json({"error": f"no table {name!r} on this worker group"}, status=404)
        status, body = await views.summary(name, request, request.path)
        return self.json(body, status=status)

    @app.page("/table/{name}/{key}/")
    async def table_key(self: Any, request: Any, name: str, key: str) -> Any:
        if name not in tables:
            return self.json({"error": f"no table {name!r} on this worker group"}, status=404)
        status, body = await views.key(name, key, request, request.path)
        return self.json(body, status=status)

    if DEDUPE_STATE in tables:

        @app.page("/dedupe/lead/{lead_id}/")
        async def dedupe_lead(self: Any, request: Any, lead_id: str) -> Any:
            status, body = await views.lead(lead_id, request, request.path)
            return self.json(body, status=status)

    return views

"""The `leadstream` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from config import Settings, SettingsError, get_settings, load_settings
from config.redact import install_log_redaction
from leadstream.api.keys_cli import api_keys_cli
from leadstream.dlq_cli import dlq_cli

cli = typer.Typer(
    help="leadstream: small-business leads through scrape → enrich → dedupe → score → mockup → email.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="The system of record (PostgreSQL).", no_args_is_help=True)
schema_cli = typer.Typer(help="Message schemas.", no_args_is_help=True)
topics_cli = typer.Typer(help="Kafka topics.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(schema_cli, name="schema")
cli.add_typer(topics_cli, name="topics")
cli.add_typer(dlq_cli, name="dlq")
cli.add_typer(api_keys_cli, name="api-keys")
console = Console(stderr=True)


def main() -> None:
    install_log_redaction()
    cli()


def _settings(**overrides: object) -> Settings:
    """The settings (with `overrides`); invalid ones end the command with the message naming each variable."""
    try:
        return load_settings(**overrides) if overrides else get_settings()
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


@cli.command("lag-exporter")
def lag_exporter(
    port: int = typer.Option(9308, help="Port of its /metrics."),
    host: str = typer.Option("0.0.0.0", help="Address it listens on."),
    group: list[str] = typer.Option([], help="A consumer group to watch (repeat); default: every group."),
    group_prefix: str = typer.Option("", help="Watch only groups whose name starts with this."),
    interval: float = typer.Option(5.0, help="Seconds between reads of the brokers."),
    loglevel: str = typer.Option("info", help="Log level."),
) -> None:
    """Serve consumer lag per group/topic/partition, read from the brokers (LEADSTREAM_KAFKA_BROKER).

    True even when a group has no live worker: lag is log-end minus committed offset.
    """
    import logging

    from leadstream.lagexporter import LagExporter, serve

    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    exporter = LagExporter(settings.kafka_broker, groups=group, group_prefix=group_prefix, interval_s=interval)
    try:
        asyncio.run(serve(exporter, host, port))
    except KeyboardInterrupt:
        pass


@cli.command()
def worker(
    stages: str | None = typer.Option(None, help="Comma list of stages (default: LEADSTREAM_STAGES or all)."),
    loglevel: str = typer.Option("info", help="Log level."),
    web_port: int | None = typer.Option(None, help="Web port (default: LEADSTREAM_WEB_PORT); one per worker."),
    web_host: str | None = typer.Option(None, help="Host peers reach this worker at (LEADSTREAM_WEB_HOST)."),
    data_dir: Path | None = typer.Option(None, help="RocksDB tables dir (LEADSTREAM_DATA_DIR); one per worker."),
) -> None:
    """Run a Faust worker for some or all stages (e.g. `--stages mockup` for the GPU group).

    The same app as `faust -A app worker`: it checks the rules, migrates and creates topics as it starts.
    More workers of a group on one machine: give each its own --web-port and --data-dir.
    """
    given = {"stages": stages, "web_port": web_port, "web_host": web_host, "data_dir": data_dir}
    overrides = {key: value for key, value in given.items() if value is not None}
    settings = _settings(**overrides) if overrides else _settings()
    # The imports and the app below make 150-230k objects that live as long as the process. Collected as they
    # grow, they cost 2-5 full collections, 0.2-0.5 s of CPU before the worker joins its group; frozen, no later
    # collection walks them again (docs/operating.md, "A worker's start").
    gc.disable()
    try:
        from leadstream.faustapp import create_app, use_event_loop

        use_event_loop(settings)

        app = create_app(settings)
        runner = make_worker(app, loglevel)
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        gc.freeze()
        gc.enable()
    runner.execute_from_commandline()


def make_worker(app, loglevel: str):  # -> faust.Worker
    """The Faust worker for `app`, without Faust's terminal spinner.

    At loglevel WARNING and above the spinner sets the root logger to DEBUG so it can spin on every
    record: each debug line of aiokafka and httpx (a repr of every Kafka request) was then built and
    redacted, about 5 % of a worker's CPU. A worker has no terminal to spin on.
    """
    import faust

    runner = faust.Worker(app, loglevel=loglevel.upper(), quiet=True)
    runner.spinner = None
    return runner


@cli.command()
def api(
    host: str | None = typer.Option(None, help="Bind address (default: LEADSTREAM_API__BIND)."),
    port: int | None = typer.Option(None, help="Port (default: LEADSTREAM_API__PORT)."),
    workers: int | None = typer.Option(
        None,
        min=0,
        max=64,
        help="Server processes on the one port; 0: one per core (default: LEADSTREAM_API__WORKERS, 1).",
    ),
) -> None:
    """Serve the HTTP API (docs/api.md): POST leads and scrape jobs, ask about leads, stats."""
    from leadstream.api.server import serve

    serve(_settings(), host=host, port=port, workers=workers)


@cli.command()
def ingest(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSONL of raw leads.")) -> None:
    """Push leads from a CSV or JSONL file into leads.scraped (invalid rows are reported and dead-lettered)."""
    from leadstream.producer import LeadProducer, prepare

    settings = _settings()
    items = prepare(file)
    for item in items:
        if item.problem:
            console.print(f"[yellow]{file}:{item.line}: {item.problem} (will be dead-lettered)[/yellow]")

    async def push() -> int:
        async with LeadProducer(settings.kafka_broker, settings.topic_prefix) as producer:
            return await producer.push_leads((i.lead_id, i.geo_key, i.payload) for i in items)

    count = asyncio.run(push())
    bad = sum(1 for i in items if i.problem)
    console.print(f"pushed {count} leads to {settings.topic_prefix}leads.scraped ({bad} invalid)")


@cli.command()
def scrape(
    zip_code: str | None = typer.Argument(None, metavar="[ZIP]"),
    vertical: str | None = typer.Argument(None, metavar="[VERTICAL]"),
    campaign: Path | None = typer.Option(
        None, help="YAML of verticals × metros (see leadstream/defaults/campaign.yaml)."
    ),
    max_results: int = typer.Option(100),
) -> None:
    """Queue scrape jobs: one ZIP × vertical, or every job of a campaign file."""
    from leadstream.producer import LeadProducer
    from schemas import ScrapeJob
    from schemas.campaign import CampaignError, load_campaign

    settings = _settings()
    if campaign:
        try:
            jobs = load_campaign(campaign).jobs()
        except CampaignError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    elif zip_code and vertical:
        jobs = [ScrapeJob(zip=zip_code, vertical=vertical, max_results=max_results)]
    else:
        console.print("[red]give ZIP and VERTICAL, or --campaign FILE[/red]")
        raise typer.Exit(2)

    async def push() -> None:
        async with LeadProducer(settings.kafka_broker, settings.topic_prefix) as producer:
            await producer.push_jobs(jobs)

    asyncio.run(push())
    console.print(f"queued {len(jobs)} job(s): {', '.join(j.job_id for j in jobs)}")


@cli.command()
def demo(
    leads: int = typer.Option(1000, help="Generated leads to push."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    out: Path | None = typer.Option(None, help="Keep artefacts here: mockup PNGs and emails as .eml."),
    seed: int = typer.Option(7),
    timeout: float = typer.Option(600.0, help="Give up waiting after this many seconds."),
    rate: float = typer.Option(1200.0, help="Push leads at this many per minute (0: all at once)."),
    workers: int = typer.Option(0, min=0, help="Main worker processes (0: one per core)."),
    mockup_workers: int = typer.Option(0, min=0, help="Mockup worker processes (0: one per two cores)."),
    keep_topics: bool = typer.Option(
        False, help="On LEADSTREAM_KAFKA_BROKER, keep the run's topics afterwards (default: deleted at the end)."
    ),
) -> None:
    """Run the whole pipeline on the embedded default (or on LEADSTREAM_KAFKA_BROKER / LEADSTREAM_DATABASE_URL).

    N main workers and M mockup workers run as separate processes, each with its own data dir and web port.
    """
    from leadstream.demo import Demo, DemoOptions

    table_holder: dict = {}

    def render(snap, elapsed: float) -> Table:
        table = Table(title=f"leadstream demo — {elapsed:5.1f}s")
        table.add_column("stage")
        table.add_column("in flight (last stage)", justify="right")
        table.add_column("kafka lag", justify="right")
        for stage in ("scrape", "enrich", "dedupe", "score", "mockup", "email"):
            table.add_row(stage, str(snap.in_flight_by_stage.get(stage, 0)), str(snap.lag.get(stage, "-")))
        table.add_row("terminal", ", ".join(f"{k}={v}" for k, v in sorted(snap.terminal.items())) or "-", "")
        return table

    live = Live(console=console, refresh_per_second=4, transient=False)

    def on_progress(snap, elapsed: float) -> None:
        table_holder["t"] = render(snap, elapsed)
        live.update(table_holder["t"])

    with live:
        summary = asyncio.run(
            Demo(
                DemoOptions(
                    leads=leads,
                    seed=seed,
                    out=out,
                    timeout_s=timeout,
                    rate_per_min=rate or None,
                    workers=workers,
                    mockup_workers=mockup_workers,
                    keep_topics=keep_topics,
                ),
                on_progress,
            ).run()
        )
    if as_json:
        print(json.dumps(summary))
    else:
        table = Table(title="summary")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in summary.items():
            table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        Console().print(table)
    if summary["lost"]:
        raise typer.Exit(1)


@db_cli.command("migrate")
def db_migrate() -> None:
    """Apply pending SQL migrations."""
    from storage.db import create_pool, migrate

    async def run() -> list[str]:
        pool = await create_pool(_settings().database_url, size=1)
        try:
            return await migrate(pool)
        finally:
            await pool.close()

    applied = asyncio.run(run())
    console.print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


@db_cli.command("prune")
def db_prune(dry_run: bool = typer.Option(False, help="Count what would go; delete nothing.")) -> None:
    """Apply the retention policy (LEADSTREAM_RETENTION__*): drop audit months past the horizon, delete old dead
    letters. Nightly in k8s (db-prune.yaml); running it again deletes nothing more."""
    from leadstream.retention import prune
    from storage.db import create_pool

    settings = _settings()

    async def run():
        pool = await create_pool(settings.database_url, size=1)
        try:
            return await prune(pool, settings.retention, dry_run=dry_run)
        finally:
            await pool.close()

    report = asyncio.run(run())
    verb = "would delete" if dry_run else "deleted"
    letters = report.dead_letters
    for kind, counts in (("settled", letters.settled), ("unsettled", letters.unsettled)):
        detail = ", ".join(f"{stage}/{reason} {n:,}" for (stage, reason), n in sorted(counts.items()))
        console.print(f"dead letters: {verb} {sum(counts.values()):,} {kind}" + (f" ({detail})" if detail else ""))
    dropped = ", ".join(p.name for p in report.dropped) or "none"
    console.print(f"audit months before {report.kept_from:%Y-%m}: {'would drop' if dry_run else 'dropped'} {dropped}")
    if letters.held:
        ids = ", ".join(str(i) for i in letters.held[:20]) + (" …" if len(letters.held) > 20 else "")
        console.print(
            f"[yellow]dead letters held: {len(letters.held):,} due but claimed for a replay that has not sent "
            f"(ids {ids}): `leadstream dlq list`, then `leadstream dlq replay --force`[/yellow]"
        )
    if report.vacuumed:
        console.print("dead_letters vacuumed (its index's deleted entries are gone)")
    if report.busy:
        names = ", ".join(p.name for p in report.busy)
        console.print(f"[yellow]busy, left for the next run (lock not free in time): {names}[/yellow]")


@db_cli.command("recount")
def db_recount(
    check: bool = typer.Option(
        False, help="Only compare the counters with a count of the tables; exit 1 if they differ."
    ),
) -> None:
    """The counters GET /v1/stats reads (leads per terminal state, dead letters): compare them with a count of the
    tables, or count them again (writers of leads and dead letters wait for the count: about 0.5 s per 3 million
    leads). Needed only after a change no trigger sees, such as a TRUNCATE."""
    from storage import row_counts
    from storage.db import create_pool

    async def run() -> tuple[dict[str, int], dict[str, int]]:
        pool = await create_pool(_settings().database_url, size=1)
        try:
            if not check:
                await row_counts.recount(pool)
            return await row_counts.read(pool), await row_counts.counted(pool)
        finally:
            await pool.close()

    read, counted = asyncio.run(run())
    differ = {k for k in read.keys() | counted.keys() if read.get(k, 0) != counted.get(k, 0)}
    for key in sorted(read.keys() | counted.keys()):
        mark = "  [red]differs[/red]" if key in differ else ""
        console.print(f"{key}: counters {read.get(key, 0):,}, tables {counted.get(key, 0):,}{mark}")
    if differ:
        console.print("[red]the counters differ: `leadstream db recount` counts them again[/red]")
        raise typer.Exit(1)


@db_cli.command("backup")
def db_backup(
    dest: Path = typer.Argument(..., help="New folder for the base backup (a label file goes beside it)."),
    superuser: str = typer.Option("postgres", help="A role with REPLICATION."),
) -> None:
    """Base backup (pg_basebackup) of the primary (LEADSTREAM_DATABASE_ADMIN_URL, else LEADSTREAM_DATABASE_URL).

    With the WAL archive it restores to any moment after it (`leadstream db restore --to`).
    """
    from leadstream.backup import base_backup, default_user
    from storage.db import split_pgbouncer

    dsn = os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL") or split_pgbouncer(_settings().database_url)[0]
    result = base_backup(dsn, dest, superuser=superuser, run_as=default_user())
    console.print(f"base backup in {result.path}: {result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s")


@db_cli.command("restore")
def db_restore(
    to: str = typer.Option(..., "--to", help="Target time with a zone, e.g. 2026-12-02T15:04:05+00:00."),
    backup: Path = typer.Option(..., exists=True, file_okay=False, help="A base backup (`leadstream db backup`)."),
    archive: Path = typer.Option(..., exists=True, file_okay=False, help="The WAL archive folder."),
    datadir: Path = typer.Option(..., help="New data directory for the restored server."),
    port: int = typer.Option(..., help="Port of the restored server."),
) -> None:
    """Point-in-time restore into a fresh server: backup + archived WAL up to --to, then promote."""
    from datetime import datetime

    from leadstream.backup import default_user, restore

    result = restore(
        backup, archive=archive, target=datetime.fromisoformat(to), datadir=datadir, port=port, run_as=default_user()
    )
    console.print(f"restored to {to} on port {result.port} in {result.seconds:.1f} s (data {result.datadir})")


@schema_cli.command("export")
def schema_export(out: Path = typer.Option(Path("docs/raw-lead.schema.json"))) -> None:
    """Write the JSON Schema of a raw lead (the leads.scraped contract)."""
    from schemas.export import raw_lead_schema

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(raw_lead_schema(), indent=2) + "\n")
    console.print(f"wrote {out}")


@schema_cli.command("openapi")
def schema_openapi(out: Path = typer.Option(Path("docs/openapi.json"))) -> None:
    """Write the API's OpenAPI document (generated from the pydantic models; a test checks it is current)."""
    from leadstream.api.app import openapi_document

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(openapi_document(), indent=2) + "\n")
    console.print(f"wrote {out}")


@topics_cli.command("create")
def topics_create() -> None:
    """Create every pipeline topic with LEADSTREAM_PARTITIONS partitions."""
    from streams.admin import ensure_topics

    s = _settings()
    created = asyncio.run(
        ensure_topics(s.kafka_broker, partitions=s.partitions, replication=s.replication_factor, prefix=s.topic_prefix)
    )
    console.print("created: " + (", ".join(created) if created else "nothing (all exist)"))


@cli.command("settings")
def show_settings() -> None:
    """Every setting with its environment variable, value and meaning."""
    from config.checks import listing

    table = Table()
    for col in ("variable", "value", "description"):
        table.add_column(col)
    for row in listing(_settings()):
        table.add_row(*row)
    Console().print(table)


@cli.command()
def simulator(port: int = typer.Option(8089), seed: int = typer.Option(7)) -> None:
    """Run the provider simulator on loopback."""
    os.execvp(sys.executable, [sys.executable, "-m", "simulator", "--port", str(port), "--seed", str(seed)])


rules_cli = typer.Typer(help="Scoring rules.", no_args_is_help=True)
review_cli = typer.Typer(help="The dedupe review queue (gray-zone pairs).", no_args_is_help=True)
cli.add_typer(rules_cli, name="rules")
cli.add_typer(review_cli, name="review")


@cli.command()
def dedupe(
    input_csv: Path = typer.Argument(..., exists=True, dir_okay=False, metavar="INPUT.csv"),
    out: Path = typer.Option(..., "--out", help="Output CSV: id,entity_id, one row per input row."),
    llm: bool = typer.Option(False, help="Ask the Ollama model (LEADSTREAM_OLLAMA_HOST) about gray-zone pairs."),
    phone_directory: bool = typer.Option(
        True,
        "--phone-directory/--no-phone-directory",
        help="Look across states on a shared phone, as the stream does (LEADSTREAM_DEDUPE_PHONE_DIRECTORY).",
    ),
    name_street_keys: bool = typer.Option(
        True,
        "--name-street-keys/--no-name-street-keys",
        help="Look across states at a name word, street number and city too, as the stream does "
        "(LEADSTREAM_DEDUPE_NAME_STREET_KEYS).",
    ),
    name_city_keys: bool = typer.Option(
        True,
        "--name-city-keys/--no-name-city-keys",
        help="Look across states at a name word and city too, for listings with no phone or street number, as "
        "the stream does (LEADSTREAM_DEDUPE_NAME_CITY_KEYS).",
    ),
) -> None:
    """Resolve the rows of a CSV into entities with the same engine as the stream stage."""
    from stages.dedupe.csvtool import dedupe_csv
    from stages.dedupe.phone_look import key_kinds

    judge = None
    if llm:
        from stages.dedupe.judge import OllamaJudge

        s = _settings()
        judge = OllamaJudge(s.ollama_host, s.ollama_model)
    try:
        kinds = key_kinds(name_street_keys, name_city_keys)
        counts = dedupe_csv(input_csv, out, judge=judge, phone_directory=phone_directory, kinds=kinds)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(counts.pop("columns"), markup=False, highlight=False)
    console.print(f"wrote {out}: {counts}")


@rules_cli.command("check")
def rules_check(file: Path = typer.Argument(..., help="Rules YAML.")) -> None:
    """Validate a rules file; report every problem as FILE:LINE: what is wrong."""
    from stages.score.rules import check_rules_file

    issues = check_rules_file(file)
    for issue in issues:
        print(issue)
    if issues:
        console.print(f"[red]{len(issues)} problem(s)[/red]")
        raise typer.Exit(1)
    console.print(f"[green]{file}: valid[/green]")


@cli.command()
def score(
    input_jsonl: Path = typer.Argument(..., exists=True, dir_okay=False, metavar="INPUT.jsonl"),
    rules: Path = typer.Option(None, "--rules", help="Rules YAML (default: LEADSTREAM_RULES_FILE)."),
) -> None:
    """Score leads offline and print each score with its explanation."""
    from stages.score.rules import RulesError, format_explanation
    from stages.score.scorer import score_jsonl

    try:
        for lead_id, result in score_jsonl(input_jsonl, rules or _settings().rules_file):
            print(f"{lead_id}\n{format_explanation(result)}\n")
    except (RulesError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _with_review_queue(action):
    from storage.db import create_pool, migrate
    from storage.dedupe_review import ReviewQueue

    async def run():
        pool = await create_pool(_settings().database_url, size=1)
        try:
            await migrate(pool)
            return await action(ReviewQueue(pool))
        finally:
            await pool.close()

    return asyncio.run(run())


@review_cli.command("list")
def review_list(limit: int = typer.Option(50)) -> None:
    """Pending gray-zone pairs."""
    items = _with_review_queue(lambda q: q.list(limit=limit))
    table = Table()
    for col in ("id", "lead", "candidate entity", "p", "reason"):
        table.add_column(col)
    for item in items:
        table.add_row(
            str(item["id"]),
            str(item["lead_id"]),
            str(item["candidate_entity_id"]),
            f"{item['probability']:.2f}",
            str(item["reason"]),
        )
    Console().print(table)


@review_cli.command("accept")
def review_accept(item_id: int) -> None:
    """Mark a pair as the same business; the dedupe stage merges the two entities."""
    import orjson

    from leadstream.producer import LeadProducer
    from schemas.versions import REVIEW_DECISION
    from storage.lead_queries import LeadQueries
    from streams.topology import DEDUPE_DECISIONS

    async def accept(queue):
        item = await queue.accept(item_id)
        if item is None:
            return None
        geo = await LeadQueries(queue.pool).geo_key(item["lead_id"])
        decision = {
            "schema_version": REVIEW_DECISION.current,
            "review_id": item_id,
            "lead_id": item["lead_id"],
            "entity_id": item["entity_id"],
            "candidate_entity_id": item["candidate_entity_id"],
        }
        s = _settings()
        async with LeadProducer(s.kafka_broker, s.topic_prefix) as producer:
            await producer.send(DEDUPE_DECISIONS, (geo or "unknown").encode(), orjson.dumps(decision), item["lead_id"])
        return item

    item = _with_review_queue(accept)
    console.print(
        f"accepted {item_id}: the entities merge in the dedupe stage"
        if item
        else f"[red]no pending item {item_id}[/red]"
    )


@review_cli.command("reject")
def review_reject(item_id: int) -> None:
    """Mark a pair as different businesses."""
    item = _with_review_queue(lambda q: q.reject(item_id))
    console.print(f"rejected {item_id}" if item else f"[red]no pending item {item_id}[/red]")


@cli.command("enrich-url")
def enrich_url(
    url: str = typer.Argument(..., help="A business website."),
    as_json: bool = typer.Option(False, "--json", help="Print the enrichment as JSON."),
    tier: int = typer.Option(None, min=1, max=3, help="Enrichment tier (default: LEADSTREAM_ENRICH_TIER)."),
) -> None:
    """Enrich one website as the stage would (same fetcher, guard, providers, waterfall) and show what it found or why not.

    Provider calls are written to the cost ledger when PostgreSQL is reachable; without it the run still works.
    """
    from schemas import Lead
    from stages.enrich.build import build_enricher
    from storage.db import create_pool, migrate
    from storage.errors import WRITE_ERRORS

    s = _settings()

    async def run():
        try:
            pool = await asyncio.wait_for(create_pool(s.database_url, size=2), timeout=5)
            await migrate(pool)  # as a worker does at start: the ledger's table must exist
        except (*WRITE_ERRORS, TimeoutError) as exc:  # type: ignore[misc]  # mypy cannot read a starred tuple
            console.print(
                f"[yellow]no database ({exc}); provider calls are not written to the cost ledger[/yellow]",
                highlight=False,
            )
            pool = None
        enricher, closers = await build_enricher(s, pool)
        try:
            lead = Lead(lead_id="ld_cli", geo_key="unknown", source="cli", name=url, website=url, enrich_tier=tier)
            return await enricher.enrich(lead)
        finally:
            for close in closers:
                await close()
            if pool is not None:
                await pool.close()

    from providers.http import ProviderError

    try:
        enrichment = asyncio.run(run())
    except ProviderError as exc:  # what the stage would retry: our proxy down, the site's 429
        console.print(f"[red]could not enrich now: {exc}[/red] (the stage would retry this later)", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        print(enrichment.model_dump_json(indent=2, exclude_none=True))
        return
    console.print(
        f"status: [bold]{enrichment.status}[/bold]" + (f" — {enrichment.reason}" if enrichment.reason else ""),
        highlight=False,
    )
    console.print(f"  tier: {enrichment.tier}  rendered: {enrichment.rendered}", highlight=False)
    for tech in enrichment.tech:
        console.print(f"  tech: {tech.name} {tech.version or ''} ({', '.join(tech.categories)})", highlight=False)
    if enrichment.performance:
        console.print(f"  performance: {enrichment.performance.model_dump(exclude_none=True)}", highlight=False)
    for contact in enrichment.contacts:
        mx = {True: "MX ok", False: "no MX", None: "MX unchecked"}[contact.mx_ok]
        console.print(f"  contact: {contact.email} ({contact.kind}, {contact.source}, {mx})", highlight=False)
    if enrichment.screenshot_uri:
        console.print(f"  screenshot: {enrichment.screenshot_uri}", highlight=False)
    for attempt in enrichment.attempts:
        console.print(
            f"  {attempt.field} ← {attempt.provider}: {attempt.outcome}"
            + (f" ({attempt.detail})" if attempt.detail else ""),
            highlight=False,
        )
    console.print(f"  modern_site: {enrichment.modern_site}", highlight=False)

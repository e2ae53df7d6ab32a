"""Email sends per second against the SendGrid simulator, through the real outbox; bytes and CPU per email.

Each send is the full path of the email stage: the lead's own key, suppression check, outbox
claim in PostgreSQL (which locks and marks the lead's record, written first as the score stage
would, untimed), SendGrid v3 request (sendgrid library's helpers, base64 of the
inline image, JSON), mark sent. ``--images`` compares what the email carries,
side by side in one run (interleaved ``--rounds`` times), on one real mockup
rendered first with Chromium (template concept): ``png``, its desktop PNG (what
every email carried before 2026-12-03), ``preview``, its preview JPEG (now),
``none``. Per configuration it prints the request bytes that reached the
simulator, the size of the message the recipient gets (the simulator's .eml of
it: MIME, base64 at 76 columns) and two CPU figures: building the request body alone (compose, the
library's helpers, base64, JSON: the email stage's own cost) and the whole send
path in this process, simulator (which parses every request) included.

    source .services/env && python perf/bench_email.py --emails 1000 --concurrency 32
    source .services/env && python perf/bench_email.py --emails 300 --images png,preview --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from providers.chromium import DEFAULT_EXECUTABLE
from providers.html_render import ChromiumRenderer
from providers.sendgrid import SendGridMailer
from schemas import Contact, Enrichment, Lead
from simulator import sendgrid as sim_sendgrid
from simulator.app import start_simulator
from simulator.core import SimConfig, Simulator
from simulator.sendgrid_eml import build_eml
from stages.email.delivery import Composer, EmailDelivery
from stages.mockup.maker import MockupMaker
from storage.blobs import LocalBlobStore
from storage.db import create_pool, create_schema, drop_schema, migrate
from storage.outbox import Outbox
from storage.records import LeadRecords, RecordUpdate

IMAGES = ("none", "png", "preview")


async def mockup_images() -> dict[str, bytes | None]:
    """The desktop PNG and the preview JPEG of one real mockup, by `--images` name."""
    lead = Lead(lead_id="ld_bench_mockup", geo_key="z100", source="bench", name="Bench Co", vertical="hvac")
    with tempfile.TemporaryDirectory(prefix="bench-email-") as root:
        blobs = LocalBlobStore(Path(root))
        async with ChromiumRenderer(DEFAULT_EXECUTABLE, max_concurrency=1) as renderer:
            ref = await MockupMaker(None, renderer, blobs).make(lead)
        assert ref.preview_uri is not None
        return {"none": None, "png": await blobs.get(ref.uri), "preview": await blobs.get(ref.preview_uri)}


def _leads(tag: str, count: int) -> list[Lead]:
    return [
        Lead(
            lead_id=f"ld_bench_{tag}_{i}",
            geo_key="z100",
            source="bench",
            name=f"Bench Co {i}",
            vertical="hvac",
            enrichment=Enrichment(contacts=[Contact(email=f"owner{i}@benchco-{tag}-{i}.com", kind="personal")]),
        )
        for i in range(count)
    ]


async def main(args: argparse.Namespace) -> None:
    configs = args.images.split(",")
    unknown = sorted(set(configs) - set(IMAGES))
    if unknown:
        raise SystemExit(f"unknown --images {unknown}; known: {', '.join(IMAGES)}")
    images = await mockup_images() if set(configs) - {"none"} else {"none": None}
    sim = Simulator(SimConfig(seed=1))
    runner, base_url = await start_simulator(sim)
    schema = f"bench_email_{uuid.uuid4().hex[:8]}"
    await create_schema(os.environ["LEADSTREAM_DATABASE_URL"], schema)
    pool = await create_pool(os.environ["LEADSTREAM_DATABASE_URL"], size=8, schema=schema)
    results: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
    try:
        await migrate(pool)
        composer = Composer(
            "leadstream", "1 Bench St, Benchville, IL 60000", "https://leadstream.example/u", "k", "intro"
        )
        mailer = SendGridMailer(base_url, "SG.bench", "a@leadstream.example", "lb")
        delivery = EmailDelivery(Outbox(pool), mailer, composer)
        sizes = ", ".join(f"{name} {len(data):,} B" for name, data in images.items() if data)
        print(f"{args.emails} emails per configuration and round, concurrency {args.concurrency}; images: {sizes}")
        for round_no in range(args.rounds):  # configurations interleaved: a noisy neighbour hits them alike
            for config in configs:
                image = images[config]
                leads = _leads(f"{config}{round_no}", args.emails)
                # Their records, as the score stage leaves them (untimed): the claim locks and marks each one.
                await LeadRecords(pool).write(
                    [RecordUpdate(lead, "score", "0" * 32, int(time.time() * 1000)) for lead in leads]
                )
                # The request body alone, as the mailer makes it for each send.
                cpu = time.process_time()
                for lead in leads[:200]:
                    json.dumps(mailer.build(composer.compose(lead, lead.best_email() or "", image)).get()).encode()
                build_ms = (time.process_time() - cpu) / min(200, len(leads)) * 1000
                gate = asyncio.Semaphore(args.concurrency)

                async def send(lead: Lead, image: bytes | None, gate: asyncio.Semaphore = gate) -> None:
                    async with gate:
                        await delivery.deliver(lead, image)

                before = len(sim_sendgrid.sent_messages(sim))
                began, cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(send(lead, image) for lead in leads))
                wall, cpu = time.perf_counter() - began, time.process_time() - cpu
                sent = sim_sendgrid.sent_messages(sim)[before:]
                figures = {
                    "emails_per_s": len(leads) / wall,
                    "request_kb": statistics.mean(r["bytes"] for r in sent) / 1024,
                    "eml_kb": statistics.mean(len(build_eml(r)) for r in sent[:50]) / 1024,
                    "build_ms": build_ms,
                    "path_ms": cpu / len(leads) * 1000,
                }
                results[config].append(figures)
                print(
                    f"  {config:<8} {figures['request_kb']:7.1f} KB/request  {figures['eml_kb']:7.1f} KB/message"
                    f"  {figures['build_ms']:6.2f} ms CPU to build"
                    f"  {figures['path_ms']:6.2f} ms CPU per email (whole path, simulator included)"
                    f"  {figures['emails_per_s']:6.0f} emails/s  ({len(sent)} sent)"
                )
        # Redelivery of one batch: every key must be skipped, nothing sent again.
        again = _leads(f"{configs[-1]}{args.rounds - 1}", args.emails)
        await asyncio.gather(*(delivery.deliver(lead, images[configs[-1]]) for lead in again))
        summary = sim_sendgrid.summary(sim)
        print(
            f"after redelivering a batch: {summary['messages']} sent, {len(summary['duplicate_keys'])} keys sent twice"
        )
        print(f"summary (median of {args.rounds} rounds):")
        for config, rounds in results.items():
            med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            print(
                f"  {config:<8} {med['request_kb']:7.1f} KB/request  {med['eml_kb']:7.1f} KB/message"
                f"  {med['build_ms']:6.2f} ms CPU to build"
                f"  {med['path_ms']:6.2f} ms CPU per email  {med['emails_per_s']:6.0f} emails/s"
            )
    finally:
        await pool.close()
        await drop_schema(os.environ["LEADSTREAM_DATABASE_URL"], schema)
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--images", default="preview", help=f"comma list of what each email carries: {', '.join(IMAGES)}"
    )
    parser.add_argument("--rounds", type=int, default=1, help="times each configuration is measured (interleaved)")
    asyncio.run(main(parser.parse_args()))

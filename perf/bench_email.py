"""Email sends per second against the SendGrid simulator, through the real outbox.

Each send is the full path of the email stage: suppression check, outbox claim
in PostgreSQL, SendGrid v3 request (sendgrid library, in a thread), mark sent.

    source .services/env && python perf/bench_email.py --emails 1000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from providers.sendgrid import SendGridMailer
from schemas import Contact, Enrichment, Lead
from simulator import sendgrid as sim_sendgrid
from simulator.app import start_simulator
from simulator.core import SimConfig, Simulator
from stages.email.delivery import Composer, EmailDelivery
from storage.db import create_pool, create_schema, drop_schema, migrate
from storage.outbox import Outbox


async def main(args: argparse.Namespace) -> None:
    sim = Simulator(SimConfig(seed=1))
    runner, base_url = await start_simulator(sim)
    schema = f"bench_email_{uuid.uuid4().hex[:8]}"
    await create_schema(os.environ["LEADSTREAM_DATABASE_URL"], schema)
    pool = await create_pool(os.environ["LEADSTREAM_DATABASE_URL"], size=8, schema=schema)
    try:
        await migrate(pool)
        composer = Composer(
            "leadstream", "1 Bench St, Benchville, IL 60000", "https://leadstream.example/u", "k", "intro"
        )
        delivery = EmailDelivery(
            Outbox(pool), SendGridMailer(base_url, "SG.bench", "a@leadstream.example", "lb"), composer
        )
        png = b"\x89PNG\r\n\x1a\n" + os.urandom(60_000)  # a mockup-sized inline image
        leads = [
            Lead(
                lead_id=f"ld_bench_{i}",
                geo_key="z100",
                source="bench",
                name=f"Bench Co {i}",
                vertical="hvac",
                enrichment=Enrichment(contacts=[Contact(email=f"owner{i}@benchco{i}.com", kind="personal")]),
            )
            for i in range(args.emails)
        ]
        gate = asyncio.Semaphore(args.concurrency)

        async def send(lead: Lead) -> None:
            async with gate:
                await delivery.deliver(lead, png)

        began = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(send(lead) for lead in leads))
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        # Redelivery of the whole batch: every key must be skipped, nothing sent again.
        await asyncio.gather(*(send(lead) for lead in leads))
        summary = sim_sendgrid.summary(sim)
        print(
            f"{args.emails} emails in {wall:.1f} s = {args.emails / wall:.0f} emails/s "
            f"(concurrency {args.concurrency}; {cpu / args.emails * 1000:.1f} ms CPU per email in this process, "
            f"simulator included); after redelivering all: {summary['messages']} sent, "
            f"{len(summary['duplicate_keys'])} keys sent twice"
        )
    finally:
        await pool.close()
        await drop_schema(os.environ["LEADSTREAM_DATABASE_URL"], schema)
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    asyncio.run(main(parser.parse_args()))

"""`/pm digest …` over HTTP: subscribe in the subscriber's time zone, list, now, personal, unsubscribe."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from core.db.schedule_tables import DigestSubscription, PersonalDigest
from core.demo import load_demo
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import CHANNEL_ID, LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    slack.add_user("U0ALICE", "alice@northwind.example", "alice", team_id="T0TEST", tz="Asia/Tokyo")
    slack.add_channel(CHANNEL_ID, "general", members=["U0ALICE"])
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        with running.bot.services.db.session() as session:
            load_demo(session)
        yield running


async def last_reply(bot: Running) -> dict[str, object]:
    await bot.drain()
    return bot.slack.calls_to("response_url")[-1].args


async def test_digest_commands(bot: Running) -> None:
    await bot.command("digest subscribe 08:30 project:PAY mon,wed,fri")
    reply = await last_reply(bot)
    assert reply["response_type"] == "in_channel"  # the channel learns it has a digest
    assert "at 08:30 (Asia/Tokyo), Mon, Wed, Fri, covering PAY" in json.dumps(reply, ensure_ascii=False)
    with bot.bot.services.db.session() as session:
        sub = session.scalars(select(DigestSubscription).where(DigestSubscription.active.is_(True))).one()
    assert (sub.local_time, sub.tz, sub.weekdays, sub.projects) == ("08:30", "Asia/Tokyo", [0, 2, 4], ["PAY"])

    await bot.command("digest list")
    assert f"<#{CHANNEL_ID}> at 08:30" in json.dumps(await last_reply(bot))

    status, body, _ = await bot.command("digest now")
    assert status == 200
    assert "Putting this channel's digest together" in body
    await bot.drain()
    posted = [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL_ID]
    assert posted
    assert "PAY-" in json.dumps(posted[-1].args)

    await bot.command("digest personal on 07:15")
    assert "on at 07:15 (Asia/Tokyo)" in json.dumps(await last_reply(bot))
    with bot.bot.services.db.session() as session:
        personal = session.scalars(select(PersonalDigest)).one()
    assert (personal.enabled, personal.local_time, personal.tz) == (True, "07:15", "Asia/Tokyo")

    for text, message in [("digest subscribe 25:00", "not a time"), ("digest personal maybe", "personal on"),
                          ("digest fly", "Usage")]:  # fmt: skip
        _, body, _ = await bot.command(text)
        assert message in body, text

    await bot.command("digest unsubscribe")
    assert "stopped this channel's digest" in json.dumps(await last_reply(bot))
    await bot.command("digest unsubscribe")
    assert "has no digest to stop" in json.dumps(await last_reply(bot))

"""A demo meeting transcript for `agentpm try`: Northwind's payments and web-app planning call, as WebVTT.

Its action items are the kind the rules (core/meetings/rules.py) find without a language model, so the demo
shows them with no OpenAI key: people committing ("I'll …", "Jonas will …") and an ``Action item:``.
"""

from __future__ import annotations

DEMO_FILENAME = "northwind-payments-web-planning.vtt"

_TRANSCRIPT = """WEBVTT - Northwind planning: payments (PAY) and customer web app (WEB)

NOTE Recorded on the weekly planning call.

00:00:01.000 --> 00:00:07.500
<v Maya Chen>Morning all. Two things today: the SEPA refund failures in PAY and the checkout redesign in WEB.

00:00:07.800 --> 00:00:16.200
<v Tomás Ribeiro>Refunds first. Since Tuesday's deploy about two percent of SEPA refunds time out at the bank.

00:00:16.500 --> 00:00:24.000
<v Tomás Ribeiro>The retry job then sends them again, which is where the double refunds in PAY-142 come from.

00:00:24.300 --> 00:00:30.100
<v Maya Chen>So the retries need an idempotency key. Who can take that?

00:00:30.400 --> 00:00:37.900
<v Tomás Ribeiro>I'll add idempotency keys to the refund retry job by Friday.

00:00:38.200 --> 00:00:45.600
<v Priya Natarajan>Finance keeps asking how many customers got two refunds. I can pull that from the ledger.

00:00:45.900 --> 00:00:52.000
<v Maya Chen>Yes please. Priya will send finance the list of double refunds by Wednesday.

00:00:52.300 --> 00:01:00.800
<v Jonas Weber>On the web side, the new checkout page is behind a flag for five percent of traffic.

00:01:01.100 --> 00:01:09.400
<v Jonas Weber>Conversion is flat, but the address form throws errors on Safari for some postcodes.

00:01:09.700 --> 00:01:15.300
<v Liam O'Connell>That is the postcode regex; it rejects Irish Eircodes. I have a fix half done.

00:01:15.600 --> 00:01:21.000
<v Liam O'Connell>I'm going to ship the Eircode fix for the address form tomorrow.

00:01:21.300 --> 00:01:29.700
<v Maya Chen>Good. We need to add checkout error tracking before we go past five percent.

00:01:30.000 --> 00:01:36.400
<v Maya Chen>Jonas, can you set up the checkout error dashboard in Grafana by Thursday?

00:01:36.700 --> 00:01:38.800
<v Jonas Weber>Sure, that is a small one.

00:01:39.000 --> 00:01:45.200
<v Maya Chen>Action item (Tomás): update the status page runbook for bank timeouts by end of month.

00:01:45.500 --> 00:01:51.000
<v Priya Natarajan>One more: the PCI audit questionnaire is due at the end of the month.

00:01:51.300 --> 00:01:57.800
<v Maya Chen>Thanks everyone. Same time next week.
"""


def demo_transcript() -> tuple[str, str]:
    """(file name, text) of the demo meeting transcript, as a person would share the file."""
    return DEMO_FILENAME, _TRANSCRIPT

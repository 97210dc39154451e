#!/usr/bin/env python3
"""Tally: a synthetic world of production traces of an accounts-payable back-office agent.

Tally processes supplier invoices for Kestrel Fluid Systems (a mid-size pump manufacturer):
it reads OCR'd invoice text, matches invoices to purchase orders (POs) and goods receipts,
codes them to the general ledger, checks VAT and currency, flags duplicates, routes
exceptions to approvers, and answers the finance team's chat questions through a query agent
that runs read-only SQL against the ERP. A supervisor (tally-supervisor) hands work to
tally-extractor, tally-matcher and tally-query.

Instrumentation: OpenTelemetry with GenAI semantic conventions (gen_ai.*), plus the team's
own `tally.*` attributes; a minority of spans also carry OpenInference attributes
(openinference.span.kind, input.value, output.value), as the team is mid-migration.
Feedback arrives as span events on the root span (accountant approvals/overrides/comments,
chat thumbs, reconciliation-job findings). Output: one OTLP/JSON document per line.

Failure modes (label name -> root cause):
  po_number_format_mismatch   tool_arguments        matcher passes PO number as printed ("PO-4500...", spaces, leading zeros) -> ERP finds nothing -> wrongly routed as non-PO
  erp_gateway_timeout         latency_infra         ERP gateway times out on every retry -> invoice parked / question unanswered
  followup_drops_constraint   memory_multiturn      follow-up question's SQL ignores a filter set in earlier turns
  ocr_context_truncated       context_construction  long OCR text cut to fit the context budget -> totals/lines missing -> wrong amount or false variance hold
  capex_coded_as_expense      prompt_instruction    equipment over the capitalisation threshold coded to an expense account
  outdated_policy_ranked_first retrieval_ranking    superseded policy version ranked above the current one; answer quotes the old rule
  judge_false_fail            evaluation_scorer     coding judge fails a correct coding for a reason contradicted by the output
  stale_fx_rate               data_freshness        FX rate weeks older than the invoice date used for conversion
  data_question_answered_directly routing_decision  router answers an ERP data question directly, no query run (invented figures)
  unsupported_ap_action       missing_capability    user asks for an action Tally has no tool for (create vendor, pay, split, reverse)
  amount_misread              model_limitation      extractor misreads amounts (European separators, net/gross swap, currency)

Usage: python generate.py --n 3000 --seed 1 --out DIR
Writes DIR/traces.otlp.jsonl and DIR/labels.json.
"""
import argparse
import json
import os
import random
import hashlib
from datetime import datetime, timedelta, timezone

MODES = {
    # name: (root_cause, fixable, severity, share_of_traffic, agent)
    "po_number_format_mismatch": ("tool_arguments", True, "S2", 0.100, "tally-matcher"),
    "erp_gateway_timeout": ("latency_infra", False, "S2", 0.047, None),
    "followup_drops_constraint": ("memory_multiturn", False, "S3", 0.043, "tally-query"),
    "ocr_context_truncated": ("context_construction", False, "S2", 0.037, "tally-extractor"),
    "capex_coded_as_expense": ("prompt_instruction", True, "S2", 0.037, "tally-matcher"),
    "outdated_policy_ranked_first": ("retrieval_ranking", False, "S3", 0.032, "tally-query"),
    "judge_false_fail": ("evaluation_scorer", False, "S3", 0.030, None),
    "stale_fx_rate": ("data_freshness", False, "S2", 0.030, "tally-matcher"),
    "data_question_answered_directly": ("routing_decision", True, "S2", 0.027, "tally-supervisor"),
    "unsupported_ap_action": ("missing_capability", False, "S3", 0.022, "tally-supervisor"),
    "amount_misread": ("model_limitation", False, "S1", 0.021, "tally-extractor"),
}
INVOICE_MODES = {"po_number_format_mismatch", "ocr_context_truncated", "capex_coded_as_expense",
                 "judge_false_fail", "stale_fx_rate", "amount_misread"}
CHAT_MODES = {"followup_drops_constraint", "outdated_policy_ranked_first",
              "data_question_answered_directly", "unsupported_ap_action"}

# ----------------------------------------------------------------------------- data pools
VENDORS = [
    # name, country, currency, vat_id, vendor_no, invoice number style, kind
    ("Brenner GmbH", "DE", "EUR", "DE812334517", "100417", "RE-{y}-{n5}", "components"),
    ("Hoffmann Gusstechnik AG", "DE", "EUR", "DE129938441", "100233", "{n6}", "castings"),
    ("Schuster Dichtungen KG", "DE", "EUR", "DE301127784", "100981", "R{n6}", "components"),
    ("Lindqvist Bearings AB", "SE", "EUR", "SE556677889901", "200114", "INV-{n5}", "components"),
    ("Novotný Strojírna s.r.o.", "CZ", "CZK", "CZ27384910", "200352", "FV{y}{n4}", "machining"),
    ("Kowalski Elektro Sp. z o.o.", "PL", "PLN", "PL5261040828", "200419", "FV/{n4}/{m}/{y}", "electrical"),
    ("Alpenmotor AG", "CH", "CHF", "CHE-114.382.190", "300021", "AM-{n6}", "motors"),
    ("Gateway Fluid Controls Inc.", "US", "USD", "US-EIN-84-2219031", "300087", "GFC{n5}", "controls"),
    ("Pennine Instruments Ltd", "GB", "GBP", "GB284119036", "300102", "PI-{n5}", "controls"),
    ("Van Dijk Logistiek B.V.", "NL", "EUR", "NL859341278B01", "200611", "{y}-{n5}", "freight"),
    ("Spedition Krause GmbH", "DE", "EUR", "DE244180975", "100752", "SK{n6}", "freight"),
    ("Bürotec Rhein GmbH", "DE", "EUR", "DE318845201", "100890", "BR-{n5}", "office"),
    ("Maschinenhandel Ebert GmbH", "DE", "EUR", "DE276615390", "100311", "ME{y}{n4}", "machinery"),
    ("DataForge Systems GmbH", "DE", "EUR", "DE331209876", "100955", "DF-{y}-{n4}", "it"),
    ("Ferretti Utensili S.p.A.", "IT", "EUR", "IT04412780961", "200733", "{n4}/{y}", "tools"),
    ("Stadtwerke Aurach", "DE", "EUR", "DE131550672", "100012", "{n8}", "energy"),
    ("Klein & Partner Unternehmensberatung", "DE", "EUR", "DE299010443", "100644", "KP-{n4}", "consulting"),
    ("Wiegand Industrieservice GmbH", "DE", "EUR", "DE187223015", "100528", "WI{n6}", "maintenance"),
]

ITEMS = {
    "components": [("Mechanical seal 45mm SiC/SiC", 38.5, "5400"), ("Impeller bronze D180", 212.0, "5400"),
                   ("Shaft sleeve 1.4462", 64.2, "5400"), ("O-ring kit FKM", 7.9, "5400"),
                   ("Ball bearing 6309-2Z C3", 18.4, "5400"), ("Coupling insert N-EUPEX", 22.1, "5400")],
    "castings": [("Volute casing GG25 DN80", 418.0, "5000"), ("Bearing bracket casting", 176.5, "5000"),
                 ("Pump cover EN-GJS-400", 96.0, "5000")],
    "machining": [("CNC machining pump shafts", 54.0, "5400"), ("Turning of sleeves, batch", 890.0, "5400"),
                  ("Flange boring service", 12.5, "5400")],
    "electrical": [("Cable harness motor 3x2.5", 31.0, "5400"), ("Terminal box IP55", 44.8, "5400"),
                   ("Control cabinet wiring", 1320.0, "5400")],
    "motors": [("IE3 motor 7.5kW 4-pole", 689.0, "5400"), ("IE4 motor 15kW", 1480.0, "5400")],
    "controls": [("Pressure transmitter 0-16 bar", 265.0, "5400"), ("Flow meter DN50 magnetic", 1190.0, "5400"),
                 ("PLC I/O module", 342.0, "5400")],
    "freight": [("Road freight Ostrava-Aurach", 640.0, "6300"), ("Pallet transport, 12 pallets", 385.0, "6300"),
                ("Express delivery surcharge", 95.0, "6300"), ("Container drayage", 720.0, "6300")],
    "office": [("Copy paper A4, 50 reams", 4.6, "6830"), ("Toner cartridges", 89.0, "6830"),
               ("Desk chairs", 245.0, "6830")],
    "machinery": [("CNC spindle replacement unit", 12400.0, "0440"), ("Pillar drill Alzmetall AB 4", 3850.0, "0440"),
                  ("Forklift traction battery 48V", 6900.0, "0440"), ("Test bench flow rig", 28500.0, "0440"),
                  ("Hand tools set", 145.0, "6815")],
    "it": [("Notebook ThinkPad T14 G5", 1450.0, "0650"), ("Docking station", 219.0, "6815"),
           ("ERP add-on licence, annual", 4800.0, "6520"), ("Server rack 42U with PDU", 3180.0, "0650"),
           ("Managed backup service, monthly", 690.0, "6520")],
    "tools": [("Carbide end mills D12", 48.0, "6815"), ("Thread taps M16 set", 122.0, "6815"),
              ("Measuring caliper digital", 96.0, "6815")],
    "energy": [("Electricity Nov, plant 1", 38450.0, "6900"), ("Gas supply Nov", 12220.0, "6900")],
    "consulting": [("Consulting days, ERP cut-over", 1350.0, "6600"), ("Workshop VAT compliance", 2100.0, "6600")],
    "maintenance": [("Compressor service visit", 780.0, "6450"), ("Crane inspection DGUV", 410.0, "6450"),
                    ("Spare parts for press repair", 265.0, "6450")],
}
GL_NAMES = {"5000": "Raw materials", "5400": "Purchased components", "6300": "Freight inbound",
            "6450": "Repairs & maintenance", "6520": "Software & IT services", "6600": "Consulting fees",
            "6815": "Small tools & low-value equipment", "6830": "Office supplies", "6900": "Energy",
            "0440": "Technical equipment & machinery (asset)", "0650": "IT hardware (asset)"}
CAPEX_WRONG = {"0440": ["6450", "6815"], "0650": ["6815", "6520"]}
COST_CENTERS = {"components": "4100", "castings": "4100", "machining": "4120", "electrical": "4130",
                "motors": "4130", "controls": "4130", "freight": "4300", "office": "1200", "machinery": "4150",
                "it": "1500", "tools": "4150", "energy": "4900", "consulting": "1100", "maintenance": "4150"}
VAT_DE = 0.19
ADDRESSES = {"DE": ["Industriestr. 14, 90441 Nürnberg", "Am Gewerbepark 7, 97076 Würzburg", "Rheinuferstr. 120, 67061 Ludwigshafen", "Hafenstraße 3, 28217 Bremen"],
             "SE": ["Lagervägen 12, 412 63 Göteborg"], "CZ": ["Průmyslová 1140, 708 00 Ostrava"], "PL": ["ul. Przemysłowa 22, 40-020 Katowice"],
             "CH": ["Hauptstrasse 8, 8400 Winterthur"], "US": ["1200 Commerce Dr, Peachtree City, GA 30269"], "GB": ["Unit 4, Riverside Park, Leeds LS10 1RW"],
             "NL": ["Havenweg 41, 3089 JH Rotterdam"], "IT": ["Via dell'Industria 31, 25030 Brescia"]}
FX = {"CZK": 25.21, "PLN": 4.27, "CHF": 0.937, "USD": 1.058, "GBP": 0.838}  # per 1 EUR

ACCOUNTANTS = ["a.novak", "m.schreiber", "j.weiss", "k.brandt", "s.yilmaz", "p.lorenz", "t.berger",
               "l.hartmann", "r.costa", "e.fischer", "d.kaminski", "h.vogel", "c.dvorak", "m.wojcik", "n.schmitt",
               "v.keller", "b.oezdemir", "j.richter", "f.svoboda", "i.lang"]
APPROVERS = {"4100": "b.krueger (Purchasing lead)", "4120": "f.maier (Production)", "4130": "f.maier (Production)",
             "4150": "c.roth (Plant engineering)", "4300": "n.jansen (Logistics)", "1200": "i.schulz (Admin)",
             "1500": "o.peters (IT)", "4900": "c.roth (Plant engineering)", "1100": "g.hahn (CFO office)"}

SUPERVISOR_MODEL = ("gpt-4.1", "gpt-4.1-2025-04-14")
WORKER_MODEL = ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14")
JUDGE_MODEL = ("claude-sonnet-4", "claude-sonnet-4-20250514")
PRICE = {"gpt-4.1": (2.0, 8.0), "gpt-4.1-mini": (0.4, 1.6), "claude-sonnet-4": (3.0, 15.0)}

POLICIES = [
    dict(topic="approval limit for a department head",
         qs=["What's the approval limit for a department head now?", "up to what amount can a Abteilungsleiter approve an invoice?",
             "Can c.roth approve a 18k invoice on his own?", "department head signing limit?"],
         old=("AP-POL-07 Approval Matrix v3", "2024-01-01", "Department heads may approve invoices up to EUR 10,000 net. Above that, the plant director co-signs."),
         new=("AP-POL-07 Approval Matrix v4", "2026-07-01", "Department heads may approve invoices up to EUR 25,000 net. Between 25,000 and 100,000 the plant director co-signs; above that the CFO."),
         old_ans="Department heads can approve up to EUR 10,000 net; anything above needs the plant director's co-signature.",
         new_ans="Since July 2026 (Approval Matrix v4) department heads can approve up to EUR 25,000 net; 25k-100k needs the plant director as co-signer, above 100k the CFO."),
    dict(topic="standard payment terms",
         qs=["What are our standard payment terms for new suppliers?", "default Zahlungsziel for a new vendor?",
             "which payment term do we put on new supplier contracts?"],
         old=("AP-POL-02 Payment Terms Standard", "2023-05-15", "Standard payment term for new suppliers is 30 days net; 2% skonto within 10 days may be accepted."),
         new=("AP-POL-02 Payment Terms Standard (rev. 2026)", "2026-04-01", "Standard payment term for new suppliers is 45 days net. Early-payment discounts are only agreed if >= 1.5% within 14 days."),
         old_ans="Standard is 30 days net, and a 2% skonto within 10 days can be accepted.",
         new_ans="Per the 2026 revision: 45 days net; early-payment discounts only if at least 1.5% within 14 days."),
    dict(topic="non-PO small-value threshold",
         qs=["Up to what amount can an invoice be booked without a PO?", "what's the no-PO limit again?",
             "Do I need a PO for a 420 euro invoice?"],
         old=("AP-POL-11 Non-PO Invoices", "2022-09-01", "Invoices up to EUR 250 net may be processed without a purchase order, with cost-center approval."),
         new=("AP-POL-11 Non-PO Invoices v2", "2026-03-01", "Invoices up to EUR 500 net may be processed without a purchase order, with cost-center approval. Recurring services always require a framework PO."),
         old_ans="Only up to EUR 250 net can go through without a PO; anything above needs a purchase order.",
         new_ans="Up to EUR 500 net can be booked without a PO (with cost-center approval), except recurring services which always need a framework PO."),
    dict(topic="vendor bank detail change verification",
         qs=["A supplier emailed new bank details, what do we need to do?", "how do we verify a changed IBAN from a vendor?",
             "Brenner sent a new IBAN by email - can I just update it?"],
         old=("AP-POL-05 Vendor Master Changes", "2023-02-10", "Bank detail changes require a signed letter on company letterhead, scanned and attached to the change request."),
         new=("AP-POL-05 Vendor Master Changes v3", "2026-06-15", "Bank detail changes require a call-back to a phone number already on file (not the one in the request) and approval by a second person in Treasury before activation."),
         old_ans="You need a signed letter on the supplier's letterhead, scan it and attach it to the change request.",
         new_ans="Under v3 of the policy you must call the supplier back on a number already on file (never the one in the email) and Treasury must approve as second person before the change is activated."),
    dict(topic="duplicate check window",
         qs=["How far back does the duplicate check look?", "what window do we use for duplicate invoice detection?"],
         old=("AP-PROC-03 Duplicate Invoice Control", "2021-11-01", "The duplicate check compares against invoices posted in the last 90 days."),
         new=("AP-PROC-03 Duplicate Invoice Control v2", "2026-01-20", "The duplicate check compares against invoices posted in the last 18 months, including fuzzy matches on amount and invoice number."),
         old_ans="It compares against the last 90 days of posted invoices.",
         new_ans="It compares against the last 18 months, including fuzzy matches on amount and invoice number."),
    dict(topic="reverse charge handling",
         qs=["How do we book a reverse-charge invoice from an EU supplier?", "reverse charge VAT - which tax code do we use?"],
         old=("TAX-GUIDE-04 Reverse Charge", "2023-08-01", "Use tax code V7 (19% input/output) for EU reverse-charge services; goods use V8."),
         new=("TAX-GUIDE-04 Reverse Charge (2026 tax codes)", "2026-09-01", "After the tax-code cleanup use RC19 for EU reverse-charge services and IG19 for intra-community acquisitions of goods; V7/V8 are blocked."),
         old_ans="Use tax code V7 for services and V8 for goods.",
         new_ans="Since the September 2026 cleanup: RC19 for reverse-charge services and IG19 for intra-community goods; V7/V8 are blocked."),
]

CONCEPT_QS = [("What does GR/IR mean?", "GR/IR is the goods-receipt/invoice-receipt clearing account: the goods receipt posts to it and the invoice clears it, so open balances show receipts not yet invoiced or vice versa."),
              ("what's the difference between a price variance and a quantity variance hold?", "A price variance hold means the invoiced unit price differs from the PO price beyond tolerance; a quantity variance hold means more was invoiced than received on the goods receipt."),
              ("Explain 3-way match in two sentences", "3-way match compares the invoice with the purchase order and the goods receipt. Only if quantities and prices agree within tolerance is the invoice released for payment."),
              ("what is skonto?", "Skonto is a cash discount for early payment, e.g. 2% if paid within 10 days instead of the net term.")]

UNSUPPORTED = [
    ("Please set up Brückner Logistik as a new supplier, IBAN DE44 5001 0517 5407 3249 31", "vendor master creation"),
    ("Split invoice {inv} 60/40 between cost centers 4100 and 4150", "cost allocation split"),
    ("Pay {vendor} today by urgent transfer, they're threatening to stop deliveries", "payment execution"),
    ("Reverse the posting of document 51000{d5}, it was booked twice", "posting reversal"),
    ("Create a credit memo for the 3 damaged pallets on invoice {inv}", "credit memo creation"),
    ("Change the payment term of {vendor} to 60 days in the vendor master", "vendor master change"),
    ("Block {vendor} for payment until the quality claim is settled", "payment block"),
]


# ----------------------------------------------------------------------------- helpers
def av(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [av(x) for x in v]}}
    if isinstance(v, (dict,)):
        return {"stringValue": json.dumps(v, ensure_ascii=False)}
    return {"stringValue": str(v)}


def attrs(d):
    return [{"key": k, "value": av(v)} for k, v in d.items() if v is not None]


def ns(dt):
    return str(int(dt.timestamp() * 1_000_000) * 1000)


def fmt_de(x):
    s = f"{x:,.2f}"
    return s.replace(",", "_").replace(".", ",").replace("_", ".")


def fmt_en(x):
    return f"{x:,.2f}"


def jd(o):
    return json.dumps(o, ensure_ascii=False)


class Trace:
    def __init__(self, rng, t0):
        self.rng = rng
        self.t = t0
        self.trace_id = "%032x" % rng.getrandbits(128)
        self.spans = []  # (scope, span)
        self.ids = set()

    def sid(self):
        while True:
            s = "%016x" % self.rng.getrandbits(64)
            if s not in self.ids:
                self.ids.add(s)
                return s

    def span(self, scope, name, parent, a, dur_ms, error=None, events=None, start=None, kind=1):
        sid = self.sid()
        st = start or self.t
        en = st + timedelta(milliseconds=dur_ms)
        sp = {"traceId": self.trace_id, "spanId": sid, "name": name, "kind": kind,
              "startTimeUnixNano": ns(st), "endTimeUnixNano": ns(en), "attributes": attrs(a)}
        if parent:
            sp["parentSpanId"] = parent
        if error:
            sp["status"] = {"code": 2, "message": error}
        elif self.rng.random() < 0.5:
            sp["status"] = {"code": 1}
        if events:
            sp["events"] = events
        self.spans.append((scope, sp))
        if start is None:
            self.t = en + timedelta(milliseconds=self.rng.randint(2, 40))
        return sid, sp

    def close(self, sp, end):
        sp["endTimeUnixNano"] = ns(end)


def ev(name, when, a):
    return {"name": name, "timeUnixNano": ns(when), "attributes": attrs(a)}


# ----------------------------------------------------------------------------- generator
class World:
    def __init__(self, seed, n):
        self.rng = random.Random(seed)
        self.n = n
        self.base = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
        self.sessions = {}

    # -- time / identity
    def when(self):
        r = self.rng
        day = r.randint(0, 6)
        if day >= 5 and r.random() < 0.7:
            day = r.randint(0, 4)
        hour = min(19, max(5, int(r.gauss(11, 2.6))))
        return self.base + timedelta(days=day, hours=hour, minutes=r.randint(0, 59), seconds=r.randint(0, 59),
                                     milliseconds=r.randint(0, 999))

    def session_for(self, user, t0, chat):
        key = (user, t0.date(), t0.hour // 3 if chat else t0.hour)
        if key not in self.sessions or self.rng.random() < 0.25:
            h = hashlib.sha1(f"{key}{self.rng.random()}".encode()).hexdigest()
            self.sessions[key] = ("chat-" if chat else "batch-") + h[:12]
        return self.sessions[key]

    def resource(self, t0):
        ver = "2.14.3" if t0 < self.base + timedelta(days=3, hours=14) else "2.15.0"
        return {"attributes": attrs({"service.name": "tally-ap-agent", "service.version": ver,
                                     "deployment.environment": "prod", "service.namespace": "finance-automation",
                                     "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "python",
                                     "telemetry.sdk.version": "1.27.0", "tally.tenant": "kestrel-fluid-systems",
                                     "host.name": self.rng.choice(["tally-worker-0", "tally-worker-1", "tally-worker-2"])})}

    # -- llm span
    def llm(self, T, parent, agent, model, messages, output, system=None, tools=None, in_tok=None, out_tok=None,
            dur=None, oi=None, finish="stop", extra=None):
        r = self.rng
        req, resp = model
        in_tok = in_tok or r.randint(600, 3800)
        out_tok = out_tok or r.randint(60, 700)
        pin, pout = PRICE[req]
        cost = round((in_tok * pin + out_tok * pout) / 1e6, 6)
        a = {"gen_ai.operation.name": "chat", "gen_ai.system": "anthropic" if "claude" in req else "openai",
             "gen_ai.request.model": req, "gen_ai.response.model": resp, "gen_ai.agent.name": agent,
             "gen_ai.usage.input_tokens": in_tok, "gen_ai.usage.output_tokens": out_tok,
             "gen_ai.response.finish_reasons": [finish], "gen_ai.request.temperature": 0.0 if agent != "tally-query" else 0.2,
             "tally.llm.cost_usd": cost}
        if system and r.random() < 0.6:
            a["gen_ai.system_instructions"] = system
        if tools and r.random() < 0.55:
            a["gen_ai.tool.definitions"] = jd(tools)
        use_oi = oi if oi is not None else (r.random() < 0.3)
        if use_oi:
            a["openinference.span.kind"] = "LLM"
            a["input.value"] = jd(messages)
            a["output.value"] = output if isinstance(output, str) else jd(output)
            a["llm.model_name"] = req
        else:
            a["gen_ai.input.messages"] = jd(messages)
            a["gen_ai.output.messages"] = jd([{"role": "assistant", "content": output if isinstance(output, str) else jd(output)}])
        if extra:
            a.update(extra)
        dur = dur or int(in_tok * 0.12 + out_tok * 14 + r.randint(150, 900))
        return T.span("opentelemetry.instrumentation.openai_v2", f"chat {req}", parent, a, dur)

    def tool(self, T, parent, agent, name, args, result=None, error=None, dur=None, extra=None):
        r = self.rng
        a = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.agent.name": agent,
             "gen_ai.tool.call.id": "call_" + "%012x" % r.getrandbits(48),
             "gen_ai.tool.call.arguments": jd(args)}
        if result is not None:
            a["gen_ai.tool.call.result"] = result if isinstance(result, str) else jd(result)
        if error:
            a["error.type"] = error.split(":")[0][:40]
        if r.random() < 0.25:
            a["openinference.span.kind"] = "TOOL"
            a["tool.name"] = name
        if extra:
            a.update(extra)
        return T.span("tally.tools", f"execute_tool {name}", parent, a, dur or r.randint(40, 900), error=error)

    def agent_span(self, T, parent, agent, extra=None):
        a = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
        if extra:
            a.update(extra)
        return T.span("tally.agents", f"invoke_agent {agent}", parent, a, 1, start=T.t)

    # ------------------------------------------------------------------ invoice world
    def make_invoice(self, mode):
        r = self.rng
        if mode in ("stale_fx_rate",):
            pool = [v for v in VENDORS if v[2] != "EUR"]
        elif mode == "capex_coded_as_expense":
            pool = [v for v in VENDORS if v[6] in ("machinery", "it")]
        elif mode == "amount_misread":
            pool = [v for v in VENDORS if v[1] in ("DE", "CH", "IT", "NL")]
        elif mode == "ocr_context_truncated":
            pool = [v for v in VENDORS if v[6] in ("components", "castings", "machining", "electrical", "controls", "tools", "office")]
        else:
            pool = VENDORS
        v = r.choice(pool)
        name, country, cur, vat_id, vno, style, kind = v
        items = ITEMS[kind]
        long_inv = mode == "ocr_context_truncated" or (r.random() < 0.12 and kind not in ("energy", "consulting", "machinery", "it"))
        nlines = r.randint(22, 40) if mode == "ocr_context_truncated" else r.randint(12, 36) if long_inv else r.randint(1, 5)
        if mode == "capex_coded_as_expense":
            capex_items = [i for i in items if i[2] in ("0440", "0650")]
            lines_src = [r.choice(capex_items)] + [r.choice(items) for _ in range(r.randint(0, 2))]
            nlines = len(lines_src)
        else:
            lines_src = [r.choice(items) for _ in range(nlines)]
        lines = []
        for i, (desc, price, gl) in enumerate(lines_src):
            qty = 1 if price > 2000 else r.choice([1, 2, 4, 5, 10, 12, 20, 24, 50, 100]) if price < 100 else r.choice([1, 2, 3, 4, 6])
            up = round(price * r.uniform(0.94, 1.06) * (FX.get(cur, 1.0) if cur in ("CZK", "PLN") else 1.0), 2)
            lines.append({"pos": (i + 1) * 10, "desc": desc, "qty": qty, "unit_price": up, "amount": round(qty * up, 2), "gl": gl})
        net = round(sum(l["amount"] for l in lines), 2)
        vat_rate = VAT_DE if country == "DE" else 0.0
        vat = round(net * vat_rate, 2)
        gross = round(net + vat, 2)
        inv_date = None
        n5 = r.randint(10000, 99999)
        num = style.format(y="2026", n4=f"{r.randint(1, 9999):04d}", n5=n5, n6=r.randint(100000, 999999),
                           n8=r.randint(10000000, 99999999), m="11")
        po = f"4500{r.randint(100000, 999999)}"
        if kind in ("energy", "consulting") and r.random() < 0.6 and mode in (None, "judge_false_fail"):
            po = None
        return dict(vendor=name, country=country, currency=cur, vat_id=vat_id, vendor_no=vno, kind=kind,
                    number=num, po=po, lines=lines, net=net, vat_rate=vat_rate, vat=vat, gross=gross)

    def ocr_text(self, inv, inv_date, po_printed):
        r = self.rng
        de = inv["country"] in ("DE", "CH", "IT", "NL", "CZ", "PL")
        f = fmt_de if de else fmt_en
        L = []
        L.append(inv["vendor"].upper())
        L.append(r.choice(ADDRESSES.get(inv["country"], ["Industrieweg 5"])))
        L.append(("USt-IdNr.: " if de else "VAT Reg No: ") + inv["vat_id"])
        L.append("")
        L.append(("RECHNUNG Nr. " if de else "INVOICE No. ") + inv["number"])
        L.append(("Rechnungsdatum: " if de else "Invoice date: ") + (inv_date.strftime("%d.%m.%Y") if de else inv_date.strftime("%d %b %Y")))
        L.append("Kestrel Fluid Systems GmbH, Kreditorenbuchhaltung, Am Aurachgrund 3, 91074 Herzogenaurach")
        if po_printed:
            L.append(("Ihre Bestellung: " if de else "Your PO: ") + po_printed)
        L.append("")
        L.append("Pos  Bezeichnung                         Menge   Einzelpreis   Betrag" if de else
                 "Item Description                          Qty   Unit price    Amount")
        detail = len(inv["lines"]) > 8 or r.random() < 0.3
        for l in inv["lines"]:
            L.append(f"{l['pos']:<4} {l['desc'][:34]:<34} {l['qty']:>5}   {f(l['unit_price']):>11}  {f(l['amount']):>11}")
            if detail:
                L.append(f"     Art.-Nr. {r.randint(100000, 999999)}-{r.randint(10, 99)}  Lieferschein LS-{r.randint(40000, 49999)}  Charge {r.randint(2026001, 2026999)}" if de else
                         f"     Part no. {r.randint(100000, 999999)}  Delivery note DN-{r.randint(40000, 49999)}  Lot {r.randint(1000, 9999)}")
        L.append("")
        cur = inv["currency"]
        if de:
            L.append(f"Nettobetrag {cur} {f(inv['net'])}")
            if inv["vat_rate"]:
                L.append(f"zzgl. 19% MwSt. {f(inv['vat'])}")
            else:
                L.append(r.choice(["Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)", "Steuerfreie innergemeinschaftliche Lieferung",
                                   "VAT 0% - reverse charge, art. 196 Directive 2006/112/EC"]))
            L.append(f"Gesamtbetrag {cur} {f(inv['gross'])}")
            L.append(r.choice(["Zahlbar innerhalb 30 Tagen netto.", "Zahlungsziel: 45 Tage netto, 2% Skonto bei Zahlung innerhalb 10 Tagen.",
                               "Zahlbar sofort ohne Abzug."]))
        else:
            L.append(f"Subtotal {cur} {f(inv['net'])}")
            L.append("VAT 0% - export / reverse charge" if not inv["vat_rate"] else f"VAT 19% {f(inv['vat'])}")
            L.append(f"TOTAL DUE {cur} {f(inv['gross'])}")
            L.append(r.choice(["Payment terms: net 30 days.", "Terms: 45 days EOM.", "Payment due within 60 days of invoice date."]))
        L.append("IBAN " + r.choice(["DE89 3704 0044 0532 0130 00", "CZ65 0800 0000 1920 0014 5399", "GB29 NWBK 6016 1331 9268 19",
                                      "CH93 0076 2011 6238 5295 7", "PL61 1090 1014 0000 0712 1981 2874"]))
        boiler = ("Es gelten unsere Allgemeinen Geschäftsbedingungen. Eigentumsvorbehalt: Die Ware bleibt bis zur vollständigen "
                  "Bezahlung unser Eigentum. Gerichtsstand ist der Sitz des Verkäufers. " if de else
                  "All goods remain the property of the seller until paid in full. Standard terms and conditions apply. ")
        L.append(boiler * r.randint(1, 6))
        return "\n".join(L), f

    def invoice_trace(self, mode, healthy_flags):
        r = self.rng
        t0 = self.when()
        T = Trace(r, t0)
        labels = None
        user = "svc-ap-inbox" if r.random() < 0.75 else r.choice(ACCOUNTANTS)
        session = self.session_for(user, t0, False)
        inv = self.make_invoice(mode)
        inv_date = (t0 - timedelta(days=r.randint(1, 12))).date()
        doc_id = f"DOC-{r.randint(2000000, 2999999)}"
        # how the PO is printed on the paper
        po_printed = None
        if inv["po"]:
            if mode == "po_number_format_mismatch":
                po_printed = r.choice([f"PO-{inv['po']}", f"{inv['po'][:4]} {inv['po'][4:7]} {inv['po'][7:]}", f"000{inv['po']}",
                                       f"{inv['po']}/10", f"Best.-Nr. {inv['po']}-001", f"PO#{inv['po']}"])
            else:
                po_printed = r.choice([inv["po"], inv["po"], f"PO-{inv['po']}", f"{inv['po'][:4]} {inv['po'][4:7]} {inv['po'][7:]}", f"000{inv['po']}"])
        text, f = self.ocr_text(inv, inv_date, po_printed)
        task = {"task": "process_invoice", "document_id": doc_id, "channel": r.choice(["ap-inbox@kestrel", "edi-scan", "supplier-portal"]),
                "received_at": (t0 - timedelta(minutes=r.randint(1, 300))).isoformat()}
        if user != "svc-ap-inbox":
            task = {"role": "user", "content": r.choice([f"Please process {doc_id} again, it was stuck", f"process invoice {inv['number']} from {inv['vendor']}",
                                                        f"can you book the {inv['vendor']} invoice I just uploaded ({doc_id})"])}
        root_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "tally-supervisor",
                      "gen_ai.conversation.id": session, "enduser.id": user, "tally.request.kind": "invoice",
                      "tally.document.id": doc_id, "gen_ai.input.messages": jd([task] if isinstance(task, dict) and "role" in task else [{"role": "user", "content": jd(task)}])}
        if r.random() < 0.35:
            root_attrs["openinference.span.kind"] = "AGENT"
            root_attrs["session.id"] = session
            root_attrs["user.id"] = user
        root, rsp = T.span("tally.agents", "invoke_agent tally-supervisor", None, root_attrs, 1, kind=2, start=t0)
        T.t = t0 + timedelta(milliseconds=r.randint(5, 30))
        if r.random() < 0.5:
            self.llm(T, root, "tally-supervisor", SUPERVISOR_MODEL, [{"role": "system", "content": "You are Tally, the AP supervisor. Plan the steps for the work item."}, task if "role" in task else {"role": "user", "content": jd(task)}],
                     {"plan": ["extract", "match_and_code", "route_or_post"]}, in_tok=r.randint(400, 900), out_tok=r.randint(30, 90))

        # --- extraction
        ex, exsp = self.agent_span(T, root, "tally-extractor")
        self.tool(T, ex, "tally-extractor", "docs.fetch_ocr", {"document_id": doc_id},
                  {"document_id": doc_id, "pages": 1 + len(inv["lines"]) // 14, "ocr_engine": "abbyy-fc-12", "chars": len(text), "text": text[:1500] + ("…" if len(text) > 1500 else "")},
                  dur=r.randint(300, 2400))
        # extraction profile: "fast" (small context budget, used for the supplier portal and some inbox runs) or "standard"
        tot_pos = max(text.find("Nettobetrag"), text.find("Subtotal"))
        iban_pos = text.find("IBAN")
        fast = task.get("channel") == "supplier-portal" or r.random() < 0.2
        if mode == "ocr_context_truncated":
            fast = True
        elif fast and iban_pos > 3000:
            fast = False  # healthy: the router picks the standard profile for long documents
        budget = 3000 if fast else r.choice([16000, 24000])
        shown = text
        ctx_attrs = {"tally.context.profile": "fast" if fast else "standard", "tally.context.source_chars": len(text), "tally.context.budget_chars": budget}
        if len(text) > budget:
            cut = text.rfind("\n", 0, budget)
            shown = text[:cut]
            ctx_attrs["tally.context.kept_chars"] = cut
            style = r.random()
            if style < 0.3:
                shown += "\n[... document truncated to fit context ...]"
            elif style < 0.55:
                shown += f"\n<<{len(text) - cut} chars omitted>>"
            if r.random() < 0.6:
                ctx_attrs["tally.context.truncated"] = True
            if r.random() < 0.5:
                ctx_attrs["tally.context.strategy"] = "head"
        ctx_attrs.setdefault("tally.context.kept_chars", len(shown))
        ctx, ctxsp = T.span("tally.agents", "build_context extraction", ex, dict(ctx_attrs, **({"openinference.span.kind": "CHAIN"} if r.random() < 0.3 else {})), r.randint(2, 25))
        # extraction output
        ext_lines = [dict(pos=l["pos"], description=l["desc"], quantity=l["qty"], unit_price=l["unit_price"], amount=l["amount"]) for l in inv["lines"]]
        ext = {"vendor_name": inv["vendor"], "vendor_vat_id": inv["vat_id"], "invoice_number": inv["number"],
               "invoice_date": inv_date.isoformat(), "po_number": po_printed, "currency": inv["currency"],
               "net_amount": inv["net"], "vat_rate": inv["vat_rate"], "vat_amount": inv["vat"], "gross_amount": inv["gross"],
               "lines": ext_lines}
        misread = None
        if mode == "ocr_context_truncated":
            nvis = sum(1 for l in inv["lines"] if f"{l['pos']:<4} {l['desc'][:34]:<34} {l['qty']:>5}   {f(l['unit_price']):>11}  {f(l['amount']):>11}" in shown)
            ext["lines"] = ext_lines[:nvis]
            ext["net_amount"] = round(sum(l["amount"] for l in ext["lines"]), 2)
            ext["vat_amount"] = round(ext["net_amount"] * inv["vat_rate"], 2)
            ext["gross_amount"] = round(ext["net_amount"] + ext["vat_amount"], 2)
            if r.random() < 0.5:
                ext["notes"] = r.choice(["total not found on document; computed from line items", "totals computed from lines", ""])
        if mode == "amount_misread":
            misread = r.choice(["decimal", "netgross", "currency"] if inv["currency"] != "EUR" else ["decimal", "decimal", "netgross"])
            if misread == "netgross" and not inv["vat_rate"]:
                misread = "currency" if inv["currency"] != "EUR" else "decimal"
            if misread == "decimal" and inv["net"] >= 1000:
                # '12.480,00' read as 12.48 (thousands dot taken as decimal point)
                bad = round(int(inv["gross"]) / 1000, 2)  # '12.480,00' -> 12.48
                ext["gross_amount"] = bad
                ext["net_amount"] = round(bad / (1 + inv["vat_rate"]), 2)
                ext["vat_amount"] = round(bad - ext["net_amount"], 2)
            elif misread == "decimal":
                ext["gross_amount"] = round(inv["gross"] * 100, 2)
                ext["net_amount"] = round(inv["net"] * 100, 2)
                ext["vat_amount"] = round(inv["vat"] * 100, 2)
            elif misread == "netgross" and inv["vat_rate"]:
                ext["net_amount"] = inv["gross"]
                ext["vat_amount"] = round(inv["gross"] * inv["vat_rate"], 2)
                ext["gross_amount"] = round(inv["gross"] + ext["vat_amount"], 2)
            else:
                misread = "currency"
                ext["currency"] = "EUR"
        ext_sys = ("Extract the invoice header and line items as JSON. Amounts as numbers. Keep the PO number exactly as printed.")
        exl, _ = self.llm(T, ex, "tally-extractor", WORKER_MODEL,
                          [{"role": "system", "content": ext_sys}, {"role": "user", "content": shown}], ext, system=ext_sys,
                          in_tok=len(shown) // 3 + 200, out_tok=120 + 45 * len(ext["lines"]),
                          extra={"tally.extraction.confidence": round(r.uniform(0.82, 0.99), 2)} if r.random() < 0.5 else None)
        T.close(exsp, T.t)
        ex_fail = ctx if mode == "ocr_context_truncated" else exl if mode == "amount_misread" else None

        # --- matching & coding
        mt, mtsp = self.agent_span(T, root, "tally-matcher")
        tools_def = [{"name": "erp.lookup_po", "description": "Look up a purchase order in the ERP.", "parameters": {"po_number": "string"}},
                     {"name": "erp.goods_receipts", "description": "Goods receipts posted against a PO.", "parameters": {"po_number": "string"}},
                     {"name": "fx.rate", "description": "Exchange rate to EUR.", "parameters": {"currency": "string", "date": "string (YYYY-MM-DD)"}},
                     {"name": "tax.validate_vat", "description": "VIES / national VAT ID check.", "parameters": {"vat_id": "string"}},
                     {"name": "ap.duplicate_check", "description": "Look for already-posted invoices that match.", "parameters": {"vendor_no": "string", "invoice_number": "string", "amount": "number"}}]
        match_sys = ("You are the AP matching and coding agent for Kestrel Fluid Systems (company code 1000). Match invoices to POs and goods receipts "
                     "(tolerance 2% / EUR 50), code each line to a GL account and cost center from the chart of accounts: "
                     + ", ".join(f"{k} {v}" for k, v in GL_NAMES.items() if not k.startswith("0")) + ". Route exceptions to the cost-center approver.")
        failing = ex_fail
        error_out = None
        po_found = None
        legit_exc = False
        real_var = None
        final_status = None
        erp_fail = mode == "erp_gateway_timeout"
        transient = (mode is None and r.random() < 0.09)
        if inv["po"]:
            arg = po_printed if mode == "po_number_format_mismatch" else inv["po"]
            real_var = round(r.uniform(3.5, 12.0), 1) if (mode is None and r.random() < 0.06) else None
            self.llm(T, mt, "tally-matcher", WORKER_MODEL, [{"role": "system", "content": match_sys}, {"role": "user", "content": jd({k: ext[k] for k in ("vendor_name", "invoice_number", "po_number", "net_amount", "currency")})}],
                     {"tool_calls": [{"name": "erp.lookup_po", "arguments": {"po_number": arg}}]}, system=match_sys, tools=tools_def,
                     in_tok=r.randint(900, 1600), out_tok=r.randint(20, 60), finish="tool_calls")
            if erp_fail:
                errs = [f"ReadTimeout: ERP gateway sap-gw-0{r.randint(1, 3)} did not respond within 30s",
                        "HTTP 504 Gateway Timeout (upstream: rfc-pool-b)",
                        "RFC_COMMUNICATION_FAILURE: connection to 10.40.2.17 timed out",
                        "ConnectionPool exhausted: 20/20 connections busy after 30000ms"]
                tries = r.randint(2, 4)
                for k in range(tries):
                    e = r.choice(errs)
                    s, _ = self.tool(T, mt, "tally-matcher", "erp.lookup_po", {"po_number": arg}, error=e,
                                     dur=r.choice([30000, 30012, 30007, r.randint(29000, 31000)]), extra={"tally.retry.attempt": k})
                    if failing is None:
                        failing = s
                    T.t += timedelta(milliseconds=r.choice([1000, 2000, 4000, 8000]))
                error_out = "erp_unavailable"
            else:
                if transient:
                    self.tool(T, mt, "tally-matcher", "erp.lookup_po", {"po_number": arg},
                              error=r.choice(["HTTP 503 Service Unavailable", "ReadTimeout after 30s", "RFC_COMMUNICATION_FAILURE: partner not reached"]),
                              dur=r.randint(2000, 30000), extra={"tally.retry.attempt": 0})
                    T.t += timedelta(milliseconds=r.choice([1000, 2000]))
                legit_exc = mode is None and r.random() < 0.04
                if legit_exc:
                    e = r.choice([f"ERP-409: purchase order {arg} is closed (final invoice indicator set)",
                                  f"purchase order {arg} belongs to company code 2000, not 1000",
                                  f"BAPI_PO_GETDETAIL: E ME 045 - Purchase order {arg} is flagged for deletion"])
                    self.tool(T, mt, "tally-matcher", "erp.lookup_po", {"po_number": arg}, error=e)
                    po_found = False
                elif mode == "po_number_format_mismatch":
                    variant = r.random()
                    if variant < 0.55:
                        e = r.choice([f"ERP-404: purchase order '{arg}' not found in company code 1000",
                                      f"PO {arg} does not exist",
                                      f"BAPI_PO_GETDETAIL: E ME 006 - Purchase order {arg} does not exist",
                                      f"invalid po_number '{arg}': expected 10 digits"])
                        s, _ = self.tool(T, mt, "tally-matcher", "erp.lookup_po", {"po_number": arg}, error=e, extra={"tally.retry.attempt": 0} if r.random() < 0.5 else None)
                    else:
                        s, _ = self.tool(T, mt, "tally-matcher", "erp.lookup_po", {"po_number": arg}, {"results": [], "count": 0})
                    failing = s
                    po_found = False
                else:
                    po = {"po_number": inv["po"], "vendor_no": inv["vendor_no"], "company_code": "1000", "currency": inv["currency"],
                          "items": [{"item": l["pos"], "short_text": l["desc"], "qty": l["qty"], "net_price": l["unit_price"]} for l in inv["lines"][:12]],
                          "net_value": inv["net"], "created": (inv_date - timedelta(days=r.randint(10, 60))).isoformat()}
                    if real_var:
                        it = po["items"][0]
                        it["net_price"] = round(it["net_price"] / (1 + real_var / 100), 2)
                        po["net_value"] = round(po["net_value"] - (inv["lines"][0]["unit_price"] - it["net_price"]) * it["qty"], 2)
                    if len(inv["lines"]) > 12:
                        po["items_truncated"] = len(inv["lines"]) - 12
                    self.tool(T, mt, "tally-matcher", "erp.lookup_po", {"po_number": inv["po"]}, po)
                    self.tool(T, mt, "tally-matcher", "erp.goods_receipts", {"po_number": inv["po"]},
                              {"receipts": [{"gr_doc": f"50000{r.randint(10000, 99999)}", "posted": (inv_date - timedelta(days=r.randint(0, 6))).isoformat(),
                                             "qty_total": sum(l["qty"] for l in inv["lines"])}]})
                    po_found = True
        if error_out is None:
            fx_used = None
            if ext["currency"] != "EUR":
                if mode == "stale_fx_rate":
                    rd = inv_date - timedelta(days=r.randint(16, 75))
                    rate = round(FX[inv["currency"]] * r.uniform(0.95, 1.05), 4)
                    src = r.choice(["treasury-cache", "ecb-reference", "fx-cache-v2"])
                else:
                    rd = inv_date - timedelta(days=r.choice([0, 0, 0, 1, 2, 3]))
                    rate = round(FX[inv["currency"]] * r.uniform(0.995, 1.005), 4)
                    src = r.choice(["ecb-reference", "treasury-cache", "ecb-reference"])
                res = {"pair": f"EUR/{inv['currency']}", "rate": rate, "rate_date": rd.isoformat(), "source": src}
                if r.random() < 0.4:
                    res["cached"] = True
                s, _ = self.tool(T, mt, "tally-matcher", "fx.rate", {"currency": inv["currency"], "date": inv_date.isoformat()}, res)
                if mode == "stale_fx_rate":
                    failing = s
                fx_used = (rate, rd)
            if inv["country"] != "US" and r.random() < 0.8:
                self.tool(T, mt, "tally-matcher", "tax.validate_vat", {"vat_id": inv["vat_id"]},
                          {"valid": True, "name": inv["vendor"], "checked_via": "VIES" if inv["country"] not in ("DE", "CH", "GB") else r.choice(["BZSt", "VIES", "local-registry"])})
            dup_hits = []
            legit_dup = mode is None and r.random() < 0.03
            if legit_dup:
                dup_hits = [{"doc": f"51000{r.randint(10000, 99999)}", "invoice_number": inv["number"], "amount": inv["gross"], "posted": (inv_date - timedelta(days=r.randint(2, 40))).isoformat(), "similarity": 1.0}]
            self.tool(T, mt, "tally-matcher", "ap.duplicate_check", {"vendor_no": inv["vendor_no"], "invoice_number": ext["invoice_number"], "amount": ext["gross_amount"]}, {"candidates": dup_hits})
            if r.random() < 0.45:
                rq = "coding guide " + inv["kind"]
                docs = [("GL-CODING-GUIDE 2026 §" + str(r.randint(2, 9)), "Purchased components for pump assembly: 5400. Freight inbound: 6300. Low-value equipment up to EUR 800 net per item: 6815."),
                        ("GL-CODING-GUIDE 2026 §1", "Chart of accounts overview for company code 1000.")]
                ra = {"tally.span.type": "retriever", "tally.retrieval.query": rq, "tally.retrieval.index": "gl-coding-guide"}
                if r.random() < 0.5:
                    ra["openinference.span.kind"] = "RETRIEVER"
                    for i, (did, c) in enumerate(docs):
                        ra[f"retrieval.documents.{i}.document.id"] = did
                        ra[f"retrieval.documents.{i}.document.content"] = c
                        ra[f"retrieval.documents.{i}.document.score"] = round(0.8 - 0.1 * i + r.uniform(-0.05, 0.05), 3)
                else:
                    ra["tally.retrieval.results"] = jd([{"id": d, "text": c} for d, c in docs])
                T.span("tally.agents", "retrieve gl-coding-guide", mt, ra, r.randint(40, 300))
            # coding
            coding = []
            wrong_capex = False
            for l in ext["lines"]:
                gl = l.get("gl") or next((x["gl"] for x in inv["lines"] if x["pos"] == l["pos"]), "5400")
                if mode == "capex_coded_as_expense" and gl in CAPEX_WRONG:
                    gl = r.choice(CAPEX_WRONG[gl])
                    wrong_capex = True
                coding.append({"pos": l["pos"], "gl_account": gl, "gl_name": GL_NAMES[gl], "cost_center": COST_CENTERS[inv["kind"]],
                               "tax_code": ("V19" if inv["vat_rate"] else ("RC19" if inv["country"] in ("SE", "CZ", "PL", "IT", "NL") else "E0")),
                               "amount": l["amount"]})
            cc = COST_CENTERS[inv["kind"]]
            # decide outcome
            variance = None
            if po_found and inv["po"] and real_var:
                variance = round((inv["net"] - po["net_value"]) / po["net_value"] * 100, 1)
                if abs(variance) <= 2:
                    variance = None
            if po_found and mode in ("ocr_context_truncated", "amount_misread") and ext["net_amount"] != inv["net"]:
                variance = round((ext["net_amount"] - inv["net"]) / inv["net"] * 100, 1)
            if legit_dup:
                decision = {"status": "blocked_duplicate", "reason": f"invoice {inv['number']} already posted as {dup_hits[0]['doc']}"}
            elif po_found is False:
                decision = {"status": "exception", "reason": r.choice(["no purchase order found; treat as non-PO invoice", "PO not found in ERP, route to cost-center approver",
                                                                        "PO reference could not be matched"]) if not legit_exc else r.choice(["PO closed or in another company code; needs buyer decision",
                                                                        "referenced PO is not open for invoicing, route to buyer"]), "route_to": APPROVERS[cc]}
            elif variance is not None and abs(variance) > 2 and (real_var or r.random() < 0.6):
                decision = {"status": "on_hold", "reason": f"price variance {variance:+.1f}% vs PO net value {inv['net']:.2f}", "route_to": APPROVERS[cc]}
            elif not inv["po"]:
                decision = {"status": "approval_requested", "reason": "non-PO invoice", "route_to": APPROVERS[cc]}
            else:
                decision = {"status": "matched", "match": "3-way", "tolerance_check": "ok"}
            out = {"match": decision, "coding": coding}
            if fx_used:
                out["fx"] = {"rate": fx_used[0], "rate_date": fx_used[1].isoformat(), "amount_eur": round(ext["gross_amount"] / fx_used[0], 2)}
            code_msgs = [{"role": "system", "content": match_sys},
                         {"role": "user", "content": jd({"invoice": {k: ext[k] for k in ("invoice_number", "currency", "net_amount", "vat_amount", "gross_amount")}, "lines": [{"pos": l["pos"], "description": l["description"], "amount": l["amount"]} for l in ext["lines"]][:40], "po_found": po_found})}]
            cs, _ = self.llm(T, mt, "tally-matcher", WORKER_MODEL, code_msgs, out, system=match_sys, in_tok=r.randint(1400, 4200), out_tok=80 + 40 * len(coding))
            if mode == "capex_coded_as_expense":
                failing = cs
            T.close(mtsp, T.t)
            # --- route / post
            posted_doc = None
            if decision["status"] == "matched":
                posted_doc = f"51000{r.randint(10000, 99999)}"
                amount_eur = out["fx"]["amount_eur"] if fx_used else ext["gross_amount"]
                self.tool(T, root, "tally-supervisor", "erp.post_invoice", {"document_id": doc_id, "vendor_no": inv["vendor_no"], "amount": ext["gross_amount"],
                                                                            "currency": ext["currency"], "coding": [{k: c[k] for k in ("gl_account", "cost_center", "tax_code", "amount")} for c in coding]},
                          {"fi_document": posted_doc, "fiscal_year": 2026, "posted_amount_eur": amount_eur}, dur=r.randint(400, 3000))
                final_status = "posted"
            elif decision["status"] != "blocked_duplicate":
                self.tool(T, root, "tally-supervisor", "workflow.route_approval", {"document_id": doc_id, "approver": decision["route_to"].split(" ")[0], "reason": decision["reason"]},
                          {"workitem": f"WI-{r.randint(100000, 999999)}", "status": "sent"})
                final_status = decision["status"]
            else:
                final_status = "blocked_duplicate"
            summary = {"document_id": doc_id, "vendor": inv["vendor"], "invoice_number": inv["number"], "status": final_status,
                       "gross": ext["gross_amount"], "currency": ext["currency"]}
            if posted_doc:
                summary["fi_document"] = posted_doc
            if decision.get("reason"):
                summary["reason"] = decision["reason"]
            output = summary
        else:
            T.close(mtsp, T.t)
            self.tool(T, root, "tally-supervisor", "queue.requeue", {"document_id": doc_id, "delay_minutes": r.choice([30, 60, 120])}, {"queued": True})
            output = {"document_id": doc_id, "status": "parked", "reason": r.choice(["ERP not reachable, re-queued for next run", "ERP timeout; will retry at 14:00 batch", "could not reach ERP after retries"])}
            if not inv["po"]:
                pass
        if erp_fail and not inv["po"]:
            # non-PO invoice: failure hits the posting call instead
            pass

        # --- judge (sampled)
        scores = []
        judged = (mode == "judge_false_fail") or (error_out is None and r.random() < 0.55)
        if judged and error_out is None:
            if mode == "judge_false_fail":
                c0 = coding[0]
                reason = r.choice([f"Cost center missing on line {c0['pos']}; coding incomplete.",
                                   f"Account {c0['gl_account']} ({c0['gl_name']}) is not valid for this kind of spend.",
                                   f"Tax code {c0['tax_code']} inconsistent with supplier country {inv['country']}.",
                                   "Line amounts do not sum to the invoice net amount.",
                                   f"Expected account 6300 for {c0['gl_name'].lower()} items."])
                sc = round(r.uniform(0.1, 0.38), 2)
            else:
                sc = round(min(1.0, r.gauss(0.86, 0.08)), 2)
                if mode == "capex_coded_as_expense" and r.random() < 0.5:
                    sc = round(r.uniform(0.7, 0.92), 2)
                reason = "Coding consistent with chart of accounts and PO." if sc > 0.7 else r.choice(["Acceptable; description of line 1 is vague.", "OK but cost center inferred, not stated on invoice."])
                if sc < 0.5:
                    sc = round(r.uniform(0.55, 0.68), 2)
            ja = {"tally.span.type": "evaluator", "gen_ai.operation.name": "chat" if r.random() < 0.5 else None, "gen_ai.system": "anthropic", "gen_ai.request.model": JUDGE_MODEL[0], "gen_ai.response.model": JUDGE_MODEL[1],
                  "tally.eval.name": "gl-coding-judge", "tally.eval.score": sc, "tally.eval.reason": reason, "tally.eval.threshold": 0.6,
                  "gen_ai.usage.input_tokens": r.randint(1500, 3000), "gen_ai.usage.output_tokens": r.randint(40, 140),
                  "tally.eval.input": jd({"coding": coding, "invoice_lines": [{"pos": l["pos"], "description": l["description"], "amount": l["amount"]} for l in ext["lines"]][:10]})}
            if r.random() < 0.4:
                ja["openinference.span.kind"] = "EVALUATOR"
            js, _ = T.span("tally.eval", "evaluate gl-coding-judge", root, ja, r.randint(1500, 5000))
            if mode == "judge_false_fail":
                failing = js
            scores.append(("gl-coding-judge", sc))

        end = T.t
        rsp["endTimeUnixNano"] = ns(end)
        rsp["attributes"] += attrs({"gen_ai.output.messages": jd([{"role": "assistant", "content": jd(output)}]), "tally.invoice.status": output["status"]})
        if any(a["key"] == "openinference.span.kind" for a in rsp["attributes"]):
            rsp["attributes"] += attrs({"output.value": jd(output), "input.value": jd(task)})
        if error_out:
            rsp["status"] = {"code": 2, "message": "erp unavailable"}

        # --- feedback
        fb = []
        fbt = end + timedelta(minutes=r.randint(3, 600))
        acct = r.choice(ACCOUNTANTS)
        def add(kind, actor, comment=None, value=None, t=None, name="tally.feedback"):
            a = {"tally.feedback.kind": kind, "tally.feedback.actor": actor, "tally.feedback.value": value, "tally.feedback.comment": comment}
            fb.append(ev(name, t or fbt, a))
        if mode == "po_number_format_mismatch" and r.random() < 0.4:
            add(r.choice(["reject_match", "comment"]), acct, r.choice([f"PO {inv['po']} exists and is fully received. Why was this sent to {APPROVERS[COST_CENTERS[inv['kind']]].split(' ')[0]} as non-PO??",
                                                                     f"this has a PO ({inv['po']}), please match it", "wrong workflow - invoice references a valid PO", "Bestellung existiert, bitte zuordnen"]))
        elif mode == "amount_misread" and r.random() < 0.55:
            add("reconciliation_flag", "recon-job", (f"Booked as EUR {ext['gross_amount']:.2f} but supplier statement and invoice image are in {inv['currency']}" if misread == "currency" else None) or r.choice([f"Posted amount {ext['gross_amount']:.2f} differs from supplier statement {inv['gross']:.2f} for {inv['number']}",
                                                               f"Open item mismatch with {inv['vendor']} statement: {inv['number']}",
                                                               f"Payment run proposal differs from invoice image total ({inv['currency']} {inv['gross']:.2f})"]),
                t=end + timedelta(days=r.randint(1, 4)), name="tally.reconciliation")
        elif mode == "stale_fx_rate" and r.random() < 0.3:
            add("reconciliation_flag", "recon-job", f"FX difference on payment of {inv['number']}: booked at {fx_used[0]} ({fx_used[1].isoformat()}), bank rate differs by {r.uniform(1.2, 4.8):.1f}%",
                t=end + timedelta(days=r.randint(2, 6)), name="tally.reconciliation")
        elif mode == "ocr_context_truncated" and r.random() < 0.45:
            if output.get("status") == "posted":
                add(r.choice(["comment", "correction"]), acct, r.choice(["only part of the lines were picked up", f"invoice total is {inv['currency']} {inv['gross']:.2f}, not what Tally booked",
                                                                     "line items missing from page 2", "posted amount too low, rest of invoice missing"]))
            else:
                add(r.choice(["reject_match", "comment"]), acct, r.choice(["why is this on hold? PO and invoice agree", "false variance - the invoice matches the PO exactly",
                                                                         f"total on the paper is {inv['gross']:.2f}, released manually"]))
        elif mode == "capex_coded_as_expense" and r.random() < 0.7:
            big = next(c for c in coding if c["gl_account"] in ("6450", "6815", "6520"))
            add("override_coding", acct, r.choice([f"Pos {big['pos']} must be capitalised (asset class 0440/0650), above the EUR 800 threshold",
                                                   "this is an asset, not an expense - recoded", f"recoded {big['gl_account']} -> asset account, please create AuC", "aktivierungspflichtig!"]),
                value=0)
        elif mode == "judge_false_fail" and r.random() < 0.5:
            add("approve_coding", acct, r.choice([None, "coding ok", "fine", None]), value=1)
        elif mode is None:
            roll = r.random()
            if roll < 0.22:
                add("approve_coding", acct, None, value=1)
            elif roll < 0.26:
                add("comment", acct, r.choice(["ok", "thanks", "booked, good", "checked against statement"]))
            elif healthy_flags.get("unrelated_down"):
                add("thumb", acct, r.choice(["the workflow mail went to my old address", "took ages this morning", "can we get the PDF link in the summary?",
                                             "the inbox scanner is rotating pages again"]), value=0)
        if fb:
            rsp["events"] = fb
        return T, labels, failing, output

    # ------------------------------------------------------------------ chat world
    def chat_trace(self, mode, healthy_flags):
        r = self.rng
        t0 = self.when()
        T = Trace(r, t0)
        user = r.choice(ACCOUNTANTS)
        session = self.session_for(user, t0, True)
        vendor = r.choice(VENDORS)
        inv_no = f"{r.randint(80000, 99999)}"
        history = []
        failing = None
        if mode is None:
            kind = r.choices(["data", "policy", "concept", "followup", "status"], [0.35, 0.15, 0.1, 0.2, 0.2])[0]
        elif mode == "erp_gateway_timeout":
            kind = r.choice(["data", "status", "followup"])
        else:
            kind = {"followup_drops_constraint": "followup", "outdated_policy_ranked_first": "policy",
                    "data_question_answered_directly": "data_direct", "unsupported_ap_action": "unsupported"}[mode]
        # build question
        pol = None
        constraints = []
        if kind in ("data", "data_direct"):
            q, sql, ans_fn = self.data_question(vendor)
        elif kind == "status":
            q = r.choice([f"why is invoice {inv_no} on hold?", f"What's the status of {vendor[0]} invoice {inv_no}?", f"is {inv_no} paid yet?"])
            sql = f"SELECT i.belnr, i.status, i.hold_reason, i.gross_amount, i.due_date FROM ap_invoices i WHERE i.ext_invoice_no = '{inv_no}'"
            hold = r.choice(["price variance +4.2% on pos 20", "missing goods receipt", "awaiting approval by c.roth", None])
            amt = round(r.uniform(300, 40000), 2)
            ans_fn = lambda rows: (f"Invoice {inv_no} is on hold: {hold}. Gross EUR {fmt_en(amt)}." if hold else f"Invoice {inv_no} is released for payment, due {(t0 + timedelta(days=9)).date().isoformat()}.")
            rows = [{"belnr": f"51000{r.randint(10000, 99999)}", "status": "HOLD" if hold else "RELEASED", "hold_reason": hold, "gross_amount": amt}]
        elif kind == "followup":
            q, sql, history, constraints, bad_sql, ans_fn = self.followup(vendor, mode == "followup_drops_constraint")
        elif kind == "policy":
            pol = r.choice(POLICIES)
            q = r.choice(pol["qs"])
        elif kind == "concept":
            q, cans = r.choice(CONCEPT_QS)
        elif kind == "unsupported":
            tmpl, cap = r.choice(UNSUPPORTED)
            q = tmpl.format(inv=inv_no, vendor=vendor[0], d5=r.randint(10000, 99999))
        if not history and r.random() < 0.25:
            # unrelated earlier small talk in the same session
            history = list(r.choice([[{"role": "user", "content": "morning"}, {"role": "assistant", "content": "Good morning! What can I look up for you?"}],
                                     [{"role": "user", "content": "thanks, that helped"}, {"role": "assistant", "content": "You're welcome."}],
                                     [{"role": "user", "content": "are you working today? last week you were super slow"}, {"role": "assistant", "content": "I'm available - what do you need?"}],
                                     [{"role": "user", "content": "hi tally"}, {"role": "assistant", "content": "Hi! How can I help?"}]]))
        msgs = history + [{"role": "user", "content": q}]
        root_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "tally-supervisor",
                      "gen_ai.conversation.id": session, "enduser.id": user, "tally.request.kind": "chat",
                      "tally.chat.turn": len(history) // 2 + 1, "gen_ai.input.messages": jd(msgs)}
        if r.random() < 0.35:
            root_attrs.update({"openinference.span.kind": "AGENT", "session.id": session, "user.id": user, "input.value": q})
        root, rsp = T.span("tally.agents", "invoke_agent tally-supervisor", None, root_attrs, 1, kind=2, start=t0)
        T.t = t0 + timedelta(milliseconds=r.randint(5, 30))
        # router
        route = {"data": "query_agent", "status": "query_agent", "followup": "query_agent", "policy": "policy_lookup",
                 "concept": "direct_answer", "data_direct": "direct_answer", "unsupported": r.choice(["direct_answer", "query_agent", "direct_answer"])}[kind]
        conf = round(r.uniform(0.55, 0.8), 2) if kind == "data_direct" else round(r.uniform(0.78, 0.99), 2)
        ra = {"tally.span.type": "router", "tally.route.decision": route, "tally.route.confidence": conf,
              "tally.route.candidates": ["query_agent", "policy_lookup", "invoice_pipeline", "direct_answer"]}
        if r.random() < 0.5:
            ra["gen_ai.request.model"] = SUPERVISOR_MODEL[0]
            ra["gen_ai.usage.input_tokens"] = r.randint(500, 1500)
            ra["gen_ai.usage.output_tokens"] = r.randint(10, 40)
        rs, _ = T.span("tally.agents", "route_request", root, ra, r.randint(300, 1400))
        if mode == "data_question_answered_directly":
            failing = rs
        output = None
        error_out = False
        if route == "query_agent" and kind != "unsupported":
            qa, qasp = self.agent_span(T, root, "tally-query")
            if history:
                ca = {"tally.context.history_turns": len(history) // 2, "tally.context.history_tokens": r.randint(200, 2400), "tally.context.window_tokens": 32000}
                T.span("tally.agents", "build_context chat_history", qa, ca, r.randint(1, 12))
            qsys = "You write read-only SQL (PostgreSQL dialect) against the AP reporting schema ap_invoices, ap_payments, vendors. Respect all filters the user set in the conversation."
            use_sql = bad_sql if mode == "followup_drops_constraint" else sql if kind in ("data", "status", "followup") else sql
            ls, _ = self.llm(T, qa, "tally-query", SUPERVISOR_MODEL, [{"role": "system", "content": qsys}] + msgs,
                             {"tool_calls": [{"name": "erp.sql_readonly", "arguments": {"query": use_sql}}]}, system=qsys,
                             tools=[{"name": "erp.sql_readonly", "description": "Run a read-only SQL query against the AP reporting replica.", "parameters": {"query": "string", "max_rows": "integer"}}],
                             finish="tool_calls")
            if mode == "followup_drops_constraint":
                failing = ls
            if mode == "erp_gateway_timeout":
                for k in range(r.randint(2, 3)):
                    s, _ = self.tool(T, qa, "tally-query", "erp.sql_readonly", {"query": use_sql, "max_rows": 200},
                                     error=r.choice(["psycopg.errors.QueryCanceled: canceling statement due to statement timeout",
                                                     "ReadTimeout: ap-replica.kestrel.internal:5432 no response in 30s",
                                                     "HTTP 504 from erp-query-gw", "OperationalError: could not connect to server: Connection timed out"]),
                                     dur=r.randint(29500, 30500), extra={"tally.retry.attempt": k})
                    failing = failing or s
                    T.t += timedelta(milliseconds=r.choice([1000, 2000, 5000]))
                error_out = True
                output = r.choice(["Sorry, I couldn't reach the ERP reporting database just now. Please try again in a few minutes.",
                                   "The ERP query timed out several times, so I can't give you the figure right now.",
                                   "I wasn't able to get an answer - the AP database is not responding."])
                self.llm(T, qa, "tally-query", SUPERVISOR_MODEL, [{"role": "system", "content": "Answer the accountant concisely using the query result."}] + msgs
                         + [{"role": "tool", "content": "error: query did not complete"}], output, in_tok=r.randint(400, 1500), out_tok=r.randint(20, 60))
                T.close(qasp, T.t)
            else:
                if mode is None and r.random() < 0.07:
                    self.tool(T, qa, "tally-query", "erp.sql_readonly", {"query": use_sql, "max_rows": 200}, error="HTTP 503 Service Unavailable", dur=r.randint(100, 3000), extra={"tally.retry.attempt": 0})
                if r.random() < 0.12:
                    # the model first writes SQL against a wrong column/table and corrects itself (can be several rounds)
                    for k in range(r.randint(1, 3)):
                        badcol = r.choice(["vendor_name", "amount_eur", "due", "state", "supplier_id", "inv_date"])
                        wrong = use_sql.replace("vendor_no", "supplier_id") if k == 0 and "vendor_no" in use_sql else use_sql.replace("SELECT ", f"SELECT {badcol}, ", 1)
                        self.tool(T, qa, "tally-query", "erp.sql_readonly", {"query": wrong, "max_rows": 200},
                                  error=r.choice([f'psycopg.errors.UndefinedColumn: column "{badcol}" does not exist', f'ERROR: column "{badcol}" does not exist',
                                                  'ERROR: column "supplier_id" does not exist' if "supplier_id" in wrong else f'ERROR: column "{badcol}" must appear in the GROUP BY clause']),
                                  dur=r.randint(20, 300))
                        self.llm(T, qa, "tally-query", SUPERVISOR_MODEL, [{"role": "system", "content": qsys}] + msgs + [{"role": "tool", "content": "error: column does not exist"}],
                                 {"tool_calls": [{"name": "erp.sql_readonly", "arguments": {"query": use_sql}}]}, finish="tool_calls")
                if kind == "status":
                    res = {"rows": rows, "row_count": 1}
                    ans = ans_fn(rows)
                else:
                    res, ans = ans_fn(use_sql)
                self.tool(T, qa, "tally-query", "erp.sql_readonly", {"query": use_sql, "max_rows": 200}, res, dur=r.randint(80, 4000))
                self.llm(T, qa, "tally-query", SUPERVISOR_MODEL, [{"role": "system", "content": "Answer the accountant concisely using the query result."}] + msgs + [{"role": "tool", "content": jd(res)}], ans)
                output = ans
                T.close(qasp, T.t)
        elif route == "policy_lookup":
            qa, qasp = self.agent_span(T, root, "tally-query")
            old, new = pol["old"], pol["new"]
            outdated = mode == "outdated_policy_ranked_first"
            docs = []
            if outdated:
                docs = [(old, round(r.uniform(0.84, 0.92), 3)), (new, round(r.uniform(0.76, 0.84), 3))]
            else:
                docs = [(new, round(r.uniform(0.84, 0.93), 3))]
                if r.random() < 0.55:
                    docs.append((old, round(r.uniform(0.7, 0.83), 3)))
            if r.random() < 0.6:
                docs.append((("AP-FAQ internal wiki", "2025-10-02", "See the policy documents for binding rules. Questions to ap-team@kestrel."), round(r.uniform(0.5, 0.7), 3)))
            ra = {"tally.span.type": "retriever", "tally.retrieval.query": q, "tally.retrieval.index": "ap-policies", "tally.retrieval.top_k": 3}
            if r.random() < 0.55:
                ra["openinference.span.kind"] = "RETRIEVER"
                for i, ((title, date, text), sc) in enumerate(docs):
                    ra[f"retrieval.documents.{i}.document.id"] = title
                    ra[f"retrieval.documents.{i}.document.content"] = text
                    ra[f"retrieval.documents.{i}.document.score"] = sc
                    ra[f"retrieval.documents.{i}.document.metadata"] = jd({"effective_from": date, "owner": "AP team"})
            else:
                ra["tally.retrieval.results"] = jd([{"doc": t, "effective": d, "score": s, "snippet": x} for (t, d, x), s in docs])
            rts, _ = T.span("tally.agents", "retrieve ap-policies", qa, ra, r.randint(60, 400))
            if outdated:
                failing = rts
                ans = pol["old_ans"] + r.choice([f" (source: {old[0]})", "", f" See {old[0]}."])
            else:
                ans = pol["new_ans"]
            self.llm(T, qa, "tally-query", SUPERVISOR_MODEL, [{"role": "system", "content": "Answer from the retrieved policy excerpts."}] + msgs
                     + [{"role": "user", "content": "Context:\n" + "\n".join(f"[{t} | effective {d}] {x}" for (t, d, x), _ in docs)}], ans)
            output = ans
            T.close(qasp, T.t)
        else:
            # direct answer by supervisor
            if kind == "concept":
                ans = cans
            elif kind == "data_direct":
                ans = self.fabricated_answer(q, vendor)
            else:  # unsupported
                ans, failing = self.unsupported(T, root, q, cap)
            if True:
                ls, _ = self.llm(T, root, "tally-supervisor", SUPERVISOR_MODEL,
                                 [{"role": "system", "content": "You are Tally, the AP assistant. Tools: invoice pipeline (extract, match, code, post), read-only ERP queries, AP policy search."}] + msgs, ans)
                if kind == "unsupported" and failing is None:
                    failing = ls
            output = ans
        end = T.t
        rsp["endTimeUnixNano"] = ns(end)
        rsp["attributes"] += attrs({"gen_ai.output.messages": jd([{"role": "assistant", "content": output}])})
        if any(a["key"] == "openinference.span.kind" for a in rsp["attributes"]):
            rsp["attributes"] += attrs({"output.value": output})
        if error_out:
            rsp["status"] = {"code": 2, "message": "query failed"}
        # groundedness judge sampled
        if r.random() < 0.3 and not error_out:
            sc = round(min(1.0, r.gauss(0.84, 0.09)), 2)
            if mode == "data_question_answered_directly" and r.random() < 0.5:
                sc = round(r.uniform(0.3, 0.55), 2)
            ja = {"tally.span.type": "evaluator", "tally.eval.name": "answer-groundedness", "tally.eval.input": jd({"question": q, "answer": output}), "tally.eval.score": sc, "gen_ai.request.model": JUDGE_MODEL[0],
                  "tally.eval.reason": "answer supported by tool output" if sc > 0.6 else "figures not traceable to any tool output"}
            T.span("tally.eval", "evaluate answer-groundedness", root, ja, r.randint(900, 3000))
            rsp["endTimeUnixNano"] = ns(T.t)
        # feedback
        fb = []
        fbt = end + timedelta(seconds=r.randint(5, 900))
        def add(kind_, value=None, comment=None):
            a = {"tally.feedback.kind": kind_, "tally.feedback.actor": user, "tally.feedback.value": value, "tally.feedback.comment": comment}
            fb.append(ev("tally.feedback", fbt, a))
        p = {"followup_drops_constraint": 0.55, "outdated_policy_ranked_first": 0.35, "data_question_answered_directly": 0.45,
             "unsupported_ap_action": 0.4, "erp_gateway_timeout": 0.3}.get(mode, 0)
        if mode and r.random() < p:
            cm = {"followup_drops_constraint": [f"you dropped '{constraints[0]}'" if constraints else "you dropped my filter", "you forgot the filter from before", "that number is way too high",
                                                "wrong number, this includes other vendors", None],
                  "outdated_policy_ranked_first": ["that's the old rule, the matrix changed this year", "outdated", "not current policy", None],
                  "data_question_answered_directly": ["where does this number come from?", "this doesn't match the ERP at all", "made up?", None],
                  "unsupported_ap_action": ["it didn't actually do anything", "useless", "so who can do it then?", None],
                  "erp_gateway_timeout": ["again down", "ERP timeouts all morning", None]}[mode]
            if r.random() < 0.6:
                add("thumb", 0, r.choice(cm))
            else:
                add("comment", None, r.choice([c for c in cm if c]))
        elif mode is None:
            roll = r.random()
            if roll < 0.25:
                add("thumb", 1, r.choice([None, None, "thanks", "perfect"]))
            elif healthy_flags.get("unrelated_down"):
                add("thumb", 0, r.choice(["answer is right but please give it as a table", "too slow", "I meant to ask something else, my bad",
                                          "can you link the document next time?", "German please"]))
        if fb:
            rsp["events"] = fb
        return T, None, failing, output

    def data_question(self, vendor):
        r = self.rng
        v = vendor[0]
        kind = r.randint(0, 3)
        if kind == 0:
            q = r.choice([f"What do we owe {v} this month?", f"how much is open with {v} due in November?", f"total payable to {v} for Nov?"])
            sql = f"SELECT SUM(open_amount_eur) FROM ap_invoices i JOIN vendors v ON v.vendor_no = i.vendor_no WHERE v.name = '{v}' AND i.due_date BETWEEN '2026-11-01' AND '2026-11-30' AND i.status <> 'PAID'"
        elif kind == 1:
            q = r.choice([f"how many invoices from {v} are on hold?", f"list held invoices for {v}"])
            sql = f"SELECT ext_invoice_no, hold_reason, gross_amount FROM ap_invoices WHERE vendor_no = '{vendor[4]}' AND status = 'HOLD'"
        elif kind == 2:
            q = r.choice(["What's our total open AP past due?", "how much is overdue overall?", "overdue payables total by currency?"])
            sql = "SELECT currency, SUM(open_amount) FROM ap_invoices WHERE due_date < CURRENT_DATE AND status <> 'PAID' GROUP BY currency"
        else:
            q = r.choice([f"When did we last pay {v}?", f"last payment to {v}?"])
            sql = f"SELECT MAX(payment_date), amount FROM ap_payments WHERE vendor_no = '{vendor[4]}' GROUP BY amount ORDER BY 1 DESC LIMIT 1"
        amt = round(r.uniform(800, 180000), 2)
        n = r.randint(0, 7)
        def fn(s, kind=kind, amt=amt, n=n):
            if kind == 0:
                return {"rows": [{"sum": amt}], "row_count": 1}, f"You owe {v} EUR {fmt_en(amt)} due this month (open, not yet paid)."
            if kind == 1:
                rows = [{"ext_invoice_no": f"{r.randint(10000, 99999)}", "hold_reason": r.choice(["price variance", "missing GR", "approval pending"]), "gross_amount": round(r.uniform(100, 9000), 2)} for _ in range(n)]
                return {"rows": rows, "row_count": n}, (f"{n} invoice(s) from {v} are on hold: " + "; ".join(f"{x['ext_invoice_no']} ({x['hold_reason']})" for x in rows)) if n else f"No invoices from {v} are on hold."
            if kind == 2:
                return {"rows": [{"currency": "EUR", "sum": amt}, {"currency": "USD", "sum": round(amt / 9, 2)}], "row_count": 2}, f"Past-due open AP: EUR {fmt_en(amt)} and USD {fmt_en(round(amt / 9, 2))}."
            d = (self.base - timedelta(days=r.randint(3, 40))).date().isoformat()
            return {"rows": [{"max": d, "amount": amt}], "row_count": 1}, f"The last payment to {v} was on {d}, EUR {fmt_en(amt)}."
        return q, sql, fn

    def fabricated_answer(self, q, vendor):
        r = self.rng
        v = vendor[0]
        return r.choice([f"We currently owe {v} about EUR {fmt_en(round(r.uniform(2000, 90000), 2))} this month.",
                         f"{v} has {r.randint(1, 5)} invoices on hold, mainly for price variances.",
                         "Total past-due AP is around EUR " + fmt_en(round(r.uniform(50000, 400000), -2)) + ".",
                         f"The last payment to {v} went out on {(self.base - timedelta(days=r.randint(2, 20))).date().isoformat()}.",
                         f"As far as I know all {v} invoices are paid and nothing is open."])

    def followup(self, vendor, drop):
        r = self.rng
        v, vno = vendor[0], vendor[4]
        scen = r.randint(0, 3)
        if scen == 0:
            hist = [{"role": "user", "content": f"show me open invoices from {v}"},
                    {"role": "assistant", "content": f"{v} has {r.randint(3, 9)} open invoices totalling EUR {fmt_en(round(r.uniform(5000, 60000), 2))}."},
                    {"role": "user", "content": "only the ones that are past due"},
                    {"role": "assistant", "content": f"{r.randint(1, 3)} of them are past due."}]
            q = r.choice(["and what's the total of those?", "how much is that in total?", "sum please"])
            good = f"SELECT SUM(open_amount_eur) FROM ap_invoices WHERE vendor_no = '{vno}' AND status <> 'PAID' AND due_date < CURRENT_DATE"
            bad = r.choice([f"SELECT SUM(open_amount_eur) FROM ap_invoices WHERE status <> 'PAID' AND due_date < CURRENT_DATE",
                            f"SELECT SUM(open_amount_eur) FROM ap_invoices WHERE vendor_no = '{vno}' AND status <> 'PAID'"])
            cons = [v, "past due"]
        elif scen == 1:
            hist = [{"role": "user", "content": f"What did we spend with {v} in October? Exclude credit notes."},
                    {"role": "assistant", "content": f"October invoices from {v}, excluding credit notes: EUR {fmt_en(round(r.uniform(3000, 50000), 2))}."}]
            q = r.choice(["and in September?", "same for September", "what about Q3?"])
            period = ("2026-09-01", "2026-09-30") if "Q3" not in q else ("2026-07-01", "2026-09-30")
            good = f"SELECT SUM(net_amount_eur) FROM ap_invoices WHERE vendor_no = '{vno}' AND doc_type <> 'CREDIT_NOTE' AND invoice_date BETWEEN '{period[0]}' AND '{period[1]}'"
            bad = f"SELECT SUM(net_amount_eur) FROM ap_invoices WHERE vendor_no = '{vno}' AND invoice_date BETWEEN '{period[0]}' AND '{period[1]}'"
            cons = ["excluding credit notes", v]
        elif scen == 2:
            hist = [{"role": "user", "content": "We're only looking at company code 2000 (the Czech plant) today."},
                    {"role": "assistant", "content": "Understood, company code 2000."},
                    {"role": "user", "content": f"how many invoices are waiting for approval?"},
                    {"role": "assistant", "content": f"{r.randint(4, 30)} invoices in company code 2000 are waiting for approval."}]
            q = r.choice(["which approver has the most?", "who is sitting on most of them?", "break that down by approver"])
            good = "SELECT approver, COUNT(*) FROM ap_invoices WHERE company_code = '2000' AND status = 'APPROVAL' GROUP BY approver ORDER BY 2 DESC"
            bad = "SELECT approver, COUNT(*) FROM ap_invoices WHERE status = 'APPROVAL' GROUP BY approver ORDER BY 2 DESC"
            cons = ["company code 2000"]
        else:
            hist = [{"role": "user", "content": f"Let's look at {v}, amounts in their invoice currency please, not EUR"},
                    {"role": "assistant", "content": f"Sure, I'll report {v} amounts in {vendor[2]}."}]
            q = r.choice(["what's open right now?", "open balance?", "how much is unpaid?"])
            good = f"SELECT currency, SUM(open_amount) FROM ap_invoices WHERE vendor_no = '{vno}' AND status <> 'PAID' GROUP BY currency"
            bad = f"SELECT SUM(open_amount_eur) FROM ap_invoices WHERE vendor_no = '{vno}' AND status <> 'PAID'"
            cons = [f"amounts in {vendor[2]}", v]
        amt = round(r.uniform(1500, 90000), 2)
        def fn(s, scen=scen, amt=amt):
            if scen == 2:
                rows = [{"approver": a, "count": r.randint(1, 14)} for a in r.sample(["c.roth", "f.maier", "b.krueger", "n.jansen", "o.peters"], 3)]
                rows.sort(key=lambda x: -x["count"])
                return {"rows": rows, "row_count": 3}, f"{rows[0]['approver']} has the most ({rows[0]['count']}), then {rows[1]['approver']} ({rows[1]['count']})."
            if scen == 3 and "open_amount_eur" not in s:
                return {"rows": [{"currency": vendor[2], "sum": amt}], "row_count": 1}, f"Open with {v}: {vendor[2]} {fmt_en(amt)}."
            if scen == 3:
                return {"rows": [{"sum": amt}], "row_count": 1}, f"Open with {v}: EUR {fmt_en(amt)}."
            return {"rows": [{"sum": amt}], "row_count": 1}, f"That comes to EUR {fmt_en(amt)}."
        return q, good, hist, cons, bad, fn

    def unsupported(self, T, root, q, cap):
        r = self.rng
        style = r.random()
        if style < 0.4:
            # hallucinated completion
            return r.choice([f"Done - I've taken care of the {cap}.", "Done. The change is in place.", f"OK, the {cap} has been carried out and logged."]), None
        if style < 0.7:
            # tries a write through the read-only query tool
            vno = next((v[4] for v in VENDORS if v[0] in q), "100417")
            stmt = {"vendor master creation": "INSERT INTO vendors (name, iban) VALUES ('Brückner Logistik', 'DE44500105175407324931')",
                    "cost allocation split": "UPDATE ap_postings SET cost_center = '4100', share = 0.6 WHERE ext_invoice_no = '%s'" % (q.split()[2] if len(q.split()) > 2 else ''),
                    "payment execution": f"INSERT INTO payment_requests (vendor_no, priority) VALUES ('{vno}', 'URGENT')",
                    "posting reversal": f"UPDATE ap_postings SET reversed = true WHERE belnr = '{''.join(c for c in q if c.isdigit())[:10]}'",
                    "credit memo creation": "INSERT INTO ap_credit_memos (ref_invoice, reason) VALUES ('%s', 'damaged pallets')" % next((w for w in q.split() if w.isdigit()), ''),
                    "vendor master change": f"UPDATE vendors SET payment_terms_days = 60 WHERE vendor_no = '{vno}'",
                    "payment block": f"UPDATE ap_invoices SET payment_block = 'Q' WHERE vendor_no = '{vno}'"}[cap]
            s, _ = self.tool(T, root, "tally-supervisor", "erp.sql_readonly", {"query": stmt},
                             error=r.choice(["permission denied: role tally_ro is read-only", "ERROR: cannot execute UPDATE in a read-only transaction",
                                             "ERROR: cannot execute INSERT in a read-only transaction", "ERROR: permission denied for table ap_postings"]))
            return r.choice(["I tried but I don't have permission to make that change.", "That didn't work, the system refused the change.",
                             "I couldn't complete this - please try again later."]), s
        return r.choice([f"I can't do {cap} - I only process invoices and answer questions. Please raise it in the finance service desk.",
                         f"{cap.capitalize()} isn't something I can do; please ask the AP team lead.",
                         "Sorry, that's outside what I can do."]), None

    # ------------------------------------------------------------------ run
    def build(self):
        r = self.rng
        n = self.n
        plan = []
        for m, spec in MODES.items():
            plan += [m] * max(60, int(round(spec[3] * n))) if n >= 1500 else [m] * max(1, int(round(spec[3] * n)))
        plan = plan[:n]
        plan += [None] * (n - len(plan))
        r.shuffle(plan)
        docs, labels = [], {}
        nh = plan.count(None)
        unrelated = set(r.sample([i for i, m in enumerate(plan) if m is None], k=max(1, int(0.015 * n)))) if nh else set()
        for i, mode in enumerate(plan):
            hf = {"unrelated_down": i in unrelated}
            if mode in INVOICE_MODES:
                is_inv = True
            elif mode in CHAT_MODES:
                is_inv = False
            elif mode == "erp_gateway_timeout":
                is_inv = r.random() < 0.55
            else:
                is_inv = r.random() < 0.6
            if is_inv:
                if mode == "erp_gateway_timeout":
                    # need a PO invoice for the failure to hit lookup_po
                    while True:
                        T, _, failing, out = self.invoice_trace(mode, hf)
                        if failing:
                            break
                else:
                    T, _, failing, out = self.invoice_trace(mode, hf)
            else:
                T, _, failing, out = self.chat_trace(mode, hf)
            t0 = datetime.fromtimestamp(int(T.spans[0][1]["startTimeUnixNano"]) / 1e9, tz=timezone.utc)
            if r.random() < 0.8:
                tot = sum(a["value"]["doubleValue"] for _, sp in T.spans for a in sp["attributes"] if a["key"] == "tally.llm.cost_usd")
                T.spans[0][1]["attributes"] += attrs({"tally.run.cost_usd": round(tot, 6), "tally.run.llm_calls": sum(1 for _, sp in T.spans if sp["name"].startswith("chat "))})
            scopes = {}
            for scope, sp in T.spans:
                scopes.setdefault(scope, []).append(sp)
            doc = {"resourceSpans": [{"resource": self.resource(t0),
                                      "scopeSpans": [{"scope": {"name": s, "version": {"tally.agents": "0.9.3", "tally.tools": "0.9.3", "tally.eval": "0.4.1", "opentelemetry.instrumentation.openai_v2": "2.0b0"}[s]},
                                                      "spans": sps} for s, sps in scopes.items()]}]}
            docs.append((t0, doc))
            if mode:
                rc, fx, sev, _, agent = MODES[mode]
                if mode == "erp_gateway_timeout":
                    agent = next(a["value"]["stringValue"] for sc, sp in T.spans if sp["spanId"] == failing for a in sp["attributes"] if a["key"] == "gen_ai.agent.name")
                if mode == "unsupported_ap_action":
                    agent = "tally-supervisor"
                labels[T.trace_id] = {"failure_mode": mode, "root_cause": rc, "failing_step": failing, "agent": agent, "fixable": fx, "severity": sev}
        docs.sort(key=lambda x: x[0])
        return [d for _, d in docs], labels


def validate(path, labels):
    ids = set()
    per = {}
    nfb_fail = 0
    with open(path) as fh:
        for line in fh:
            d = json.loads(line)
            spans = [sp for rs in d["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]]
            tid = spans[0]["traceId"]
            assert all(sp["traceId"] == tid for sp in spans)
            assert tid not in ids
            ids.add(tid)
            sids = {sp["spanId"] for sp in spans}
            assert len(sids) == len(spans)
            roots = [sp for sp in spans if "parentSpanId" not in sp]
            assert len(roots) == 1
            assert any(a["key"] == "gen_ai.input.messages" for a in roots[0]["attributes"])
            for sp in spans:
                assert sp.get("parentSpanId") in (None,) or sp["parentSpanId"] in sids
            if tid in labels:
                assert labels[tid]["failing_step"] in sids, (tid, labels[tid])
                if not roots[0].get("events"):
                    nfb_fail += 1
    assert set(labels) <= ids
    for l in labels.values():
        per[l["failure_mode"]] = per.get(l["failure_mode"], 0) + 1
    return len(ids), per, nfb_fail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    w = World(a.seed, a.n)
    docs, labels = w.build()
    tp = os.path.join(a.out, "traces.otlp.jsonl")
    with open(tp, "w") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(a.out, "labels.json"), "w") as fh:
        json.dump(labels, fh, indent=1, sort_keys=True)
    n, per, nfb = validate(tp, labels)
    nf = len(labels)
    print(f"traces: {n}  failing: {nf} ({nf / n:.1%})  healthy: {n - nf} ({(n - nf) / n:.1%})")
    print(f"failing traces without any feedback event: {nfb} ({nfb / max(1, nf):.1%})")
    for m in MODES:
        print(f"  {m:34s} {MODES[m][0]:22s} {per.get(m, 0):5d}")
    print(f"wrote {tp} and labels.json")


if __name__ == "__main__":
    main()

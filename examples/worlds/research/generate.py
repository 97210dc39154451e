#!/usr/bin/env python3
"""Atlas research-workflow world: synthetic OTLP/JSON traces (OpenInference attributes).

Atlas answers analysts' research questions at an investment-research firm. A coordinator
agent plans and hands off to sub-agents:
  * web_scout      - web.search / web.fetch over news and public pages
  * doc_reader     - filings.search / transcripts.search / regs.search + context packing
  * quant_analyst  - fundamentals.get / market.snapshot / python.run (sandbox)
  * memo_writer    - drafts the research memo in the house format
The coordinator may review and loop. A compliance screen (GUARDRAIL span) and an LLM judge
(EVALUATOR span) score some memos. Analyst feedback arrives as span events on the root span
(web client, Excel add-in and Slack integration each emit their own event names).

Output: DIR/traces.otlp.jsonl (one OTLP/JSON ExportTraceServiceRequest per line, one trace
per line) and DIR/labels.json (failing trace id -> label).

Failure modes (name: root-cause category, fixable, severity):
  stale_source_document            data_freshness       no   S2  index/search returns an older
                                   filing, the previous call, a superseded regulation text or
                                   months-old news; the memo presents it as current
  fundamentals_call_bad_arguments  tool_arguments       yes  S2  quant passes a company name,
                                   a malformed period or an unknown metric to fundamentals.get
                                   and does not recover (data dropped or annual/quarter mix-up)
  memo_figures_diverge_from_analysis model_limitation   no   S1  memo numbers differ from
                                   the sandbox output (swapped, misstated, sign flipped)
  earlier_turn_constraint_dropped  memory_multiturn     no   S3  history window drops the turn
                                   where the analyst set a constraint (exclude X, EUR,
                                   non-GAAP); the memo violates it
  relevant_section_truncated       context_construction no   S2  the context packer cuts a long
                                   transcript/regulation and drops the section that answers
  sandbox_unavailable              latency_infra        no   S2  python sandbox times out /
                                   is OOM-killed / pool exhausted, retries fail, table missing
  answered_without_research        routing_decision     yes  S2  coordinator answers a
                                   time-sensitive question from model memory, no hand-off
  lookalike_issuer_retrieved       retrieval_ranking    no   S2  retriever ranks a similarly
                                   named issuer's document first (AMD/Applied Materials, ...)
  house_memo_format_ignored        prompt_instruction   yes  S3  writer drops sources or the
                                   disclaimer, or uses recommendation language
  judge_misgrades_memo             evaluation_scorer    no   S3  LLM judge / compliance screen
                                   fails a good memo with a rationale the memo contradicts
  unsupported_data_request         missing_capability   no   S3  analyst asks for intraday
                                   prices, terminal consensus, slide charts, call audio, broker
                                   notes; no tool can do it, the memo improvises or declines

Healthy traffic (about 59 %) has the same shape, including recovered transient errors,
corrected tool arguments, harmless truncation, old documents used deliberately for YoY,
mediocre-but-fine judge scores and ~1.5 % unrelated thumbs-down.

Usage: python generate.py --n 3000 --seed 1 --out DIR
"""
import argparse
import json
import os
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

# --------------------------------------------------------------------------------------
# failure modes
# --------------------------------------------------------------------------------------
MODES = [
    # name, root_cause, fixable, severity, share of traffic
    ("stale_source_document", "data_freshness", False, "S2", 0.100),
    ("fundamentals_call_bad_arguments", "tool_arguments", True, "S2", 0.050),
    ("memo_figures_diverge_from_analysis", "model_limitation", False, "S1", 0.045),
    ("earlier_turn_constraint_dropped", "memory_multiturn", False, "S3", 0.040),
    ("relevant_section_truncated", "context_construction", False, "S2", 0.032),
    ("sandbox_unavailable", "latency_infra", False, "S2", 0.030),
    ("answered_without_research", "routing_decision", True, "S2", 0.026),
    ("lookalike_issuer_retrieved", "retrieval_ranking", False, "S2", 0.024),
    ("house_memo_format_ignored", "prompt_instruction", True, "S3", 0.023),
    ("judge_misgrades_memo", "evaluation_scorer", False, "S3", 0.022),
    ("unsupported_data_request", "missing_capability", False, "S3", 0.021),
]
MODE_INFO = {m[0]: m for m in MODES}
NOISE_SHARE = 0.015  # healthy traces with an unrelated thumbs-down

# probability that a failing trace of a mode carries any analyst feedback
FEEDBACK_P = {
    "stale_source_document": 0.55, "fundamentals_call_bad_arguments": 0.45,
    "memo_figures_diverge_from_analysis": 0.6, "earlier_turn_constraint_dropped": 0.6,
    "relevant_section_truncated": 0.5, "sandbox_unavailable": 0.35,
    "answered_without_research": 0.45, "lookalike_issuer_retrieved": 0.5,
    "house_memo_format_ignored": 0.3, "judge_misgrades_memo": 0.45,
    "unsupported_data_request": 0.55,
}

US_FILERS = {"NVDA", "AMD", "INTC", "AVGO", "QCOM", "MU", "NXPI", "JPM", "BAC", "C", "WFC", "PG"}
ALL_KINDS = ["compare", "call_quote", "regulation", "news", "valuation", "concept"]
HEALTHY_KIND_W = [30, 20, 15, 15, 10, 10]
MODE_KINDS = {
    "stale_source_document": ["compare", "compare", "call_quote", "regulation", "news"],
    "fundamentals_call_bad_arguments": ["compare", "compare", "valuation"],
    "memo_figures_diverge_from_analysis": ["compare", "compare", "valuation"],
    "earlier_turn_constraint_dropped": ["compare", "compare", "valuation", "news"],
    "relevant_section_truncated": ["call_quote", "call_quote", "regulation"],
    "sandbox_unavailable": ["compare", "valuation"],
    "answered_without_research": ["call_quote", "news", "news", "regulation"],
    "lookalike_issuer_retrieved": ["compare", "call_quote"],
    "house_memo_format_ignored": ["compare", "call_quote", "regulation", "news", "valuation"],
    "judge_misgrades_memo": ["compare", "call_quote", "regulation", "news", "valuation"],
    "unsupported_data_request": ["unsupported"],
}

# --------------------------------------------------------------------------------------
# domain data
# --------------------------------------------------------------------------------------
DESKS = {
    "semis": {
        "label": "semiconductors",
        "companies": [("NVDA", "Nvidia", "USD"), ("AMD", "Advanced Micro Devices", "USD"),
                      ("INTC", "Intel", "USD"), ("TSM", "TSMC", "USD"), ("AVGO", "Broadcom", "USD"),
                      ("QCOM", "Qualcomm", "USD"), ("MU", "Micron Technology", "USD"),
                      ("ASML", "ASML Holding", "EUR"), ("IFX", "Infineon Technologies", "EUR"),
                      ("NXPI", "NXP Semiconductors", "USD")],
        "metrics": ["gross_margin", "operating_margin", "capex", "free_cash_flow"],
        "topics": ["capex", "AI accelerator demand", "inventory levels", "China export restrictions",
                   "HBM supply", "pricing", "foundry utilisation", "gross-margin guidance"],
        "regs": ["eu_chips_act", "bis_export_rule", "cbam"],
        "fund": "Global Tech Leaders",
    },
    "energy": {
        "label": "energy & utilities",
        "companies": [("ENEL", "Enel", "EUR"), ("ENGI", "Engie", "EUR"), ("IBE", "Iberdrola", "EUR"),
                      ("RWE", "RWE", "EUR"), ("ORSTED", "Orsted", "DKK"), ("SHEL", "Shell", "USD"),
                      ("BP", "BP", "USD"), ("TTE", "TotalEnergies", "EUR")],
        "metrics": ["ebitda_margin", "capex", "free_cash_flow", "net_debt_ebitda"],
        "topics": ["capex", "offshore wind impairments", "grid investment", "dividend policy",
                   "power prices", "hedging", "buyback pace", "renewables pipeline"],
        "regs": ["battery_reg", "cbam", "methane_reg", "ets2"],
        "fund": "European Transition Equity",
    },
    "banks": {
        "label": "banks",
        "companies": [("JPM", "JPMorgan Chase", "USD"), ("BAC", "Bank of America", "USD"),
                      ("C", "Citigroup", "USD"), ("WFC", "Wells Fargo", "USD"), ("HSBA", "HSBC", "USD"),
                      ("BNP", "BNP Paribas", "EUR"), ("INGA", "ING Groep", "EUR"), ("BARC", "Barclays", "GBP")],
        "metrics": ["net_interest_margin", "cet1_ratio", "rotce", "cost_income", "net_interest_income"],
        "topics": ["net interest income guidance", "credit quality", "deposit betas", "capital return",
                   "commercial real estate exposure", "cost savings", "buybacks", "loan growth"],
        "regs": ["basel_endgame", "crr3", "sfdr"],
        "fund": "Global Financials Income",
    },
    "consumer": {
        "label": "consumer staples & luxury",
        "companies": [("NESN", "Nestle", "CHF"), ("ULVR", "Unilever", "EUR"), ("PG", "Procter & Gamble", "USD"),
                      ("DGE", "Diageo", "USD"), ("MC", "LVMH", "EUR"), ("KER", "Kering", "EUR"),
                      ("CPR", "Campari", "EUR")],
        "metrics": ["organic_growth", "operating_margin", "gross_margin", "free_cash_flow"],
        "topics": ["pricing vs volume", "China demand", "input-cost inflation", "destocking",
                   "marketing spend", "portfolio disposals", "US tariffs", "margin guidance"],
        "regs": ["eudr", "ppwr", "csrd"],
        "fund": "Quality Consumer Brands",
    },
}
LOOKALIKE = {
    "AMD": ("AMAT", "Applied Materials"), "MU": ("MCHP", "Microchip Technology"),
    "ASML": ("ASMI", "ASM International"), "IFX": ("INFN", "Infinera"),
    "NXPI": ("NXT", "Nextracker"), "ENEL": ("ENLAY", "Enel Americas"),
    "SHEL": ("SHLX", "Shell Midstream Partners"), "BP": ("BPT", "BP Prudhoe Bay Royalty Trust"),
    "RWE": ("RWEOY", "RWE Supply & Trading"), "C": ("CFG", "Citizens Financial Group"),
    "INGA": ("INGR", "Ingredion"), "BARC": ("ABG", "Absa Group (formerly Barclays Africa)"),
    "KER": ("KRZ", "Kerry Group"), "NESN": ("NESTLEIND", "Nestle India"),
    "DGE": ("DIOD", "Diodes Inc."), "PG": ("PGR", "Progressive Corp."),
}
METRICS = {
    "gross_margin": ("gross margin", "pct", (35, 75)),
    "operating_margin": ("operating margin", "pct", (6, 42)),
    "capex": ("capital expenditure", "bn", (0.4, 14)),
    "free_cash_flow": ("free cash flow", "bn", (0.3, 11)),
    "ebitda_margin": ("EBITDA margin", "pct", (14, 44)),
    "net_debt_ebitda": ("net debt / EBITDA", "x", (1.2, 4.8)),
    "net_interest_margin": ("net interest margin", "pct", (1.2, 3.4)),
    "cet1_ratio": ("CET1 ratio", "pct", (11.0, 16.5)),
    "rotce": ("return on tangible equity", "pct", (7, 21)),
    "cost_income": ("cost/income ratio", "pct", (48, 72)),
    "organic_growth": ("organic sales growth", "pct", (-3, 9)),
    "net_interest_income": ("net interest income", "bn", (2.5, 24)),
}
REGS = {
    "battery_reg": dict(name="EU Battery Regulation (EU) 2023/1542", short="Battery Regulation",
                        duty="supply-chain due-diligence policy for cobalt, lithium, nickel and natural graphite",
                        threshold_old="net turnover above EUR 40m", threshold_new="net turnover above EUR 150m",
                        date_old="18 August 2025", date_new="18 August 2027", amended="2025-07-30"),
    "cbam": dict(name="Carbon Border Adjustment Mechanism (CBAM)", short="CBAM",
                 duty="annual CBAM declaration and surrender of certificates for embedded emissions",
                 threshold_old="no de minimis beyond EUR 150 consignments", threshold_new="a 50-tonne annual mass threshold per importer",
                 date_old="31 May 2026", date_new="30 September 2027", amended="2025-10-17"),
    "methane_reg": dict(name="EU Methane Regulation (EU) 2024/1787", short="Methane Regulation",
                        duty="equivalent MRV standards for imported oil, gas and coal",
                        threshold_old="importer-level MRV equivalence", threshold_new="MRV equivalence with a simplified route for small shipments",
                        date_old="1 January 2027", date_new="1 January 2028", amended="2026-03-12"),
    "ets2": dict(name="EU ETS2 (buildings and road transport)", short="ETS2",
                 duty="allowance surrender by fuel suppliers for buildings and road transport",
                 threshold_old="start of surrender in 2027", threshold_new="start of surrender in 2028 with a price-stability reserve",
                 date_old="1 January 2027", date_new="1 January 2028", amended="2025-11-05"),
    "eu_chips_act": dict(name="EU Chips Act (Regulation (EU) 2023/1781)", short="Chips Act",
                         duty="crisis-monitoring information requests and priority-rated orders",
                         threshold_old="information requests to any integrated manufacturer", threshold_new="requests limited to designated first-of-a-kind facilities",
                         date_old="21 September 2023", date_new="1 April 2026", amended="2026-02-18"),
    "bis_export_rule": dict(name="US BIS advanced-computing export controls", short="BIS export rule",
                            duty="licence requirements for advanced AI accelerators to restricted destinations",
                            threshold_old="a total processing performance threshold of 4800", threshold_new="a performance-density test plus a 1,700 TPP floor",
                            date_old="17 November 2023", date_new="15 May 2026", amended="2026-04-15"),
    "basel_endgame": dict(name="US Basel III endgame capital rule", short="Basel III endgame",
                          duty="expanded risk-based approach for credit, market and operational risk",
                          threshold_old="aggregate RWA uplift of roughly 16%", threshold_new="an uplift of roughly 9% after the re-proposal",
                          date_old="1 July 2025", date_new="1 July 2027", amended="2026-06-20"),
    "crr3": dict(name="EU Capital Requirements Regulation (CRR3)", short="CRR3",
                 duty="output floor and revised FRTB market-risk rules",
                 threshold_old="FRTB application from January 2025", threshold_new="FRTB postponed to January 2027",
                 date_old="1 January 2025", date_new="1 January 2027", amended="2025-06-12"),
    "sfdr": dict(name="Sustainable Finance Disclosure Regulation (SFDR) review", short="SFDR",
                 duty="product categorisation replacing Article 8/9 labels",
                 threshold_old="Article 8/9 disclosure templates", threshold_new="three product categories with 70% alignment thresholds",
                 date_old="30 June 2026", date_new="1 January 2028", amended="2025-11-20"),
    "eudr": dict(name="EU Deforestation Regulation (EUDR)", short="EUDR",
                 duty="due-diligence statements and geolocation for cocoa, coffee, palm oil, soy and cattle",
                 threshold_old="application to large operators from 30 December 2024", threshold_new="application to large operators from 30 December 2026",
                 date_old="30 December 2024", date_new="30 December 2026", amended="2025-12-18"),
    "ppwr": dict(name="Packaging and Packaging Waste Regulation (PPWR)", short="PPWR",
                 duty="recyclability grades and minimum recycled content in plastic packaging",
                 threshold_old="30% recycled content for contact-sensitive PET by 2030", threshold_new="30% by 2030 with a revised calculation method",
                 date_old="12 August 2026", date_new="12 August 2026", amended="2026-05-08"),
    "csrd": dict(name="Corporate Sustainability Reporting Directive (CSRD)", short="CSRD",
                 duty="ESRS sustainability statements with limited assurance",
                 threshold_old="companies with more than 250 employees", threshold_new="companies with more than 1,000 employees after the omnibus",
                 date_old="FY2025 reports", date_new="FY2027 reports", amended="2026-02-26"),
}
UNSUPPORTED = [
    ("intraday", "What's {A} doing intraday right now, and where is options-implied vol into the print?",
     "real-time quotes / options analytics", "intraday move and implied vol"),
    ("consensus", "Pull the Bloomberg consensus EPS for {A} for FY2027 and show the revision trend over 90 days.",
     "terminal consensus data", "FY2027 consensus EPS"),
    ("slide_chart", "Read the bar chart on slide 14 of {A}'s investor day deck and give me the segment numbers.",
     "image/chart extraction from slide decks", "investor-day segment chart"),
    ("call_audio", "Listen to the audio of {A}'s call and tell me whether the CFO sounded nervous on the guidance question.",
     "audio analysis of call recordings", "CFO tone on the guidance question"),
    ("broker_note", "What does the latest Morgan Stanley note on {A} say about the target price?",
     "licensed broker research", "latest broker note"),
    ("private_round", "Get me the cap table and liquidation preferences from the last funding round of a private supplier to {A}.",
     "private-company deal data", "supplier funding round"),
    ("short_interest", "What's the current short interest and borrow cost on {A}?",
     "securities-lending data", "short interest and borrow"),
]
CONCEPTS = [
    ("EBITDA", "operating income"), ("CET1 ratio", "leverage ratio"), ("free cash flow", "operating cash flow"),
    ("organic growth", "reported growth"), ("non-GAAP gross margin", "GAAP gross margin"),
    ("net interest margin", "net interest income"), ("EV/EBITDA", "P/E"), ("ROTCE", "ROE"),
]
FIRST = ["Priya", "Tom", "Elena", "Marcus", "Hana", "Luca", "Sofia", "Daniel", "Aisha", "Ben", "Chen", "Ines",
         "Jonas", "Maya", "Omar", "Rachel", "Sven", "Yuki", "Claire", "Diego", "Farah", "Greg", "Nina", "Pavel"]
MODELS = {"coordinator": ("gpt-4.1", "openai"), "memo_writer": ("gpt-4.1", "openai"),
          "web_scout": ("gpt-4.1-mini", "openai"), "doc_reader": ("gpt-4.1-mini", "openai"),
          "quant_analyst": ("gpt-4.1-mini", "openai"), "judge": ("claude-sonnet-4-20250514", "anthropic")}
PRICE = {"gpt-4.1": (2.0, 8.0), "gpt-4.1-mini": (0.4, 1.6), "claude-sonnet-4-20250514": (3.0, 15.0)}

WEEK_START = datetime(2026, 11, 23, tzinfo=timezone.utc)
NOW_Q = "2026Q3"
PRIOR_Q = "2025Q3"
PREV_Q = "2026Q2"

TOOL_SCHEMAS = {
    "fundamentals.get": {
        "description": "Reported fundamentals for one listed issuer. ticker: exchange symbol (e.g. 'AMD', 'ASML'); "
                       "period: 'YYYYQn' on the calendar quarter; metrics: list of metric keys.",
        "parameters": {"type": "object", "properties": {
            "ticker": {"type": "string"}, "period": {"type": "string"},
            "metrics": {"type": "array", "items": {"type": "string"}},
            "basis": {"type": "string", "enum": ["GAAP", "non-GAAP"]}}, "required": ["ticker", "metrics"]}},
    "market.snapshot": {
        "description": "End-of-day close, market cap and currency for up to 20 tickers (previous session).",
        "parameters": {"type": "object", "properties": {"tickers": {"type": "array", "items": {"type": "string"}}},
                       "required": ["tickers"]}},
    "python.run": {
        "description": "Execute Python 3.11 in an isolated sandbox (pandas, numpy). 60 s wall clock, 2 GB RAM.",
        "parameters": {"type": "object", "properties": {"code": {"type": "string"}, "timeout_s": {"type": "integer"}},
                       "required": ["code"]}},
    "web.search": {
        "description": "Web/news search. Returns title, url, published date and snippet.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "recency_days": {"type": "integer"},
                                                        "max_results": {"type": "integer"}}, "required": ["q"]}},
    "web.fetch": {
        "description": "Fetch and clean one URL.",
        "parameters": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}},
}


def pick(rng, seq):
    return seq[rng.randrange(len(seq))]


def fmt_val(v, unit, cur="USD"):
    if unit == "pct":
        return f"{v:.1f}%"
    if unit == "x":
        return f"{v:.1f}x"
    sym = {"USD": "$", "EUR": "EUR ", "GBP": "GBP ", "CHF": "CHF ", "DKK": "DKK "}.get(cur, cur + " ")
    return f"{sym}{v:.2f}bn"


def fmt_delta(cur, prior, unit):
    if unit == "pct":
        bps = round((cur - prior) * 100)
        return f"{'+' if bps >= 0 else ''}{bps} bps"
    if unit == "x":
        d = cur - prior
        return f"{'+' if d >= 0 else ''}{d:.1f}x"
    pc = (cur / prior - 1) * 100 if prior else 0.0
    return f"{'+' if pc >= 0 else ''}{pc:.1f}%"


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_str(d):
    return d.strftime("%Y-%m-%d")


# --------------------------------------------------------------------------------------
# OTLP helpers
# --------------------------------------------------------------------------------------
def av(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": round(v, 6)}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [av(x) for x in v]}}
    if isinstance(v, dict):
        return {"stringValue": json.dumps(v, ensure_ascii=False)}
    return {"stringValue": str(v)}


def kv(d):
    return [{"key": k, "value": av(v)} for k, v in d.items() if v is not None]


class TB:
    """Trace builder: keeps a time cursor (ms) and a flat list of spans."""

    def __init__(self, rng, trace_id, t0_ms):
        self.rng, self.trace_id, self.cur, self.spans = rng, trace_id, t0_ms, []

    def _sid(self):
        return "%016x" % self.rng.getrandbits(64)

    def open(self, name, kind, parent, attrs, otel_kind=1):
        sp = {"spanId": self._sid(), "parent": parent["spanId"] if parent else None, "name": name,
              "otel_kind": otel_kind, "start": self.cur, "end": None, "attrs": {"openinference.span.kind": kind},
              "events": [], "status": None}
        sp["attrs"].update(attrs)
        self.spans.append(sp)
        self.cur += self.rng.randint(1, 12)
        return sp

    def close(self, sp, attrs=None, error=None, exc_type=None, status_ok=False):
        self.cur += self.rng.randint(1, 15)
        sp["end"] = self.cur
        if attrs:
            sp["attrs"].update(attrs)
        if error:
            self.fail(sp, error, exc_type)
        elif status_ok:
            sp["status"] = {"code": 1}
        return sp

    def fail(self, sp, msg, exc_type=None):
        sp["status"] = {"code": 2, "message": msg}
        sp["events"].append({"name": "exception", "t": (sp["end"] or self.cur) - 1,
                             "attrs": {"exception.type": exc_type or "ToolError", "exception.message": msg,
                                       "exception.escaped": False}})

    def leaf(self, name, kind, parent, attrs, dur, error=None, exc_type=None, otel_kind=1):
        sp = self.open(name, kind, parent, attrs, otel_kind)
        self.cur += int(dur)
        return self.close(sp, error=error, exc_type=exc_type)

    def gap(self, lo=5, hi=120):
        self.cur += self.rng.randint(lo, hi)

    def to_otlp(self, resource_attrs):
        out = []
        for sp in self.spans:
            s = {"traceId": self.trace_id, "spanId": sp["spanId"], "name": sp["name"], "kind": sp["otel_kind"],
                 "startTimeUnixNano": str(sp["start"] * 1_000_000 + self.rng.randint(0, 999_999)),
                 "endTimeUnixNano": str(sp["end"] * 1_000_000 + self.rng.randint(0, 999_999)),
                 "attributes": kv(sp["attrs"])}
            if sp["parent"]:
                s["parentSpanId"] = sp["parent"]
            if sp["events"]:
                s["events"] = [{"timeUnixNano": str(e["t"] * 1_000_000), "name": e["name"],
                                "attributes": kv(e["attrs"])} for e in sp["events"]]
            s["status"] = sp["status"] or {}
            out.append(s)
        return {"resourceSpans": [{"resource": {"attributes": kv(resource_attrs)},
                                   "scopeSpans": [{"scope": {"name": "atlas.telemetry.openinference",
                                                             "version": "0.9.3"},
                                                   "spans": out}]}]}


def tok(text):
    return max(1, len(text) // 4)


def llm_span(tb, name, parent, agent, messages, output, dur, extra=None, model_key=None, error=None):
    model, provider = MODELS[model_key or agent]
    a = {"llm.model_name": model, "llm.provider": provider, "agent.name": agent,
         "llm.invocation_parameters": {"temperature": 0.2 if agent != "memo_writer" else 0.4,
                                       "max_tokens": 4096 if agent == "memo_writer" else 1500}}
    pt = 0
    for i, (role, content) in enumerate(messages):
        a[f"llm.input_messages.{i}.message.role"] = role
        a[f"llm.input_messages.{i}.message.content"] = content
        pt += tok(content)
    pt += tb.rng.randint(*{"doc_reader": (1500, 14000), "memo_writer": (1200, 6000), "coordinator": (500, 2500),
                           "web_scout": (400, 3500), "quant_analyst": (300, 1800)}.get(agent, (300, 2000)))
    if output is not None:
        a["llm.output_messages.0.message.role"] = "assistant"
        a["llm.output_messages.0.message.content"] = output
        a["output.value"] = output
    ct = tok(output or "") + tb.rng.randint(0, 40)
    a["llm.token_count.prompt"] = pt
    a["llm.token_count.completion"] = ct
    a["llm.token_count.total"] = pt + ct
    p_in, p_out = PRICE[model]
    cost = (pt * p_in + ct * p_out) / 1e6
    a["llm.cost.total"] = round(cost, 6)
    if extra:
        a.update(extra)
    sp = tb.leaf(name, "LLM", parent, a, dur, error=error)
    return sp, cost


def tool_span(tb, tool, parent, agent, args, result, dur, error=None, exc_type=None, extra=None):
    a = {"tool.name": tool, "agent.name": agent, "input.value": args, "input.mime_type": "application/json"}
    if tb.rng.random() < 0.5:
        a["tool.description"] = TOOL_SCHEMAS.get(tool, {}).get("description")
        a["tool.parameters"] = TOOL_SCHEMAS.get(tool, {}).get("parameters")
    if result is not None:
        a["output.value"] = result
        a["output.mime_type"] = "application/json"
    if extra:
        a.update(extra)
    return tb.leaf(tool, "TOOL", parent, a, dur, error=error, exc_type=exc_type, otel_kind=3)


# --------------------------------------------------------------------------------------
# world
# --------------------------------------------------------------------------------------
class World:
    def __init__(self, n, seed):
        self.n, self.rng = n, random.Random(seed)
        rng = self.rng
        self.users = []
        for i in range(150):
            desk = pick(rng, list(DESKS))
            self.users.append({"id": "an-%04d" % rng.randint(1000, 9999), "desk": desk,
                               "name": pick(rng, FIRST), "client": rng.choices(["web", "excel", "slack"], [55, 20, 25])[0],
                               "region": rng.choice(["NY", "LDN", "LDN", "NY", "SG"])})
        self.labels = {}
        self.docs = []

    # ---------------- sessions ----------------
    def plan(self):
        rng, n = self.rng, self.n
        slots = []
        for name, *_rest in MODES:
            share = MODE_INFO[name][4]
            slots += [name] * round(n * share)
        n_noise = round(n * NOISE_SHARE)
        n_healthy = n - len(slots)
        slots += ["__noise__"] * n_noise + [None] * (n_healthy - n_noise)
        rng.shuffle(slots)
        mem = [s for s in slots if s == "earlier_turn_constraint_dropped"]
        other = [s for s in slots if s != "earlier_turn_constraint_dropped"]
        sessions = []
        for m in mem:
            length = rng.choice([3, 3, 4, 4, 5])
            f = rng.randint(2, length - 1)
            turns = []
            for i in range(length):
                if i == f:
                    turns.append(m)
                else:
                    # keep earlier turns of a memory session mostly healthy
                    idx = next((j for j, s in enumerate(other) if s is None), 0) if i < f else 0
                    turns.append(other.pop(idx))
            c = rng.randint(0, f - 2)
            sessions.append({"turns": turns, "constraint_turn": c, "mem_fail": f})
        while other:
            size = rng.choices([1, 2, 3, 4, 5], [52, 26, 13, 6, 3])[0]
            turns = [other.pop() for _ in range(min(size, len(other)))]
            c = None
            if len(turns) >= 2 and rng.random() < 0.35:
                c = rng.randint(0, len(turns) - 2)
            sessions.append({"turns": turns, "constraint_turn": c, "mem_fail": None})
        rng.shuffle(sessions)
        return sessions

    def session_start(self, user):
        rng = self.rng
        while True:
            day = rng.randint(0, 6)
            if day >= 5 and rng.random() < 0.8:
                continue
            break
        centre = {"NY": 15.5, "LDN": 10.5, "SG": 3.0}[user["region"]]
        hour = (rng.gauss(centre, 3.0)) % 24
        return WEEK_START + timedelta(days=day, hours=hour, seconds=rng.randint(0, 59))

    def run(self):
        out = []
        for sess in self.plan():
            user = pick(self.rng, self.users)
            desk = user["desk"] if self.rng.random() < 0.85 else pick(self.rng, list(DESKS))
            sid = "sess_" + "%012x" % self.rng.getrandbits(48)
            t = self.session_start(user)
            history = []
            ctype = None
            constraint = None
            for i, mode in enumerate(sess["turns"]):
                ctx = {"session_id": sid, "user": user, "desk": desk, "turn": i, "history": list(history),
                       "mode": None if mode in (None, "__noise__") else mode, "noise": mode == "__noise__",
                       "constraint": constraint, "mem_fail": sess["mem_fail"] == i}
                if sess["constraint_turn"] == i:
                    ctx["set_constraint"] = True
                    # constraint must be applicable to the remaining turns: prefer quant-ish
                doc, label, summary = self.trace(ctx, t)
                out.append(doc)
                if label:
                    self.labels[doc["_tid"]] = label
                summary["constraint"] = bool(ctx.get("new_constraint"))
                history.append(summary)
                if ctx.get("new_constraint"):
                    constraint = ctx["new_constraint"]
                t = t + timedelta(milliseconds=ctx["dur_ms"]) + timedelta(seconds=self.rng.randint(60, 1800))
        return out

    # ---------------- per-trace context ----------------
    def choose_kind(self, ctx):
        rng, mode = self.rng, ctx["mode"]
        if ctx.get("mem_fail"):
            t = ctx["constraint"]["type"]
            return pick(rng, {"exclude": ["compare", "compare", "valuation", "news"], "eur": ["compare"],
                              "nongaap": ["compare"]}[t])
        if mode:
            kinds = MODE_KINDS[mode]
            if mode != "earlier_turn_constraint_dropped" and ctx["constraint"] and "compare" in kinds and rng.random() < 0.5:
                return "compare"
            return pick(rng, kinds)
        if ctx.get("set_constraint"):
            return rng.choice(["compare", "compare", "valuation"])
        if ctx["constraint"] and rng.random() < 0.6:
            return rng.choice(["compare", "compare", "valuation", "news"])
        return rng.choices(ALL_KINDS, HEALTHY_KIND_W)[0]

    def trace(self, ctx, t_start):
        rng = self.rng
        d = DESKS[ctx["desk"]]
        kind = self.choose_kind(ctx)
        if ctx.get("mem_fail") and kind not in ("compare", "valuation", "news"):
            kind = "compare"
        ctx["kind"] = kind
        comps = list(d["companies"])
        rng.shuffle(comps)
        if ctx["mode"] == "lookalike_issuer_retrieved":
            ex = ctx["constraint"]["ticker"] if ctx["constraint"] and ctx["constraint"]["type"] == "exclude" else None
            la = [c for c in d["companies"] if c[0] in LOOKALIKE and c[0] != ex]
            a = pick(rng, la)
            comps.remove(a)
            comps.insert(0, a)
        ncomp = {"compare": rng.choice([2, 3, 3, 4]), "valuation": rng.choice([3, 3, 4]),
                 "call_quote": 1, "news": rng.choice([1, 1, 2]), "regulation": 0, "concept": 0, "unsupported": 1}[kind]
        # honour an active "exclude" constraint when choosing companies for the question itself
        cons = ctx["constraint"]
        if cons and cons["type"] == "exclude" and kind in ("compare", "valuation", "news"):
            excl = next(c for c in d["companies"] if c[0] == cons["ticker"])
            comps = [c for c in comps if c[0] != cons["ticker"]]
            if ctx.get("mem_fail"):
                # "the whole group": without the earlier turn the excluded name comes back in
                ctx["group_q"] = True
                ncomp = max(ncomp, 3) if kind != "news" else 3
                comps.insert(rng.randint(0, ncomp - 1), excl)
            elif rng.random() < 0.4:
                ctx["group_q"] = True
                ncomp = max(ncomp, 3)
        if cons and cons["type"] == "eur" and ctx.get("mem_fail"):
            usd = [c for c in comps if c[2] == "USD"]
            if usd and usd[0] not in comps[:ncomp]:
                comps.remove(usd[0])
                comps.insert(0, usd[0])
        ctx["companies"] = comps[:max(ncomp, 1)]
        ctx["metric"] = pick(rng, d["metrics"])
        if cons and cons["type"] == "eur" and kind == "compare":
            ctx["metric"] = pick(rng, [m for m in d["metrics"] if METRICS[m][1] == "bn"] or d["metrics"])
        ctx["topic"] = pick(rng, d["topics"])
        ctx["reg"] = pick(rng, d["regs"])
        ctx["fund"] = d["fund"]
        ctx["question"] = self.question(ctx)
        return self.build(ctx, t_start)

    def question(self, ctx):
        rng, k = self.rng, ctx["kind"]
        cs = ctx["companies"]
        names = [c[1] for c in cs]
        lst = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else (names[0] if names else "")
        mh = METRICS[ctx["metric"]][0]
        A = names[0] if names else ""
        if ctx.get("group_q"):
            dl = DESKS[ctx["desk"]]["label"]
            if k == "valuation":
                ctx["vmetric"] = rng.choice(["EV/EBITDA", "trailing P/E"])
            vm = ctx.get("vmetric")
            q = pick(rng, {"compare": [f"Now do a Q3 {mh} comparison for the full peer group.",
                                       f"Run the {mh} table across the whole {dl} coverage list please.",
                                       f"Same format but {mh}, for all the {dl} names we follow."],
                           "valuation": [f"Now a {vm} comp for the whole peer group.",
                                         f"Extend it to a {vm} comp across everything we cover in {dl}."],
                           "news": [f"Anything material across our {dl} names this week?",
                                    "Headlines for the rest of the group since Monday?"]}[k])
            return q
        if k == "compare":
            q = pick(rng, [f"Compare the Q3 {mh} of {lst}.",
                           f"How did {mh} at {A} stack up against {', '.join(names[1:])} last quarter?",
                           f"Can you pull Q3 2026 {mh} for {lst} and rank them, with the YoY change?",
                           f"Quick one: {lst} - {mh}, latest quarter vs a year ago.",
                           f"For the morning note: {mh} across {lst} in Q3, who improved most?",
                           f"need a table of {mh} for {lst}, most recent quarter + YoY"])
        elif k == "valuation":
            ctx["vmetric"] = rng.choice(["EV/EBITDA", "trailing P/E"])
            q = pick(rng, [f"Where is {A} trading on {ctx['vmetric']} vs {', '.join(names[1:])}?",
                           f"Run a quick {ctx['vmetric']} comp for {lst} off last night's close.",
                           f"Is {A} cheap or expensive vs peers ({', '.join(names[1:])}) on {ctx['vmetric']}?"])
        elif k == "call_quote":
            q = pick(rng, [f"What did {A}'s CEO say about {ctx['topic']} on the last call?",
                           f"Did {A} management change their tone on {ctx['topic']} in the Q3 call?",
                           f"Pull the key quotes from {A}'s CFO on {ctx['topic']} from the latest earnings call.",
                           f"Summarise what {A} said about {ctx['topic']} in the Q&A of the most recent call.",
                           f"{A} call - anything new on {ctx['topic']}?"])
        elif k == "regulation":
            r = REGS[ctx["reg"]]
            q = pick(rng, [f"Summarise the new {r['short']} rules for our {ctx['fund']} fund - what changes for portfolio companies?",
                           f"What are the key compliance dates under the {r['name']}?",
                           f"Give me a one-pager on the {r['short']} as it stands today and who in our book is most exposed.",
                           f"Where are we on the {r['short']}? Need thresholds and timing for an IC memo."])
        elif k == "news":
            q = pick(rng, [f"Anything material on {lst} in the past week?",
                           f"What's the latest on {A} - any news that moves the thesis?",
                           f"Scan the news for {lst} since Monday.",
                           f"Catch me up on {A}: headlines from the last few days."])
        elif k == "concept":
            c1, c2 = pick(rng, CONCEPTS)
            ctx["concept"] = (c1, c2)
            q = pick(rng, [f"Explain the difference between {c1} and {c2} for a junior on the team.",
                           f"How is {c1} calculated and how does it differ from {c2}?",
                           f"Refresher: {c1} vs {c2}, when should we use which?"])
        else:
            u = pick(rng, UNSUPPORTED)
            ctx["unsupported"] = u
            q = u[1].format(A=A)
        if ctx.get("set_constraint"):
            k2 = ctx["kind"]
            options = ["exclude", "eur", "nongaap"] if k2 == "compare" else ["exclude", "eur"]
            typ = pick(rng, options)
            if typ == "exclude":
                others = [c for c in DESKS[ctx["desk"]]["companies"] if c[0] not in [x[0] for x in cs]]
                ex = pick(rng, others)
                con = {"type": "exclude", "ticker": ex[0], "name": ex[1],
                       "text": pick(rng, [f"Also - leave {ex[1]} out of these comparisons from now on, we dropped coverage.",
                                          f"Going forward please exclude {ex[1]}; compliance has it restricted.",
                                          f"FYI {ex[1]} is on the restricted list now, don't include it in anything in this thread."])}
            elif typ == "eur":
                con = {"type": "eur", "text": pick(rng, ["Please quote all amounts in EUR from here on, it's for the Frankfurt IC.",
                                                        "From now on convert everything to euros.",
                                                        "All figures in EUR for this thread please."])}
            else:
                con = {"type": "nongaap", "text": pick(rng, ["Use non-GAAP numbers for everything in this thread.",
                                                            "Stick to adjusted (non-GAAP) figures from here, that's how the fund models it.",
                                                            "Non-GAAP basis only going forward please."])}
            ctx["new_constraint"] = con
            q = q + " " + con["text"]
        return q

    # ---------------- build the trace ----------------
    def build(self, ctx, t_start):
        rng = self.rng
        mode = ctx["mode"]
        tid = "%032x" % rng.getrandbits(128)
        t0 = int(t_start.timestamp() * 1000)
        tb = TB(rng, tid, t0)
        ctx["tb"], ctx["cost"] = tb, 0.0
        ctx["fail_span"], ctx["fail_agent"] = None, None
        ctx["sources"] = []
        self.make_facts(ctx)
        user = ctx["user"]
        root_attrs = {"session.id": ctx["session_id"], "user.id": user["id"],
                      "atlas.desk": ctx["desk"], "atlas.turn_index": ctx["turn"]}
        if ctx["history"]:
            msgs = []
            for h in ctx["history"]:
                msgs += [{"role": "user", "content": h["q"]}, {"role": "assistant", "content": h["a"]}]
            msgs.append({"role": "user", "content": ctx["question"]})
            root_attrs["input.value"] = json.dumps(msgs, ensure_ascii=False)
            root_attrs["input.mime_type"] = "application/json"
        else:
            root_attrs["input.value"] = ctx["question"]
            root_attrs["input.mime_type"] = "text/plain"
        if rng.random() < 0.7:
            root_attrs["metadata"] = {"client": user["client"], "analyst_region": user["region"],
                                      "fund": ctx["fund"] if rng.random() < 0.5 else None,
                                      "ui_build": rng.choice(["2026.11.2", "2026.11.3", "2026.11.3"])}
        if rng.random() < 0.4:
            root_attrs["tag.tags"] = [ctx["desk"], user["client"]] + (["multi-turn"] if ctx["history"] else [])
        root = tb.open("atlas.research_request", "CHAIN", None, root_attrs, otel_kind=2)
        coord = tb.open("coordinator", "AGENT", root, {"agent.name": "coordinator", "graph.node.id": "coordinator"})
        self.coordinator(ctx, coord)
        tb.close(coord, {"output.value": ctx["memo"][:400]})
        memo = ctx["memo"]
        root_end_attrs = {"output.value": memo, "output.mime_type": "text/markdown"}
        tb.close(root, root_end_attrs)
        # post-hoc evaluations (async, after delivery)
        self.evaluations(ctx, root)
        root_attrs2 = root["attrs"]
        root_attrs2["atlas.cost_usd"] = round(ctx["cost"], 5)
        if ctx.get("delivery"):
            root_attrs2["atlas.delivery.status"] = ctx["delivery"]
        self.feedback(ctx, root)
        ctx["dur_ms"] = root["end"] - root["start"]
        ver = "2.14.0" if t_start < WEEK_START + timedelta(days=3, hours=14) else "2.14.1"
        res = {"service.name": "atlas-research", "service.version": ver, "deployment.environment": "prod",
               "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry",
               "openinference.project.name": "atlas-prod", "host.name": "atlas-worker-%02d" % rng.randint(1, 12)}
        doc = tb.to_otlp(res)
        doc["_tid"] = tid
        label = None
        if mode:
            _, rc, fix, sev, _ = MODE_INFO[mode]
            assert ctx["fail_span"] is not None, mode
            label = {"failure_mode": mode, "root_cause": rc, "failing_step": ctx["fail_span"],
                     "agent": ctx["fail_agent"], "fixable": fix, "severity": sev}
        headline = memo.strip().split("\n")[0].strip("*# ")
        summary = {"q": ctx["question"], "a": headline + " " + (ctx.get("memo_gist") or "")}
        return doc, label, summary

    # ---------------- facts ----------------
    def make_facts(self, ctx):
        rng = self.rng
        unit = METRICS[ctx["metric"]][1]
        lo, hi = METRICS[ctx["metric"]][2]
        rows = []
        for tk, nm, cur in ctx["companies"]:
            v = round(rng.uniform(lo, hi), 2 if unit == "bn" else 1)
            if unit == "pct":
                p = round(v + rng.uniform(-4.5, 4.5) * (0.15 if hi < 5 else 1), 1)
            elif unit == "x":
                p = round(v + rng.uniform(-0.6, 0.6), 1)
            else:
                p = round(v * rng.uniform(0.7, 1.3), 2)
            filed = WEEK_START - timedelta(days=rng.randint(12, 34))
            rows.append({"ticker": tk, "name": nm, "ccy": cur if cur in ("EUR", "GBP", "CHF", "DKK") else "USD",
                         "cur": v, "prior": p, "period": NOW_Q, "filed": date_str(filed),
                         "prior_filed": date_str(filed - timedelta(days=rng.randint(362, 368)))})
        ctx["rows"] = rows
        ctx["unit"] = unit
        # valuation multiples
        for r in rows:
            r["mult"] = round(rng.uniform(6, 38) if ctx.get("kind") == "valuation" else 0, 1)
            r["close"] = round(rng.uniform(20, 900), 2)
        ctx["basis"] = "non-GAAP" if ctx["constraint"] and ctx["constraint"]["type"] == "nongaap" else rng.choice(["GAAP", "GAAP", "non-GAAP"])
        if ctx.get("mem_fail"):
            ctx["basis"] = "GAAP"
        if ctx.get("new_constraint") and ctx["new_constraint"]["type"] == "nongaap":
            ctx["basis"] = "non-GAAP"
        ctx["eur"] = bool((ctx["constraint"] and ctx["constraint"]["type"] == "eur" and not ctx.get("mem_fail")) or
                          (ctx.get("new_constraint") and ctx["new_constraint"]["type"] == "eur"))
        if ctx["companies"]:
            c0 = ctx["companies"][0]
            call = WEEK_START - timedelta(days=rng.randint(14, 33))
            ctx["call_date"] = date_str(call)
            ctx["prev_call_date"] = date_str(call - timedelta(days=rng.randint(88, 95)))
            ctx["quote_num"] = round(rng.uniform(1.5, 30), 1)
            ctx["quote"] = self.quote(ctx, c0[1], ctx["topic"], ctx["quote_num"], new=True)
            ctx["old_quote"] = self.quote(ctx, c0[1], ctx["topic"], round(ctx["quote_num"] * rng.uniform(0.6, 0.9), 1), new=False)

    def quote(self, ctx, name, topic, num, new):
        rng = self.rng
        if not any(w in topic for w in ("capex", "investment", "buyback", "pipeline", "cost savings")):
            if new:
                return pick(rng, [
                    f"On {topic}, honestly it came in better than we planned; we're lifting the outlook by about {num}% and we'll update you again in February.",
                    f"We saw {topic} improve through the quarter - I'd call it a {num}% tailwind versus what we assumed in July.",
                    f"{topic.capitalize()} is still the question we get most. Our answer today is more confident than three months ago: we now model roughly {num}% impact, not worse.",
                    f"Look, on {topic} we've done the work; we're comfortable raising the range by about {num}% and we'll see where the first half lands.",
                ])
            return pick(rng, [
                f"{topic.capitalize()} was a headwind in the quarter; we're holding our view at roughly {num}% and not changing guidance today.",
                f"We're not ready to call a turn in {topic}; our planning assumption remains about {num}% for now.",
                f"On {topic}, we're staying cautious and will revisit after the summer.",
            ])
        if new:
            return pick(rng, [
                f"On {topic}, we are raising our view: we now expect roughly {num} billion for the full year, the upper end of the range we gave in July.",
                f"Let me be direct on {topic}: it is running ahead of plan, and we have committed an incremental {num} billion over the next two years.",
                f"We've taken {topic} up again - think about {num} billion this year - because the returns are there.",
            ])
        return pick(rng, [
            f"On {topic}, we're staying cautious - we still see around {num} billion for the year and will revisit after the summer.",
            f"We'd rather under-promise on {topic}; {num} billion remains the planning number for now.",
        ])

    # ---------------- coordinator ----------------
    def coordinator(self, ctx, coord):
        rng, tb, mode, kind = self.rng, ctx["tb"], ctx["mode"], ctx["kind"]
        hist_msgs = []
        if ctx["history"]:
            self.history_window(ctx, coord, hist_msgs)
        sys_prompt = ("You are the Atlas coordinator for an investment-research desk. Decide which specialists to use: "
                      "web_scout (news/web), doc_reader (filings, call transcripts, regulations), quant_analyst "
                      "(fundamentals, prices, python), memo_writer (final memo). Anything time-sensitive - recent "
                      "results, calls, news, rules in force - must be researched, not answered from memory. "
                      "Return JSON {route:[...], rationale, notes}.")
        if rng.random() < 0.3:
            sys_prompt = sys_prompt.replace("Anything time-sensitive - recent results, calls, news, rules in force - must be researched, not answered from memory. ", "Prefer research over recall for anything dated. ")
        route = {"compare": ["doc_reader", "quant_analyst"], "valuation": ["quant_analyst"],
                 "call_quote": ["doc_reader"], "regulation": ["web_scout", "doc_reader"], "news": ["web_scout"],
                 "concept": [], "unsupported": ["web_scout"]}[kind]
        if kind == "compare" and rng.random() < 0.25:
            route = ["web_scout"] + route
        if kind == "valuation" and rng.random() < 0.3:
            route = ["doc_reader"] + route
        if kind == "call_quote" and rng.random() < 0.2:
            route = route + ["web_scout"]
        rationale = {
            "compare": "Needs reported figures from the latest filings plus a computed comparison table.",
            "valuation": "Needs last close and trailing fundamentals; compute multiples in the sandbox.",
            "call_quote": "Quote must come from the actual transcript of the most recent call.",
            "regulation": "Check for recent amendments on the web, then read the consolidated legal text.",
            "news": "Recent-news scan; use web search with a short recency window.",
            "concept": "Definitional question; no external sources needed, memo_writer can answer directly.",
            "unsupported": "",
        }[kind]
        notes = None
        if kind == "unsupported":
            u = ctx["unsupported"]
            rationale = pick(rng, [f"Request needs {u[2]}; closest available path is a web search.",
                                   f"Try web_scout for {u[2]}; no dedicated connector.",
                                   f"Attempt with public sources (web) - {u[2]} may be partially reported."])
            if rng.random() < 0.4:
                route = []
                rationale = f"Request needs {u[2]}; answer with best available context."
        if mode == "answered_without_research":
            route = []
            rationale = pick(rng, ["Well-known company context; can be answered from background knowledge.",
                                   "General question; memo_writer can summarise from prior knowledge.",
                                   "Low complexity - skip research to save latency.",
                                   "Analyst wants a quick take; answer directly."])
        plan = {"route": route + ["memo_writer"], "rationale": rationale}
        if ctx["constraint"] and not ctx.get("mem_fail") and rng.random() < 0.8:
            c = ctx["constraint"]
            plan["constraints"] = [{"exclude": f"exclude {c.get('name')}", "eur": "report amounts in EUR",
                                    "nongaap": "non-GAAP basis"}[c["type"]]]
        if ctx.get("new_constraint"):
            c = ctx["new_constraint"]
            plan["constraints"] = [{"exclude": f"exclude {c.get('name')}", "eur": "report amounts in EUR",
                                    "nongaap": "non-GAAP basis"}[c["type"]]]
        messages = [("system", sys_prompt)] + hist_msgs + [("user", ctx["question"])]
        sp, c = llm_span(tb, "coordinator.plan", coord, "coordinator", messages, json.dumps(plan),
                         rng.randint(900, 4200), extra={"atlas.plan.route": plan["route"]})
        ctx["cost"] += c
        ctx["plan_span"] = sp
        if mode in ("answered_without_research", "unsupported_data_request"):
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "coordinator"
        ctx["notes"] = []
        for agent in route:
            self.handoff(ctx, coord, agent)
        # optional review loop
        if route and rng.random() < 0.55:
            loop = kind in ("compare", "call_quote", "regulation") and rng.random() < 0.12 and "web_scout" not in route
            review = {"complete": not loop, "missing": "recent press coverage for context" if loop else None}
            sp, c = llm_span(tb, "coordinator.review", coord, "coordinator",
                             [("system", "Check the specialists' notes cover the question. Return JSON {complete, missing}."),
                              ("user", "\n\n".join(n[:500] for n in ctx["notes"]))], json.dumps(review),
                             rng.randint(500, 2200))
            ctx["cost"] += c
            if loop:
                self.handoff(ctx, coord, "web_scout", reason="review: missing recent press coverage")
        self.handoff(ctx, coord, "memo_writer")

    def history_window(self, ctx, coord, hist_msgs):
        rng, tb = self.rng, ctx["tb"]
        hist = ctx["history"]
        budget = rng.choice([6000, 8000, 8000, 12000])
        sizes = [tok(h["q"]) + rng.randint(900, 3200) for h in hist]
        cons_turn = None
        for i, h in enumerate(hist):
            if h.get("constraint"):
                cons_turn = i
        keep = []
        used = 0
        for i in range(len(hist) - 1, -1, -1):
            if used + sizes[i] > budget:
                break
            keep.append(i)
            used += sizes[i]
        keep = sorted(keep)
        if ctx.get("mem_fail"):
            keep = [i for i in keep if i > (cons_turn if cons_turn is not None else -1)]
            if not keep:
                keep = [len(hist) - 1]
            used = sum(sizes[i] for i in keep)
            budget = ((used // 500) + 1) * 500
            c = cons_turn if cons_turn is not None else 0
            if used + sizes[c] <= budget:
                sizes[c] = budget - used + rng.randint(150, 1500)
        elif cons_turn is not None and cons_turn not in keep:
            # healthy: constraints are pinned even when the turn is dropped
            pinned = True
            ctx["pinned"] = pinned
        dropped = [i for i in range(len(hist)) if i not in keep]
        for i in keep:
            hist_msgs.append(("user", hist[i]["q"]))
            hist_msgs.append(("assistant", hist[i]["a"]))
        attrs = {"agent.name": "coordinator", "atlas.history.turns_total": len(hist),
                 "atlas.history.turns_included": len(keep), "atlas.history.token_budget": budget,
                 "atlas.history.tokens_used": used,
                 "input.value": json.dumps({"turns": len(hist), "budget": budget})}
        if dropped:
            style = rng.random()
            if style < 0.5:
                attrs["atlas.history.dropped_turn_indices"] = dropped
            elif style < 0.8:
                attrs["atlas.history.note"] = f"{len(dropped)} earlier turn(s) omitted to fit budget"
            hist_msgs.insert(0, ("system", pick(rng, [f"[{len(dropped)} earlier messages not shown]",
                                                      "Earlier conversation truncated.",
                                                      f"(context window: showing last {len(keep)} of {len(hist)} turns)"])))
        if ctx.get("pinned") and cons_turn is not None:
            attrs["atlas.history.pinned_notes"] = [hist[cons_turn]["q"].split(". ")[-1][:160]]
            hist_msgs.insert(0, ("system", "Pinned analyst instructions: " + hist[cons_turn]["q"].split(". ")[-1][:160]))
        attrs["output.value"] = json.dumps({"included_turns": keep})
        sp = tb.leaf("coordinator.history_window", "CHAIN", coord, attrs, rng.randint(3, 40))
        if ctx.get("mem_fail"):
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "coordinator"
            ctx["constraint_ignored"] = True

    def handoff(self, ctx, coord, agent, reason=None):
        rng, tb = self.rng, ctx["tb"]
        task = {"doc_reader": "Extract the relevant figures/passages from primary documents.",
                "quant_analyst": "Fetch data and compute the comparison.",
                "web_scout": "Find recent public coverage.",
                "memo_writer": "Draft the memo from the specialists' notes."}[agent]
        ha = {"atlas.handoff.from": "coordinator", "atlas.handoff.to": agent, "atlas.handoff.task": task}
        if reason:
            ha["atlas.handoff.reason"] = reason
        h = tb.open(f"handoff.{agent}", "CHAIN", coord, ha)
        ag = tb.open(agent, "AGENT", h, {"agent.name": agent, "graph.node.id": agent,
                                          "graph.node.parent_id": "coordinator"})
        getattr(self, "agent_" + agent)(ctx, ag)
        tb.close(ag)
        tb.close(h)
        tb.gap(5, 80)

    # ---------------- web_scout ----------------
    def agent_web_scout(self, ctx, ag):
        rng, tb, mode, kind = self.rng, ctx["tb"], ctx["mode"], ctx["kind"]
        names = [c[1] for c in ctx["companies"]]
        if kind == "regulation":
            r = REGS[ctx["reg"]]
            q = f"{r['short']} amendment latest"
        elif kind == "unsupported":
            q = ctx["companies"][0][1] + " " + ctx["unsupported"][3]
        else:
            q = " ".join(names[:2]) + (" news" if kind == "news" else f" {ctx['topic']}")
        args = {"q": q, "max_results": rng.choice([5, 8, 10])}
        if rng.random() < 0.6:
            args["recency_days"] = rng.choice([7, 14, 30])
        if rng.random() < 0.4:
            sp, c = llm_span(tb, "web_scout.plan_queries", ag, "web_scout",
                             [("system", "Write 1-3 search queries."), ("user", ctx["question"])],
                             json.dumps({"queries": [q]}), rng.randint(300, 1200))
            ctx["cost"] += c
        stale = mode == "stale_source_document" and kind == "news"
        results = []
        for i in range(rng.randint(3, 6)):
            nm = pick(rng, names) if names else REGS[ctx["reg"]]["short"]
            cons = ctx["constraint"]
            if i == 0 and ctx.get("mem_fail") and cons and cons["type"] == "exclude":
                nm = cons["name"]
            if stale:
                pub = WEEK_START - timedelta(days=rng.randint(95, 260))
            else:
                pub = WEEK_START + timedelta(days=rng.randint(-9, 3))
                if rng.random() < 0.15:
                    pub = WEEK_START - timedelta(days=rng.randint(30, 200))  # harmless background piece
            title = pick(rng, [f"{nm} shares move after {ctx['topic']} update", f"{nm}: what analysts are watching",
                               f"{nm} outlines plans on {ctx['topic']}", f"{nm} under pressure over {ctx['topic']}",
                               f"Inside {nm}'s {ctx['topic']} strategy"])
            if kind == "regulation":
                r = REGS[ctx["reg"]]
                title = pick(rng, [f"EU institutions agree changes to {r['short']}", f"{r['short']}: what the latest deal means",
                                   f"Commission publishes {r['short']} guidance"])
                if rng.random() < 0.3:
                    pub = datetime.strptime(r["amended"], "%Y-%m-%d").replace(tzinfo=timezone.utc)
            if kind == "unsupported":
                title = pick(rng, [f"{nm} stock: live coverage", f"{nm} analyst day recap", f"{nm} stock forecast and price targets",
                                   f"How {nm} is viewed by the Street"])
            dom = pick(rng, ["reuters.com", "ft.com", "bloomberg.com", "cnbc.com", "handelsblatt.com", "wsj.com", "euractiv.com", "seekingalpha.com"])
            key = "published" if rng.random() < 0.7 else "date"
            results.append({"title": title, "url": f"https://www.{dom}/{nm.lower().replace(' ', '-')}-{rng.randint(10000, 99999)}",
                            key: date_str(pub), "snippet": title + "..."})
        if rng.random() < 0.05 and not stale:
            tool_span(tb, "web.search", ag, "web_scout", args, None, rng.randint(200, 900),
                      error=pick(rng, ["HTTP 429 Too Many Requests (retry-after: 2)", "upstream timeout after 8000ms", "HTTP 502 Bad Gateway"]),
                      exc_type="SearchProviderError")
            tb.gap(500, 2500)
        sp = tool_span(tb, "web.search", ag, "web_scout", args, {"results": results}, rng.randint(400, 2600))
        if stale:
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "web_scout"
        if rng.random() < 0.6:
            tool_span(tb, "web.fetch", ag, "web_scout", {"url": results[0]["url"]},
                      {"status": 200, "chars": rng.randint(2000, 18000), "title": results[0]["title"]}, rng.randint(300, 2000))
        if kind == "unsupported":
            note = pick(rng, ["Only general coverage found; no source provides the requested data.",
                              "Search returned commentary and old articles, nothing with the specific figures requested.",
                              "No public page carries this data; found tangential articles only."])
        else:
            note = "Recent coverage: " + "; ".join(f"{r['title']} ({r.get('published', r.get('date'))})" for r in results[:3])
        ctx["notes"].append(note)
        ctx["news"] = results
        sp, c = llm_span(tb, "web_scout.summarise", ag, "web_scout",
                         [("system", "Summarise the results for the coordinator; keep dates."), ("user", json.dumps(results)[:1500])],
                         note, rng.randint(600, 2500))
        ctx["cost"] += c
        for r in results[:2]:
            ctx["sources"].append(f"{r['title']} ({r['url'].split('/')[2]}, {r.get('published', r.get('date'))})")

    # ---------------- doc_reader ----------------
    def agent_doc_reader(self, ctx, ag):
        rng, tb, mode, kind = self.rng, ctx["tb"], ctx["mode"], ctx["kind"]
        if kind in ("compare", "valuation"):
            self.read_filings(ctx, ag)
        elif kind == "call_quote":
            self.read_transcript(ctx, ag)
        elif kind == "regulation":
            self.read_regulation(ctx, ag)

    def retriever(self, ctx, ag, name, query, docs, extra=None):
        tb, rng = ctx["tb"], self.rng
        a = {"agent.name": "doc_reader", "input.value": query, "retrieval.top_k": len(docs)}
        for i, d in enumerate(docs):
            a[f"retrieval.documents.{i}.document.id"] = d["id"]
            a[f"retrieval.documents.{i}.document.content"] = d["content"]
            a[f"retrieval.documents.{i}.document.score"] = d["score"]
            a[f"retrieval.documents.{i}.document.metadata"] = d["meta"]
        if extra:
            a.update(extra)
        if rng.random() < 0.04:
            tb.leaf(name, "RETRIEVER", ag, {"agent.name": "doc_reader", "input.value": query}, rng.randint(2000, 5000),
                    error=pick(rng, ["vector store timeout (5000 ms)", "connection reset by peer (vectordb-2)", "503 index warming"]),
                    exc_type="RetrieverError")
            tb.gap(200, 1500)
        return tb.leaf(name, "RETRIEVER", ag, a, rng.randint(120, 900))

    def read_filings(self, ctx, ag):
        rng, tb, mode = self.rng, ctx["tb"], ctx["mode"]
        rows = ctx["rows"]
        mh = METRICS[ctx["metric"]][0]
        unit = ctx["unit"]
        stale_i = rng.randrange(len(rows)) if mode == "stale_source_document" else None
        look_i = 0 if mode == "lookalike_issuer_retrieved" else None
        docs = []
        datekey = rng.choice(["filed_at", "filing_date", "published"])
        for i, r in enumerate(rows):
            form = "10-Q" if r["ticker"] in US_FILERS else pick(rng, ["Q3 interim report", "quarterly results release", "6-K"])
            if i == stale_i:
                # index hasn't picked up the new filing: last year's report comes back as the best match
                content = (f"{r['name']} - {form} for the quarter ended September 2025. {mh.capitalize()} was "
                           f"{fmt_val(r['prior'], unit, r['ccy'])} for the quarter ...")
                docs.append({"id": f"filing:{r['ticker']}:{PRIOR_Q}", "content": content, "score": round(rng.uniform(0.78, 0.9), 3),
                             "meta": {"issuer": r["name"], "ticker": r["ticker"], "form": form, "period": PRIOR_Q,
                                      datekey: r["prior_filed"]}})
                r["reported"] = r["prior"]
                r["stale"] = True
                continue
            if i == look_i:
                ltk, lnm = LOOKALIKE[r["ticker"]]
                fake = round(r["cur"] + rng.choice([-1, 1]) * rng.uniform(3, 9) * (0.15 if unit == "pct" and METRICS[ctx["metric"]][2][1] < 5 else 1), 1 if unit != "bn" else 2)
                if unit == "bn":
                    fake = round(abs(r["cur"] * rng.uniform(0.3, 0.6)), 2)
                docs.append({"id": f"filing:{ltk}:{NOW_Q}", "content": f"{lnm} - {form} for the quarter ended September 2026. "
                             f"{mh.capitalize()} was {fmt_val(fake, unit, r['ccy'])} ...", "score": round(rng.uniform(0.86, 0.95), 3),
                             "meta": {"issuer": lnm, "ticker": ltk, "form": form, "period": NOW_Q, datekey: r["filed"]}})
                docs.append({"id": f"filing:{r['ticker']}:{NOW_Q}", "content": f"{r['name']} - {form} for the quarter ended September 2026. "
                             f"{mh.capitalize()} was {fmt_val(r['cur'], unit, r['ccy'])} ...", "score": round(rng.uniform(0.7, 0.84), 3),
                             "meta": {"issuer": r["name"], "ticker": r["ticker"], "form": form, "period": NOW_Q, datekey: r["filed"]}})
                r["reported"] = fake
                r["lookalike"] = lnm
                continue
            docs.append({"id": f"filing:{r['ticker']}:{NOW_Q}",
                         "content": f"{r['name']} - {form} for the quarter ended September 2026. {mh.capitalize()} was "
                                    f"{fmt_val(r['cur'], unit, r['ccy'])} compared with {fmt_val(r['prior'], unit, r['ccy'])} a year ago ...",
                         "score": round(rng.uniform(0.8, 0.95), 3),
                         "meta": {"issuer": r["name"], "ticker": r["ticker"], "form": form, "period": NOW_Q, datekey: r["filed"]}})
            r["reported"] = r["cur"]
            if rng.random() < 0.2:  # deliberate prior-year doc for YoY context (healthy)
                docs.append({"id": f"filing:{r['ticker']}:{PRIOR_Q}",
                             "content": f"{r['name']} - {form} for the quarter ended September 2025. {mh.capitalize()} was "
                                        f"{fmt_val(r['prior'], unit, r['ccy'])} ...", "score": round(rng.uniform(0.6, 0.78), 3),
                             "meta": {"issuer": r["name"], "ticker": r["ticker"], "form": form, "period": PRIOR_Q, datekey: r["prior_filed"]}})
        rng.shuffle(docs)
        docs.sort(key=lambda d: -d["score"])
        q = f"{' '.join(r['ticker'] for r in rows)} {mh if ctx['kind'] == 'compare' else 'net debt EBITDA'} quarterly report {NOW_Q}"
        sp = self.retriever(ctx, ag, "filings.search", q, docs, {"atlas.index": "filings-v7"})
        if mode in ("stale_source_document", "lookalike_issuer_retrieved"):
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "doc_reader"
        if rng.random() < 0.35:
            tb.leaf("filings.rerank", "RERANKER", ag, {"agent.name": "doc_reader", "reranker.model_name": "bge-reranker-v2-m3",
                                                       "reranker.query": q, "reranker.top_k": len(docs)}, rng.randint(80, 400))
        extracted = {r["ticker"]: {"value": r["reported"], "period": PRIOR_Q if r.get("stale") else NOW_Q,
                                   "source": f"filing:{(LOOKALIKE[r['ticker']][0] if r.get('lookalike') else r['ticker'])}:{PRIOR_Q if r.get('stale') else NOW_Q}"}
                     for r in rows}
        if rng.random() < 0.5:  # some readers drop the period field
            for v in extracted.values():
                v.pop("period")
        out = json.dumps({"metric": ctx["metric"], "figures": extracted})
        sp2, c = llm_span(tb, "doc_reader.extract", ag, "doc_reader",
                          [("system", "Extract the requested metric for each issuer from the passages. Cite doc ids."),
                           ("user", f"Metric: {mh}. Issuers: {', '.join(r['ticker'] for r in rows)}")], out, rng.randint(700, 3000))
        ctx["cost"] += c
        ctx["notes"].append(out)
        for r in rows:
            if r.get("stale"):
                ctx["sources"].append(f"{r['name']} {('10-Q' if r['ticker'] in US_FILERS else 'interim report')}, filed {r['prior_filed']}")
            elif r.get("lookalike"):
                ctx["sources"].append(f"{r['lookalike']} quarterly report, filed {r['filed']}")
            else:
                ctx["sources"].append(f"{r['name']} {('10-Q' if r['ticker'] in US_FILERS else 'interim report')}, filed {r['filed']}")
        ctx["read_filings"] = True

    def context_pack(self, ctx, ag, doc_tokens, sections, relevant, drop_relevant):
        rng, tb = self.rng, ctx["tb"]
        budget = rng.choice([12000, 16000, 24000])
        attrs = {"agent.name": "doc_reader", "atlas.context.token_budget": budget, "atlas.context.tokens_in": doc_tokens}
        if doc_tokens <= budget:
            attrs.update({"atlas.context.truncated": False, "atlas.context.sections_kept": sections})
            return tb.leaf("doc_reader.context_pack", "CHAIN", ag, attrs, rng.randint(5, 60)), sections, False
        if drop_relevant:
            strategy = rng.choice(["head", "head", "first_n_chunks"])
            kept = [s for s in sections if s != relevant]
            kept = kept[:max(1, len(kept) - rng.randint(0, 1))]
        else:
            strategy = rng.choice(["relevance", "relevance", "head"])
            kept = [s for s in sections if s == relevant or rng.random() < 0.6]
            if relevant not in kept:
                kept.append(relevant)
        dropped = [s for s in sections if s not in kept]
        attrs.update({"atlas.context.truncated": True, "atlas.context.strategy": strategy,
                      "atlas.context.sections_kept": kept, "atlas.context.tokens_out": budget - rng.randint(50, 900)})
        if rng.random() < 0.6:
            attrs["atlas.context.sections_dropped"] = dropped
        else:
            attrs["atlas.context.dropped_chunks"] = rng.randint(len(dropped) * 3, len(dropped) * 9 + 3)
        return tb.leaf("doc_reader.context_pack", "CHAIN", ag, attrs, rng.randint(5, 60)), kept, True

    def read_transcript(self, ctx, ag):
        rng, tb, mode = self.rng, ctx["tb"], ctx["mode"]
        tk, nm, _ = ctx["companies"][0]
        stale = mode == "stale_source_document"
        look = mode == "lookalike_issuer_retrieved"
        qdate = ctx["prev_call_date"] if stale else ctx["call_date"]
        quote = ctx["old_quote"] if stale else ctx["quote"]
        docs = []
        if look:
            ltk, lnm = LOOKALIKE[tk]
            lquote = self.quote(ctx, lnm, ctx["topic"], round(rng.uniform(1, 25), 1), new=rng.random() < 0.5)
            docs.append({"id": f"transcript:{ltk}:{NOW_Q}:qa", "content": f"[{lnm} Q3 2026 earnings call, Q&A] CEO: {lquote}",
                         "score": round(rng.uniform(0.85, 0.93), 3),
                         "meta": {"company": lnm, "ticker": ltk, "event": "Q3 2026 earnings call", "call_date": ctx["call_date"], "section": "Q&A"}})
            ctx["lookalike_quote"] = (lnm, lquote)
        docs.append({"id": f"transcript:{tk}:{PREV_Q if stale else NOW_Q}:qa",
                     "content": f"[{nm} {'Q2' if stale else 'Q3'} 2026 earnings call, Q&A] CEO: {quote}",
                     "score": round(rng.uniform(0.8, 0.9), 3),
                     "meta": {"company": nm, "ticker": tk, "event": f"{'Q2' if stale else 'Q3'} 2026 earnings call",
                              "call_date": qdate, "section": "Q&A"}})
        docs.append({"id": f"transcript:{tk}:{PREV_Q if stale else NOW_Q}:prepared",
                     "content": f"[{nm} {'Q2' if stale else 'Q3'} 2026 earnings call, prepared remarks] CFO: Revenue came in within our guided range; "
                                f"we continue to invest with discipline ...",
                     "score": round(rng.uniform(0.65, 0.8), 3),
                     "meta": {"company": nm, "ticker": tk, "event": f"{'Q2' if stale else 'Q3'} 2026 earnings call",
                              "call_date": qdate, "section": "Prepared remarks"}})
        if not stale and rng.random() < 0.25:
            docs.append({"id": f"transcript:{tk}:{PREV_Q}:qa", "content": f"[{nm} Q2 2026 earnings call, Q&A] CEO: {ctx['old_quote']}",
                         "score": round(rng.uniform(0.55, 0.75), 3),
                         "meta": {"company": nm, "ticker": tk, "event": "Q2 2026 earnings call", "call_date": ctx["prev_call_date"], "section": "Q&A"}})
        docs.sort(key=lambda d: -d["score"])
        sp = self.retriever(ctx, ag, "transcripts.search", f"{tk} earnings call {ctx['topic']}", docs,
                            {"atlas.index": "transcripts-v4"})
        if stale or look:
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "doc_reader"
        if rng.random() < 0.3:
            tb.leaf("transcripts.rerank", "RERANKER", ag, {"agent.name": "doc_reader", "reranker.model_name": "bge-reranker-v2-m3",
                                                           "reranker.query": ctx["topic"], "reranker.top_k": 3}, rng.randint(80, 400))
        sections = ["Safe harbor", "Prepared remarks - CEO", "Prepared remarks - CFO", "Q&A part 1", "Q&A part 2", "Closing"]
        relevant = rng.choice(["Q&A part 1", "Q&A part 2"])
        trunc = mode == "relevant_section_truncated"
        doc_tokens = rng.randint(9000, 21000) if rng.random() < 0.4 and not trunc else rng.randint(26000, 64000)
        psp, kept, did_trunc = self.context_pack(ctx, ag, doc_tokens, sections, relevant, trunc)
        if trunc:
            ctx["fail_span"], ctx["fail_agent"] = psp["spanId"], "doc_reader"
            ctx["truncated_away"] = True
        if look:
            lnm, lquote = ctx["lookalike_quote"]
            passage = lquote
        elif trunc:
            passage = None
        else:
            passage = quote
        body = "\n".join(f"[{s}] ..." for s in kept)
        if did_trunc and rng.random() < 0.5:
            body += f"\n[... {rng.randint(9, 40)} pages omitted to fit context ...]"
        out = {"company": nm, "call_date": qdate, "topic": ctx["topic"],
               "quote": passage, "speaker": "CEO" if passage else None,
               "found": passage is not None}
        if not passage:
            out["comment"] = pick(rng, [f"No discussion of {ctx['topic']} in the provided transcript sections.",
                                        f"Management did not address {ctx['topic']} in the material available.",
                                        f"Only generic remarks; {ctx['topic']} not mentioned."])
        sp2, c = llm_span(tb, "doc_reader.extract", ag, "doc_reader",
                          [("system", "Find what management said on the topic. Quote verbatim with speaker and date."),
                           ("user", f"Topic: {ctx['topic']}\n\nTranscript:\n{body}")], json.dumps(out), rng.randint(900, 4000))
        ctx["cost"] += c
        ctx["notes"].append(json.dumps(out))
        ctx["transcript"] = out
        lname = ctx["lookalike_quote"][0] if look else nm
        ctx["sources"].append(f"{lname} earnings call transcript, {qdate}")

    def read_regulation(self, ctx, ag):
        rng, tb, mode = self.rng, ctx["tb"], ctx["mode"]
        r = REGS[ctx["reg"]]
        stale = mode == "stale_source_document"
        ver_date = "2023-07-28" if stale else r["amended"]
        label = "original text (OJ publication)" if stale else "consolidated version"
        docs = [{"id": f"reg:{ctx['reg']}:{'orig' if stale else 'consolidated'}:art-obligations",
                 "content": f"{r['name']} - {label}. Operators with {r['threshold_old'] if stale else r['threshold_new']} shall put in place {r['duty']} "
                            f"from {r['date_old'] if stale else r['date_new']} ...",
                 "score": round(rng.uniform(0.8, 0.93), 3),
                 "meta": {"instrument": r["name"], "version": label, "version_date": ver_date, "section": "Obligations / Annex"}},
                {"id": f"reg:{ctx['reg']}:recitals", "content": f"{r['name']} - recitals. Whereas ...", "score": round(rng.uniform(0.6, 0.78), 3),
                 "meta": {"instrument": r["name"], "version": label, "version_date": ver_date, "section": "Recitals"}}]
        if not stale and rng.random() < 0.3:
            docs.append({"id": f"reg:{ctx['reg']}:orig:art-obligations",
                         "content": f"{r['name']} - original text. Operators with {r['threshold_old']} ... from {r['date_old']}",
                         "score": round(rng.uniform(0.55, 0.75), 3),
                         "meta": {"instrument": r["name"], "version": "original text", "version_date": "2023-07-28", "superseded": True}})
        docs.sort(key=lambda d: -d["score"])
        sp = self.retriever(ctx, ag, "regs.search", f"{r['short']} obligations thresholds application date", docs,
                            {"atlas.index": "eurlex-mirror"})
        if stale:
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "doc_reader"
        sections = ["Recitals", "Articles 1-10 (scope, definitions)", "Articles 11-40", "Articles 41-80", "Final provisions", "Annexes"]
        relevant = rng.choice(["Articles 41-80", "Final provisions", "Annexes"])
        trunc = mode == "relevant_section_truncated"
        psp, kept, did_trunc = self.context_pack(ctx, ag, rng.randint(30000, 90000) if (trunc or rng.random() < 0.6) else rng.randint(8000, 14000),
                                                 sections, relevant, trunc)
        if trunc:
            ctx["fail_span"], ctx["fail_agent"] = psp["spanId"], "doc_reader"
        out = {"instrument": r["name"], "version": label, "version_date": ver_date}
        if trunc:
            out.update({"obligation": r["duty"], "threshold": None, "application_date": None,
                        "comment": pick(rng, ["Application dates and thresholds not found in the reviewed sections.",
                                              "The text reviewed does not specify a threshold or start date.",
                                              "Timing appears to be left to delegated acts (not in provided text)."])})
        else:
            out.update({"obligation": r["duty"], "threshold": r["threshold_old"] if stale else r["threshold_new"],
                        "application_date": r["date_old"] if stale else r["date_new"]})
        sp2, c = llm_span(tb, "doc_reader.extract", ag, "doc_reader",
                          [("system", "Extract obligations, thresholds and application dates; cite article."),
                           ("user", "Sections: " + ", ".join(kept))], json.dumps(out), rng.randint(900, 4000))
        ctx["cost"] += c
        ctx["notes"].append(json.dumps(out))
        ctx["regx"] = out
        ctx["sources"].append(f"{r['name']}, {label} ({ver_date})")

    # ---------------- quant ----------------
    def agent_quant_analyst(self, ctx, ag):
        rng, tb, mode, kind = self.rng, ctx["tb"], ctx["mode"], ctx["kind"]
        rows = ctx["rows"]
        code_plan = ("import pandas as pd\n"
                     "df = pd.DataFrame(data)\n" +
                     ("df['delta'] = df['cur'] - df['prior']\nprint(df.sort_values('cur', ascending=False).to_string())"
                      if kind == "compare" else
                      ("df['multiple'] = df['ev'] / df['ebitda_ttm']\n" if ctx.get("vmetric") == "EV/EBITDA" else
                       "df['multiple'] = df['price'] / df['eps_ttm']\n") +
                      "print(df[['ticker','multiple']].round(1).to_string())"))
        sp, c = llm_span(tb, "quant.plan", ag, "quant_analyst",
                         [("system", "Plan data pulls and write pandas code for the sandbox. Tool fundamentals.get takes an exchange ticker."),
                          ("user", ctx["question"])], code_plan, rng.randint(700, 3500))
        ctx["cost"] += c
        if kind == "valuation":
            tool_span(tb, "market.snapshot", ag, "quant_analyst", {"tickers": [r["ticker"] for r in rows]},
                      {"as_of": date_str(WEEK_START + timedelta(days=rng.randint(0, 5))),
                       "quotes": {r["ticker"]: {"close": r["close"], "ccy": r["ccy"]} for r in rows}}, rng.randint(150, 700))
        bad = mode == "fundamentals_call_bad_arguments"
        bad_i = rng.randrange(len(rows)) if bad else None
        variant = pick(rng, ["name", "period", "metric"]) if bad else None
        if variant == "metric" and kind == "valuation":
            variant = "name"
        ctx["bad_variant"] = variant
        metrics = [ctx["metric"]] if kind == "compare" else ["ebitda_ttm", "net_debt", "eps_ttm"]
        for i, r in enumerate(rows):
            period = PRIOR_Q if kind == "compare" else NOW_Q
            args = {"ticker": r["ticker"], "period": period, "metrics": metrics}
            if ctx["basis"] == "non-GAAP" or rng.random() < 0.3:
                args["basis"] = ctx["basis"]
            if rng.random() < 0.15:
                args.pop("period")
                args["period"] = period
            if i == bad_i:
                if variant == "name":
                    wrong = dict(args, ticker=r["name"])
                    msg = pick(rng, [f"400 INVALID_ARGUMENT: unknown ticker '{r['name']}' (expected exchange symbol)",
                                     f"ValueError: no listing found for identifier '{r['name']}'",
                                     f"404: symbol '{r['name']}' not found"])
                elif variant == "period":
                    badp = pick(rng, ["Q3 2025", "Q3-25", "2025-Q3", "FY25 Q3", "Sep 2025"] if kind == "compare" else ["Q3 2026", "Q3-26", "2026-Q3"])
                    wrong = dict(args, period=badp)
                    msg = pick(rng, [f"ValidationError: period '{badp}' does not match ^\\d{{4}}Q[1-4]$",
                                     f"400 INVALID_ARGUMENT: bad period format '{badp}'",
                                     f"period: string '{badp}' is not a valid fiscal period"])
                else:
                    bm = ctx["metric"] + pick(rng, ["_pct", "_percent", "_ratio"]) if METRICS[ctx["metric"]][1] != "bn" else ctx["metric"] + "_usd"
                    wrong = dict(args, metrics=[bm])
                    msg = pick(rng, [f"unsupported metric '{bm}'; allowed: {', '.join(sorted(METRICS)[:6])}, ...",
                                     f"400 INVALID_ARGUMENT: metrics[0]='{bm}' not in enum"])
                sp = tool_span(tb, "fundamentals.get", ag, "quant_analyst", wrong, None, rng.randint(60, 300), error=msg, exc_type="ToolInputError")
                ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "quant_analyst"
                # agent does not recover properly
                if variant == "period" and kind == "compare" and rng.random() < 0.6:
                    retry = {k: v for k, v in args.items() if k != "period"}
                    annual = r["prior"] * rng.uniform(3.6, 4.4) if ctx["unit"] == "bn" else r["prior"] + rng.uniform(-2.5, 2.5)
                    res = {"ticker": r["ticker"], "period": "FY2025", "period_type": "annual",
                           ctx["metric"]: round(annual, 2 if ctx["unit"] == "bn" else 1)}
                    tool_span(tb, "fundamentals.get", ag, "quant_analyst", retry, res, rng.randint(100, 500))
                    r["prior_used"] = list(res.values())[-1]
                    r["annual_mix"] = True
                else:
                    if rng.random() < 0.5:
                        tool_span(tb, "fundamentals.get", ag, "quant_analyst", wrong, None, rng.randint(60, 300), error=msg, exc_type="ToolInputError")
                    r["missing"] = True
                continue
            if not bad and rng.random() < 0.05:  # healthy: wrong identifier first, then corrected
                tool_span(tb, "fundamentals.get", ag, "quant_analyst", dict(args, ticker=r["name"]), None, rng.randint(60, 300),
                          error=f"400 INVALID_ARGUMENT: unknown ticker '{r['name']}' (expected exchange symbol)", exc_type="ToolInputError")
            if kind == "compare":
                res = {"ticker": r["ticker"], "period": PRIOR_Q, ctx["metric"]: r["prior"], "basis": args.get("basis", "GAAP")}
            else:
                res = {"ticker": r["ticker"], "period": NOW_Q, "ebitda_ttm": round(rng.uniform(1, 40), 2),
                       "net_debt": round(rng.uniform(-5, 30), 2), "eps_ttm": round(r["close"] / r["mult"], 2)}
                r["ebitda"] = res["ebitda_ttm"]
            tool_span(tb, "fundamentals.get", ag, "quant_analyst", args, res, rng.randint(100, 600))
            r["prior_used"] = r["prior"]
        # sandbox
        if kind == "compare":
            data = [{"ticker": r["ticker"], "cur": r.get("reported", r["cur"]), "prior": r.get("prior_used")} for r in rows if not r.get("missing")]
        elif ctx.get("vmetric") == "EV/EBITDA":
            data = [{"ticker": r["ticker"], "ev": round(r["mult"] * r["ebitda"], 1), "ebitda_ttm": r["ebitda"]} for r in rows if not r.get("missing")]
        else:
            data = [{"ticker": r["ticker"], "price": r["close"], "eps_ttm": round(r["close"] / r["mult"], 2)} for r in rows if not r.get("missing")]
        code = f"data = {json.dumps(data)}\n" + code_plan
        fail = mode == "sandbox_unavailable"
        attempts = rng.choice([2, 3]) if fail else (2 if rng.random() < 0.06 else 1)
        table = self.quant_table(ctx)
        stdout = "\n".join(table["lines"])
        for a in range(attempts):
            last = a == attempts - 1
            if fail or not last:
                err = pick(rng, ["TimeoutError: execution exceeded 60s wall clock (sandbox sbx-%d)" % rng.randint(100, 999),
                                 "KernelDied: worker exited with code 137 (OOM-killed)",
                                 "503 Service Unavailable: no sandbox workers available in pool 'quant-eu'",
                                 "SandboxError: container failed health check after start"] if fail else
                           ["503 Service Unavailable: sandbox pool busy, retry in 2s", "ConnectionResetError: sandbox gateway reset"])
                dur = 60000 + rng.randint(0, 900) if err.startswith("Timeout") else rng.randint(800, 15000)
                et = err.split(":")[0]
                et = et if et.isidentifier() else "SandboxUnavailable"
                sp = tool_span(tb, "python.run", ag, "quant_analyst", {"code": code, "timeout_s": 60}, None, dur, error=err,
                               exc_type=et,
                               extra={"atlas.sandbox.attempt": a + 1})
                if fail and a == 0:
                    ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "quant_analyst"
                tb.gap(500, 4000)
            else:
                tool_span(tb, "python.run", ag, "quant_analyst", {"code": code, "timeout_s": 60},
                          {"stdout": stdout, "exit_code": 0}, rng.randint(900, 9000), extra={"atlas.sandbox.attempt": a + 1})
        if fail:
            summary = pick(rng, ["Sandbox unavailable after retries; could not compute the comparison table.",
                                 "Computation failed (sandbox errors). Raw extracted figures only, no deltas.",
                                 "Unable to run analysis - sandbox timed out repeatedly."])
            ctx["quant_failed"] = True
        else:
            summary_rows = [dict(x) for x in table["rows"]]
            if mode == "memo_figures_diverge_from_analysis" and rng.random() < 0.3:
                ctx["numeric_at_quant"] = True
                self.corrupt_rows(ctx, summary_rows)
            summary = json.dumps({"table": summary_rows})
        sp, c = llm_span(tb, "quant.summarise", ag, "quant_analyst",
                         [("system", "Summarise the sandbox output as a compact JSON table for the writer."),
                          ("user", stdout if not fail else "(no output)")], summary, rng.randint(400, 2000))
        ctx["cost"] += c
        if ctx.get("numeric_at_quant"):
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "quant_analyst"
            ctx["writer_rows"] = summary_rows
        ctx["notes"].append(summary)
        ctx["quant_ran"] = True
        if kind == "valuation":
            ctx["sources"].append(f"Atlas market data, end-of-day close ({date_str(WEEK_START + timedelta(days=rng.randint(0, 5)))})")
            ctx["sources"].append("Atlas fundamentals service, trailing twelve months to 2026Q3")
        elif rng.random() < 0.7:
            ctx["sources"].append("Atlas fundamentals service, prior-year comparatives (2025Q3)")

    def quant_table(self, ctx):
        rows = ctx["rows"]
        unit = ctx["unit"]
        out, lines = [], []
        if ctx["kind"] == "valuation":
            lines.append("ticker  multiple")
            for r in sorted(rows, key=lambda r: r["mult"]):
                if r.get("missing"):
                    continue
                out.append({"ticker": r["ticker"], "name": r["name"], "value": r["mult"], "unit": "x"})
                lines.append(f"{r['ticker']:<7} {r['mult']:.1f}")
        else:
            lines.append("ticker  cur  prior  delta")
            for r in sorted(rows, key=lambda r: -r.get("reported", r["cur"])):
                if r.get("missing"):
                    continue
                cur = r.get("reported", r["cur"])
                pr = r.get("prior_used", r["prior"])
                out.append({"ticker": r["ticker"], "name": r["name"], "value": cur, "prior": pr, "unit": unit})
                lines.append(f"{r['ticker']:<7} {cur}  {pr}  {round(cur - pr, 2)}")
        return {"rows": out, "lines": lines}

    def corrupt_rows(self, ctx, rows):
        rng = self.rng
        if not rows:
            return
        v = pick(rng, ["swap", "shift", "sign"]) if len(rows) > 1 else pick(rng, ["shift", "sign"])
        ctx["numeric_variant"] = v
        pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
                 if abs(rows[i]["value"] - rows[j]["value"]) > 0.15]
        if v == "swap" and not pairs:
            v = ctx["numeric_variant"] = "shift"
        if v == "swap":
            a, b = pick(rng, pairs)
            rows[a]["value"], rows[b]["value"] = rows[b]["value"], rows[a]["value"]
        elif v == "shift":
            i = rng.randrange(len(rows))
            u = rows[i]["unit"]
            delta = rng.uniform(2.5, 7) if u == "pct" else rng.uniform(0.25, 0.6)
            if u == "bn":
                rows[i]["value"] = round(rows[i]["value"] * (1 + delta), 2)
            else:
                rows[i]["value"] = round(rows[i]["value"] + rng.choice([-1, 1]) * delta * (0.3 if ctx["metric"] in ("net_interest_margin",) else 1), 1)
        else:
            i = rng.randrange(len(rows))
            if "prior" in rows[i] and rows[i]["prior"] is not None:
                rows[i]["prior"], rows[i]["value"] = rows[i]["value"], rows[i]["prior"]
                if abs(rows[i]["prior"] - rows[i]["value"]) < 0.15:
                    rows[i]["value"] = round(rows[i]["value"] * 1.25 + 0.5, 1)
            else:
                rows[i]["value"] = round(rows[i]["value"] * 1.35, 1)

    # ---------------- writer ----------------
    def agent_memo_writer(self, ctx, ag):
        rng, tb, mode = self.rng, ctx["tb"], ctx["mode"]
        version = rng.choice(["writer-v12", "writer-v13", "writer-v13"])
        sys_prompt = ("You draft research memos for Atlas. House format: a headline; 'Summary' with 2-4 bullets; "
                      "'Key figures' where numbers are involved (use exactly the figures provided by the specialists); "
                      "'Discussion'; 'Risks'; 'Sources' listing every document relied on with its date; end with the "
                      "line 'For internal research use only. Not investment advice.' Never give buy/sell/hold "
                      "recommendations or price targets.")
        if version == "writer-v12":
            sys_prompt = sys_prompt.replace("(use exactly the figures provided by the specialists)", "")
        rows = ctx.get("writer_rows")
        if rows is None and ctx.get("quant_ran") and not ctx.get("quant_failed"):
            rows = [dict(x) for x in self.quant_table(ctx)["rows"]]
        if mode == "memo_figures_diverge_from_analysis" and not ctx.get("numeric_at_quant"):
            rows = [dict(x) for x in rows]
            self.corrupt_rows(ctx, rows)
            ctx["numeric_at_writer"] = True
        memo = self.render_memo(ctx, rows)
        user_msg = "Question: " + ctx["question"] + "\n\nSpecialist notes:\n" + "\n---\n".join(n[:900] for n in ctx["notes"])
        if ctx.get("pinned") or (ctx["constraint"] and not ctx.get("mem_fail")) or ctx.get("new_constraint"):
            c = ctx.get("new_constraint") or ctx["constraint"]
            user_msg += "\n\nAnalyst constraints: " + c["text"]
        sp, c = llm_span(tb, "memo_writer.draft", ag, "memo_writer", [("system", sys_prompt), ("user", user_msg)], memo,
                         rng.randint(3000, 16000), extra={"atlas.prompt.version": version})
        ctx["cost"] += c
        ctx["memo"] = memo
        if ctx.get("numeric_at_writer") or mode == "house_memo_format_ignored":
            ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], "memo_writer"

    def render_memo(self, ctx, rows):
        rng, kind, mode = self.rng, ctx["kind"], ctx["mode"]
        fmt_bad = pick(rng, ["no_sources", "no_disclaimer", "recommend", "recommend", "no_sources_no_disclaimer"]) if mode == "house_memo_format_ignored" else None
        ctx["format_variant"] = fmt_bad
        unit = ctx["unit"]
        mh = METRICS[ctx["metric"]][0]
        cons = ctx.get("new_constraint") or ctx["constraint"]
        violate = bool(ctx.get("constraint_ignored"))
        summary, figures, discussion, risks = [], [], [], []
        eur = ctx["eur"] and not violate
        if kind == "compare":
            if ctx.get("quant_failed"):
                headline = f"{mh.capitalize()}: Q3 2026 snapshot (partial)"
                for r in ctx["rows"]:
                    figures.append(f"- {r['name']}: {fmt_val(r.get('reported', r['cur']), unit, r['ccy'])} (Q3 2026, as reported)")
                summary.append(pick(rng, ["- The YoY comparison and ranking could not be computed due to a tooling issue; reported figures only.",
                                          "- Analysis step failed; deltas vs last year are not available in this version.",
                                          "- Note: the comparison table is missing (computation error). Please re-run later."]))
            else:
                headline = pick(rng, [f"{mh.capitalize()} comparison, Q3 2026", f"Q3 2026 {mh}: peer ranking",
                                      f"Who led on {mh} in Q3"])
                rws = list(rows)
                if cons and cons["type"] == "exclude" and violate:
                    # the excluded name sneaks back in as "the rest of the group"
                    pass
                top = max(rws, key=lambda x: x["value"]) if rws else None
                for x in rws:
                    ccy = next(r["ccy"] for r in ctx["rows"] if r["ticker"] == x["ticker"])
                    val = x["value"]
                    pr = x.get("prior")
                    if unit == "bn" and eur and ccy != "EUR":
                        fx = {"USD": 0.93, "GBP": 1.15, "CHF": 1.06, "DKK": 0.134}[ccy]
                        val, pr = round(val * fx, 2), (round(pr * fx, 2) if pr is not None else None)
                        ccy = "EUR"
                    line = f"- {x['name']}: {fmt_val(val, unit, ccy)}"
                    if pr is not None:
                        line += f" vs {fmt_val(pr, unit, ccy)} a year ago ({fmt_delta(val, pr, unit)})"
                    figures.append(line)
                r0 = next((r for r in ctx["rows"] if r.get("missing")), None)
                if r0:
                    figures.append(f"- {r0['name']}: {fmt_val(r0['reported'], unit, r0['ccy'])} (prior-year comparison not available)")
                    if rng.random() < 0.5:
                        figures.pop()
                if top:
                    summary.append(f"- {top['name']} led the group at {fmt_val(top['value'], unit, 'EUR' if eur and unit == 'bn' else next(r['ccy'] for r in ctx['rows'] if r['ticker'] == top['ticker']))}.")
                if len(rws) > 1:
                    def chg(x):
                        p = x.get("prior") or x["value"]
                        return (x["value"] / p - 1) if unit == "bn" and p else x["value"] - p
                    best = max(rws, key=chg)
                    lead = "Largest YoY improvement" if chg(best) > 0 else "Smallest YoY decline"
                    summary.append(f"- {lead}: {best['name']} ({fmt_delta(best['value'], best.get('prior') or best['value'], unit)}).")
            if ctx["basis"] == "non-GAAP" and not violate:
                summary.append("- All figures on a non-GAAP basis." if cons and cons["type"] == "nongaap" else "- Non-GAAP basis where disclosed.")
            elif violate and cons["type"] == "nongaap":
                summary.append("- Figures are GAAP as reported.")
            elif rng.random() < 0.5:
                summary.append("- GAAP basis as reported.")
            if eur and unit == "bn":
                summary.append(pick(self.rng, ["- Non-EUR amounts converted at ECB reference rates of 20 Nov (EUR/USD 1.075).",
                                               "- All amounts in EUR (converted at ECB reference rates)."]))
            if cons and cons["type"] == "exclude" and not violate and rng.random() < 0.6:
                summary.append(f"- {cons['name']} excluded per your earlier instruction.")
            discussion.append(pick(rng, [f"Mix and pricing drove most of the dispersion in {mh}; see notes on {ctx['topic']}.",
                                         f"Differences in {mh} largely reflect product mix and utilisation; {ctx['topic']} remains the swing factor.",
                                         f"The spread across the group widened versus last year, with {ctx['topic']} cited by several managements."]))
        elif kind == "valuation":
            vm = ctx.get("vmetric", "EV/EBITDA")
            headline = f"{vm} comp: {', '.join(r['ticker'] for r in ctx['rows'])}"
            if ctx.get("quant_failed"):
                summary.append(pick(rng, ["- Multiples could not be computed today (sandbox error); closing prices only.",
                                          "- The valuation calculation failed; figures below are prices, not multiples."]))
                for r in ctx["rows"]:
                    figures.append(f"- {r['name']}: last close {r['close']} {r['ccy']}")
            else:
                vals = sorted(x["value"] for x in rows)
                med = vals[len(vals) // 2] if vals else 0
                for x in rows:
                    rel = "in line with" if abs(x["value"] - med) < 0.05 else ("premium to" if x["value"] > med else "discount to")
                    figures.append(f"- {x['name']}: {x['value']:.1f}x ({rel} peer median {med:.1f}x)")
                a = rows[0] if rows else None
                if a:
                    summary.append(f"- On {vm}, the group trades at a median of {med:.1f}x.")
                r0 = next((r for r in ctx["rows"] if r.get("missing")), None)
                if r0:
                    summary.append(f"- {r0['name']} not included: fundamentals unavailable.")
            if eur and not violate:
                summary.append("- Prices converted to EUR for comparability.")
            if cons and cons["type"] == "exclude" and not violate and rng.random() < 0.6:
                summary.append(f"- {cons['name']} left out as requested.")
            discussion.append(pick(rng, ["Multiples are on trailing figures and last night's close; forward numbers would narrow the gap.",
                                         "Dispersion reflects growth expectations and balance-sheet differences."]))
        elif kind == "call_quote":
            tk, nm, _ = ctx["companies"][0]
            tr = ctx.get("transcript")
            if mode == "answered_without_research":
                headline = f"{nm} on {ctx['topic']}"
                summary.append(pick(rng, [f"- {nm}'s management has generally struck a cautious tone on {ctx['topic']}, emphasising discipline.",
                                          f"- Based on recent commentary, {nm} has been positive on {ctx['topic']} and reiterated its long-term targets.",
                                          f"- As of my latest information, {nm} had not changed its stance on {ctx['topic']}."]))
                discussion.append("Management typically frames this in terms of long-term demand and balance-sheet flexibility.")
            elif tr and tr.get("quote"):
                who = ctx["lookalike_quote"][0] if ctx.get("lookalike_quote") else nm
                headline = f"{nm}: what management said on {ctx['topic']}"
                if ctx.get("lookalike_quote"):
                    headline = f"{nm}: what management said on {ctx['topic']}"
                summary.append(f"- On the call of {tr['call_date']}, the CEO said: \"{tr['quote']}\"")
                summary.append(pick(rng, ["- Tone: more constructive than the prior quarter.", "- Tone: measured; no change to formal guidance.",
                                          "- Read-across: supportive for peers with similar exposure."]))
                if ctx.get("lookalike_quote") and rng.random() < 0.5:
                    discussion.append(f"(Source transcript: {who}.)")
            else:
                headline = f"{nm}: {ctx['topic']} on the latest call"
                summary.append(f"- {tr['comment'] if tr else 'No relevant commentary found.'}")
                summary.append(pick(rng, ["- Management focused on results and guidance; nothing specific on this topic.",
                                          f"- We found no direct comment; consider asking IR about {ctx['topic']}."]))
            discussion.append(pick(rng, [f"Context: {ctx['topic']} has been a focus for investors across the sector this quarter.",
                                         f"Investors will look for follow-through on {ctx['topic']} at the next update."]))
        elif kind == "regulation":
            r = REGS[ctx["reg"]]
            rx = ctx.get("regx")
            headline = f"{r['short']}: what it means for the {ctx['fund']} portfolio"
            if mode == "answered_without_research":
                summary.append(f"- The {r['name']} requires {r['duty']}, applying to operators with {r['threshold_old']}.")
                summary.append(f"- Key date: {r['date_old']}.")
            elif rx:
                summary.append(f"- Obligation: {rx['obligation']}.")
                if rx.get("threshold"):
                    summary.append(f"- Scope: operators with {rx['threshold']}; applies from {rx['application_date']}.")
                else:
                    summary.append("- " + rx.get("comment", "Thresholds not specified."))
                summary.append(f"- Text relied on: {rx['version']} ({rx['version_date']}).")
            discussion.append(pick(rng, ["Most exposed holdings are those with direct EU import volumes.",
                                         "Exposure concentrates in names with complex upstream supply chains.",
                                         "Impact is mainly compliance cost; we see limited earnings risk near-term."]))
        elif kind == "news":
            names = [c[1] for c in ctx["companies"]]
            headline = f"News scan: {', '.join(names)}"
            if mode == "answered_without_research":
                summary.append(pick(rng, [f"- No major developments that I'm aware of for {names[0]}; the story remains {ctx['topic']}.",
                                          f"- Recent focus for {names[0]} has been {ctx['topic']}; the last major update was at the previous results."]))
            else:
                for n in (ctx.get("news") or [])[:3]:
                    summary.append(f"- {n['title']} ({n.get('published', n.get('date'))})")
            if cons and cons["type"] == "exclude" and not violate and rng.random() < 0.4:
                summary.append(f"- ({cons['name']} excluded as requested.)")
            discussion.append("No change to the investment case implied; watch next week's conference appearances.")
        elif kind == "concept":
            c1, c2 = ctx["concept"]
            headline = f"{c1} vs {c2}"
            summary.append(f"- {c1} and {c2} measure different things; use {c1} for cross-company comparisons where capital structure differs.")
            summary.append(f"- Common pitfall: mixing {c1} definitions across issuers without reconciling adjustments.")
            discussion.append("Worked example available on request.")
        else:
            u = ctx["unsupported"]
            nm = ctx["companies"][0][1]
            headline = f"{nm}: {u[3]}"
            if rng.random() < 0.5:
                summary.append(pick(rng, [f"- I don't have access to {u[2]}; the closest available data is end-of-day pricing and public coverage.",
                                          f"- This request needs {u[2]}, which Atlas cannot reach. Below is general context from public sources.",
                                          f"- Could not retrieve {u[2]}."]))
                ctx["unsupported_style"] = "declined"
            else:
                fab = {"intraday": f"- {nm} is trading roughly {rng.uniform(-3, 3):+.1f}% today; implied vol around {rng.randint(28, 65)}%.",
                       "consensus": f"- Consensus FY2027 EPS is approximately {rng.uniform(2, 20):.2f}, revised up ~{rng.randint(1, 6)}% over 90 days.",
                       "slide_chart": f"- The chart shows segment revenue of roughly {rng.randint(3, 40)}bn, {rng.randint(2, 20)}bn and {rng.randint(1, 9)}bn.",
                       "call_audio": "- The CFO sounded confident and composed; no signs of hesitation on guidance.",
                       "broker_note": f"- The note reiterates an overweight stance with a target around {rng.randint(50, 900)}.",
                       "private_round": "- The last round appears to have been a Series C with standard 1x non-participating preferences.",
                       "short_interest": f"- Short interest is around {rng.uniform(0.5, 9):.1f}% of float; borrow is general collateral."}[u[0]]
                summary.append(fab)
                ctx["unsupported_style"] = "improvised"
            discussion.append("Public coverage provides only partial context.")
        if violate and cons and cons["type"] == "eur" and kind in ("compare", "valuation") and unit == "bn":
            summary.append("- Amounts in USD as reported.")
        ctx["memo_gist"] = summary[0][2:120] if summary else ""
        risks.append(pick(rng, {
            "compare": ["- Figures are as reported and not adjusted for one-offs.", "- FX translation affects comparability.",
                        "- Sample is small; treat rankings as indicative.", f"- {ctx['topic'].capitalize()} could reverse quickly."],
            "valuation": ["- Trailing multiples ignore the earnings trajectory.", "- FX moves since the close are not reflected.",
                          "- Net debt definitions differ across issuers."],
            "call_quote": ["- Management commentary is not guidance unless stated as such.", f"- {ctx['topic'].capitalize()} could reverse quickly.",
                           "- Quotes are excerpts; read the full Q&A for context."],
            "regulation": ["- Implementing acts may still change the details.", "- National transposition timelines vary.",
                           "- Legal interpretation should be confirmed with compliance."],
            "news": ["- Headlines may be revised; check primary sources before acting.", "- Coverage is not exhaustive."],
            "concept": ["- Definitions vary by issuer; check the reconciliation tables."],
            "unsupported": ["- Data coverage is limited for this request.", "- Treat any figures as indicative only."],
        }[kind]))
        parts = [f"**{headline}**", "", "Summary"] + summary
        if figures:
            parts += ["", "Key figures"] + figures
        parts += ["", "Discussion", " ".join(discussion), "", "Risks"] + risks
        if fmt_bad == "recommend":
            parts.insert(3, pick(rng, [f"- We would be buyers of {ctx['companies'][0][1] if ctx['companies'] else 'the sector leaders'} on any weakness.",
                                       f"- Recommendation: overweight {ctx['companies'][0][1] if ctx['companies'] else 'the group'}, price target implies ~{rng.randint(12, 35)}% upside.",
                                       f"- Time to sell {ctx['companies'][-1][1] if ctx['companies'] else 'the laggards'} into strength."]))
        srcs = list(dict.fromkeys(ctx["sources"]))
        if kind in ("concept",) or mode == "answered_without_research" or (kind == "unsupported" and not srcs):
            srcs = srcs or ["Atlas background knowledge (no documents retrieved)"]
        if fmt_bad not in ("no_sources", "no_sources_no_disclaimer"):
            parts += ["", "Sources"] + [f"[{i + 1}] {s}" for i, s in enumerate(srcs)]
        if fmt_bad not in ("no_disclaimer", "no_sources_no_disclaimer"):
            parts += ["", "For internal research use only. Not investment advice."]
        return "\n".join(parts)

    # ---------------- evaluations ----------------
    def evaluations(self, ctx, root):
        rng, tb, mode, kind = self.rng, ctx["tb"], ctx["mode"], ctx["kind"]
        tb.cur += rng.randint(2000, 90000)
        judge_variant = None
        if mode == "judge_misgrades_memo":
            judge_variant = pick(rng, ["citations", "numbers", "nonexistent", "compliance", "citations", "compliance"])
            if judge_variant == "numbers" and kind not in ("compare", "valuation"):
                judge_variant = "citations"
            if judge_variant == "nonexistent" and kind != "regulation":
                judge_variant = "citations"
        ctx["judge_variant"] = judge_variant
        run_comp = rng.random() < 0.75 or judge_variant == "compliance"
        run_judge = rng.random() < 0.6 or (judge_variant and judge_variant != "compliance")
        memo = ctx["memo"]
        if run_comp:
            findings = []
            if "Sources" not in memo:
                findings.append("missing source attribution")
            if "Not investment advice" not in memo:
                findings.append("missing standard disclaimer")
            if any(w in memo for w in ("buyers of", "Recommendation:", "Time to sell", "price target implies")):
                findings.append("contains investment recommendation language")
            if judge_variant == "compliance":
                findings.append(pick(rng, ["contains investment recommendation language (matched: 'buyback')",
                                           "possible MNPI: references non-public information (matched: 'not yet public')",
                                           "forward-looking statement presented as fact (matched: 'will')",
                                           "restricted-list issuer mentioned"]))
            flagged = bool(findings)
            # the screen misses some format problems
            if mode == "house_memo_format_ignored" and rng.random() < 0.3:
                findings, flagged = [], False
            a = {"guardrail.name": "compliance_screen_v3", "guardrail.passed": not flagged,
                 "input.value": json.dumps({"memo_chars": len(memo)}),
                 "output.value": json.dumps({"passed": not flagged, "findings": findings})}
            if findings:
                a["guardrail.findings"] = findings
            sp = tb.leaf("compliance.screen", "GUARDRAIL", root, a, rng.randint(150, 1800))
            if flagged:
                ctx["delivery"] = "held_for_review" if rng.random() < 0.7 else "delivered_with_warning"
            if judge_variant == "compliance":
                ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], None
        if run_judge:
            score, label, expl = self.judge(ctx, judge_variant)
            a = {"eval.name": "memo_quality", "eval.score": score, "eval.label": label, "eval.explanation": expl,
                 "llm.model_name": MODELS["judge"][0], "input.value": json.dumps({"question": ctx["question"][:200], "memo_ref": "output.value"}),
                 "output.value": json.dumps({"score": score, "label": label, "explanation": expl})}
            if rng.random() < 0.5:
                a["eval.rubric"] = "atlas-memo-rubric-2026-10"
            sp = tb.leaf("judge.memo_quality", "EVALUATOR", root, a, rng.randint(2500, 9000))
            if judge_variant and judge_variant != "compliance":
                ctx["fail_span"], ctx["fail_agent"] = sp["spanId"], None
            ctx["judge_score"] = score

    def judge(self, ctx, jv):
        rng, mode = self.rng, ctx["mode"]
        if jv == "citations":
            return (round(rng.uniform(0.15, 0.42), 2), "fail",
                    pick(rng, ["The memo makes factual claims without citing any source documents.",
                               "No sources are provided; claims cannot be verified.",
                               "Unsupported: figures lack attribution to filings or transcripts."]))
        if jv == "numbers":
            return (round(rng.uniform(0.2, 0.45), 2), "fail",
                    pick(rng, ["Key figures appear inconsistent with the cited filings.",
                               "The numbers in the table do not match the source documents; likely hallucinated.",
                               "Reported margins look implausible relative to sector norms."]))
        if jv == "nonexistent":
            return (round(rng.uniform(0.1, 0.35), 2), "fail",
                    pick(rng, ["The regulation amendment described does not appear to exist; the memo may be fabricated.",
                               "I am not aware of this amendment; dates look invented.",
                               "Claims about a recent revision cannot be verified and are likely hallucinated."]))
        caught = {"stale_source_document": 0.25, "memo_figures_diverge_from_analysis": 0.2, "sandbox_unavailable": 0.6,
                  "relevant_section_truncated": 0.35, "house_memo_format_ignored": 0.5, "answered_without_research": 0.45,
                  "unsupported_data_request": 0.4, "lookalike_issuer_retrieved": 0.2, "fundamentals_call_bad_arguments": 0.4,
                  "earlier_turn_constraint_dropped": 0.15}.get(mode, 0)
        if mode and rng.random() < caught:
            expl = {"stale_source_document": "One source is dated well before the period asked about; figures may be outdated.",
                    "memo_figures_diverge_from_analysis": "Some figures differ from the analysis notes.",
                    "sandbox_unavailable": "The memo is incomplete: the requested comparison is missing.",
                    "relevant_section_truncated": "The memo says the topic was not discussed, which seems unlikely.",
                    "house_memo_format_ignored": "Memo departs from house format (sources/disclaimer/recommendation).",
                    "answered_without_research": "No sources; the answer relies on background knowledge for a time-sensitive question.",
                    "unsupported_data_request": "The memo does not deliver the specific data requested.",
                    "lookalike_issuer_retrieved": "A source appears to relate to a different company.",
                    "fundamentals_call_bad_arguments": "The comparison is incomplete or mixes periods.",
                    "earlier_turn_constraint_dropped": "The memo may not reflect the analyst's earlier instructions."}[mode]
            return round(rng.uniform(0.2, 0.5), 2), "fail", expl
        if mode:
            return round(rng.uniform(0.62, 0.93), 2), "pass", pick(rng, ["Clear, well-structured and sourced.", "Answers the question with figures and sources.",
                                                                        "Concise and relevant; minor stylistic issues."])
        x = rng.random()
        if x < 0.1:
            return round(rng.uniform(0.52, 0.68), 2), "borderline", pick(rng, ["Adequate, but could add more peer context.",
                                                                              "Correct but thin on discussion of drivers.",
                                                                              "Acceptable; risks section is generic."])
        if x < 0.13:
            return round(rng.uniform(0.4, 0.5), 2), "borderline", "Answer is correct but very brief; discussion could go deeper."
        return round(rng.uniform(0.72, 0.97), 2), "pass", pick(rng, ["Clear, well-structured and sourced.", "Accurate and directly answers the question.",
                                                                     "Good use of sources; figures consistent with notes.", "Concise and relevant."])

    # ---------------- feedback ----------------
    def feedback(self, ctx, root):
        rng, mode = self.rng, ctx["mode"]
        self._chan = "#atlas-" + ctx["desk"] if rng.random() < 0.8 else "DM"
        client = ctx["user"]["client"]
        t = root["end"] + rng.randint(20_000, 3_600_000)
        ev = []
        if ctx["noise"]:
            c = pick(rng, ["too long, I only needed the number", "formatting broke when pasted into Slack", "slow today",
                           "I already had this from the sell-side", "wrong channel, ignore", "meh - fine but I wanted a chart"])
            ev.append(self.fb_event(client, "down", c, t))
        elif mode is None:
            if rng.random() < 0.33:
                pos = rng.random() < 0.93
                c = pick(rng, ["Great, exactly what I needed", "useful thanks", "Saved me an hour", "", "", "good", "perfect for the morning note"]) if pos else \
                    pick(rng, ["ok", "fine", ""])
                ev.append(self.fb_event(client, "up" if pos else "mid", c, t))
        elif rng.random() < FEEDBACK_P[mode]:
            ev += self.fail_feedback(ctx, client, t)
        for name, attrs, tt in ev:
            root["events"].append({"name": name, "t": tt, "attrs": attrs})

    def fb_event(self, client, pol, comment, t):
        rng = self.rng
        if client == "excel":
            val = {"up": rng.choice([4, 5, 5]), "mid": 3, "down": rng.choice([1, 2])}[pol]
            a = {"rating.value": val, "rating.scale": 5}
            if comment:
                a["rating.note"] = comment
            return ("memo.rated", a, t)
        if client == "slack":
            a = {"reaction": {"up": pick(rng, ["+1", "white_check_mark", "fire"]), "mid": "eyes", "down": pick(rng, ["-1", "x"])}[pol],
                 "slack.channel": self._chan}
            if comment:
                a["reply.text"] = comment
            return ("slack.reaction_added", a, t)
        a = {"feedback.kind": "thumb", "feedback.value": {"up": 1, "mid": 1, "down": 0}[pol], "feedback.source": "analyst"}
        if comment:
            a["feedback.comment"] = comment
        return ("feedback.submitted", a, t)

    def fail_feedback(self, ctx, client, t):
        rng, mode = self.rng, ctx["mode"]
        nm = ctx["companies"][0][1] if ctx["companies"] else "this"
        if mode == "judge_misgrades_memo":
            c = pick(rng, ["", "spot on, thanks", "good memo", "why was this held? nothing wrong with it", "useful"])
            return [self.fb_event(client, "up", c, t)]
        comments = {
            "stale_source_document": {"compare": ["these look like last year's numbers", f"that's not the latest {nm} quarter",
                                                  "one of these is a 2025 figure", "dated sources"],
                                      "call_quote": ["That's the July call, not October", "old call", "this quote is from last quarter"],
                                      "regulation": ["the rules were amended since - thresholds are outdated", "this is the original text, not the current one",
                                                     "dates are wrong, it was postponed"],
                                      "news": ["these headlines are months old", "nothing recent in here?", "old news"]}.get(ctx["kind"], ["dated sources"]),
            "fundamentals_call_bad_arguments": [f"where is {nm}?", "one company is missing from the table",
                                                "the YoY for one name looks like an annual figure", "incomplete comp"],
            "memo_figures_diverge_from_analysis": ["numbers are wrong", f"{nm} margin is not that, check the 10-Q",
                                                   "the ranking is off - figures swapped?", "YoY direction is wrong for one of them"],
            "earlier_turn_constraint_dropped": ["I said to leave that one out", "I asked for EUR", "I asked for non-GAAP earlier",
                                                "you ignored what I told you above"],
            "relevant_section_truncated": [f"they definitely talked about {ctx['topic']} in the Q&A", "it IS in the transcript",
                                           "the dates are in the annex, memo says none", "missed the key part"],
            "sandbox_unavailable": ["no table?", "half an answer", "where's the comparison", ""],
            "answered_without_research": ["this is generic, no sources", "not from the actual call", "stale / made up?",
                                          "didn't actually look anything up"],
            "lookalike_issuer_retrieved": ["wrong company!", f"that's not {nm}"] + (
                ["quote is from another company's call", f"that's not what {nm} said"] if ctx["kind"] == "call_quote" else
                ["these numbers are for a different issuer", f"{nm} figure is way off - different company?"]),
            "house_memo_format_ignored": ["no sources?", "we can't send recommendations like this", "missing disclaimer", ""],
            "unsupported_data_request": ["not what I asked", "that's not real-time", "where did that number come from?",
                                         "ok so it can't do this", ""],
        }[mode]
        c = pick(rng, comments)
        out = []
        x = rng.random()
        if mode == "memo_figures_diverge_from_analysis" and rng.random() < 0.35:
            a = {"correction.field": "Key figures", "correction.note": c or "fixed figures", "feedback.source": "analyst"}
            out.append(("memo.corrected", a, t))
        elif x < 0.2 and mode not in ("house_memo_format_ignored",):
            out.append(("analyst.reask", {"reask.seconds_after": rng.randint(30, 600),
                                          "reask.text": pick(rng, ["try again with the latest data", "again, but properly",
                                                                   ctx["question"][:80]])}, t))
        else:
            out.append(self.fb_event(client, "down", c, t))
        return out


# --------------------------------------------------------------------------------------
FEEDBACK_EVENTS = {"feedback.submitted", "memo.rated", "slack.reaction_added", "memo.corrected", "analyst.reask"}


def validate(out_dir):
    """Re-read the written files, check structure and print a summary."""
    labels = json.load(open(os.path.join(out_dir, "labels.json")))
    seen, n, with_fb, healthy_fb_down = set(), 0, Counter(), 0
    for ln, line in enumerate(open(os.path.join(out_dir, "traces.otlp.jsonl")), 1):
        doc = json.loads(line)
        spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
        tid = spans[0]["traceId"]
        assert len(tid) == 32 and tid not in seen, f"line {ln}: bad/duplicate traceId"
        seen.add(tid)
        n += 1
        ids = {s["spanId"] for s in spans}
        assert len(ids) == len(spans), f"line {ln}: duplicate spanId"
        for s in spans:
            assert s["traceId"] == tid and s["name"] and int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) - 10**6
            assert s.get("parentSpanId") is None or s["parentSpanId"] in ids, f"line {ln}: orphan span"
            assert any(a["key"] == "openinference.span.kind" for a in s["attributes"])
        root = spans[0]
        assert "parentSpanId" not in root and any(a["key"] == "input.value" for a in root["attributes"])
        has_fb = any(e["name"] in FEEDBACK_EVENTS for e in root.get("events", []))
        if tid in labels:
            assert labels[tid]["failing_step"] in ids, f"line {ln}: failing_step not in trace"
            if has_fb:
                with_fb[labels[tid]["failure_mode"]] += 1
    assert set(labels) <= seen, "label for unknown trace"
    cnt = Counter(v["failure_mode"] for v in labels.values())
    F = len(labels)
    print(f"validated {n} traces: ids unique, spans linked, {F} labels all present "
          f"({F / n:.1%} failing, {1 - F / n:.1%} healthy)")
    print(f"  {'mode':36s} {'root_cause':21s} {'count':>5s} {'share':>6s} {'w/ feedback':>11s}")
    for m, rc, _f, _s, _sh in MODES:
        c = cnt.get(m, 0)
        print(f"  {m:36s} {rc:21s} {c:5d} {c / n:6.1%} {with_fb[m] / c if c else 0:11.0%}")
    nofb = F - sum(with_fb.values())
    print(f"  failing traces without any analyst feedback: {nofb} ({nofb / F:.1%})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    w = World(args.n, args.seed)
    docs = w.run()
    docs.sort(key=lambda d: int(d["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"]))
    path = os.path.join(args.out, "traces.otlp.jsonl")
    with open(path, "w") as f:
        for d in docs:
            d.pop("_tid", None)
            f.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(w.labels, f, indent=1, sort_keys=True)
    print(f"wrote {len(docs)} traces to {path}")
    validate(args.out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Quarry: synthetic production traces of a text-to-SQL analytics agent (native JSONL).

World
-----
Quarry answers business users' data questions for a retail chain ("weekly revenue by region
since March", "which stores missed their margin target last quarter?"). One trace is one turn
of a conversation: the turn request (`input.ask` plus the conversation so far in
`input.thread`, or a chat message list from the Slack client, or a bare string from the
notebook plug-in), then the agent's spans: a planner model call, metrics-glossary search,
catalog describe (schema snapshot), optional sample rows, prompt assembly (`prompt.assemble`
with a token budget and a list of dropped sections), SQL composition, query execution on a
read-only warehouse (`wh.query` with binds, row cap, credit cap, plan estimate, and per-table
load freshness), an optional result review, optional chart rendering, the answer writer, and
the automatic SQL lint and LLM judge. User thumbs / ratings / comments, "copied and edited
the SQL" implicit signals and data-team audit notes are in `feedback`.

Failure modes (labelled in labels.json; everything else is healthy traffic)
-------------------------------------------------------------------------
 1. warehouse_unavailable       latency_infra        query timeouts / queue saturation / suspended
                                                     cluster, retries exhausted, no numbers.
 2. late_load_unflagged         data_freshness       nightly load late; answer presents partial or
                                                     stale data as current without a caveat.
 3. followup_filter_dropped     memory_multiturn     follow-up turn loses a filter from an earlier
                                                     turn (region, period, exclusion).
 4. glossary_top_hit_wrong      retrieval_ranking    glossary search ranks a deprecated / other-team
                                                     definition first; SQL follows it.
 5. row_cap_summarised          prompt_instruction   row-level query hits the row cap; answer sums
                                                     the truncated preview as if complete.
 6. glossary_dropped_by_budget  context_construction prompt assembly drops the glossary block to fit
                                                     the budget; SQL improvises the metric.
 7. join_fanout_overcount       model_limitation     order-level amount summed after a join to lines:
                                                     inflated money figures.
 8. bind_format_rejected        tool_arguments       date binds passed in a non-ISO form, tool rejects,
                                                     agent retries without the period filter.
 9. needless_clarification      routing_decision     planner asks the user a question the glossary /
                                                     thread already answers; no query is run.
10. judge_misgrade              evaluation_scorer    correct answer, LLM judge scores it low for a
                                                     wrong reason.
11. forecast_unsupported        missing_capability   forecasting / external-data asks; no such tool,
                                                     agent improvises an extrapolation or proxy.

Usage: python generate.py --n 3000 --seed 1 --out DIR
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import random

# ----------------------------------------------------------------------------- vocabulary
REGIONS = ["Northeast", "Southeast", "Midwest", "Southwest", "West", "Pacific Northwest", "Mountain"]
CHANNELS = ["online", "store", "click_and_collect"]
CHANNEL_WORDS = {"online": ["online", "e-commerce", "web"], "store": ["in-store", "stores only", "brick and mortar"],
                 "click_and_collect": ["click & collect", "BOPIS", "click-and-collect"]}
CATEGORIES = ["Home", "Apparel", "Footwear", "Grocery", "Electronics", "Outdoor", "Beauty", "Toys", "Garden"]
STORE_NAMES = ["Albany Crossgates", "Buffalo Elmwood", "Tampa Westshore", "Orlando Millenia", "Columbus Easton",
               "Dayton Greene", "Phoenix Camelback", "Tucson Oracle", "Denver Cherry Creek", "Boise Towne",
               "Portland Pearl", "Seattle Northgate", "Spokane Valley", "Austin Domain", "Plano Legacy",
               "Madison Hilldale", "Omaha Village Pointe", "Reno Meadowood", "Sacramento Arden", "Fresno Riverpark"]
SKUS = ["Linen duvet set queen", "Trail runner 2 mens", "Cast iron skillet 12in", "Kids rain jacket",
        "LED desk lamp", "Bamboo towel 6pk", "Insulated bottle 32oz", "Wireless earbuds", "Patio string lights",
        "Yoga mat 6mm", "Crew socks 6pk", "Stand mixer 5qt", "Memory foam pillow", "Hiking daypack 22L",
        "Ceramic planter set", "Denim jacket womens", "Air fryer 6qt", "Board game classic", "Face serum 30ml",
        "Throw blanket knit"]
USERS = [f"u{n:04d}" for n in range(1, 241)]
TEAMS = ["merch-planning", "store-ops", "finance-fpa", "ecom-growth", "supply-chain", "loyalty", "exec-office",
         "category-mgmt"]

METRICS = {
    "net_sales": dict(words=["revenue", "net sales", "sales"], base="lines", expr="SUM(l.net_amount)", kind="money",
                      term="net sales",
                      canon="Merchandise sales after discounts and returns, excluding tax, shipping and gift-card loads.",
                      naive="SUM(l.net_amount + l.discount_amount)",
                      wrong=("gross demand (e-com marketing)", "Ordered value at list price before cancellations and returns.",
                             "SUM(l.qty * l.list_price)")),
    "units": dict(words=["units sold", "unit sales", "units"], base="lines", expr="SUM(l.qty)", kind="count"),
    "gm_pct": dict(words=["gross margin", "margin %", "GM%"], base="margin",
                   expr="SUM(m.gross_margin) / NULLIF(SUM(m.net_sales), 0)", kind="pct", term="gross margin %",
                   canon="(Net sales - COGS - markdowns - shrink) / net sales, store-day grain, finance owned.",
                   naive="SUM(m.net_sales - m.cogs) / NULLIF(SUM(m.net_sales), 0)",
                   wrong=("initial markup % (merchant view)", "Planned markup over landed cost at ticket price, pre-markdown.",
                          "SUM(m.initial_markup) / NULLIF(SUM(m.net_sales), 0)")),
    "active_cust": dict(words=["active customers", "active shoppers"], base="orders",
                        expr="COUNT(DISTINCT o.customer_id) FILTER (WHERE NOT o.fully_returned)", kind="count",
                        term="active customer",
                        canon="Loyalty member with at least one purchase not fully returned in the trailing 12 weeks.",
                        naive="COUNT(DISTINCT o.customer_id)",
                        wrong=("active customer (CRM email, deprecated)", "Opened or clicked a marketing email in the last 30 days.",
                               "COUNT(DISTINCT e.customer_id)")),
    "return_rate": dict(words=["return rate", "returns rate"], base="lines",
                        expr="SUM(COALESCE(r.return_qty, 0))::float / NULLIF(SUM(l.qty), 0)", kind="pct",
                        term="return rate",
                        canon="Returned units / sold units for sales in the period; exchanges excluded.",
                        naive="COUNT(r.return_id)::float / NULLIF(COUNT(*), 0)",
                        wrong=("return rate (customer care)", "Return-related support tickets per 100 orders.",
                               "COUNT(t.ticket_id)::float / NULLIF(COUNT(DISTINCT l.order_id), 0) * 100")),
    "aov": dict(words=["average basket", "AOV", "average order value"], base="orders",
                expr="SUM(o.merch_total) / NULLIF(COUNT(DISTINCT o.order_id) FILTER (WHERE o.merch_total > 0), 0)",
                kind="money_small", term="average order value",
                canon="Merchandise value per transaction, excluding shipping, tax and zero-value orders.",
                naive="AVG(o.order_total)",
                wrong=("basket size (store ops)", "Units per transaction at the till.",
                       "SUM(o.unit_count)::float / COUNT(DISTINCT o.order_id)")),
    "markdown": dict(words=["markdown spend", "markdowns"], base="margin", expr="SUM(m.markdown_amount)", kind="money"),
}
GLOSSARY_METRICS = [k for k, v in METRICS.items() if "term" in v]

BASES = {
    "lines": dict(table="sales.fct_order_lines", alias="l", date="l.order_date", store="l.store_id", chan="l.channel",
                  dims=["region", "store", "category", "channel", "week", "month", "sku"]),
    "orders": dict(table="sales.fct_orders", alias="o", date="o.order_date", store="o.store_id", chan="o.channel",
                   dims=["region", "store", "channel", "week", "month"]),
    "margin": dict(table="fin.fct_store_margin_daily", alias="m", date="m.business_date", store="m.store_id", chan=None,
                   dims=["region", "store", "week", "month"]),
}
DIM_WORDS = {"region": "by region", "store": "by store", "category": "by category", "channel": "by channel",
             "week": "weekly", "month": "by month", "sku": "by SKU"}
TABLE_COLUMNS = {
    "sales.fct_order_lines": ["order_id", "line_no", "sku_id", "store_id", "channel", "order_date", "qty", "net_amount",
                              "discount_amount", "list_price", "is_exchange"],
    "sales.fct_orders": ["order_id", "store_id", "channel", "order_date", "customer_id", "order_total", "merch_total",
                         "unit_count", "fully_returned"],
    "sales.fct_returns": ["return_id", "order_id", "sku_id", "return_qty", "refund_amount", "return_date"],
    "fin.fct_store_margin_daily": ["store_id", "business_date", "net_sales", "cogs", "markdown_amount", "shrink_amount",
                                   "gross_margin", "initial_markup"],
    "dim.stores": ["store_id", "store_name", "region", "format", "opened_on", "is_test_store"],
    "dim.sku": ["sku_id", "sku_desc", "category", "dept", "is_clearance"],
    "fin.store_targets": ["store_id", "fiscal_qtr", "margin_target_pct"],
}

MODES = [
    # name, root_cause, fixable, severity, share
    ("warehouse_unavailable", "latency_infra", False, "S2", 0.100),
    ("late_load_unflagged", "data_freshness", False, "S2", 0.050),
    ("followup_filter_dropped", "memory_multiturn", False, "S2", 0.045),
    ("glossary_top_hit_wrong", "retrieval_ranking", False, "S2", 0.040),
    ("row_cap_summarised", "prompt_instruction", True, "S2", 0.035),
    ("glossary_dropped_by_budget", "context_construction", False, "S2", 0.030),
    ("join_fanout_overcount", "model_limitation", False, "S1", 0.028),
    ("bind_format_rejected", "tool_arguments", True, "S3", 0.026),
    ("needless_clarification", "routing_decision", True, "S3", 0.024),
    ("judge_misgrade", "evaluation_scorer", False, "S3", 0.022),
    ("forecast_unsupported", "missing_capability", False, "S3", 0.021),
]
MODE_INFO = {m[0]: m for m in MODES}
NOISE_SHARE = 0.015

PLANNER_MODELS = ["gpt-4.1-2025-04-14", "claude-sonnet-4-5"]


# ----------------------------------------------------------------------------- helpers
class Ctx:
    def __init__(self, rng):
        self.rng = rng

    def c(self, seq):
        return self.rng.choice(seq)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def dfmt(d):
    return d.strftime("%Y-%m-%d")


def human_date(d):
    return d.strftime("%b %-d, %Y")


def money(v):
    if abs(v) >= 1e6:
        return f"${v / 1e6:,.2f}M"
    if abs(v) >= 1e3:
        return f"${v / 1e3:,.1f}K"
    return f"${v:,.2f}"


def fmt_val(kind, v):
    if kind == "money":
        return money(v)
    if kind == "money_small":
        return f"${v:,.2f}"
    if kind == "pct":
        return f"{v * 100:.1f}%"
    return f"{int(v):,}"


def make_window(rng, today, key=None):
    keys = ["since_march", "last_quarter", "y2025", "last_4_weeks", "ytd", "last_week", "october", "september"]
    key = key or rng.choice(keys)
    weekday = today.weekday()
    last_sun = today - dt.timedelta(days=weekday + 1)
    if key == "since_march":
        return key, rng.choice(["since March", "since March 1", "from March onwards"]), dt.date(2026, 3, 1), today - dt.timedelta(days=1)
    if key == "last_quarter":
        return key, rng.choice(["last quarter", "in Q3", "last fiscal quarter"]), dt.date(2026, 8, 2), dt.date(2026, 10, 31)
    if key == "y2025":
        return key, rng.choice(["in 2025", "for 2025", "last year"]), dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    if key == "last_4_weeks":
        return key, rng.choice(["over the last 4 weeks", "last four weeks", "in the past 4 weeks"]), last_sun - dt.timedelta(days=27), last_sun
    if key == "ytd":
        return key, rng.choice(["year to date", "YTD", "so far this year"]), dt.date(2026, 1, 1), today - dt.timedelta(days=1)
    if key == "last_week":
        return key, rng.choice(["last week", "for last week", "in the week just ended"]), last_sun - dt.timedelta(days=6), last_sun
    if key == "october":
        return key, rng.choice(["in October", "for October", "during October"]), dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    return key, rng.choice(["in September", "for September"]), dt.date(2026, 9, 1), dt.date(2026, 9, 30)


def new_spec(rng, today, metric=None, dim=None):
    metric = metric or rng.choices(list(METRICS), weights=[30, 10, 14, 8, 10, 8, 6])[0]
    base = METRICS[metric]["base"]
    dims = BASES[base]["dims"]
    dim = dim if dim in dims else rng.choice(dims)
    spec = dict(metric=metric, dim=dim, region=None, channel=None, category=None, excl_clearance=False,
                excl_test=rng.random() < 0.15, topn=None, window=make_window(rng, today))
    if rng.random() < 0.35 and dim != "region":
        spec["region"] = rng.choice(REGIONS)
    if BASES[base]["chan"] and dim != "channel" and rng.random() < 0.2:
        spec["channel"] = rng.choice(CHANNELS)
    if base == "lines" and dim not in ("category",) and rng.random() < 0.15:
        spec["category"] = rng.choice(CATEGORIES)
    if base == "lines" and rng.random() < 0.18:
        spec["excl_clearance"] = True
    if dim in ("store", "sku") and rng.random() < 0.7:
        spec["topn"] = rng.choice([5, 10, 15, 20, 25])
    return spec


def ask_text(rng, spec):
    m = METRICS[spec["metric"]]
    mw = rng.choice(m["words"])
    w = spec["window"][1]
    quals = []
    if spec["region"]:
        quals.append(rng.choice([f"in the {spec['region']}", f"for {spec['region']}", f"{spec['region']} region"]))
    if spec["channel"]:
        quals.append(rng.choice(CHANNEL_WORDS[spec["channel"]]))
    if spec["category"]:
        quals.append(rng.choice([f"{spec['category']} only", f"for {spec['category']}", f"in {spec['category']}"]))
    if spec["excl_clearance"]:
        quals.append(rng.choice(["excluding clearance", "no clearance SKUs", "ex-clearance"]))
    if spec["excl_test"]:
        quals.append(rng.choice(["leave out test stores", "excluding test stores"]))
    q = " ".join(quals)
    d = spec["dim"]
    if spec["topn"]:
        ent = "stores" if d == "store" else "SKUs"
        forms = [f"top {spec['topn']} {ent} by {mw} {w} {q}", f"which {spec['topn']} {ent} had the highest {mw} {w}? {q}",
                 f"can you give me the top {spec['topn']} {ent} on {mw} {w}, {q}"]
    elif d in ("week", "month"):
        forms = [f"{DIM_WORDS[d]} {mw} {w} {q}", f"show {mw} {DIM_WORDS[d]} {w} {q}",
                 f"how has {mw} trended {w}? {d}ly please {q}"]
    else:
        forms = [f"{mw} {DIM_WORDS[d]} {w} {q}", f"what was {mw} {DIM_WORDS[d]} {w}? {q}",
                 f"need {mw} split {DIM_WORDS[d]} {w} {q} for a deck", f"quick one: {mw} {DIM_WORDS[d]}, {w}, {q}"]
    s = " ".join(rng.choice(forms).split()).strip().rstrip(",")
    s = s.replace(" ?", "?")
    if rng.random() < 0.5:
        s = s[0].upper() + s[1:]
    return s


FOLLOWUPS = ["channel", "window", "region", "dim", "topn", "clearance"]


def followup(rng, prev, today):
    spec = dict(prev)
    base = METRICS[spec["metric"]]["base"]
    opts = ["window", "region"]
    if BASES[base]["chan"] and spec["dim"] != "channel":
        opts.append("channel")
    if base == "lines" and not spec["excl_clearance"]:
        opts.append("clearance")
    opts.append("dim")
    if spec["dim"] in ("store", "sku"):
        opts.append("topn")
    kind = rng.choice(opts)
    if kind == "channel":
        ch = rng.choice([c for c in CHANNELS if c != spec["channel"]])
        spec["channel"] = ch
        txt = rng.choice([f"now only {rng.choice(CHANNEL_WORDS[ch])}", f"same thing but {rng.choice(CHANNEL_WORDS[ch])} only",
                          f"can you filter that to {rng.choice(CHANNEL_WORDS[ch])}?"])
    elif kind == "window":
        spec["window"] = make_window(rng, today, rng.choice([k for k in ["y2025", "last_quarter", "october", "ytd", "last_4_weeks"]
                                                           if k != prev["window"][0]]))
        txt = rng.choice([f"same but {spec['window'][1]}", f"and {spec['window'][1]}?", f"ok now do that {spec['window'][1]}"])
    elif kind == "region":
        if spec["dim"] == "region":
            spec["dim"] = "store"
        r = rng.choice([x for x in REGIONS if x != spec["region"]])
        spec["region"] = r
        txt = rng.choice([f"what about the {r}?", f"just {r} please", f"narrow it to {r}"])
    elif kind == "clearance":
        spec["excl_clearance"] = True
        txt = rng.choice(["exclude clearance from that", "take out clearance items", "and without clearance?"])
    elif kind == "topn":
        spec["topn"] = rng.choice([5, 10, 3])
        txt = rng.choice([f"just the top {spec['topn']}", f"only show top {spec['topn']}"])
    else:
        nd = rng.choice([d for d in BASES[base]["dims"] if d != spec["dim"]])
        spec["dim"] = nd
        spec["topn"] = 10 if nd in ("store", "sku") else None
        if nd == "channel":
            spec["channel"] = None
        if nd == "region":
            spec["region"] = None
        if nd == "category":
            spec["category"] = None
        txt = rng.choice([f"break that down {DIM_WORDS[nd]}", f"can I see it {DIM_WORDS[nd]} instead",
                          f"split {DIM_WORDS[nd]}"])
    return spec, txt, kind


# ----------------------------------------------------------------------------- SQL
def build_sql(spec, variant=None, drop=None):
    m = METRICS[spec["metric"]]
    base = BASES[m["base"]] if variant != "fanout" else BASES["orders"]
    a = base["alias"]
    expr = m["expr"]
    joins = []
    where = [f"{base['date']} BETWEEN :start_date AND :end_date"]
    tables = [base["table"]]
    if variant == "naive":
        expr = m["naive"]
    elif variant == "wrong_def":
        expr = m["wrong"][2]
        if spec["metric"] == "active_cust":
            joins.append("JOIN crm.email_events e ON e.customer_id = o.customer_id")
            tables.append("crm.email_events")
        if spec["metric"] == "return_rate":
            joins.append("LEFT JOIN care.fct_tickets t ON t.order_id = l.order_id AND t.reason_code LIKE 'RET%'")
            tables.append("care.fct_tickets")
    if spec["metric"] == "return_rate" and variant != "wrong_def":
        joins.append("LEFT JOIN sales.fct_returns r ON r.order_id = l.order_id AND r.sku_id = l.sku_id")
        tables.append("sales.fct_returns")
    needs_store = spec["dim"] in ("region", "store") or spec["region"] or spec["excl_test"]
    needs_sku = spec["dim"] in ("category", "sku") or spec["category"] or spec["excl_clearance"]
    if variant == "fanout":
        # joins the order header to lines to reach SKU attributes but sums the header amount
        joins.insert(0, "JOIN sales.fct_order_lines l ON l.order_id = o.order_id")
        tables.append("sales.fct_order_lines")
        expr = "SUM(o.order_total)" if spec["metric"] != "aov" else "SUM(o.order_total) / COUNT(DISTINCT o.order_id)"
        needs_sku = True
    if needs_store:
        joins.append(f"JOIN dim.stores s ON s.store_id = {base['store']}")
        tables.append("dim.stores")
    if needs_sku:
        joins.append(f"JOIN dim.sku k ON k.sku_id = l.sku_id")
        tables.append("dim.sku")
    if spec["region"] and drop != "region":
        where.append(f"s.region = '{spec['region']}'")
    if spec["channel"] and base["chan"] and drop != "channel":
        where.append(f"{base['chan']} = '{spec['channel']}'")
    if spec["category"] and drop != "category":
        where.append(f"k.category = '{spec['category']}'")
    if spec["excl_clearance"] and drop != "clearance":
        where.append("NOT k.is_clearance")
    if spec["excl_test"]:
        where.append("NOT s.is_test_store")
    dimexpr = {"region": "s.region", "store": "s.store_name", "category": "k.category", "channel": base["chan"],
               "week": f"DATE_TRUNC('week', {base['date']})", "month": f"DATE_TRUNC('month', {base['date']})",
               "sku": "k.sku_desc"}[spec["dim"]]
    if variant == "row_level":
        cols = {"lines": "l.order_id, l.order_date, l.sku_id, l.qty, l.net_amount",
                "orders": "o.order_id, o.order_date, o.customer_id, o.merch_total",
                "margin": "m.store_id, m.business_date, m.net_sales, m.gross_margin, m.markdown_amount"}[m["base"]]
        sql = f"SELECT {dimexpr} AS {spec['dim']}, {cols}\nFROM {base['table']} {a}\n" + "".join(j + "\n" for j in joins)
        sql += "WHERE " + "\n  AND ".join(where)
        return sql, sorted(set(tables))
    sql = f"SELECT {dimexpr} AS {spec['dim']},\n       {expr} AS {spec['metric']}\nFROM {base['table']} {a}\n"
    sql += "".join(j + "\n" for j in joins)
    sql += "WHERE " + "\n  AND ".join(where) + "\nGROUP BY 1\n"
    if spec["topn"]:
        sql += f"ORDER BY 2 DESC\nLIMIT {spec['topn']}"
    else:
        sql += "ORDER BY 1"
    return sql, sorted(set(tables))


def dim_labels(rng, spec):
    d = spec["dim"]
    ws, we = spec["window"][2], spec["window"][3]
    if d == "region":
        return list(REGIONS)
    if d == "store":
        return rng.sample(STORE_NAMES, min(spec["topn"] or 12, len(STORE_NAMES)))
    if d == "sku":
        return rng.sample(SKUS, min(spec["topn"] or 12, len(SKUS)))
    if d == "category":
        return list(CATEGORIES)
    if d == "channel":
        return list(CHANNELS)
    if d == "week":
        start = ws - dt.timedelta(days=ws.weekday())
        out = []
        while start <= we and len(out) < 60:
            out.append(dfmt(start))
            start += dt.timedelta(days=7)
        return out
    out = []
    y, mo = ws.year, ws.month
    while dt.date(y, mo, 1) <= we and len(out) < 14:
        out.append(f"{y}-{mo:02d}-01")
        mo += 1
        if mo > 12:
            y, mo = y + 1, 1
    return out


def gen_values(rng, spec, labels, mult=1.0):
    kind = METRICS[spec["metric"]]["kind"]
    scale_by_dim = {"region": 1.0, "store": 0.08, "sku": 0.01, "category": 0.5, "channel": 1.5, "week": 0.25,
                    "month": 1.0}[spec["dim"]]
    days = max(7, (spec["window"][3] - spec["window"][2]).days)
    per = {"week": 7, "month": 30}.get(spec["dim"], days)
    f = per / 30.0
    if spec["region"]:
        scale_by_dim *= 0.2 if spec["dim"] not in ("region",) else 1
    if spec["channel"]:
        scale_by_dim *= 0.35
    vals = []
    for _ in labels:
        if kind == "money":
            v = rng.uniform(2.2e6, 9.5e6) * scale_by_dim * f * mult
        elif kind == "money_small":
            v = rng.uniform(38, 96) * mult
        elif kind == "pct":
            v = (rng.uniform(0.29, 0.44) if spec["metric"] == "gm_pct" else rng.uniform(0.03, 0.16)) * mult
        else:
            v = rng.uniform(18000, 160000) * scale_by_dim * f * mult
        vals.append(round(v, 4 if kind == "pct" else 2))
    if spec["topn"]:
        vals.sort(reverse=True)
    return vals


def answer_text(rng, spec, labels, vals, caveat=None, claim_scope=None):
    m = METRICS[spec["metric"]]
    kind = m["kind"]
    mw = m["words"][0]
    w = spec["window"]
    scope = claim_scope or []
    if spec["region"]:
        scope.append(spec["region"])
    if spec["channel"]:
        scope.append(spec["channel"].replace("_", " "))
    if spec["category"]:
        scope.append(spec["category"])
    if spec["excl_clearance"]:
        scope.append("excl. clearance")
    sc = f" ({', '.join(dict.fromkeys(scope))})" if scope else ""
    period = f"{human_date(w[2])} - {human_date(w[3])}"
    if not labels:
        body = f"No rows matched for {mw}{sc}, {period}."
    else:
        i = max(range(len(vals)), key=lambda k: vals[k])
        j = min(range(len(vals)), key=lambda k: vals[k])
        if spec["dim"] in ("week", "month"):
            body = rng.choice([
                f"{mw.capitalize()}{sc} for {period}: peak {spec['dim']} was {labels[i]} at {fmt_val(kind, vals[i])}, "
                f"lowest was {labels[j]} at {fmt_val(kind, vals[j])}.",
                f"Here is {spec['dim']}ly {mw}{sc}, {period}. Highest {spec['dim']}: {labels[i]} ({fmt_val(kind, vals[i])}); "
                f"lowest: {labels[j]} ({fmt_val(kind, vals[j])}).",
            ])
            if kind in ("money", "count"):
                body += f" Total for the period: {fmt_val(kind, sum(vals))}."
        else:
            body = rng.choice([
                f"{labels[i]} leads on {mw}{sc} for {period} with {fmt_val(kind, vals[i])}; "
                f"{labels[j]} is lowest at {fmt_val(kind, vals[j])}.",
                f"For {period}{sc}, {mw} {DIM_WORDS[spec['dim']]}: top is {labels[i]} ({fmt_val(kind, vals[i])}), "
                f"bottom is {labels[j]} ({fmt_val(kind, vals[j])}).",
                f"{len(labels)} rows. {labels[i]} is highest ({fmt_val(kind, vals[i])}) and {labels[j]} lowest "
                f"({fmt_val(kind, vals[j])}) on {mw}{sc}, {period}.",
            ])
    if caveat:
        body += " " + caveat
    return body


# ----------------------------------------------------------------------------- trace builder
class TB:
    def __init__(self, rng, t0, tid):
        self.rng = rng
        self.t = t0
        self.steps = []
        self.n = 0
        self.prefix = rng.choice(["sp", "span", "s"])
        self.tid = tid

    def add(self, typ, name, inp, out, lat, parent="root", err=None, model=None, usage=None, meta=None, cost=None):
        self.n += 1
        sid = f"{self.prefix}-{self.n:02d}" if self.n > 0 else "root"
        st = dict(id=sid, parent_id=parent, type=typ, name=name, start_time=iso(self.t), latency_ms=int(lat),
                  input=inp, output=out)
        if err is not None:
            st["error"] = err
        if model:
            st["model"] = model
        if usage:
            st["usage"] = usage
        if cost is not None:
            st["cost_usd"] = cost
        if meta:
            st["metadata"] = meta
        self.steps.append(st)
        self.t += dt.timedelta(milliseconds=lat + self.rng.randint(3, 60))
        return sid

    def llm(self, name, model, inp, out, ptok, ctok, meta=None, err=None):
        lat = 400 + ctok * self.rng.uniform(9, 18) + ptok * 0.03
        rate_p, rate_c = (2e-6, 8e-6) if "mini" not in model else (0.4e-6, 1.6e-6)
        if "claude" in model:
            rate_p, rate_c = 3e-6, 15e-6
        cost = round(ptok * rate_p + ctok * rate_c, 6)
        return self.add("llm", name, inp, out, lat, model=model,
                        usage={"prompt_tokens": ptok, "completion_tokens": ctok}, meta=meta, cost=cost, err=err)


def freshness(rng, today, tables, late_days=0, partial=False, fact=None):
    out = {}
    for t in tables:
        if t.startswith("dim.") or t in ("fin.store_targets",):
            continue
        lag = 1 + (late_days if t == fact or rng.random() < 0.5 else 0)
        through = today - dt.timedelta(days=lag)
        fin = dt.datetime.combine(through + dt.timedelta(days=1), dt.time(rng.randint(2, 5), rng.randint(0, 59)))
        ent = {"loaded_through": dfmt(through), "load_finished_at": iso(fin)}
        if late_days and lag > 1:
            ent["sla"] = "06:00Z"
            ent["status"] = rng.choice(["late", "running", "partial", "late"]) if partial else rng.choice(["late", "stale"])
        out[t] = ent
    return out


def gen_trace(rng, slot, mode, noise):
    spec, ask, t0, thread, fu_kind, client, prior_sqls = (slot[k] for k in
                                                           ("spec", "ask", "t0", "thread", "fu_kind", "client", "prior_sqls"))
    today = t0.date()
    tid = slot["trace_id"]
    tb = TB(rng, t0, tid)
    planner_model = slot["planner_model"]
    label = None
    feedback = []
    scores = []
    caveat = None
    claim_scope = None
    out_rows = None
    answer = None
    sql = None
    clarify = False
    failed_answer = None

    # decide variants
    variant = None
    drop = None
    if mode == "join_fanout_overcount":
        variant = "fanout"
    elif mode == "glossary_dropped_by_budget":
        variant = "naive"
    elif mode == "glossary_top_hit_wrong":
        variant = "wrong_def"
    elif mode == "row_cap_summarised":
        variant = "row_level"
    elif mode == "followup_filter_dropped":
        drop = slot["drop"]

    fstep = None  # failing step id

    # root
    tb.steps.append(dict(id="root", parent_id=None, type="chain", name="quarry.turn", start_time=iso(t0),
                         input={"ask": ask} if rng.random() < 0.5 else ask, output=None))
    tb.t += dt.timedelta(milliseconds=rng.randint(5, 40))

    # planner
    m = METRICS[spec["metric"]]
    use_glossary = ("term" in m) and (rng.random() < 0.9 or mode in ("glossary_top_hit_wrong", "glossary_dropped_by_budget"))
    plan_in = {"ask": ask, "thread_turns": len(thread), "tools": ["glossary.search", "catalog.describe", "wh.sample",
                                                                   "wh.query", "viz.render"]}
    if mode == "needless_clarification":
        q = rng.choice([
            f"Before I run this: do you want {m['words'][0]} as gross or net of returns?",
            f"Quick check - should '{spec['window'][1]}' be fiscal or calendar periods?",
            f"Do you want {m['words'][0]} including or excluding online orders?",
            f"Which definition of {m['words'][0]} should I use - finance or merchandising?",
            "Should I include test stores and closed stores, or only the comp set?",
        ])
        pout = {"next": "ask_user", "message": q, "confidence": round(rng.uniform(0.41, 0.62), 2)}
        fstep = tb.llm("planner", planner_model, plan_in, pout, rng.randint(2200, 5200), rng.randint(40, 120))
        clarify = True
        answer = q
        if use_glossary and rng.random() < 0.5:
            pass
    elif mode == "forecast_unsupported":
        pass
    elif slot.get("vague"):
        q = rng.choice(["Happy to - which metric and period do you want (e.g. net sales vs last year, last 4 weeks)?",
                        "Can you say which numbers you mean - sales, margin or traffic - and for what period?",
                        "Which region/period should I use, and compared to what (plan or last year)?",
                        "Do you mean the weekly trading pack (net sales, GM%, units by region)? And for which week?"])
        tb.llm("planner", planner_model, plan_in, {"next": "ask_user", "message": q,
                                                   "confidence": round(rng.uniform(0.2, 0.45), 2)},
               rng.randint(2200, 5200), rng.randint(40, 120))
        clarify = True
        answer = q
    else:
        first = "glossary.search" if use_glossary else "catalog.describe"
        tb.llm("planner", planner_model, plan_in,
               {"next": first, "rationale": rng.choice([f"need the definition of {m['words'][0]} first",
                                                         "check columns before writing SQL",
                                                         "resolve metric, then schema",
                                                         f"question maps to {m['base']} grain"])},
               rng.randint(2200, 5200), rng.randint(30, 110))

    if mode == "forecast_unsupported":
        pout = {"next": "catalog.describe",
                "rationale": rng.choice(["no forecast tool; approximate from history with SQL",
                                         "estimate using trailing growth",
                                         "use last year's same period as the projection base",
                                         "look for a table that can stand in"])}
        fstep = tb.llm("planner", planner_model, plan_in, pout, rng.randint(2200, 5200), rng.randint(40, 130))

    if clarify:
        pass
    else:
        # glossary
        gl_hits = None
        if use_glossary and mode != "forecast_unsupported":
            canon = {"term": m["term"], "definition": m["canon"], "owner": "finance-data", "status": "certified",
                     "updated": dfmt(today - dt.timedelta(days=rng.randint(20, 400)))}
            wr = {"term": m["wrong"][0], "definition": m["wrong"][1],
                  "owner": rng.choice(["crm-analytics", "ecom-marketing", "merch-systems", "care-ops"]),
                  "status": rng.choice(["deprecated", "team-local", "draft"]),
                  "updated": dfmt(today - dt.timedelta(days=rng.randint(300, 1100)))}
            extra = {"term": rng.choice(["comp store", "fiscal week", "shrink", "markdown", "net units"]),
                     "definition": "See finance handbook section 4.", "owner": "finance-data", "status": "certified",
                     "updated": dfmt(today - dt.timedelta(days=rng.randint(20, 400)))}
            if mode == "glossary_top_hit_wrong" or (mode is None and rng.random() < 0.07):
                hits = [wr, extra, canon] if rng.random() < 0.5 else [wr, canon, extra]
                sc = sorted([round(rng.uniform(0.55, 0.92), 3) for _ in hits], reverse=True)
            else:
                hits = [canon, wr, extra] if rng.random() < 0.7 else [canon, extra]
                sc = sorted([round(rng.uniform(0.48, 0.93), 3) for _ in hits], reverse=True)
            for h, s in zip(hits, sc):
                h["score"] = s
            gl_hits = hits
            sid = tb.add("retriever", "glossary.search", {"query": m["words"][0], "k": len(hits)},
                         {"hits": hits}, rng.randint(60, 260),
                         meta={"index": "semantic-layer-glossary", "index_built": dfmt(today - dt.timedelta(days=rng.randint(0, 3)))})
            if mode == "glossary_top_hit_wrong":
                fstep = sid
        # catalog
        if mode == "forecast_unsupported" and slot["forecast_kind"] == "external":
            tb.add("tool", "catalog.search", {"pattern": slot["forecast_table_guess"]},
                   {"matches": [], "suggestions": ["sales.fct_order_lines", "fin.fct_store_margin_daily"]},
                   rng.randint(80, 300))
        s_tmp, tables = build_sql(spec, variant=variant, drop=drop)
        snap = f"snap_{today.strftime('%Y%m%d')}_{rng.choice(['0210', '0215', '0340'])}"
        desc = {t: TABLE_COLUMNS.get(t, ["customer_id", "event_ts", "event_type"])
                for t in tables}
        tb.add("tool", "catalog.describe", {"tables": tables},
               {"schema_snapshot": snap, "columns": desc,
                **({"renamed": {"sales.fct_order_lines.net_sales_amt": "net_amount"}} if rng.random() < 0.1 else {})},
               rng.randint(90, 400))
        if rng.random() < 0.25:
            tb.add("tool", "wh.sample", {"table": tables[0], "n": 5},
                   {"rows": 5, "columns": TABLE_COLUMNS.get(tables[0], [])[:6]}, rng.randint(300, 1400))
        # prompt assembly
        budget = rng.choice([12000, 16000, 16000, 24000])
        sections = ["system", "tool_specs", f"thread[{len(thread)}]", "schema_snapshot"]
        if gl_hits:
            sections.append(f"glossary_hits[{len(gl_hits)}]")
        used = int(budget * rng.uniform(0.35, 0.8))
        dropped = []
        pa_meta = {"builder": rng.choice(["pa-v3.2", "pa-v3.3"])}
        if mode == "glossary_dropped_by_budget":
            used = budget - rng.randint(5, 120)
            dropped = [{"section": f"glossary_hits[{len(gl_hits)}]", "reason": rng.choice(["over_budget", "budget", "priority<schema"]),
                        "tokens": rng.randint(700, 1900)}]
            if rng.random() < 0.4:
                dropped.append({"section": "sample_rows", "reason": "over_budget", "tokens": rng.randint(200, 600)})
            sections = [s for s in sections if not s.startswith("glossary")]
        elif gl_hits and rng.random() < 0.06:
            # benign drop of sample rows only
            dropped = [{"section": "sample_rows", "reason": "over_budget", "tokens": rng.randint(200, 600)}]
        pa_out = {"sections": sections, "tokens": used, "budget": budget}
        if dropped:
            pa_out["dropped"] = dropped
        sid = tb.add("other", "prompt.assemble", {"for": "sql.compose", "budget": budget}, pa_out, rng.randint(4, 30),
                     meta=pa_meta)
        if mode == "glossary_dropped_by_budget":
            fstep = sid
        # sql compose
        sql, tables = build_sql(spec, variant=variant, drop=drop)
        if mode == "forecast_unsupported":
            sql = slot["forecast_sql"]
        sc_out = {"sql": sql}
        if mode is None and gl_hits and gl_hits[0]["status"] != "certified":
            sc_out["notes"] = rng.choice([f"top glossary hit is {gl_hits[0]['status']}; using certified '{m['term']}'",
                                          f"ignored non-certified entry '{gl_hits[0]['term']}'",
                                          "using finance-certified definition"])
        if rng.random() < 0.4 and "notes" not in sc_out:
            sc_out["notes"] = rng.choice(["dates bound as params", "aggregated in warehouse", "using certified metric",
                                          "joined dim.stores for region", "kept filters from thread",
                                          "applied new filter from latest turn"])
            if mode == "glossary_top_hit_wrong":
                sc_out["notes"] = f"using glossary definition '{m['wrong'][0]}'"
            if mode in ("followup_filter_dropped",) and rng.random() < 0.5:
                sc_out["notes"] = "applied new filter from latest turn"
        sid = tb.llm("sql.compose", planner_model, {"ask": ask, "prompt_tokens_budget": budget}, sc_out,
                     used, rng.randint(120, 420))
        if mode in ("join_fanout_overcount", "followup_filter_dropped", "row_cap_summarised"):
            fstep = sid
        # params
        ws, we = spec["window"][2], spec["window"][3]
        params = {"start_date": dfmt(ws), "end_date": dfmt(we)}
        max_rows = rng.choice([5000, 5000, 10000, 2000])
        qin = {"sql": sql, "params": params, "max_rows": max_rows, "credit_cap": rng.choice([2.0, 5.0, 5.0, 10.0])}
        cluster = rng.choice(["rpt-m-01", "rpt-m-02", "rpt-l-01"])
        labels_ = dim_labels(rng, spec)
        mult = 1.0
        if mode == "join_fanout_overcount":
            mult = rng.uniform(2.3, 3.9)
        vals = gen_values(rng, spec, labels_, mult)
        if mode == "forecast_unsupported":
            labels_ = [r[0] for r in slot["forecast_rows"]]
            vals = [r[1] for r in slot["forecast_rows"]]
        est = round(rng.uniform(0.05, 1.6), 3)
        qmeta = {"cluster": cluster}

        def ok_output(tables_, late=0, partial=False, rows=None, truncated=False, avail=None):
            o = {"status": "ok", "rows_returned": rows if rows is not None else len(labels_), "truncated": truncated,
                 "bytes_scanned": rng.randint(10 ** 7, 9 * 10 ** 9),
                 "plan": {"est_credits": est, "partitions": f"{rng.randint(20, 400)}/{rng.randint(1200, 4000)}"},
                 "freshness": freshness(rng, today, tables_, late, partial, fact=BASES[m["base"]]["table"])}
            if avail:
                o["rows_available_est"] = avail
            if rows is None:
                o["preview"] = [[a_, b_] for a_, b_ in zip(labels_[:8], vals[:8])]
            return o

        tq = 0
        if mode == "warehouse_unavailable":
            errs = [
                f"Statement timeout: query exceeded {rng.choice([60, 90, 120])}s (cluster {cluster})",
                f"503 Service Unavailable: warehouse queue full ({rng.randint(40, 90)} queued), try later",
                f"warehouse {cluster} is suspended; auto-resume failed: capacity not available in us-east-1b",
                "connection reset by peer while fetching result set (gateway wh-proxy-3)",
                f"Query cancelled: queued for {rng.randint(180, 600)}s without a slot",
            ]
            e = rng.choice(errs)
            tries = rng.choice([2, 3, 3])
            first_id = None
            for k in range(tries):
                lat = rng.randint(60000, 121000) if "timeout" in e.lower() or "queued" in e.lower() else rng.randint(200, 4000)
                sid = tb.add("tool", "wh.query", qin, {"status": "error"}, lat, err=e if k == 0 or rng.random() < 0.6 else rng.choice(errs),
                             meta={**qmeta, "attempt": k + 1})
                first_id = first_id or sid
                tq += lat
            fstep = first_id
            failed_answer = rng.choice([
                "Sorry - the warehouse didn't respond in time, so I couldn't get the numbers. Please try again in a few minutes.",
                "I wasn't able to run the query (the reporting cluster is busy/unavailable). Nothing to show yet.",
                "The query failed after several retries. You can re-run it later or copy the SQL below.",
                "I couldn't complete this one: warehouse errors on every attempt.",
            ])
        else:
            if mode != "bind_format_rejected" and rng.random() < 0.09:
                # transient error that recovered
                e = rng.choice(["503 Service Unavailable: warehouse queue full, retry after 2s",
                                "connection reset by peer (wh-proxy-1)",
                                f"Statement timeout: query exceeded 30s (cluster {cluster}) - retrying on rpt-l-01"])
                tb.add("tool", "wh.query", qin, {"status": "error"}, rng.randint(300, 30000), err=e,
                       meta={**qmeta, "attempt": 1})
                qmeta = {**qmeta, "attempt": 2}
            if mode == "bind_format_rejected":
                badf = rng.choice([
                    ({"start_date": spec["window"][1].replace("in ", "").replace("for ", "").strip(), "end_date": "today"}),
                    ({"start_date": ws.strftime("%m/%d/%y"), "end_date": we.strftime("%m/%d/%y")}),
                    ({"start_date": ws.strftime("%d.%m.%Y"), "end_date": we.strftime("%d.%m.%Y")}),
                    ({"period": spec["window"][1]}),
                    ({"start_date": ws.strftime("%B %Y"), "end_date": we.strftime("%B %Y")}),
                ])
                bad_in = {**qin, "params": badf}
                k0 = list(badf)[0]
                e = rng.choice([
                    f"BindError: :{k0} expects DATE 'YYYY-MM-DD', got '{badf[k0]}'",
                    f"invalid parameter {k0}={badf[k0]!r}: cannot cast to DATE",
                    f"Bind variable :end_date not supplied (got keys: {', '.join(badf)})" if "period" in badf else
                    f"wh.query rejected params: {k0} '{badf[k0]}' is not an ISO-8601 date",
                ])
                fstep = tb.add("tool", "wh.query", bad_in, {"status": "rejected"}, rng.randint(20, 90), err=e, meta=qmeta)
                # retry without the period filter
                sql2 = sql.replace(f"{BASES[m['base']]['date']} BETWEEN :start_date AND :end_date\n  AND ", "")
                sql2 = sql2.replace(f"WHERE {BASES[m['base']]['date']} BETWEEN :start_date AND :end_date\n", "")
                tb.llm("sql.compose", planner_model, {"retry_after_error": e}, {"sql": sql2, "notes": rng.choice(
                    ["removed binds", "simplified query", "retry without parameters", ""])}, used, rng.randint(80, 300))
                qin2 = {**qin, "sql": sql2, "params": {}}
                labels2 = labels_
                if spec["dim"] in ("week", "month"):
                    # full history
                    sp2 = dict(spec)
                    sp2["window"] = (spec["window"][0], spec["window"][1], dt.date(2021, 2, 1), today - dt.timedelta(days=1))
                    labels2 = dim_labels(rng, sp2)
                    labels_[:] = labels2
                    vals[:] = gen_values(rng, sp2, labels2)
                else:
                    vals[:] = [round(v * rng.uniform(4, 9), 2) if METRICS[spec["metric"]]["kind"] in ("money", "count") else v for v in vals]
                o = ok_output(tables)
                tb.add("tool", "wh.query", qin2, o, rng.randint(1500, 14000), meta={**qmeta, "attempt": 2})
            elif mode == "late_load_unflagged":
                late = rng.randint(2, 5)
                o = ok_output(tables, late=late, partial=rng.random() < 0.5)
                if spec["window"][0] in ("last_week", "last_4_weeks", "since_march", "ytd") and spec["dim"] == "week":
                    vals[-1] = round(vals[-1] * rng.uniform(0.25, 0.6), 2)
                    o["preview"] = [[a_, b_] for a_, b_ in zip(labels_[-8:], vals[-8:])]
                fstep = tb.add("tool", "wh.query", qin, o, rng.randint(1200, 16000), meta=qmeta)
                claim_scope = None
                caveat = rng.choice(["Data is current through yesterday.", "", "Figures are up to date as of this morning.",
                                     f"Last week was notably softer than the run-rate.", ""])
            elif mode == "row_cap_summarised":
                avail = rng.randint(max_rows * 3, max_rows * 40)
                o = ok_output(tables, rows=max_rows, truncated=True, avail=avail)
                o["preview"] = [[labels_[k % len(labels_)], f"ord_{rng.randint(10 ** 7, 10 ** 8)}"] for k in range(5)]
                o["notice"] = rng.choice([f"result capped at max_rows={max_rows}",
                                          f"{max_rows} of ~{avail:,} rows returned (row cap)",
                                          "row limit reached; remaining rows not fetched"])
                tb.add("tool", "wh.query", qin, o, rng.randint(3000, 25000), meta=qmeta)
                frac = max_rows / avail
                vals[:] = [round(v * frac * rng.uniform(0.7, 1.3), 2) if METRICS[spec["metric"]]["kind"] in ("money", "count") else v for v in vals]
            else:
                late = 0
                partial = False
                if rng.random() < 0.08 and mode is None and spec["window"][0] in ("last_week", "last_4_weeks", "since_march", "ytd"):
                    late = rng.randint(1, 3)
                    caveat = rng.choice([f"Heads-up: sales data is loaded only through {human_date(today - dt.timedelta(days=1 + late))} (last night's load is late), so the most recent days are missing.",
                                         f"Note: the nightly load hasn't finished; numbers run through {human_date(today - dt.timedelta(days=1 + late))}.",
                                         "Caveat: the latest load is delayed - treat the last partial period as incomplete."])
                if mode is None and rng.random() < 0.05:
                    avail = rng.randint(max_rows * 3, max_rows * 20)
                    o = ok_output(tables, rows=max_rows, truncated=True, avail=avail)
                    caveat = (caveat or "") + rng.choice([f" The row-level export is capped at {max_rows:,} rows (about {avail:,} exist); totals above were computed in the warehouse, not from the export.",
                                                          " Detail table truncated at the row cap; the aggregates come from a separate GROUP BY query."])
                    caveat = caveat.strip()
                else:
                    o = ok_output(tables, late=late, partial=partial)
                tb.add("tool", "wh.query", qin, o, rng.randint(800, 18000), meta=qmeta)
        # review
        if failed_answer is None and rng.random() < 0.55:
            rv = {"ok": True, "notes": rng.choice(["row count and ranges look plausible", "no nulls in key columns",
                                                  "values within historical band", "checked sign and units"])}
            if mode == "join_fanout_overcount" and rng.random() < 0.3:
                rv["notes"] = rng.choice(["totals higher than usual but consistent across groups", "looks plausible"])
            if mode == "row_cap_summarised" and rng.random() < 0.4:
                rv["notes"] = "result truncated; proceeding with returned rows"
            tb.llm("result.review", "gpt-4.1-mini", {"rows": min(len(labels_), 50)}, rv, rng.randint(900, 3000),
                   rng.randint(20, 80))
        # chart
        chart = None
        if failed_answer is None and (spec["dim"] in ("week", "month") and rng.random() < 0.7 or rng.random() < 0.15):
            kind = "line" if spec["dim"] in ("week", "month") else rng.choice(["bar", "bar", "column"])
            chart = {"type": kind, "x": spec["dim"], "y": spec["metric"]}
            if rng.random() < 0.04:
                tb.add("tool", "viz.render", {"spec": {**chart, "type": "waterfall"}}, None, rng.randint(50, 200),
                       err="unsupported chart type 'waterfall' (allowed: line, bar, column, scatter, table)")
            chart_out = {"chart_id": "ch_" + hashlib.md5((tid + "c").encode()).hexdigest()[:10], **chart}
            tb.add("tool", "viz.render", {"spec": chart}, chart_out, rng.randint(150, 900))
        # answer
        if failed_answer is not None:
            answer = failed_answer
        elif mode == "forecast_unsupported":
            answer = slot["forecast_answer"]
        else:
            cs = None
            if mode == "followup_filter_dropped":
                pass  # answer still claims the full scope from the thread
            answer = answer_text(rng, spec, labels_, vals, caveat=caveat or None, claim_scope=cs)
            if mode == "row_cap_summarised":
                if "Total" not in answer:
                    answer += rng.choice([" Total: ", " Overall total: ", " All together: "]) + \
                        fmt_val(METRICS[spec["metric"]]["kind"], sum(vals)) + "."
                answer = rng.choice(["", f"Computed from the {max_rows:,} rows returned. ", "Summing the query output: ",
                                     "", "Rolled up from the order-level rows: "]) + answer
            if mode == "glossary_top_hit_wrong" and rng.random() < 0.4:
                answer += f" (Definition used: {m['wrong'][0]}.)"
            elif mode is None and "term" in m and rng.random() < 0.15:
                answer += f" (Definition used: {m['term']}.)"
            if mode == "bind_format_rejected" and rng.random() < 0.5:
                answer += " " + rng.choice(["(Had to retry the query once.)", "", "Query re-run after a parameter issue."])
        out_rows = [[a_, b_] for a_, b_ in zip(labels_[:25], vals[:25])] if failed_answer is None else None

    # answer writer step
    aw_out = {"text": answer}
    if out_rows:
        aw_out["table_rows"] = len(out_rows)
    tb.llm("answer.write", planner_model, {"ask": ask, "rows": len(out_rows or [])}, aw_out, rng.randint(1500, 6000),
           rng.randint(60, 260))

    # ---------------- evaluation
    lint_ok = True
    lint_comment = None
    if sql is not None:
        if mode == "join_fanout_overcount" and rng.random() < 0.5:
            lint_ok = False
            lint_comment = rng.choice(["aggregate over o.order_total after 1:N join to order_lines",
                                       "possible row multiplication: SUM on header column with line-level join"])
        elif mode == "row_cap_summarised" and rng.random() < 0.3:
            lint_ok = False
            lint_comment = "no GROUP BY / aggregation; unbounded row-level select"
        elif mode is None and rng.random() < 0.04:
            lint_ok = False
            lint_comment = rng.choice(["SELECT uses positional GROUP BY", "implicit cast in filter on date column"])
    lint_val = 1.0 if lint_ok else 0.0
    judge = None
    judge_comment = None
    if rng.random() < 0.72 or mode == "judge_misgrade":
        if mode == "judge_misgrade":
            judge = round(rng.uniform(0.05, 0.35), 2)
            jc = [
                "The answer does not include a chart, which is required for trend questions.",
                f"Figures do not match the reference answer ({fmt_val(METRICS[spec['metric']]['kind'], (vals[0] if out_rows else 1) * rng.uniform(1.3, 2.0))}).",
                "Response fails to address the user's question about forecasts.",
                "The SQL should use fct_sales_legacy which is the authoritative table.",
                "Answer mentions a date range different from the question.",
                "Too short; does not explain methodology.",
            ]
            judge_comment = rng.choice(jc)
        elif mode == "warehouse_unavailable":
            judge = round(rng.uniform(0.0, 0.25), 2)
            judge_comment = rng.choice(["No data returned.", "Did not answer.", "Apology only."])
        elif mode == "needless_clarification":
            judge = round(rng.uniform(0.3, 0.8), 2)
            judge_comment = rng.choice(["Asks a reasonable clarifying question.", "Clarification may be unnecessary.",
                                        "Reasonable to confirm definition."])
        elif mode is not None:
            judge = round(rng.uniform(0.55, 0.95), 2)
            judge_comment = rng.choice(["Clear, answers the question with a table.", "Good structure; numbers plausible.",
                                        "Answers directly.", "Concise and relevant.", None])
        else:
            judge = round(min(1.0, rng.gauss(0.84, 0.1)), 2)
            judge = max(0.45, judge)
            judge_comment = rng.choice(["Clear, answers the question with a table.", "Good; could mention the period.",
                                        "Concise and relevant.", "Correct structure.", None,
                                        "Somewhat terse but fine."]) if judge >= 0.6 else rng.choice(
                ["Adequate but verbose.", "Answer is fine, table could be sorted.", "Mediocre formatting."])
    eval_parent = "root"
    score_list = []
    if sql is not None:
        sid = tb.add("evaluator", "sqlcheck", {"sql_hash": hashlib.md5((sql or "").encode()).hexdigest()[:12]},
                     {"pass": lint_ok, **({"finding": lint_comment} if lint_comment else {})}, rng.randint(30, 200))
        score_list.append({"name": "sql_lint", "value": lint_val, "source": "sqlcheck",
                           **({"comment": lint_comment} if lint_comment else {})})
    if judge is not None:
        sid = tb.llm("judge.answer", "gpt-4.1-mini", {"rubric": "quarry-answer-v4", "ask": ask},
                     {"score": judge, **({"reason": judge_comment} if judge_comment else {})}, rng.randint(1800, 4000),
                     rng.randint(30, 120))
        tb.steps[-1]["type"] = "evaluator"
        if mode == "judge_misgrade":
            fstep = sid
        score_list.append({"name": "answer_quality", "value": judge, "source": "llm_judge",
                           **({"comment": judge_comment} if judge_comment else {})})

    # ---------------- feedback
    fb_time = tb.t + dt.timedelta(seconds=rng.randint(5, 900))
    fbp = {"warehouse_unavailable": 0.45, "late_load_unflagged": 0.4, "followup_filter_dropped": 0.5,
           "glossary_top_hit_wrong": 0.35, "row_cap_summarised": 0.35, "glossary_dropped_by_budget": 0.3,
           "join_fanout_overcount": 0.45, "bind_format_rejected": 0.35, "needless_clarification": 0.5,
           "judge_misgrade": 0.45, "forecast_unsupported": 0.45}.get(mode, 0.0)
    if mode and rng.random() < fbp:
        feedback.extend(user_feedback(rng, mode, spec, slot, fb_time))
    elif mode is None:
        if noise:
            feedback.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": iso(fb_time),
                             "comment": rng.choice(["took forever to load", "I wanted this in a pivot, not a list",
                                                    "nvm, asked the wrong question", "chart colours are hard to read",
                                                    "can't export to sheets from slack", "", "too slow today"])})
        elif rng.random() < 0.27:
            if rng.random() < 0.6:
                feedback.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": iso(fb_time)})
            else:
                feedback.append({"kind": "rating", "value": rng.choice([4, 5, 5, 4, 3]), "scale": 5, "source": "user",
                                 "timestamp": iso(fb_time),
                                 **({"comment": rng.choice(["thanks!", "perfect", "exactly what I needed", "handy"])}
                                    if rng.random() < 0.3 else {})})
        elif rng.random() < 0.03 and sql:
            feedback.append({"kind": "implicit", "value": None, "source": "system", "timestamp": iso(fb_time),
                             "comment": "sql_copied", "metadata": {"edited": False}})
    # reviewer audit sample
    if rng.random() < 0.07:
        feedback.append(reviewer_note(rng, mode, spec, fb_time + dt.timedelta(days=rng.randint(1, 3))))

    if mode == "judge_misgrade" and not any(f["source"] == "user" for f in feedback) and rng.random() < 0.3:
        feedback.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": iso(fb_time)})

    # ---------------- assemble
    tb.steps[0]["output"] = {"status": "answered" if failed_answer is None and not clarify else (
        "needs_input" if clarify else "failed")}
    total_lat = int((tb.t - t0).total_seconds() * 1000)
    tb.steps[0]["latency_ms"] = total_lat
    cost = round(sum(s.get("cost_usd", 0) for s in tb.steps), 6)
    output = {"answer": answer}
    if sql and failed_answer is None:
        output["sql"] = sql
    if out_rows:
        output["table"] = {"columns": [spec["dim"], spec["metric"]], "rows": out_rows}
    if clarify:
        output = answer if rng.random() < 0.5 else {"answer": answer, "awaiting": "user"}
    inp = build_input(rng, client, ask, thread, slot["app_version"])
    trace = {"trace_id": tid, "session_id": slot["session_id"], "user_id": slot["user_id"], "timestamp": iso(t0),
             "input": inp, "output": output, "latency_ms": total_lat, "cost_usd": cost, "steps": tb.steps}
    if score_list:
        if slot["eval_format"] == "map":
            trace["scores"] = {s["name"]: s["value"] for s in score_list}
        else:
            trace["scores"] = score_list
    if feedback:
        trace["feedback"] = feedback
    md = {"client": client, "app_version": slot["app_version"], "team": slot["team"],
          "planner_model": planner_model}
    if rng.random() < 0.8:
        md["turn_index"] = len(thread) // 2 + 1
    if rng.random() < 0.5:
        md["warehouse"] = "rtl-dw-prod (read-only)"
    trace["metadata"] = md
    if mode:
        name, rc, fx, sev, _ = MODE_INFO[mode]
        label = {"failure_mode": name, "root_cause": rc, "failing_step": fstep, "agent": None, "fixable": fx,
                 "severity": sev}
        assert fstep, mode
    return trace, label


def user_feedback(rng, mode, spec, slot, t):
    m = METRICS[spec["metric"]]
    reg = spec.get("region") or rng.choice(REGIONS)
    C = {
        "warehouse_unavailable": ["timed out again", "third time today it just errors", "no numbers?", "useless when the warehouse is down",
                                  "spinning for 2 minutes then nothing"],
        "late_load_unflagged": ["last week looks way too low - did the load finish?", "these numbers don't include Sunday",
                                "finance dashboard shows higher for the same week", "why is yesterday missing",
                                "this said up to date but the data is from the weekend"],
        "followup_filter_dropped": [f"I said {reg} - this is every region again", "you forgot my earlier filter",
                                    "this isn't the same scope as my previous question", "the clearance exclusion disappeared",
                                    "wrong period, I asked for the same dates as before"],
        "glossary_top_hit_wrong": [f"that's not how finance defines {m['words'][0]}", "this uses the old definition",
                                   "numbers don't match the certified metric", "wrong definition - check the glossary"],
        "row_cap_summarised": ["total is way too small", "these totals don't match the dashboard at all",
                               "looks like only part of the data was counted", "why is the total exactly what one store does?"],
        "glossary_dropped_by_budget": [f"{m['words'][0]} doesn't match the official number", "this isn't the finance definition",
                                       "off by a few points vs the margin report", "not the standard calc"],
        "join_fanout_overcount": ["revenue is 3x what finance reports", "these figures are way too high",
                                  "this can't be right, that's more than the whole chain did", "double counting?"],
        "bind_format_rejected": ["these are all-time numbers, not the period I asked", "the dates are wrong",
                                 "this includes 2022??", "why does the total look like lifetime sales"],
        "needless_clarification": ["just use the standard definition", "you asked me this last time too",
                                   "the normal one, obviously", "stop asking and run it", "use finance's definition"],
        "judge_misgrade": ["perfect, thanks", "exactly right", "matches my report", "great"],
        "forecast_unsupported": ["this is just last year times a number?", "that's not a forecast",
                                 "where did this competitor data come from?", "I needed a real projection",
                                 "this doesn't look like a model"],
    }[mode]
    out = []
    if mode == "judge_misgrade":
        if rng.random() < 0.6:
            out.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": iso(t)})
        else:
            out.append({"kind": "rating", "value": rng.choice([4, 5]), "scale": 5, "source": "user",
                        "timestamp": iso(t), "comment": rng.choice(C)})
        return out
    r = rng.random()
    if r < 0.45:
        out.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": iso(t),
                    **({"comment": rng.choice(C)} if rng.random() < 0.7 else {})})
    elif r < 0.65:
        out.append({"kind": "rating", "value": rng.choice([1, 2, 2]), "scale": 5, "source": "user", "timestamp": iso(t),
                    "comment": rng.choice(C)})
    elif r < 0.85:
        out.append({"kind": "comment", "value": None, "source": "user", "timestamp": iso(t), "comment": rng.choice(C)})
    else:
        out.append({"kind": "implicit", "value": None, "source": "system", "timestamp": iso(t),
                    "comment": rng.choice(["sql_copied_then_edited", "user re-ran edited SQL in notebook"]),
                    "metadata": {"edited": True, "edit_distance": rng.randint(12, 140)}})
    return out


def reviewer_note(rng, mode, spec, t):
    m = METRICS[spec["metric"]]
    notes = {
        None: ["checked vs finance cube, matches", "ok", "fine; minor formatting", "correct"],
        "warehouse_unavailable": ["infra outage, no answer given", "query never completed"],
        "late_load_unflagged": ["ran on incomplete partition, no caveat shown", "load was late that morning; answer presented as current"],
        "followup_filter_dropped": ["follow-up lost prior filter", "scope from previous turn not carried into SQL"],
        "glossary_top_hit_wrong": [f"used non-certified definition of {m['words'][0]}", "picked deprecated glossary entry"],
        "row_cap_summarised": ["totals computed on capped result", "answer aggregates a truncated result set"],
        "glossary_dropped_by_budget": ["metric computed ad hoc, not per glossary", f"{m['words'][0]} formula wrong"],
        "join_fanout_overcount": ["double counting from header/line join", "inflated totals, fan-out"],
        "bind_format_rejected": ["period filter silently removed after error", "answer covers all history"],
        "needless_clarification": ["unnecessary clarification; glossary has it", "should have just answered"],
        "judge_misgrade": ["answer correct; judge score wrong", "judge penalised a correct answer"],
        "forecast_unsupported": ["no forecasting capability; improvised projection", "answer based on proxy data"],
    }
    val = 1 if mode in (None, "judge_misgrade") else 0
    return {"kind": "correction" if val == 0 and rng.random() < 0.5 else "comment", "value": val, "source": "reviewer",
            "timestamp": iso(t), "comment": rng.choice(notes[mode])}


def build_input(rng, client, ask, thread, version):
    if client == "slack":
        msgs = []
        for turn in thread:
            msgs.append({"role": "user" if turn["role"] == "user" else "assistant", "content": turn["text"]})
        msgs.append({"role": "user", "content": ask})
        return msgs
    if client == "notebook" and not thread:
        return ask
    d = {"ask": ask}
    if thread and version == "quarry 3.14.2":
        # older web client: flat history of question/answer pairs
        hist = []
        for k in range(0, len(thread) - 1, 2):
            h = {"q": thread[k]["text"], "a": thread[k + 1]["text"], "at": thread[k].get("ts")}
            if thread[k + 1].get("sql"):
                h["sql"] = thread[k + 1]["sql"]
            hist.append(h)
        d["history"] = hist
    elif thread:
        d["thread"] = thread
    if rng.random() < 0.3:
        d["locale"] = rng.choice(["en-US", "en-US", "en-GB"])
    return d


FORECASTS = [
    ("model", "forecast {mw} for next quarter {q}", "forecast",
     ["Projected {mw} for next quarter is about {V}, based on the same quarter last year plus trailing growth.",
      "My estimate for next quarter: {V} ({mw}), i.e. last year's actuals grown by the recent trend.",
      "Next quarter should come in around {V} of {mw}."]),
    ("model", "what will Black Friday week {mw} look like {q}?", "forecast",
     ["Black Friday week {mw} should land around {V} (last year's BF week scaled by YTD growth).",
      "Expect roughly {V} for Black Friday week, extrapolating last year's peak week.",
      "Based on last year, Black Friday week {mw} will be about {V}."]),
    ("model", "predict which stores will miss their margin target in Q4 {q}", "forecast",
     ["Based on current run-rate, these stores look likely to miss their Q4 target: {S}.",
      "Stores at risk for Q4: {S} (projected from Q3 margin).",
      "{S} are projected to miss target this quarter."]),
    ("model", "project {mw} for December {q} based on the trend", "forecast",
     ["December projection: {V} of {mw}, using last December plus YTD growth.",
      "Trend-based December {mw}: about {V}."]),
    ("external", "compare our {mw} to competitor pricing {q}", "competitor_prices",
     ["I don't have competitor price data, so I compared our {mw} by region instead; {R} looks strongest.",
      "Our pricing looks competitive: {mw} held up in every region, strongest in {R}.",
      "There's no competitor table in the warehouse. Using internal {mw} as a proxy, results below."]),
    ("external", "how did weather affect {mw} {q} last month?", "weather_daily",
     ["Weather impact looks modest (about {P}%), with {R} the most affected region.",
      "No weather data is available, but {mw} dipped most in {R}, likely weather-related.",
      "Based on {mw} trends, weather cost roughly {P}% last month."]),
    ("external", "{mw} per visitor using footfall counts {q}", "store_footfall",
     ["Footfall isn't in the warehouse, so I used transaction counts as visitors; {R} leads.",
      "{mw} per visitor is highest in {R}."]),
    ("external", "what's our market share {q} vs the category?", "market_share",
     ["Our estimated share is about {P}%, highest in {R}.",
      "I can't see category totals outside our own sales; using our sales mix by region as a stand-in, {R} is largest."]),
]


def forecast_slot(rng, slot):
    spec = slot["spec"]
    m = METRICS[spec["metric"]]
    kind, tmpl, guess, answers = rng.choice(FORECASTS)
    q = f"in the {spec['region']}" if spec["region"] else rng.choice(["", "chain-wide", "for all regions"])
    mw = rng.choice(m["words"])
    ask = " ".join(tmpl.format(mw=mw, q=q).split()).replace(" ?", "?")
    base = BASES[m["base"]]
    V = rng.uniform(8e6, 6e7)
    if kind == "model":
        g = rng.choice(["1.05", "1.08", "1.032", "(1 + 0.041)"])
        if "stores" in tmpl:
            sts = rng.sample(STORE_NAMES, rng.randint(3, 5))
            rows = [[st, round(rng.uniform(0.26, 0.33), 4)] for st in sts]
            sql = ("SELECT s.store_name, SUM(m.gross_margin) / NULLIF(SUM(m.net_sales), 0) * " + g + " AS projected_gm,\n"
                   "       t.margin_target_pct\nFROM fin.fct_store_margin_daily m\nJOIN dim.stores s ON s.store_id = m.store_id\n"
                   "JOIN fin.store_targets t ON t.store_id = m.store_id AND t.fiscal_qtr = 'FY26Q4'\n"
                   "WHERE m.business_date BETWEEN :start_date AND :end_date\nGROUP BY 1, 3\nHAVING projected_gm < t.margin_target_pct")
        else:
            rows = [[f"projected_{spec['metric']}", round(V, 2)]]
            sql = (f"SELECT {m['expr']} * {g} AS projected_{spec['metric']}\nFROM {base['table']} {base['alias']}\n"
                   f"WHERE {base['date']} BETWEEN :start_date AND :end_date")
    else:
        rows = [[r, round(rng.uniform(2e6, 9e6), 2)] for r in REGIONS]
        sql = (f"SELECT s.region, {m['expr']} AS {spec['metric']}\nFROM {base['table']} {base['alias']}\n"
               f"JOIN dim.stores s ON s.store_id = {base['store']}\nWHERE {base['date']} BETWEEN :start_date AND :end_date\nGROUP BY 1")
    best = max(rows, key=lambda r: r[1])[0]
    ans = rng.choice(answers).format(mw=mw, V=money(V), S=", ".join(r[0] for r in rows), R=best, P=rng.randint(2, 14))
    ans = ans[0].upper() + ans[1:]
    slot.update(forecast_kind=kind, forecast_table_guess=guess, forecast_sql=sql, forecast_answer=ans, ask=ask,
                forecast_rows=rows)


VAGUE = ["how are we doing?", "numbers for the board deck", "is the West ok?", "anything weird in sales lately?",
         "pull the usual", "what should I look at for Monday's review?", "how's the promo going"]


# ----------------------------------------------------------------------------- world
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    n = a.n
    start = dt.datetime(2026, 11, 23, 0, 0, 0)

    # sessions and turns
    slots = []
    while len(slots) < n:
        turns = rng.choices([1, 2, 3, 4, 5], weights=[48, 24, 15, 9, 4])[0]
        user = rng.choice(USERS)
        day = rng.choices(range(7), weights=[10, 10, 10, 4, 8, 3.5, 3])[0]  # Mon..Sun; Thanksgiving Thu
        hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 14, 10, 14, 15, 14, 12, 8, 5, 3, 2, 2, 1, 1])[0]
        t = start + dt.timedelta(days=day, hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59),
                                 milliseconds=rng.randint(0, 999))
        sid = "conv_" + hashlib.sha1(f"{a.seed}-{len(slots)}-{user}".encode()).hexdigest()[:14]
        client = rng.choices(["web", "slack", "notebook"], weights=[60, 30, 10])[0]
        team = rng.choice(TEAMS)
        ver = rng.choice(["quarry 3.14.2", "quarry 3.14.2", "quarry 3.15.0", "quarry 3.15.1"])
        pm = PLANNER_MODELS[0] if rng.random() < 0.7 else PLANNER_MODELS[1]
        for k in range(turns):
            if len(slots) >= n:
                break
            slots.append(dict(session_id=sid, user_id=user, t0=t, turn=k, client=client, team=team, app_version=ver,
                              planner_model=pm, eval_format="map" if ver == "quarry 3.14.2" and rng.random() < 0.6 else "list"))
            t = t + dt.timedelta(seconds=rng.randint(40, 900))
    # assign modes
    counts = {m[0]: max(1, round(n * m[4])) for m in MODES}
    idx = list(range(n))
    fu_idx = [i for i in idx if slots[i]["turn"] > 0]
    rng.shuffle(fu_idx)
    modes = [None] * n
    k = counts["followup_filter_dropped"]
    for i in fu_idx[:k]:
        modes[i] = "followup_filter_dropped"
    rest = [i for i in idx if modes[i] is None]
    rng.shuffle(rest)
    p = 0
    for name, *_ in MODES:
        if name == "followup_filter_dropped":
            continue
        for i in rest[p:p + counts[name]]:
            modes[i] = name
        p += counts[name]
    healthy = [i for i in idx if modes[i] is None]
    noise = set(rng.sample(healthy, round(n * NOISE_SHARE)))

    mem_sessions = {slots[i]["session_id"] for i in idx if modes[i] == "followup_filter_dropped"}
    # build specs sequentially per session
    prev_by_session = {}
    prev_clar = {}
    traces, labels = [], {}
    for i, s in enumerate(slots):
        trng = random.Random(f"{a.seed}:{i}")
        s["trace_id"] = "qt_" + hashlib.sha1(f"{a.seed}/{i}".encode()).hexdigest()[:20]
        today = s["t0"].date()
        prev = prev_by_session.get(s["session_id"])
        mode = modes[i]
        thread = []
        s["fu_kind"] = None
        s["prior_sqls"] = []
        if prev and (s["turn"] > 0):
            pspec, hist = prev
            for h in hist[-4:]:
                thread.append({"role": "user", "text": h[0], "ts": iso(h[2])})
                thread.append({"role": "quarry", "text": h[1][:240], **({"sql": h[3]} if h[3] and trng.random() < 0.7 else {})})
            spec, txt, fk = followup(trng, pspec, today)
            if prev_clar.get(s["session_id"]) and mode != "followup_filter_dropped":
                # the user answers the clarifying question by restating the request
                spec = dict(pspec) if prev_clar[s["session_id"]] == "needless" else new_spec(trng, today)
                txt = trng.choice(["", "the standard one. ", "finance definition, ", "calendar, ", "sorry - ",
                                   "ok: "]) + ask_text(trng, spec)
                fk = "restated"
            if mode == "followup_filter_dropped":
                def _inh(ps, sp):
                    keys = {"region": "region", "channel": "channel", "category": "category", "clearance": "excl_clearance"}
                    return [f for f, k in keys.items() if ps.get(k) and sp.get(k) == ps.get(k)
                            and not (f == "channel" and not BASES[METRICS[sp["metric"]]["base"]]["chan"])]
                inherited = _inh(pspec, spec)
                tries = 0
                while not inherited and tries < 12:
                    spec, txt, fk = followup(trng, pspec, today)
                    inherited = _inh(pspec, spec)
                    tries += 1
                if not inherited:
                    # the previous turn carried a scope the follow-up must keep: give it one
                    pspec = dict(pspec)
                    pspec["region"] = trng.choice(REGIONS)
                    if pspec["dim"] == "region":
                        pspec["dim"] = "store"
                        pspec["topn"] = pspec.get("topn") or 10
                    spec, txt, fk = followup(trng, pspec, today)
                    while not _inh(pspec, spec):
                        spec, txt, fk = followup(trng, pspec, today)
                    inherited = _inh(pspec, spec)
                    # the thread shows the scoped question
                    if thread:
                        thread[-2]["text"] = ask_text(trng, pspec)
                        lb = dim_labels(trng, pspec)
                        thread[-1]["text"] = answer_text(trng, pspec, lb, gen_values(trng, pspec, lb))[:240]
                        thread[-1]["sql"] = build_sql(pspec)[0]
                s["drop"] = trng.choice(inherited)
                if thread and "sql" not in thread[-1]:
                    thread[-1]["sql"] = build_sql(pspec)[0]
            ask = txt
            s["fu_kind"] = fk
        else:
            if mode == "followup_filter_dropped":
                raise RuntimeError("memory mode on first turn")
            metric = None
            dim = None
            if mode in ("glossary_top_hit_wrong", "glossary_dropped_by_budget"):
                metric = trng.choice(GLOSSARY_METRICS)
            if mode == "join_fanout_overcount":
                metric = trng.choice(["net_sales", "net_sales", "aov"])
            spec = new_spec(trng, today, metric, dim)
            if s["session_id"] in mem_sessions and not (spec["region"] or spec["excl_clearance"] or spec["channel"]):
                if spec["dim"] == "region":
                    spec["dim"], spec["topn"] = "store", trng.choice([10, 20, None])
                spec["region"] = trng.choice(REGIONS)
            ask = ask_text(trng, spec)
            hist = []
        if mode in ("glossary_top_hit_wrong", "glossary_dropped_by_budget") and "term" not in METRICS[spec["metric"]]:
            spec = new_spec(trng, today, trng.choice(GLOSSARY_METRICS))
            ask = ask_text(trng, spec) if not thread else ask + " - and use " + trng.choice(METRICS[spec["metric"]]["words"]) + " instead"
        if mode == "join_fanout_overcount" and (spec["metric"] not in ("net_sales", "aov") or METRICS[spec["metric"]]["base"] == "margin"):
            spec = new_spec(trng, today, trng.choice(["net_sales", "aov"]))
            ask = ask_text(trng, spec) if not thread else ask + " - actually switch to " + trng.choice(METRICS[spec["metric"]]["words"])
        if mode == "join_fanout_overcount" and not (spec["dim"] in ("category", "sku") or spec["category"] or spec["excl_clearance"]):
            # the SKU attribute is what pulls order lines into an order-header query
            if thread:
                spec = dict(spec)
                spec["category"] = trng.choice(CATEGORIES)
                ask = ask + trng.choice([f", {spec['category']} only", f" - just {spec['category']}", f" (only {spec['category']})"])
            else:
                spec["dim"] = trng.choice(["category", "sku", "category"])
                spec["topn"] = trng.choice([10, 20]) if spec["dim"] == "sku" else None
                ask = ask_text(trng, spec)
        if mode == "row_cap_summarised" and METRICS[spec["metric"]]["kind"] not in ("money", "count"):
            spec = new_spec(trng, today, trng.choice(["net_sales", "units", "markdown", "net_sales"]))
            ask = ask_text(trng, spec) if not thread else ask + " - in " + trng.choice(METRICS[spec["metric"]]["words"]) + " please"
        if mode == "late_load_unflagged" and spec["window"][0] not in ("last_week", "last_4_weeks", "since_march", "ytd"):
            spec = new_spec(trng, today)
            spec["window"] = make_window(trng, today, trng.choice(["last_week", "last_4_weeks", "last_week", "since_march", "ytd"]))
            if trng.random() < 0.5 and "week" in BASES[METRICS[spec["metric"]]["base"]]["dims"]:
                spec["dim"], spec["topn"] = "week", None
            ask = ask_text(trng, spec)
        if mode is None and not thread and trng.random() < 0.03:
            s["vague"] = True
            ask = trng.choice(VAGUE)
        s["spec"] = spec
        s["ask"] = ask
        s["thread"] = thread
        if mode == "forecast_unsupported":
            forecast_slot(trng, s)
        tr, lab = gen_trace(trng, s, mode, i in noise)
        traces.append(tr)
        if lab:
            labels[tr["trace_id"]] = lab
        ans = tr["output"]["answer"] if isinstance(tr["output"], dict) else str(tr["output"])
        fsql = tr["output"].get("sql") if isinstance(tr["output"], dict) else None
        hist = (prev[1] if prev and s["turn"] > 0 else []) + [(s["ask"], ans, s["t0"], fsql)]
        prev_by_session[s["session_id"]] = (spec, hist)
        prev_clar[s["session_id"]] = "needless" if mode == "needless_clarification" else ("vague" if s.get("vague") else None)

    os.makedirs(a.out, exist_ok=True)
    traces.sort(key=lambda t: t["timestamp"])
    with open(os.path.join(a.out, "traces.jsonl"), "w") as f:
        for t in traces:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1, sort_keys=True)
    validate(a.out, n, counts)


def validate(out, n, counts):
    ids = set()
    tr_by = {}
    with open(os.path.join(out, "traces.jsonl")) as f:
        for line in f:
            t = json.loads(line)
            assert "trace_id" in t and "input" in t
            assert t["trace_id"] not in ids
            ids.add(t["trace_id"])
            sids = [s["id"] for s in t["steps"]]
            assert len(sids) == len(set(sids)), t["trace_id"]
            tr_by[t["trace_id"]] = t
    labels = json.load(open(os.path.join(out, "labels.json")))
    per = {}
    nofb = 0
    for tid, lab in labels.items():
        assert tid in ids
        t = tr_by[tid]
        assert lab["failing_step"] in {s["id"] for s in t["steps"]}, (tid, lab)
        per[lab["failure_mode"]] = per.get(lab["failure_mode"], 0) + 1
        if not any(fb["source"] == "user" or fb["kind"] == "implicit" for fb in t.get("feedback", [])):
            nofb += 1
    healthy_down = sum(1 for tid, t in tr_by.items() if tid not in labels and any(
        fb.get("kind") == "thumb" and fb.get("value") == 0 for fb in t.get("feedback", [])))
    print(f"traces: {len(ids)}  failing: {len(labels)} ({len(labels) / len(ids):.1%})  healthy: {len(ids) - len(labels)}")
    print(f"failing without user feedback: {nofb} ({nofb / max(1, len(labels)):.1%}); healthy thumbs-down: {healthy_down}")
    for k, v in sorted(per.items(), key=lambda x: -x[1]):
        print(f"  {k:28s} {v:5d}  (intended {counts[k]})")


if __name__ == "__main__":
    main()

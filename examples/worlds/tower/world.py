"""Northwind Mobile care assistant: a replayable simulated agent.

The "model" is a deterministic seeded function of (request, configuration text, seed, repeat).
The request itself (intent, wording, history) is a deterministic function of the seed, so a
recorded trace can be re-run from its input + metadata.seed + timestamp.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

PKG_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_DIR = PKG_DIR / "config"

# mode -> (root cause, fixable, severity)
MODES = {
    "wrong_source_answer": ("routing_decision", True, "S2"),
    "handoff_misroute": ("routing_decision", True, "S3"),
    "credit_promised": ("prompt_instruction", True, "S1"),
    "unverified_account_change": ("prompt_instruction", True, "S1"),
    "msisdn_format_rejected": ("tool_arguments", True, "S2"),
    "billing_period_unparsed": ("tool_arguments", True, "S2"),
    "backend_timeout": ("latency_infra", False, "S2"),
    "esim_transfer_unsupported": ("missing_capability", False, "S2"),
    "stale_roaming_tariff": ("data_freshness", False, "S1"),
    "unlock_guide_wrong_device": ("retrieval_ranking", False, "S3"),
    "earlier_turn_ignored": ("memory_multiturn", False, "S3"),
    "bill_delta_miscalculated": ("model_limitation", False, "S1"),
    "tariff_judge_false_alarm": ("evaluation_scorer", False, "S4"),
}

CORRECT_ROUTE = {
    "bill_increase": "tool", "roaming_dispute": "tool", "premium_sms": "tool",
    "roaming_prices": "search", "plan_change": "tool", "data_usage": "tool",
    "network_fault": "tool", "outage_check": "tool", "coverage_info": "search",
    "device_unlock": "search", "esim_transfer": "tool", "port_out": "tool",
    "port_in": "search", "payment_help": "search", "complaint": "handoff", "ambiguous": "clarify",
}
INTENT_TOOL = {
    "bill_increase": "billing_ledger", "roaming_dispute": "billing_ledger",
    "premium_sms": "billing_ledger", "plan_change": "order_system", "data_usage": "usage_meter",
    "network_fault": "network_status", "outage_check": "network_status",
    "esim_transfer": "sim_provisioning", "port_out": "sim_provisioning",
}
INTENT_WEIGHTS = [
    ("bill_increase", 13), ("roaming_dispute", 6), ("premium_sms", 4), ("roaming_prices", 8),
    ("plan_change", 10), ("data_usage", 9), ("network_fault", 8), ("outage_check", 4),
    ("coverage_info", 7), ("device_unlock", 8), ("esim_transfer", 3), ("port_out", 5),
    ("port_in", 4), ("payment_help", 8), ("complaint", 7), ("ambiguous", 5),
]

# ----------------------------------------------------------------------------- helpers

def _u(*parts) -> float:
    h = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0 ** 64


_STOP = set("a an the i my me to is it of in on for and or do does can you your have has be "
            "with at this that what how why are was am there from".split())
_TOK = re.compile(r"[a-z0-9£+]+")


def _toks(s: str) -> frozenset:
    return frozenset(t for t in _TOK.findall(s.lower()) if t not in _STOP)


def _sim(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


# ----------------------------------------------------------------------------- request generator
FIRST = ["Aisha", "Ben", "Chloe", "Dev", "Ewa", "Femi", "Grace", "Hamza", "Isla", "Jack", "Kemi",
         "Liam", "Maya", "Noah", "Olu", "Priya", "Rory", "Sana", "Tom", "Zoe"]
CITIES = ["Leeds", "Bristol", "Cardiff", "Glasgow", "Norwich", "Derby", "Hull", "Brighton",
          "Exeter", "Sheffield", "York", "Luton"]
STREETS = ["Mill Lane", "Station Road", "Queens Avenue", "Church Street", "Park Road",
           "Victoria Street", "Elm Grove", "High Street", "Canal Walk", "Orchard Close"]
MONTHS = ["August", "September", "October"]
DEST_OK = ["Spain", "France", "Italy", "Portugal", "Greece", "Ireland", "Germany"]
DEST_STALE = ["the USA", "Canada", "Turkey", "Dubai", "Morocco", "Switzerland"]
DEV_COMMON = ["iPhone 15", "iPhone 13", "Galaxy S24", "iPhone 14"]
DEV_RARE = ["Pixel 8", "Moto g84", "Nokia G42", "Xperia 10 V", "OnePlus Nord", "Redmi Note 13"]

T = {
    "bill_increase": [
        "Why has my {month} bill gone up by £{amt}?",
        "my bill is £{amt} more than usual in {month}, what happened",
        "Can you explain why I paid £{total} on my {month} bill? It's normally £{base}",
        "Bill jumped this month, nearly £{amt} extra. Why??",
        "Why was I charged £{total} for {month} when my plan is £{base}?",
    ],
    "roaming_dispute": [
        "I was charged £{amt} roaming in {dest_ok} in {month} but I had the roaming pass",
        "Why was I charged roaming fees in {dest_ok}? I want that money back",
        "Roaming charges of £{amt} on my {month} bill are wrong, I was only in {dest_ok} for 3 days",
        "You charged me £{amt} for data in {dest_ok}, I turned data roaming off!",
    ],
    "premium_sms": [
        "There's a £{amt} premium SMS charge on my bill I never signed up for",
        "What is this £{amt} charge for text services? I didn't subscribe to anything",
        "my son's line got charged £{amt} for premium texts, please remove it",
        "Charged for a subscription service by text, never agreed to it",
    ],
    "roaming_prices": [
        "How much does it cost to use my phone in {dest}?",
        "What are the roaming rates for {dest}?",
        "going to {dest} next week, how much for data per day?",
        "Is {dest} included in my roaming allowance and what's the daily price?",
        "Price for calls and data in {dest}?",
    ],
    "plan_change": [
        "I want to downgrade to a cheaper plan",
        "Can you change my plan to the Essentials 30 one?",
        "Please move me to the Unlimited Max plan from next month",
        "Switch plan to the 15GB SIM only deal please",
        "I'd like a cheaper plan, I don't use much data",
    ],
    "data_usage": [
        "How much data have I got left on {num}?",
        "Can you check usage for {num}, it says I'm nearly out",
        "how much data left this month",
        "Check my data usage please, number is {num}",
        "I've used up my allowance already?? Can you check {num}",
    ],
    "network_fault": [
        "No signal at {house} {street}, {city} since yesterday",
        "Mobile data is really slow at {street}, {city} {pc}",
        "Calls keep dropping at home ({pc}) for two days",
        "I've got no service at my address {house} {street} {pc}",
        "Signal has been terrible at {street} in {city} all week, what's going on?",
        "Internet crawling at {pc}, is something wrong with the mast?",
    ],
    "outage_check": [
        "Is there an outage in {city}?",
        "Is the network down in {city} right now?",
        "Are you having problems near {pc}? Nothing is loading",
        "Is there a known outage around {street}, {city}?",
    ],
    "coverage_info": [
        "How do I turn on wifi calling?",
        "Do you have 5G coverage in {city}?",
        "Does my plan include 4G calling (VoLTE)?",
        "Will wifi calling work when I have weak signal indoors?",
        "What is the APN for mobile data on Northwind?",
    ],
    "device_unlock": [
        "How do I unlock my {device} to use another network?",
        "Need to network unlock my {device}, how?",
        "What are the steps to unlock a {device} bought from Northwind?",
        "My {device} says SIM not supported with a foreign SIM, how do I unlock it?",
    ],
    "esim_transfer": [
        "How do I move my eSIM to my new {device}?",
        "Transfer my eSIM to a new phone please, I got a {device}",
        "Can you send me a new eSIM QR code for my {device}?",
        "I need my eSIM moved onto my replacement phone",
    ],
    "port_out": [
        "I need my PAC code please",
        "Can I get a PAC to move my number?",
        "Please send my STAC code for {num}",
        "I'm porting my number out, what's my PAC code?",
        "Give me the porting code for {num}",
        "How do I get the code to keep my number with a new provider?",
    ],
    "port_in": [
        "How do I bring my number over from another network?",
        "I'm joining Northwind, can I keep my old number?",
        "How long does it take to transfer my number to you?",
    ],
    "complaint": [
        "This is unacceptable, I've had no signal for a week and nobody helps. I want a real person",
        "I want to make a formal complaint about my last bill",
        "Put me through to a human please",
        "I want to speak to someone about my contract, this is the third time",
        "Get me a supervisor, I'm going to the ombudsman",
    ],
    "payment_help": [
        "How do I update my direct debit details?",
        "Can I change the date my payment is taken?",
        "How do I pay with a new card?",
        "where can I see my payment history",
    ],
    "ambiguous": [
        "it's not working",
        "help",
        "my phone is being weird",
        "I have a problem with my account",
    ],
}

VERIFIED_TURNS = [
    [{"role": "assistant", "content": "I've sent a 6-digit code to your number. Please type it here."},
     {"role": "user", "content": "{otp}"},
     {"role": "assistant", "content": "Thanks {name}, you're verified."}],
    [{"role": "user", "content": "hi"},
     {"role": "assistant", "content": "Hi {name}! For account changes I need to check it's you — what's the code I just texted?"},
     {"role": "user", "content": "code is {otp}"},
     {"role": "assistant", "content": "Great, thanks — identity confirmed."}],
]
MEMORY_TURNS = {
    "network_fault": ("My address is {house} {street}, {city} {pc}", "Sorry to hear that. Could you tell me what you're seeing?", "still no signal, same address as before"),
    "outage_check": ("I'm at {pc} by the way", "Thanks, noted.", "so is there an outage where I am?"),
    "data_usage": ("my number is {num}", "Thanks. What would you like to check?", "how much data left on that number?"),
    "device_unlock": ("I've got a {device}", "Nice phone! How can I help?", "how do I unlock it for a different network?"),
}


def _num(rng, local: bool) -> str:
    a, b = rng.randint(700, 799), rng.randint(100000, 999999)
    if local:
        return rng.choice([f"07{a} {b}", f"07{a}{b}", f"07{a}-{b}"])
    return rng.choice([f"+447{a}{b}", f"+44 7{a} {b}"])


def latent(seed: int) -> dict:
    """The request (hidden and visible parts) drawn from the seed."""
    rng = random.Random(seed)
    names, weights = zip(*INTENT_WEIGHTS)
    intent = rng.choices(names, weights)[0]
    L = {"intent": intent}
    name = rng.choice(FIRST)
    local = rng.random() < 0.6
    stale = rng.random() < 0.5
    rare = rng.random() < 0.55
    month = rng.choice(MONTHS)
    base = rng.choice([12, 15, 18, 22, 25, 30, 38])
    amt = round(rng.uniform(3, 45), 2)
    slots = dict(
        month=month, amt=f"{amt:.2f}", base=base, total=f"{base + amt:.2f}",
        dest_ok=rng.choice(DEST_OK), dest=rng.choice(DEST_STALE if stale else DEST_OK),
        device=rng.choice(DEV_RARE if rare else DEV_COMMON), num=_num(rng, local),
        city=rng.choice(CITIES), street=rng.choice(STREETS), house=rng.randint(1, 140),
        pc=f"{rng.choice('LSBCGNDHYE')}{rng.choice('SRTNLEHUX')}{rng.randint(1, 19)} {rng.randint(1, 9)}{rng.choice('ABDEFHJ')}{rng.choice('LNPQRTUW')}",
        name=name, otp=f"{rng.randint(0, 999999):06d}")
    tmpl_i = rng.randrange(len(T[intent]))
    text = T[intent][tmpl_i].format(**slots)
    if rng.random() < 0.25:
        text = text.lower()
    history = []
    mem_risk = False
    verified = None
    if intent in ("plan_change", "port_out"):
        verified = rng.random() < 0.55
        if verified:
            history = [dict(m, content=m["content"].format(**slots)) for m in rng.choice(VERIFIED_TURNS)]
    elif intent in MEMORY_TURNS and rng.random() < 0.45:
        a, b, c = MEMORY_TURNS[intent]
        history = [{"role": "user", "content": a.format(**slots)}, {"role": "assistant", "content": b}]
        if rng.random() < 0.5:
            history += [{"role": "user", "content": "also my bill looked odd"},
                        {"role": "assistant", "content": "I can look at that afterwards."}]
        text = c.format(**slots)
        mem_risk = True
    elif rng.random() < 0.15:
        history = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": f"Hi {name}, how can I help today?"}]
    L.update(
        text=text, history=history, slots=slots, name=name,
        local=("{num}" in T[intent][tmpl_i] and local) or (mem_risk and intent == "data_usage" and local),
        period_words=intent in ("bill_increase", "roaming_dispute") and "{month}" in T[intent][tmpl_i],
        items=rng.choice([2, 3, 4, 4, 5, 6]) if intent == "bill_increase" else 0,
        dispute=intent in ("roaming_dispute", "premium_sms") or (intent == "bill_increase" and rng.random() < 0.3),
        stale=intent == "roaming_prices" and stale, rare=intent == "device_unlock" and rare,
        verified=verified, mem_risk=mem_risk,
        channel=rng.choices(["app", "web", "sms"], [55, 30, 15])[0],
        user=f"nw-sub-{rng.randint(10000, 10650)}",
        locale=rng.choice(["en-GB", "en-GB", "en-GB", "en-IE", "cy-GB"]),
    )
    if intent == "bill_increase" and L["dispute"]:
        L["text"] = text + rng.choice([" I want it refunded.", " This isn't right, fix it.", " Please sort this out."])
    return L


def visible_input(L: dict, rng: random.Random) -> dict:
    inp = {"input": L["text"], "history": L["history"], "channel": L["channel"]}
    if rng.random() < 0.7:
        inp["locale"] = L["locale"]
    if L["channel"] != "sms" and rng.random() < 0.5:
        inp["app_version"] = rng.choice(["7.14.2", "7.15.0", "7.15.1"])
    return inp


# ----------------------------------------------------------------------------- configuration model
_CFG_CACHE: dict = {}

_REFUND_TOPIC = re.compile(r"\b(refunds?|refunded|credits?|goodwill|compensat\w*|reimburs\w*|money back|write[- ]offs?|waive\w*)\b")
_NEG = re.compile(r"\b(never|not|don't|do not|cannot|can't|must not|mustn't|no|only|without|avoid|instead)\b")
_VERIFY_TOPIC = re.compile(r"\b(verif\w*|authenticat\w*|identity|one[- ]time (pass)?code|otp|passcode|security check|id check)\b")
_VERIFY_DIR = re.compile(r"\b(before|prior|first|until|unless|must|always|only|never)\b")
_ACCOUNT_CHANGE = re.compile(r"\b(chang\w*|plan|account|order|swap|pac|porting|port|sim|upgrade|downgrade)\b")
_E164 = re.compile(r"(e\.?164|\+44|country code|international format|leading \+|starting with \+|\+ ?and country)", re.I)
_PERIOD = re.compile(r"(yyyy-mm|\d{4}-\d{2}|iso[- ]?8601|year-month|four-digit year|yyyymm)", re.I)
_SENT = re.compile(r"(?<=[.!?])\s+|\n")


def _cfg_key(d: str):
    key = [d]
    for sub in ("prompts", "fewshot"):
        p = os.path.join(d, sub)
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                st = os.stat(os.path.join(p, f))
                key.append((sub, f, st.st_mtime_ns, st.st_size))
    for f in ("routing.yaml", "tools.yaml"):
        p = os.path.join(d, f)
        if os.path.exists(p):
            st = os.stat(p)
            key.append((f, st.st_mtime_ns, st.st_size))
    return tuple(key)


def _read_yaml(p):
    try:
        with open(p, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError):
        return {}


def load_config(config_dir) -> dict:
    d = str(config_dir if config_dir is not None else DEFAULT_CONFIG_DIR)
    key = _cfg_key(d)
    c = _CFG_CACHE.get(key)
    if c is not None:
        return c
    prompt = ""
    pd = os.path.join(d, "prompts")
    if os.path.isdir(pd):
        for f in sorted(os.listdir(pd)):
            if f.endswith(".md"):
                with open(os.path.join(pd, f), encoding="utf-8") as fh:
                    prompt += fh.read() + "\n"
    joined = re.sub(r"\n[ \t]*(?![\-\*#\d\s])", " ", prompt)  # re-join wrapped lines
    sents = [s.strip().lower() for s in _SENT.split(joined) if s.strip()]
    refund_prohibit = any(_REFUND_TOPIC.search(s) and _NEG.search(s) for s in sents)
    refund_encourage = any(_REFUND_TOPIC.search(s) and not _NEG.search(s) for s in sents)
    verify_instr = any(_VERIFY_TOPIC.search(s) and _VERIFY_DIR.search(s) and _ACCOUNT_CHANGE.search(s) for s in sents)
    r = _read_yaml(os.path.join(d, "routing.yaml"))
    rules = []
    for rule in r.get("rules") or []:
        try:
            rules.append((str(rule.get("name", "")), re.compile(str(rule["pattern"]), re.I), str(rule["route"])))
        except (re.error, KeyError, TypeError, AttributeError):
            continue
    exemplars = []
    for route, exs in (r.get("exemplars") or {}).items():
        for e in exs or []:
            exemplars.append((str(route), str(e), _toks(str(e))))
    try:
        threshold = float(r.get("threshold", 0.35))
    except (TypeError, ValueError):
        threshold = 0.35
    fallback = str(r.get("fallback", "clarify"))
    fewshot = []
    fd = os.path.join(d, "fewshot")
    if os.path.isdir(fd):
        for f in sorted(os.listdir(fd)):
            if f.endswith((".yaml", ".yml")):
                for ex in (_read_yaml(os.path.join(fd, f)).get("examples") or []):
                    if isinstance(ex, dict):
                        fewshot.append((_toks(str(ex.get("request", ""))), str(ex.get("response", "")).lower()))
    tools = {}
    for t in (_read_yaml(os.path.join(d, "tools.yaml")).get("tools") or []):
        if isinstance(t, dict) and t.get("name"):
            params = {}
            for pn, pv in (t.get("parameters") or {}).items():
                params[str(pn)] = str((pv or {}).get("description", "")) if isinstance(pv, dict) else str(pv)
            tools[str(t["name"])] = {"description": str(t.get("description", "")), "params": params}
    c = dict(prompt_words=len(prompt.split()), refund_prohibit=refund_prohibit,
             refund_encourage=refund_encourage, verify_instr=verify_instr, rules=rules,
             exemplars=exemplars, threshold=threshold, fallback=fallback, fewshot=fewshot, tools=tools)
    if len(_CFG_CACHE) > 64:
        _CFG_CACHE.clear()
    _CFG_CACHE[key] = c
    return c


def route_request(text: str, cfg: dict):
    for name, rx, route in cfg["rules"]:
        if rx.search(text):
            return route, {"matched_rule": name}
    tk = _toks(text)
    best, br, bex = 0.0, None, None
    for route, ex, et in cfg["exemplars"]:
        s = _sim(tk, et)
        if s > best:
            best, br, bex = s, route, ex
    if br is not None and best >= cfg["threshold"]:
        return br, {"nearest_exemplar": bex, "similarity": round(best, 3)}
    return cfg["fallback"], {"fallback": True, "best_similarity": round(best, 3)}


def _fewshot_effect(text: str, cfg: dict):
    """(promise_factor, format_factor) from similar few-shot examples."""
    tk = _toks(text)
    pf, ff = 1.0, 1.0
    for et, resp in cfg["fewshot"]:
        if _sim(tk, et) < 0.18:
            continue
        promise = bool(re.search(r"(i've|i have|we've|i will|i'll|will be|has been)[^.]{0,40}(refund|credit|goodwill|money back)", resp)) \
            or bool(re.search(r"(added|applied|issued|processed)[^.]{0,30}(refund|credit)", resp))
        neutral = bool(re.search(r"dispute|investigat|review|specialist|billing team", resp))
        if promise:
            pf = max(pf, 1.4)
        elif neutral:
            pf = min(pf, 0.55)
        if re.search(r"\+44\s?7\d{3}|\b\d{4}-\d{2}\b", resp):
            ff = 0.6
    return pf, ff


def _tool_param(cfg, tool, param):
    t = cfg["tools"].get(tool)
    if not t:
        return ""
    return t["params"].get(param, "") + " " + t["description"]


def _in_incident(ts: str) -> bool:
    try:
        dt = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (ValueError, AttributeError):
        return False
    h = dt.hour + dt.minute / 60
    wd = dt.weekday()
    return (wd == 2 and 13.0 <= h < 16.5) or (wd == 4 and 8.0 <= h < 10.5) or (wd == 6 and 19.0 <= h < 20.5) or (wd == 0 and 17.5 <= h < 19.0)


# ----------------------------------------------------------------------------- decision (the model)

def decide(inputs: dict, cfg: dict) -> dict:
    seed = int(inputs.get("seed", 0))
    rep = int(inputs.get("repeat", 0) or 0)
    L = latent(seed)
    text = inputs.get("input", L["text"]) if isinstance(inputs.get("input"), str) else L["text"]
    intent = L["intent"]
    route, rinfo = route_request(text, cfg)
    D = {"L": L, "route": route, "rinfo": rinfo, "mode": None, "text": text, "rep": rep, "seed": seed}
    u = lambda tag: _u(seed, rep, tag)
    correct = CORRECT_ROUTE[intent]
    # transient backend blip that recovered (healthy)
    D["transient"] = u("transient") < 0.09
    if intent == "esim_transfer" and route in ("tool", "search", "clarify"):
        D["mode"] = "esim_transfer_unsupported"
        return D
    if route != correct:
        if route == "handoff" or correct == "handoff":
            D["mode"] = "handoff_misroute"
            return D
        if correct in ("tool", "search") and route in ("search", "clarify", "direct"):
            D["mode"] = "wrong_source_answer"
            return D
        if not (correct == "search" and route == "tool") and correct != "clarify":
            D["mode"] = "wrong_source_answer"
            return D
        D["detour"] = True  # an unnecessary back-office call instead of docs / a question
        if correct == "clarify":
            D["guess"] = True
            if route == "tool" and u("guess") < 0.6:
                D["mode"] = "wrong_source_answer"
            return D
        if u("detour") < 0.55:
            D["mode"] = "wrong_source_answer"
            return D
    pf, ff = _fewshot_effect(text, cfg)
    if correct == "tool" and route == "tool":
        if intent in ("plan_change", "port_out") and not L["verified"]:
            p = 0.05 if cfg["verify_instr"] else 0.5
            if u("verify") < p:
                D["mode"] = "unverified_account_change"
                return D
            D["verify_flow"] = True
            return D
        tool = INTENT_TOOL[intent]
        if L["local"] and tool in ("usage_meter", "sim_provisioning"):
            fixed = bool(_E164.search(_tool_param(cfg, tool, "msisdn")))
            p = (0.04 if fixed else 0.52) * ff
            if u("msisdn") < p:
                D["mode"] = "msisdn_format_rejected"
                return D
        if L["period_words"] and tool == "billing_ledger":
            fixed = bool(_PERIOD.search(_tool_param(cfg, tool, "period")))
            p = (0.04 if fixed else 0.27) * ff
            if u("period") < p:
                D["mode"] = "billing_period_unparsed"
                return D
        p = 0.7 if _in_incident(inputs.get("timestamp", "")) else 0.045
        if u("timeout") < p:
            D["mode"] = "backend_timeout"
            return D
        if L["dispute"]:
            p = 0.2 + (0.1 if cfg["refund_encourage"] else 0.0)
            p *= pf
            if cfg["refund_prohibit"]:
                p *= 0.12
            if u("promise") < min(p, 0.9):
                D["mode"] = "credit_promised"
                return D
        if L["items"] >= 4 and u("arith") < 0.5:
            D["mode"] = "bill_delta_miscalculated"
            return D
    if route == "search":
        if L["stale"] and u("stale") < 0.65:
            D["mode"] = "stale_roaming_tariff"
            return D
        if L["rare"] and u("rank") < 0.6:
            D["mode"] = "unlock_guide_wrong_device"
            return D
    if L["mem_risk"] and u("memory") < 0.55:
        D["mode"] = "earlier_turn_ignored"
        return D
    if intent in ("bill_increase", "roaming_prices", "plan_change", "roaming_dispute", "premium_sms") \
            and u("judge") < 0.13:
        D["mode"] = "tariff_judge_false_alarm"
        return D
    return D


def truth(inputs: dict, config_dir=None):
    return decide(inputs, load_config(config_dir))["mode"]

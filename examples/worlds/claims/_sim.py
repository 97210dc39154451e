"""Replayable simulation of the Harbourline Mutual claims assistant.

The "model" is a deterministic, seeded function of (request, configuration text, seed).
All randomness comes from uniforms drawn up-front from the trace seed (and `repeat`), so a
configuration change moves behaviour monotonically for the same request.
"""
from __future__ import annotations

import hashlib
import math
import os
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

PKG_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_DIR = PKG_DIR / "config"

FAILURE_MODES = {
    "answered_without_policy_lookup": "routing_decision",
    "complaint_not_escalated": "routing_decision",
    "clarified_instead_of_acting": "routing_decision",
    "payout_change_without_verification": "prompt_instruction",
    "promised_claim_outcome": "prompt_instruction",
    "incident_date_rejected": "tool_arguments",
    "stale_policy_wording": "data_freshness",
    "claimscore_timeout": "latency_infra",
    "photo_evidence_unsupported": "missing_capability",
    "earlier_incident_details_lost": "memory_multiturn",
    "settlement_arithmetic_error": "model_limitation",
    "judge_penalises_handoff": "evaluation_scorer",
}
SEVERITY = {
    "answered_without_policy_lookup": "S2",
    "complaint_not_escalated": "S2",
    "clarified_instead_of_acting": "S2",
    "payout_change_without_verification": "S1",
    "promised_claim_outcome": "S1",
    "incident_date_rejected": "S2",
    "stale_policy_wording": "S1",
    "claimscore_timeout": "S2",
    "photo_evidence_unsupported": "S3",
    "earlier_incident_details_lost": "S3",
    "settlement_arithmetic_error": "S2",
    "judge_penalises_handoff": "S4",
}
CONFIG_FIXABLE = frozenset(m for m, c in FAILURE_MODES.items()
                           if c in ("routing_decision", "prompt_instruction", "tool_arguments"))

BACKEND_TOOLS = {"lookup_policy", "open_claim", "get_claim_status", "verify_identity",
                 "update_payout_account", "book_assessor_visit", "handoff_to_adjuster"}
CONTEXT_WINDOW_MESSAGES = 4          # agent code, not configuration
MODEL = "hm-chat-large-2026-09"
JUDGE_MODEL = "hm-judge-2026-08"

# --------------------------------------------------------------------------- config
STOP = set("""a an the i im i'm me my we our us you your it its is are was were be been am do does
did to of for in on at and or but if so can could would will should please hi hello there this
that what whats how about with from up just have has had get got any some as by then now ok okay
s t d ll re ve""".split())
_TOK = re.compile(r"[a-z0-9£]+")


def _toks(text: str) -> frozenset:
    return frozenset(w for w in _TOK.findall(text.lower()) if w not in STOP)


def _sim(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _sentences(text: str):
    return [s for s in re.split(r"(?<=[.!?;:])\s+|\n+", text) if s.strip()]


def _concept(text: str, groups) -> bool:
    for s in _sentences(text):
        if all(re.search(g, s) for g in groups):
            return True
    return False


VERIFY_CONCEPT = [
    r"\b(verif\w*|authenticat\w*|one[- ]time|otp|passcode|security (check|code|question)|identity|id check)\b",
    r"\b(bank|payout|payment|account|sort code|paid into|payee)\w*",
    r"\b(before|first|always|must|only after|only once|without|prior to|requir\w*|never)\b",
]
NO_PROMISE_CONCEPTS = [
    [r"\b(never|not|don't|do not|avoid|must not|mustn't|cannot|can't|no)\b",
     r"\b(promis\w*|guarantee\w*|commit\w*|assur\w*|predict\w*|speculat\w*)",
     r"\b(outcome|payout|pay out|settle\w*|amount|approv\w*|accept\w*|decision|excess|waiv\w*|paid|cover\w*|result|claim)"],
    [r"\b(only|always)\b", r"\b(adjuster|assessor|claims handler|handler|underwriter)s?\b",
     r"\b(decid\w*|decision|determin\w*|confirm\w*)\b"],
]
REASSURE_TONE = r"\b(reassur\w*|positive about|don't worry|nothing to worry|turn out)"
DATE_SPEC = r"(yyyy-mm-dd|iso[ -]?8601|iso date|iso format|\d{4}-\d{2}-\d{2})"

_CACHE: dict = {}


def _signature(d: Path):
    sig = []
    for root, _dirs, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            try:
                st = os.stat(p)
            except OSError:
                continue
            sig.append((p, st.st_mtime_ns, st.st_size))
    sig.sort()
    return tuple(sig)


def _read(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except OSError:
        return ""


def _yaml(p: Path):
    try:
        return yaml.safe_load(_read(p)) or {}
    except yaml.YAMLError:
        return {}


class Config:
    def __init__(self, d: Path):
        self.dir = d
        prompts = sorted((d / "prompts").glob("*.md")) if (d / "prompts").is_dir() else []
        self.prompt = "\n".join(_read(p) for p in prompts)
        pl = self.prompt.lower()
        self.prompt_tokens = max(1, len(self.prompt) // 4)
        r = _yaml(d / "routing.yaml")
        self.rules = []
        for rule in (r.get("rules") or []):
            if not isinstance(rule, dict):
                continue
            try:
                rx = re.compile(str(rule.get("pattern", "")), re.I)
            except re.error:
                continue
            self.rules.append((str(rule.get("name", "rule")), rx, str(rule.get("route", ""))))
        self.exemplars = []
        ex = r.get("exemplars") or {}
        if isinstance(ex, dict):
            for route, lst in ex.items():
                for e in (lst or []):
                    self.exemplars.append((str(route), str(e), _toks(str(e))))
        try:
            self.threshold = float(r.get("threshold", 0.5))
        except (TypeError, ValueError):
            self.threshold = 0.5
        self.fallback = str(r.get("fallback", "clarify"))
        self.fewshot = []
        if (d / "fewshot").is_dir():
            for p in sorted((d / "fewshot").glob("*.y*ml")):
                for e in (_yaml(p).get("examples") or []):
                    if isinstance(e, dict):
                        self.fewshot.append((_toks(str(e.get("request", ""))),
                                             str(e.get("response", "")).lower()))
        self.fewshot_tokens = sum(len(r_) * 2 + 30 for _, r_ in self.fewshot)
        self.tools = {}
        for t in (_yaml(d / "tools.yaml").get("tools") or []):
            if isinstance(t, dict) and t.get("name"):
                params = {}
                for k, v in (t.get("parameters") or {}).items():
                    params[str(k)] = str((v or {}).get("description", "")) if isinstance(v, dict) else str(v)
                self.tools[str(t["name"])] = {"description": str(t.get("description", "")), "params": params}
        # derived behaviour flags
        self.verify_instr = _concept(pl, VERIFY_CONCEPT)
        self.no_promise_instr = any(_concept(pl, g) for g in NO_PROMISE_CONCEPTS)
        self.reassure_tone = bool(re.search(REASSURE_TONE, pl))
        oc = self.tools.get("open_claim")
        self.has_open_claim = oc is not None
        self.date_param = bool(oc and "incident_date" in oc["params"])
        self.date_spec = bool(oc and (re.search(DATE_SPEC, oc["params"].get("incident_date", "").lower())
                                      or re.search(r"incident_date[^.]{0,60}" + DATE_SPEC, oc["description"].lower())))
        self.has_verify_tool = "verify_identity" in self.tools

    def fewshot_factor(self, req: frozenset, pattern: str) -> float:
        best = 0.0
        for t, resp in self.fewshot:
            if re.search(pattern, resp):
                best = max(best, _sim(req, t))
        return 1.0 - 0.5 * min(1.0, best / 0.35)

    def route(self, text: str):
        for name, rx, route in self.rules:
            if rx.search(text):
                return route, {"matched_rule": name}
        q = _toks(text)
        best, best_route, best_ex = 0.0, None, None
        for route, e, t in self.exemplars:
            s = _sim(q, t)
            if s > best:
                best, best_route, best_ex = s, route, e
        if best_route is not None and best >= self.threshold:
            return best_route, {"nearest_exemplar": best_ex, "similarity": round(best, 3)}
        return self.fallback, {"fallback": True, "best_similarity": round(best, 3)}


def load_config(config_dir) -> Config:
    d = Path(config_dir) if config_dir is not None else DEFAULT_CONFIG_DIR
    key = str(d.resolve())
    sig = _signature(d)
    hit = _CACHE.get(key)
    if hit and hit[0] == sig:
        return hit[1]
    cfg = Config(d)
    _CACHE[key] = (sig, cfg)
    return cfg


# --------------------------------------------------------------------------- world
INTENT_RX = [
    ("complaint", r"\b(complain\w*|unacceptable|disgrace\w*|disgusted|ridiculous|ombudsman|appalling|fed up|useless|shocking|escalate)\b"),
    ("photo", r"\b(photos?|pictures?|video|upload|images?)\b"),
    ("bank", r"\b(bank|banks|sort code|account number|new account|different account|iban)\b"),
    ("payout_calc", r"£\d[^£]*£\d[^£]*£\d.*\b(how much|what will i get|what would i get|work out)\b"),
    ("booking", r"\b(assessor|inspect\w*|appointment)\b"),
    ("status", r"\b(clm-\d+|status|any news|update on|up to)\b"),
    ("excess", r"\b(excess|deductible)\b"),
    ("fnol_submit", r"\b(submit|raise|lodge|log) the claim\b"),
    ("fnol", r"\b(make|open|start|lodge|file|raise|report)\b.{0,25}\bclaim\b"),
    ("definition", r"\bwhat does [\w -]+ mean\b|\bdifference between\b|\bmeant by\b"),
    ("coverage", r"\b(cover|covered|included|include|paid for|policy say|wording|position on)\b"),
    ("fnol", r"\b(burst|storm|broke into|broken into|knocked|leaked|reversed into|cracked|hit|flood\w*|fell|stolen|came down|caught fire|smashed|went into)\b"),
    ("human", r"\b(speak|talk) to\b"),
]
INTENT_RX = [(i, re.compile(p, re.I)) for i, p in INTENT_RX]
NEEDS = {"coverage": "search", "excess": "search", "fnol": "tool", "fnol_submit": "tool",
         "status": "tool", "bank": "tool", "booking": "tool", "complaint": "handoff",
         "photo": "tool", "payout_calc": "direct", "definition": "direct", "vague": "clarify",
         "human": "handoff"}
REASSURE_RX = re.compile(r"(all of it|full amount|be sorted|, right\?|won't i\?|won't you\?|promise me|nothing to worry|get it all back)", re.I)
ISO_RX = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
NAT_DATE_RX = re.compile(r"\b(last night|yesterday|this morning|last \w+day|on the \d+\w\w|on \d+/\d+|at the weekend|on (mon|tues|wednes|thurs|fri|satur|sun)day|earlier today)\b", re.I)
CLAIMREF_RX = re.compile(r"\bCLM-\d{6}\b", re.I)
TOPIC_RX = [
    ("escape_of_water", r"pipe|leak|washing machine|shower|ceiling|soaked|water"),
    ("storm", r"storm|fence|flood|wind|tree"),
    ("accidental_damage", r"accidental|knocked|tv|dog|paint|carpet|spill"),
    ("theft", r"theft|stolen|broke into|broken into|burgl|took"),
    ("windscreen", r"windscreen|windshield|glass"),
    ("courtesy_car", r"courtesy car|hire car|replacement car"),
    ("collision", r"reversed|pothole|hit|crash|collision|deer"),
    ("fire", r"fire|candle|smoke"),
    ("subsidence", r"subsidence|crack"),
]
TOPIC_RX = [(t, re.compile(p, re.I)) for t, p in TOPIC_RX]
PRODUCTS = {"H": ["HomeSure Essentials", "HomeSure Plus"], "M": ["DriveWell Comprehensive", "DriveWell TPFT"]}
STALE = {("HomeSure Plus", 2026): {"escape_of_water", "storm", "accidental_damage", "excess", "theft"},
         ("DriveWell Comprehensive", 2026): {"windscreen", "courtesy_car", "excess", "collision", "theft"}}
WORDING = {("HomeSure Plus", 2026): "HSP-2026.1", ("HomeSure Plus", 2025): "HSP-2025.2",
           ("HomeSure Essentials", 2026): "HSE-2026.1", ("HomeSure Essentials", 2025): "HSE-2025.1",
           ("DriveWell Comprehensive", 2026): "DWC-2026.1", ("DriveWell Comprehensive", 2025): "DWC-2025.3",
           ("DriveWell TPFT", 2026): "DWT-2026.1", ("DriveWell TPFT", 2025): "DWT-2025.1"}
STALE_EDITION = {"HomeSure Plus": ("HSP-2024.2", "2024-03-01"), "DriveWell Comprehensive": ("DWC-2024.1", "2024-05-15")}
EFFECTIVE = {"2026": "2026-04-01", "2025": "2025-04-01"}


def _h(*parts) -> int:
    return int.from_bytes(hashlib.md5(":".join(map(str, parts)).encode()).digest()[:8], "big")


def policy_info(policy_id: str):
    dom = "M" if "-M-" in policy_id else "H"
    h = _h("pol", policy_id)
    product = PRODUCTS[dom][h % 2]
    edition = 2026 if (h >> 8) % 100 < 78 else 2025
    return dom, product, edition


def intent_of(text: str) -> str:
    for name, rx in INTENT_RX:
        if rx.search(text):
            return name
    return "vague"


def topic_of(text: str) -> str:
    if re.search(r"\bexcess\b", text, re.I):
        for t, rx in TOPIC_RX:
            if rx.search(text):
                return t if t in ("escape_of_water", "windscreen") else "excess"
        return "excess"
    for t, rx in TOPIC_RX:
        if rx.search(text):
            return t
    return "general"


def outage_hour(ts: str) -> bool:
    return _h("outage", ts[:13]) % 1000 < 105


# --------------------------------------------------------------------------- agent run
def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _parse_ts(ts: str) -> datetime:
    s = ts.replace("Z", "+00:00")
    try:
        t = datetime.fromisoformat(s)
    except ValueError:
        t = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


class _Steps:
    def __init__(self, t0: datetime, prefix: str, nz: random.Random):
        self.t = t0
        self.k = 0
        self.prefix = prefix
        self.nz = nz
        self.items = []
        self.root = None

    def add(self, type_, name, inp, out, latency, error=None, parent="root", **extra):
        self.k += 1
        sid = f"{self.prefix}{self.k}"
        st = {"id": sid, "parent_id": (self.root if parent == "root" else parent), "type": type_,
              "name": name, "input": inp, "output": out, "error": error,
              "start_time": _iso(self.t), "latency_ms": round(latency, 1)}
        for k, v in extra.items():
            if v is not None:
                st[k] = v
        self.items.append(st)
        self.t += timedelta(milliseconds=latency + self.nz.uniform(2, 25))
        return sid


def _pick(nz, options):
    return options[nz.randrange(len(options))]


PROMISE_PATTERN = r"(can't promise|cannot promise|can't confirm|not able to confirm|adjuster will (decide|confirm|assess)|depends on|once the (assessor|adjuster))"
VERIFY_PATTERN = r"(verif|one-time|passcode|security code|identity)"


def _llm_usage(cfg: Config, nz, text: str, history, completion: int, extra: int = 0):
    hist_tok = sum(len(str(m.get("content", ""))) // 4 + 4 for m in history[-CONTEXT_WINDOW_MESSAGES:]
                   if isinstance(m, dict))
    tool_tok = 40 * len(cfg.tools)
    p = cfg.prompt_tokens + cfg.fewshot_tokens + tool_tok + hist_tok + len(text) // 4 + 12 + extra
    c = completion + nz.randrange(-20, 40)
    c = max(12, c)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}, \
        round(p * 1.5e-6 + c * 6e-6, 6), 350 + c * 9.5 + p * 0.08 + nz.uniform(0, 400)


def simulate(inputs: dict, config_dir=None):
    cfg = load_config(config_dir)
    text = str(inputs.get("message") or inputs.get("input") or "")
    history = [m for m in (inputs.get("history") or []) if isinstance(m, dict)]
    seed = int(inputs.get("seed", 0) or 0)
    rep = int(inputs.get("repeat", 0) or 0)
    ts = str(inputs.get("timestamp") or "2026-11-02T09:00:00Z")
    t0 = _parse_ts(ts)
    U = random.Random(_h("u", seed, rep)).random
    u = [U() for _ in range(24)]
    nz = random.Random(_h("nz", seed, rep))
    pid = str(inputs.get("policy_id") or "HM-H-000000")
    dom, product, edition = policy_info(pid)
    intent = intent_of(text)
    need = NEEDS[intent]
    reassure = bool(REASSURE_RX.search(text))
    qtok = _toks(text)
    v2 = t0 >= datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)
    version = "ca-2026.11.1" if v2 else "ca-2026.10.4"
    prefix = (f"{_h('sp', seed, rep) % 16**6:06x}-" if v2 else "s")
    S = _Steps(t0, prefix, nz)
    S.root = None
    root = S.add("agent", "claims_assistant" if v2 else "ClaimsAssistant.turn",
                 {"message": text}, None, 0, parent=None)
    S.root = root
    mode, fstep = None, None

    def fail(m, sid):
        nonlocal mode, fstep
        if mode is None:
            mode, fstep = m, sid

    # guardrail (PII redaction) on some traffic
    if re.search(r"\d{6,}|\d\d-\d\d-\d\d", text) or u[12] < 0.25:
        S.add("guardrail", "pii_redactor", {"chars": len(text)},
              {"redacted": bool(re.search(r"\d{8}", text)), "action": "pass"}, nz.uniform(8, 30))

    route, rinfo = cfg.route(text)
    if route not in ("search", "tool", "clarify", "direct", "handoff"):
        rinfo = dict(rinfo, unknown_route=route)
        route = "direct"
    rout = {"route": route, **rinfo}
    rid = S.add("router", "route_request" if v2 else "intent_router",
                {"text": text} if v2 else {"query": text, "turns_in_history": len(history)},
                rout, nz.uniform(15, 70), metadata={"threshold": cfg.threshold})

    # routing failures
    if intent == "complaint" and route != "handoff":
        fail("complaint_not_escalated", rid)
    elif need == "search" and route in ("direct", "clarify", "tool"):
        fail("answered_without_policy_lookup", rid)
    elif (need == "tool" and intent != "photo" and route in ("search", "direct", "clarify")) or \
            (intent == "payout_calc" and route == "clarify"):
        fail("clarified_instead_of_acting", rid)

    visible = history[-CONTEXT_WINDOW_MESSAGES:]
    hidden = history[:-CONTEXT_WINDOW_MESSAGES] if len(history) > CONTEXT_WINDOW_MESSAGES else []
    vis_text = " ".join(str(m.get("content", "")) for m in visible if m.get("role") == "user")
    hid_text = " ".join(str(m.get("content", "")) for m in hidden if m.get("role") == "user")
    claim_ref_m = CLAIMREF_RX.search(text) or CLAIMREF_RX.search(vis_text)
    claim_ref = claim_ref_m.group(0).upper() if claim_ref_m else f"CLM-{_h('ref', pid) % 900000 + 100000}"
    answer = ""
    final_sid = None
    tool_calls = 0

    def llm(name, out_text, completion, extra_in=None, meta=None, extra_tokens=0):
        usage, cost, lat = _llm_usage(cfg, nz, text, history, completion, extra_tokens)
        inp = {"messages": [{"role": "system", "content": f"<system prompt: {cfg.prompt_tokens} tokens>"}]
               + [{"role": m.get("role"), "content": m.get("content")} for m in visible]
               + [{"role": "user", "content": text}]}
        if extra_in:
            inp.update(extra_in)
        return S.add("llm", name, inp, out_text, lat, model=MODEL, usage=usage, cost_usd=cost, metadata=meta)

    def claimscore(name, args, ok_out, retriable=True):
        """A ClaimsCore call with infra noise. Returns (sid_first, ok)."""
        nonlocal tool_calls
        outage = outage_hour(ts)
        p_fail = 0.72 if outage else 0.012
        first = None
        if u[4] < p_fail:
            errs = [f"ReadTimeout: ClaimsCore {name} did not respond within 30000 ms",
                    "504 Gateway Timeout from claimscore-api.internal",
                    f"upstream request timeout (claimscore /{name.replace('_', '-')}) after 30s",
                    "ConnectTimeout: claimscore-api.internal:443 (pool exhausted)"]
            for attempt in range(3):
                tool_calls += 1
                sid = S.add("tool", name, args, None, 30000 + nz.uniform(0, 40), error=_pick(nz, errs),
                            metadata={"attempt": attempt + 1, "backend": "ClaimsCore"})
                first = first or sid
            return first, False
        if u[5] < 0.05:
            tool_calls += 1
            first = S.add("tool", name, args, None, nz.uniform(800, 5000),
                          error=_pick(nz, ["503 Service Unavailable", "connection reset by peer",
                                           "429 Too Many Requests (retry-after: 1)"]),
                          metadata={"attempt": 1, "backend": "ClaimsCore"})
        tool_calls += 1
        sid = S.add("tool", name, args, ok_out, nz.uniform(180, 1400),
                    metadata={"attempt": 2 if first else 1, "backend": "ClaimsCore"})
        return first or sid, True

    topic = topic_of(text)
    wording = WORDING[(product, edition)]
    stale_hit = intent in ("coverage", "excess") and topic in STALE.get((product, edition), ())
    excess_now = {"HomeSure Plus": 400, "HomeSure Essentials": 250, "DriveWell Comprehensive": 300,
                  "DriveWell TPFT": 350}[product]
    excess_old = excess_now - 100

    # ------------------------------------------------------------------ routes
    if intent == "photo":
        pass  # handled per route below via photo answer
    if route == "search":
        q = {"query": text, "policy_id": pid, "top_k": 4} if not v2 else {"q": text, "filters": {"product": product}, "k": 4}
        if intent in ("coverage", "excess", "definition", "payout_calc"):
            sec = {"escape_of_water": "Section 2.4 Escape of water", "storm": "Section 2.2 Storm and flood",
                   "accidental_damage": "Section 3.1 Accidental damage", "theft": "Section 2.6 Theft",
                   "windscreen": "Section 5 Glass and windscreen", "courtesy_car": "Section 7 Courtesy car",
                   "collision": "Section 1 Damage to your car", "fire": "Section 2.1 Fire and smoke",
                   "subsidence": "Section 2.8 Subsidence", "excess": "Schedule of excesses",
                   "general": "General conditions"}[topic]
            if stale_hit:
                old_ed, old_date = STALE_EDITION[product]
                docs = [{"doc_id": f"{old_ed}#{sec.split()[1] if sec.startswith('Section') else 'sched'}",
                         "title": f"{product} policy wording — {sec}", "edition": old_ed,
                         "effective_date": old_date, "score": round(0.82 + nz.uniform(0, 0.12), 3)},
                        {"doc_id": f"KB-{nz.randrange(1000, 9999)}", "title": "How excesses work",
                         "last_reviewed": "2025-01-20", "score": round(0.6 + nz.uniform(0, 0.1), 3)}]
            else:
                docs = [{"doc_id": f"{wording}#{nz.randrange(1, 40)}", "title": f"{product} policy wording — {sec}",
                         "edition": wording, "effective_date": EFFECTIVE[str(edition)],
                         "score": round(0.8 + nz.uniform(0, 0.15), 3)},
                        {"doc_id": f"KB-{nz.randrange(1000, 9999)}", "title": _pick(nz, ["Making a claim: what to expect", "How excesses work", "Policy terms explained"]),
                         "last_reviewed": "2026-0%d-1%d" % (nz.randrange(1, 9), nz.randrange(0, 9)), "score": round(0.55 + nz.uniform(0, 0.15), 3)}]
        else:
            sec = "Making a claim"
            docs = [{"doc_id": f"KB-{nz.randrange(1000, 9999)}", "title": _pick(nz, ["Making a claim: what to expect", "Claims FAQ", "Contacting us"]),
                     "last_reviewed": "2026-06-02", "score": round(0.5 + nz.uniform(0, 0.2), 3)}]
        if v2 and nz.random() < 0.6:
            docs = docs[:]
            for d in docs:
                d["content"] = f"[{d['title']}] ..."
        tool_calls += 1
        ret = S.add("retriever", "policy_wording_search" if not v2 else "wording_retrieval", q,
                    {"documents": docs}, nz.uniform(250, 900), metadata={"index": "policy-wording-v7"})
        if v2:
            S.add("reranker", "cross_encoder_rerank", {"n": len(docs)}, {"order": list(range(len(docs)))}, nz.uniform(90, 260))
        if stale_hit:
            fail("stale_policy_wording", ret)
            amt = excess_old
            answer = _pick(nz, [
                f"Under {sec} of your {product} policy, yes — this is covered. The excess for this is £{amt}.",
                f"Good news: {sec} covers this. You'd pay an excess of £{amt} and we'd cover the rest up to your limit.",
                f"Your {product} wording ({sec}) includes this, subject to a £{amt} excess.",
            ])
        elif intent in ("coverage", "excess"):
            answer = _pick(nz, [
                f"According to {sec} of your {product} policy, this is covered. Your excess here is £{excess_now}.",
                f"{sec} of your {product} wording covers this, subject to your £{excess_now} excess and the conditions in that section.",
                f"Yes — {sec} includes this. The excess is £{excess_now}; the usual conditions apply.",
            ])
        elif intent == "photo":
            pass
        else:
            answer = _pick(nz, [
                "Here's how claims work: you can tell us what happened and we'll open a claim and assign a handler.",
                "Our claims guide explains the next steps: report the incident, we assess it, then we settle.",
                "You can make a claim through the app or by chatting with me; an adjuster will then be in touch.",
            ])
        if intent == "photo":
            answer = None
        if answer:
            final_sid = llm("compose_answer" if not v2 else "answer_with_wording", answer, 120,
                            {"documents": [d["doc_id"] for d in docs]}, extra_tokens=420 * len(docs))

    elif route == "direct":
        if intent == "coverage":
            answer = _pick(nz, [
                "Most home and motor policies cover this kind of damage as long as it was sudden and accidental. You'd normally just pay your excess.",
                "Generally, yes — that's usually included as standard. It's typically covered minus your excess.",
                "That's normally covered under standard policies, though wear and tear isn't. You'd usually pay an excess of around £100-£250.",
                "In most cases this would be covered. Insurers typically treat it as accidental damage.",
            ])
        elif intent == "payout_calc":
            amounts = [int(a.replace(",", "")) for a in re.findall(r"£([\d,]+)", text)]
            exc = amounts[-1] if amounts else 0
            items = amounts[:-1]
            right = sum(items) - exc
            n = len(items)
            p = {1: 0.05, 2: 0.35, 3: 0.7, 4: 0.9}.get(n, 0.9)
            if u[6] < p:
                wrong = right + _pick(nz, [100, -100, 10, -90, exc, 1000, -1000, 50])
                if wrong == right:
                    wrong += 100
                answer = _pick(nz, [f"Your items come to £{sum(items) + (wrong - right):,}, so after the £{exc} excess you'd receive £{wrong:,}.",
                                    f"After deducting your £{exc} excess, the settlement would be £{wrong:,}.",
                                    f"Adding those up and taking off the excess, you should get £{wrong:,}."])
                arith_bad = True
            else:
                answer = _pick(nz, [f"Your items come to £{sum(items):,}, so after the £{exc} excess you'd receive £{right:,}.",
                                    f"After deducting your £{exc} excess, the settlement would be £{right:,}."])
                arith_bad = False
        elif intent == "photo":
            answer = None
        elif intent == "definition":
            answer = _pick(nz, ["'New for old' means we pay for a brand-new replacement, not the second-hand value, for most contents items.",
                                "Buildings cover is the structure (walls, roof, fitted kitchen); contents cover is what you'd take with you if you moved."])
        else:
            answer = _pick(nz, ["I can help with cover questions, claims, payouts and appointments. What would you like to do?",
                                "Happy to help — tell me a bit more about what you need.",
                                "Thanks for getting in touch. What can I do for you today?"])
        if answer:
            final_sid = llm("respond" if not v2 else "direct_answer", answer, 90)
            if intent == "payout_calc" and arith_bad:
                fail("settlement_arithmetic_error", final_sid)

    elif route == "clarify":
        if intent != "photo":
            if intent in ("fnol", "fnol_submit"):
                answer = _pick(nz, ["I'm sorry to hear that. Could you tell me a bit more about what you'd like to do today?",
                                    "Thanks for letting me know. Are you looking to check your cover, or something else?",
                                    "I'm sorry that happened. What can I help you with — do you have a question about your policy?"])
            else:
                answer = _pick(nz, ["Could you tell me a little more about what you need help with?",
                                    "Sure — is this about an existing claim, a new claim, or your policy cover?",
                                    "Happy to help. What would you like to do today?"])
            final_sid = llm("clarifying_question", answer, 40)

    elif route == "handoff":
        tool_calls += 1
        ticket = f"ADJ-{_h('tk', seed, rep) % 90000 + 10000}"
        urgent = intent == "complaint"
        S.add("tool", "handoff_to_adjuster", {"reason": intent if intent != "vague" else "customer request",
                                              "priority": "urgent" if urgent else "normal"},
              {"ticket": ticket, "queue": "complaints" if urgent else "claims-general",
               "expected_response": "within 1 working day" if urgent else "within 2 working days"},
              nz.uniform(200, 700))
        if intent != "photo":
            answer = _pick(nz, [f"I'm sorry about this. I've passed your conversation to one of our adjusters (ticket {ticket}); they'll contact you within 1 working day.",
                                f"I've raised ticket {ticket} and a member of our claims team will pick this up personally.",
                                f"Thank you for telling us. I've escalated this to a senior adjuster under reference {ticket}."])
            final_sid = llm("handoff_message", answer, 70)

    # ---- tool route
    if route == "tool" and intent != "photo":
        plan_out = {"tool_calls": []}
        if intent in ("fnol", "fnol_submit"):
            src = text + " " + vis_text
            details_lost = intent == "fnol_submit" and not re.search(NAT_DATE_RX.pattern + "|" + ISO_RX.pattern, src, re.I) \
                and bool(hid_text)
            if details_lost:
                answer = _pick(nz, ["Of course. Before I submit it, can you tell me what happened and on what date?",
                                    "I can do that. Could you first describe the damage and when it happened?",
                                    "Happy to. What date did the incident happen, and what was damaged?",
                                    "Sure — I just need a few details first: what happened, and when?"])
                plan = llm("plan_tool_calls" if not v2 else "agent_plan", {"tool_calls": [], "needs_info": ["incident_date", "description"]}, 60)
                fail("earlier_incident_details_lost", plan)
                final_sid = llm("compose_reply", answer, 50)
            elif not cfg.has_open_claim:
                plan = llm("plan_tool_calls" if not v2 else "agent_plan", {"tool_calls": [], "note": "no tool to open a claim"}, 50)
                fail("clarified_instead_of_acting", plan)
                answer = "I'm not able to open a claim here, but you can call our claims line on 0345 600 1234."
                final_sid = llm("compose_reply", answer, 40)
            else:
                iso = ISO_RX.search(src)
                nat = NAT_DATE_RX.search(src)
                given = iso.group(1) if iso else (nat.group(0) if nat else "recently")
                ttype = {"escape_of_water": "escape_of_water", "storm": "storm", "theft": "theft", "fire": "fire",
                         "accidental_damage": "accidental_damage", "collision": "collision",
                         "windscreen": "accidental_damage"}.get(topic_of(src), "other")
                if not cfg.date_param:
                    p_bad = 1.0
                elif iso:
                    p_bad = 0.01
                elif cfg.date_spec:
                    p_bad = 0.05 * cfg.fewshot_factor(qtok, r"\d{4}-\d\d-\d\d")
                else:
                    p_bad = 0.75 * cfg.fewshot_factor(qtok, r"\d{4}-\d\d-\d\d")
                inc_date = (t0 - timedelta(days=1 + _h("d", seed) % 5)).strftime("%Y-%m-%d")
                bad = u[2] < p_bad
                args = {"policy_id": pid, "incident_type": ttype,
                        "description": (text if intent == "fnol" else (hid_text or vis_text))[:160]}
                if cfg.date_param:
                    args["incident_date"] = given if (bad and not iso) else (iso.group(1) if iso else inc_date)
                    if bad and iso:
                        args["incident_date"] = datetime.strptime(iso.group(1), "%Y-%m-%d").strftime("%d/%m/%Y")
                plan = llm("plan_tool_calls" if not v2 else "agent_plan", {"tool_calls": [{"name": "lookup_policy"}, {"name": "open_claim", "arguments": args}]}, 110)
                tool_calls += 1
                S.add("tool", "lookup_policy", {"policy_id": pid},
                      {"product": product, "wording": wording, "status": "in_force"}, nz.uniform(90, 300))
                if bad:
                    val = args.get("incident_date")
                    err = _pick(nz, [
                        f"ValidationError: incident_date '{val}' is not a valid date (expected YYYY-MM-DD)",
                        f"422 Unprocessable Entity: field incident_date: could not parse '{val}'",
                        f"ClaimsCore rejected request: incident_date must be ISO-8601, got '{val}'",
                        "400 Bad Request: missing required field 'incident_date'" if val is None else
                        f"schema error at $.incident_date: '{val}' does not match ^\\d{{4}}-\\d{{2}}-\\d{{2}}$",
                    ])
                    tool_calls += 1
                    S.add("tool", "open_claim", args, None, nz.uniform(60, 200), error=err,
                          metadata={"backend": "ClaimsCore"})
                    if u[3] < 0.2:
                        args2 = dict(args, incident_date=inc_date)
                        llm("repair_tool_call", {"tool_calls": [{"name": "open_claim", "arguments": args2}]}, 60)
                        args = args2
                        bad = False
                    else:
                        fail("incident_date_rejected", plan)
                        answer = _pick(nz, [
                            "I'm sorry, I'm having trouble logging your claim right now. Please try again a little later or call 0345 600 1234.",
                            "Apologies — our claims system didn't accept the details. Could you try again later?",
                            "Sorry, something went wrong while opening your claim. Please call our claims line and they'll take it from there.",
                            "I wasn't able to register the claim just now. Please try again shortly.",
                        ])
                if not bad:
                    ref = f"CLM-{_h('new', seed, rep) % 900000 + 100000}"
                    first, ok = claimscore("open_claim", args, {"claim_ref": ref, "stage": "registered", "handler": "auto-triage"})
                    if not ok:
                        fail("claimscore_timeout", first)
                        answer = _pick(nz, ["I'm really sorry, our claims system isn't responding at the moment. Please try again in an hour.",
                                            "Sorry — I couldn't reach the claims system. Your claim hasn't been logged yet; please try again later.",
                                            "Our systems are running slowly and I couldn't open the claim. Please try again soon."])
                    else:
                        answer = _pick(nz, [f"I've opened claim {ref} for you. An adjuster will be in touch within 2 working days.",
                                            f"Your claim is registered as {ref}. Keep any damaged items and receipts; we'll contact you shortly.",
                                            f"Done — claim {ref} is open. You'll get a text with the next steps."])
                final_sid = llm("compose_reply" if not v2 else "final_answer", answer, 80)
        elif intent in ("status", "complaint", "booking"):
            name = "book_assessor_visit" if intent == "booking" else "get_claim_status"
            args = {"claim_ref": claim_ref} if name == "get_claim_status" else {"claim_ref": claim_ref, "preferred_date": (t0 + timedelta(days=3 + nz.randrange(5))).strftime("%Y-%m-%d")}
            plan = llm("plan_tool_calls" if not v2 else "agent_plan", {"tool_calls": [{"name": name, "arguments": args}]}, 50)
            stage = _pick(nz, ["awaiting contractor quote", "with loss adjuster", "settlement approved", "awaiting documents from customer", "assessor visit booked"])
            out = {"claim_ref": claim_ref, "stage": stage, "last_update": (t0 - timedelta(days=nz.randrange(1, 20))).strftime("%Y-%m-%d")} \
                if name == "get_claim_status" else {"claim_ref": claim_ref, "slot": args["preferred_date"] + "T10:00", "assessor": _pick(nz, ["R. Okafor", "J. Lindqvist", "P. Sharma", "M. Doyle"])}
            first, ok = claimscore(name, args, out)
            if not ok:
                fail("claimscore_timeout", first)
                answer = _pick(nz, ["Sorry, I can't reach our claims system right now. Please try again later.",
                                    "Apologies — the claims system timed out. Could you try again in a little while?"])
            elif name == "get_claim_status":
                answer = _pick(nz, [f"Your claim {claim_ref} is currently '{stage}'. We'll update you as soon as it moves on.",
                                    f"I've checked {claim_ref}: it's {stage}. The last update was on {out['last_update']}.",
                                    f"Claim {claim_ref} is at the '{stage}' stage."])
            else:
                answer = f"I've booked your assessor visit for {out['slot'][:10]} at 10:00 with {out['assessor']}."
            final_sid = llm("compose_reply" if not v2 else "final_answer", answer, 70)
        elif intent == "bank":
            sc = re.search(r"\b\d\d-\d\d-\d\d\b", text)
            acc = re.search(r"\b\d{8}\b", text)
            args = {"policy_id": pid, "sort_code": sc.group(0) if sc else "(from customer)", "account_number": ("****" + acc.group(0)[-4:]) if acc else "(from customer)"}
            if not cfg.has_verify_tool:
                p_skip = 1.0
            elif cfg.verify_instr:
                p_skip = 0.05 * cfg.fewshot_factor(qtok, VERIFY_PATTERN)
            else:
                p_skip = 0.68 * cfg.fewshot_factor(qtok, VERIFY_PATTERN)
            if u[1] < p_skip:
                plan = llm("plan_tool_calls" if not v2 else "agent_plan", {"tool_calls": [{"name": "update_payout_account", "arguments": args}]}, 60)
                fail("payout_change_without_verification", plan)
                first, ok = claimscore("update_payout_account", args, {"status": "updated", "effective": "next payment"})
                if not ok:
                    answer = "Sorry, I couldn't update your bank details just now — please try again later."
                else:
                    answer = _pick(nz, ["Done — future payments on your claim will go to the new account.",
                                        "I've updated your payout account. Your settlement will be paid there.",
                                        "Your bank details have been changed; the next payment will go to the new account."])
            else:
                plan = llm("plan_tool_calls" if not v2 else "agent_plan", {"tool_calls": [{"name": "verify_identity", "arguments": {"policy_id": pid, "channel": "sms"}}]}, 50)
                tool_calls += 1
                S.add("tool", "verify_identity", {"policy_id": pid, "channel": "sms"}, {"otp_sent": True, "to": "+44 7*** ***%03d" % nz.randrange(1000)}, nz.uniform(300, 900))
                answer = _pick(nz, ["For your security I've texted a one-time code to the mobile on your policy. Please type it here and I'll update the account.",
                                    "Before I change where payouts go, I need to check it's you: I've sent a 6-digit code by SMS.",
                                    "I've sent a security code to your phone. Once you enter it I'll make the change."])
            final_sid = llm("compose_reply" if not v2 else "final_answer", answer, 60)
        elif intent in ("coverage", "excess"):
            tool_calls += 1
            S.add("tool", "lookup_policy", {"policy_id": pid}, {"product": product, "wording": wording, "standard_excess": excess_now}, nz.uniform(90, 300))
            answer = f"Your {product} policy is in force with a £{excess_now} standard excess; it should include this as long as the damage was sudden."
            final_sid = llm("compose_reply" if not v2 else "final_answer", answer, 70)
        else:
            answer = _pick(nz, ["Could you tell me a bit more so I can help?", "What would you like me to do for you?"])
            final_sid = llm("compose_reply" if not v2 else "final_answer", answer, 40)

    # ---- photo requests: nothing can receive images
    if intent == "photo":
        answer = _pick(nz, [
            "Thanks — I've added your photos to the claim file.",
            "I'm not able to receive photos or videos in this chat. An adjuster may ask for them later.",
            "You can send photos at any time and we'll attach them to your claim.",
            "Great, please go ahead and share the pictures here.",
            "Unfortunately I can't accept attachments. Please keep the photos safe for the assessor.",
        ])
        final_sid = llm("compose_reply" if route == "tool" else "respond", answer, 50)
        fail("photo_evidence_unsupported", final_sid)

    # ---- promises about outcome
    if mode is None and reassure and intent in ("fnol", "fnol_submit", "status", "coverage", "excess") and final_sid:
        if cfg.no_promise_instr:
            p = 0.06
        else:
            p = 0.8 if cfg.reassure_tone else 0.45
        p *= cfg.fewshot_factor(qtok, PROMISE_PATTERN)
        promise = _pick(nz, [" Don't worry — this will definitely be paid in full.",
                             " You'll get the full amount back, I can promise you that.",
                             " Rest assured the claim will be approved and we'll waive your excess.",
                             " This is definitely covered, so you won't be out of pocket.",
                             " I can confirm the whole repair will be paid for."])
        for st in S.items:
            if st["id"] == final_sid:
                if u[0] < p:
                    st["output"] = str(st["output"]) + promise
                    answer = st["output"]
                    fail("promised_claim_outcome", final_sid)
                else:
                    tail = _pick(nz, [" The adjuster will confirm the outcome once they've assessed it.",
                                      " I can't promise the outcome, but the adjuster will be in touch soon.",
                                      " Whether it's paid in full depends on the assessment."])
                    st["output"] = str(st["output"]) + tail
                    answer = st["output"]

    # ---- nightly judge (sample)
    scores = []
    judged = _h("judge", seed) % 100 < 32
    if judged:
        if mode is None and route in ("handoff", "clarify") and intent in ("complaint", "human", "vague") and u[8] < 0.48:
            val = round(0.1 + 0.25 * nz.random(), 2)
            com = _pick(nz, ["Response does not cite any policy wording.", "No policy section referenced; accuracy cannot be established.",
                             "Assistant failed to answer the policy question.", "Answer contains no coverage information."])
            jid = S.add("evaluator", "nightly_policy_judge", {"rubric": "policy_accuracy_v3"}, {"score": val, "reason": com},
                        nz.uniform(900, 2500), model=JUDGE_MODEL, parent=None)
            fail("judge_penalises_handoff", jid)
        else:
            bad_modes = {"answered_without_policy_lookup": 0.8, "stale_policy_wording": 0.5, "promised_claim_outcome": 0.7,
                         "settlement_arithmetic_error": 0.6}
            if mode in bad_modes and nz.random() < bad_modes[mode]:
                val = round(0.1 + 0.3 * nz.random(), 2)
                com = _pick(nz, ["Answer not grounded in the customer's policy wording.", "Statement contradicts current wording.",
                                 "Overstates what the policy guarantees.", "Figures do not match the policy schedule."])
            else:
                val = round(0.75 + 0.25 * nz.random(), 2)
                com = _pick(nz, ["Accurate.", "Consistent with policy wording.", "No issues found.", "Acceptable."])
            S.add("evaluator", "nightly_policy_judge", {"rubric": "policy_accuracy_v3"}, {"score": val, "reason": com},
                  nz.uniform(900, 2500), model=JUDGE_MODEL, parent=None)
        scores.append({"name": "policy_accuracy", "value": val, "source": "llm_judge", "comment": com})

    # ---- feedback
    fb = _feedback(mode, u, nz, t0, v2)
    steps = S.items
    total_lat = sum(s["latency_ms"] for s in steps if s["type"] != "evaluator")
    steps[0]["latency_ms"] = round(total_lat, 1)
    steps[0]["output"] = answer
    cost = round(sum(s.get("cost_usd", 0) for s in steps if s["type"] == "llm"), 6)
    trace = {
        "trace_id": f"tr_{_h('id', seed, rep):016x}",
        "session_id": str(inputs.get("conversation_id") or f"conv_{_h('c', seed) % 10**8:08d}"),
        "user_id": str(inputs.get("customer_id") or "anon"),
        "timestamp": ts,
        "input": {k: v for k, v in inputs.items() if k not in ("seed", "timestamp", "repeat")},
        "output": answer,
        "latency_ms": round(total_lat, 1),
        "steps": steps,
        "metadata": {"seed": seed, "agent_version": version,
                     ("surface" if v2 else "channel"): inputs.get("channel", "app"),
                     "tool_calls": tool_calls, "locale": "en-GB"},
    }
    if rep:
        trace["metadata"]["repeat"] = rep
    if nz.random() < 0.85:
        trace["cost_usd"] = cost
    if fb:
        trace["feedback"] = fb
    if scores:
        trace["scores"] = scores
    if v2:
        trace["metadata"]["product_line"] = "motor" if dom == "M" else "home"
    return trace, mode, fstep


FB = {
    "answered_without_policy_lookup": (0.45, [
        ("correction", "reviewer", ["Customer's wording excludes this (unoccupied >30 days); assistant said it was covered.",
                                    "Generic answer, not based on the customer's policy. Their schedule has a higher excess.",
                                    "Answer is wrong for HomeSure Essentials — accidental damage is an optional add-on."]),
        ("comment", "user", ["That's not what my policy documents say.", "Is that actually my policy or just general info?",
                             "You told me I was covered and now the claims team says I'm not."]),
        ("thumb", "user", None)]),
    "complaint_not_escalated": (0.75, [
        ("comment", "user", ["I didn't ask for a status update, I asked to make a complaint.",
                             "Still nobody has dealt with my complaint. I'll go to the ombudsman.",
                             "Stop telling me the stage. I want to speak to someone about how this was handled."]),
        ("rating", "user", None), ("thumb", "user", None)]),
    "clarified_instead_of_acting": (0.55, [
        ("comment", "user", ["I just told you what happened!", "I want to claim, obviously.",
                             "Why are you asking me what I want? My house is flooded."]),
        ("thumb", "user", None), ("implicit", "system", ["user_rephrased", "session_abandoned"])]),
    "payout_change_without_verification": (0.15, [
        ("correction", "reviewer", ["Payout account changed without OTP verification — referred to fraud team.",
                                    "Bank details updated with no identity check. Breach of payments policy.",
                                    "Account change should have required a security code first."])]),
    "promised_claim_outcome": (0.35, [
        ("correction", "reviewer", ["Assistant guaranteed full settlement before assessment; claim later part-declined.",
                                    "Promised excess waiver — we don't do that.",
                                    "Outcome promised in chat; customer now quoting it in a complaint."]),
        ("comment", "user", ["Your chat told me it would be paid in full. Now you're saying it isn't?"])]),
    "incident_date_rejected": (0.55, [
        ("comment", "user", ["Tried three times and it still won't log my claim.", "Your system is broken.",
                             "It keeps saying something went wrong."]),
        ("thumb", "user", None), ("rating", "user", None)]),
    "stale_policy_wording": (0.35, [
        ("correction", "reviewer", ["Quoted the 2024 wording. Excess changed at the 2026 renewal.",
                                    "Old edition cited — limits in the current wording are different.",
                                    "Answer uses superseded policy document."]),
        ("comment", "user", ["The excess you gave me doesn't match my renewal letter."])]),
    "claimscore_timeout": (0.6, [
        ("thumb", "user", None), ("comment", "user", ["Nothing works today.", "Keeps timing out.", "Tried twice, same error."]),
        ("rating", "user", None)]),
    "photo_evidence_unsupported": (0.5, [
        ("comment", "user", ["Where do the photos go? There's no button.", "You said you added them but the adjuster hasn't got them.",
                             "How am I meant to send pictures?"]),
        ("thumb", "user", None)]),
    "earlier_incident_details_lost": (0.7, [
        ("comment", "user", ["I already told you all that.", "I literally explained this five minutes ago.",
                             "Why do I have to repeat everything?"]),
        ("thumb", "user", None), ("rating", "user", None)]),
    "settlement_arithmetic_error": (0.4, [
        ("correction", "reviewer", ["Settlement figure miscalculated.", "Sum of items minus excess is wrong."]),
        ("comment", "user", ["That doesn't add up.", "I make it a different number."])]),
}
NOISE = ["App keeps logging me out.", "Wish you had phone support on Sundays.", "Premium went up again this year.",
         "Chat window covers the screen on my phone.", "Too many survey emails."]


def _feedback(mode, u, nz, t0, v2):
    ts = _iso(t0 + timedelta(minutes=3 + nz.randrange(0, 600)))
    out = []
    if mode == "judge_penalises_handoff":
        if u[9] < 0.8:
            out.append({"kind": "rating", "value": _pick(nz, [4, 5, 5]), "scale": 5, "source": "user", "timestamp": ts,
                        "comment": _pick(nz, ["", "Quick and helpful, thank you.", "Glad I could talk to a person."])})
        return out
    if mode is None:
        if u[11] < 0.011:
            out.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": ts, "comment": _pick(nz, NOISE)})
        elif u[9] < 0.14:
            out.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": ts})
        elif u[9] < 0.24:
            out.append({"kind": "rating", "value": _pick(nz, [4, 5, 5, 3]), "scale": 5, "source": "user", "timestamp": ts})
        return out
    p, kinds = FB[mode]
    if u[9] >= p:
        return out
    kind, source, comments = kinds[int(u[10] * len(kinds))]
    if kind == "thumb":
        out.append({"kind": "thumb", "value": 0, "source": source, "timestamp": ts})
    elif kind == "rating":
        out.append({"kind": "rating", "value": _pick(nz, [1, 1, 2]), "scale": 5, "source": source, "timestamp": ts})
    elif kind == "implicit":
        out.append({"kind": "implicit", "value": None, "source": source, "timestamp": ts, "comment": _pick(nz, comments)})
    else:
        out.append({"kind": kind, "value": None if kind == "correction" else 0, "source": source, "timestamp": ts,
                    "comment": _pick(nz, comments)})
    if nz.random() < 0.2 and kind != "rating" and source == "user":
        out.append({"kind": "rating", "value": 1, "scale": 5, "source": "user", "timestamp": ts})
    return out

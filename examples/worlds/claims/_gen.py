"""Request generator for the claims world (week of production traffic)."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ._sim import FAILURE_MODES, SEVERITY, CONFIG_FIXABLE, intent_of, simulate, DEFAULT_CONFIG_DIR

HOME_COVER = ["a burst pipe", "storm damage to my fence", "accidental damage to my TV", "subsidence",
              "my bike being stolen from the garden", "damage caused by my dog", "frozen pipes while we're away",
              "a leaking shower seal", "lost keys", "food in the freezer after a power cut",
              "flood damage to the garage", "fire damage from a candle", "a tree falling on the roof",
              "red wine spilled on the carpet", "a stolen laptop from my car"]
MOTOR_COVER = ["a cracked windscreen", "a courtesy car while mine is repaired", "hitting a pothole",
               "theft of my car from the drive", "damage from a hit and run", "a replacement car after a crash",
               "windscreen chips", "keys stolen from my house"]
COVER_RULE = ["Am I covered for {p}?", "Does my policy cover {p}?", "Do I have cover for {p}?",
              "Is my policy going to cover {p}?", "Are we covered for {p}?", "does my insurance include {p}",
              "am i covered for {p}", "Do we have cover for {p}? Just checking before I call someone."]
COVER_OTHER = ["What does my policy say about {p}?", "Would {p} be paid for under my policy?",
               "Can you check the wording on {p} for me?", "I'd like to know if {p} is included in my policy.",
               "Quick one - what's the position on {p} in my policy?", "Hi, what does the policy wording say about {p}",
               "Before I do anything, what does my policy say about {p}?", "Would my policy have {p} included?"]
EXCESS = ["What's my excess for {p}?", "How much is the excess if I claim for {p}?",
          "Is there a separate excess for {p}?", "what excess would I pay on {p}",
          "What is my excess for escape of water?", "How much is my excess?", "Can you tell me the excess on my policy for {p}"]
DEFINITION = ["What does new for old mean?", "What's the difference between buildings and contents?",
              "What is meant by 'unoccupied' in insurance terms?", "what does escape of water mean"]
HOME_EVENTS = [("a pipe burst under the kitchen sink and the floor is soaked", "escape_of_water"),
               ("the storm took half the fence down", "storm"),
               ("someone broke into the shed and took two bikes", "theft"),
               ("my son knocked a tin of paint over the new carpet", "accidental_damage"),
               ("the washing machine leaked through the ceiling below", "escape_of_water"),
               ("a tree came down on the garage roof", "storm"),
               ("the garden flooded and water got into the utility room", "storm"),
               ("a pan caught fire and smoke damaged the kitchen", "fire")]
MOTOR_EVENTS = [("someone reversed into my car in a car park", "collision"),
                ("a stone cracked my windscreen on the motorway", "windscreen"),
                ("my car was broken into and the stereo taken", "theft"),
                ("I hit a deer on a country lane", "collision"),
                ("a van went into the back of me at the lights", "collision")]
NAT_DATES = ["last night", "yesterday", "this morning", "last Tuesday", "on the 28th", "on 30/10",
             "at the weekend", "on Sunday", "earlier today", "last Friday"]
FNOL_EXPLICIT = ["I need to make a claim - {e} {w}.", "I'd like to report a claim: {e} {w}.",
                 "Can I start a claim please? {E} {w}.", "I want to open a claim, {e} {w}",
                 "Hi, I need to file a claim because {e} {w}.", "I want to make a claim. {E} {w}."]
FNOL_NARR = ["{E} {w}. What do I do now?", "{W}, {e}. Can you help?", "Help - {e} {w}.",
             "{E} {w} and I don't know what happens next.", "{W} {e}, what should I do?",
             "Hello, {e} {w}. Not sure what I need to do."]
REASSURE = [" Will you pay for all of it?", " I'll get the full amount back, won't I?",
            " Please tell me this is going to be sorted.", " You'll pay for the repairs, right?",
            " I can get it all back, right?"]
SUBMIT = ["OK, please go ahead and submit the claim.", "Can you log the claim now then?",
          "Right, please raise the claim now.", "Great - go ahead and lodge the claim.", "Yes please submit the claim"]
MIDDLE = [("user", "Yes, nobody was hurt."), ("assistant", "Glad to hear nobody was hurt. Is the property safe to stay in?"),
          ("user", "Yes it's fine, just a mess."), ("assistant", "Thanks. Have you had to arrange any emergency repairs?"),
          ("user", "A plumber came out, I have the invoice."), ("assistant", "Great, please keep that invoice."),
          ("user", "Will someone need to come round?"), ("assistant", "Possibly — an adjuster will decide after the claim is logged.")]
STATUS = ["Any news on my claim {r}?", "What's the status of {r}?", "Where's my claim up to? Ref {r}",
          "I'm still waiting to hear about {r}", "Can I get an update on claim {r}", "status of claim {r} please",
          "Hi, just checking what stage {r} is at - any news?"]
BANK = ["I need to change the bank account my payout goes into. New sort code {sc}, account {acc}.",
        "Can you update my sort code and account number for the settlement? {sc} / {acc}",
        "I've switched banks - please pay the claim money into my new account {acc}, sort code {sc}.",
        "Please send the payout to a different account: {sc} {acc}", "New bank details for my claim: sort code {sc}, account number {acc}"]
BOOKING = ["Can I book an assessor visit for claim {r}?", "When can someone come and inspect the damage? Claim {r}",
           "I need to rearrange my assessor appointment for {r}", "Could the assessor come on a Saturday? It's {r}",
           "Please book the inspection for my claim {r}"]
PHOTO = ["Can I send you photos of the damage?", "I've got pictures of the ceiling, how do I upload them?",
         "Where do I upload the video of the leak for my claim {r}?", "I took photos of the other car's number plate - can I send them here?",
         "I have images of the fence, where should they go?", "can i upload pictures for {r}"]
ITEMS = [("a laptop", 899), ("a phone", 420), ("a bike", 650), ("a camera", 540), ("a watch", 1250), ("a TV", 780),
         ("a sofa", 1100), ("a rug", 310), ("headphones", 249), ("a tablet", 379)]
PAYOUT = ["My claim for {items} was accepted. My excess is £{x}. How much will I get?",
          "If you're paying for {items} and my excess is £{x}, what will I get?",
          "Can you work out my settlement? {Items}, excess £{x}.",
          "They approved {items}; excess £{x}. How much is that in total after the excess?"]
COMPLAINT_CLAIM = ["This is unacceptable, my claim {r} has been waiting six weeks and nobody has called.",
                   "Still no update on my claim after 5 weeks. Absolutely disgusted.",
                   "I'm fed up - my claim {r} is still not settled and I want to complain formally.",
                   "Three weeks and I've heard nothing about my claim {r}. Appalling service.",
                   "My claim is still waiting for a decision, this is ridiculous and I want to complain.",
                   "I want to complain - my claim {r} has had no update for a month."]
COMPLAINT_OTHER = ["I want to make a formal complaint about the assessor who came round.",
                   "Your assessor was rude and I'd like to complain.",
                   "The service has been appalling and I want to escalate this.",
                   "I'd like to raise a complaint about how I was spoken to on the phone.",
                   "This is ridiculous, I've been passed around four departments.",
                   "I want to complain about the contractor you sent, they made it worse."]
VAGUE = ["hi", "Hello, I need some help please", "I have a question about my policy", "can someone help me",
         "hello?", "Hi there", "I need help with something", "Good morning"]
HUMAN = ["Can I speak to a person please", "I'd like to talk to a human", "Can I talk to someone real?",
         "I want to speak to an adjuster"]
THANKS = ["thanks, that's all", "ok great thank you", "Perfect, cheers", "thank you!"]

WEIGHTS = {
    "coverage_rule": 0.072, "coverage_other": 0.100, "excess": 0.075, "definition": 0.075,
    "fnol_explicit": 0.095, "fnol_narr": 0.030, "fnol_submit": 0.054, "status": 0.225, "bank": 0.072,
    "booking": 0.120, "photo": 0.033, "payout_calc": 0.074, "complaint_claim": 0.037, "complaint_other": 0.035,
    "vague": 0.065, "human": 0.050, "thanks": 0.135,
}
EXPECT = {"coverage_rule": "coverage", "coverage_other": "coverage", "excess": "excess", "definition": "definition",
          "fnol_explicit": "fnol", "fnol_narr": "fnol", "fnol_submit": "fnol_submit", "status": "status",
          "bank": "bank", "booking": "booking", "photo": "photo", "payout_calc": "payout_calc",
          "complaint_claim": "complaint", "complaint_other": "complaint", "vague": "vague", "human": "human",
          "thanks": "vague"}


def _ref(rng):
    return f"CLM-{rng.randrange(100000, 999999)}"


def _cap(s):
    return s[:1].upper() + s[1:]


def _make(kind, rng, when: datetime, dom):
    hist = []
    pick = rng.choice
    if kind in ("coverage_rule", "coverage_other", "excess"):
        p = pick(MOTOR_COVER if dom == "M" else HOME_COVER)
        tpl = pick({"coverage_rule": COVER_RULE, "coverage_other": COVER_OTHER, "excess": EXCESS}[kind])
        text = tpl.format(p=p)
        if kind != "excess" and rng.random() < 0.22:
            text += pick([" I need it fixed, you'll pay for all of it, right?", " I'll get the full amount back, won't I?"])
    elif kind == "definition":
        text = pick(DEFINITION)
    elif kind in ("fnol_explicit", "fnol_narr", "fnol_submit"):
        e, _t = pick(MOTOR_EVENTS if dom == "M" else HOME_EVENTS)
        if rng.random() < 0.22:
            w = "on " + (when - timedelta(days=rng.randrange(0, 5))).strftime("%Y-%m-%d")
        else:
            w = pick(NAT_DATES)
        if kind == "fnol_submit":
            first = _cap(e) + " " + w + "."
            hist = [{"role": "user", "content": first},
                    {"role": "assistant", "content": pick(["I'm sorry to hear that. Is everyone safe?", "Oh no, sorry to hear that. Was anyone hurt?"])}]
            n_extra = rng.choice([0, 1, 2, 2, 3, 3, 3])
            hist += [{"role": r, "content": c} for r, c in MIDDLE[: 2 * n_extra]]
            text = pick(SUBMIT)
        else:
            tpl = pick(FNOL_EXPLICIT if kind == "fnol_explicit" else FNOL_NARR)
            text = tpl.format(e=e, E=_cap(e), w=w, W=_cap(w))
        if rng.random() < 0.3:
            text += pick(REASSURE)
    elif kind == "status":
        text = pick(STATUS).format(r=_ref(rng))
        if rng.random() < 0.12:
            text += pick([" Will you pay for all of it?", " I'll get the full amount, won't I?", " Please tell me it'll be sorted soon, I'll get it all back, right?"])
    elif kind == "bank":
        sc = f"{rng.randrange(10, 99)}-{rng.randrange(10, 99)}-{rng.randrange(10, 99)}"
        text = pick(BANK).format(sc=sc, acc=f"{rng.randrange(10**7, 10**8)}")
    elif kind == "booking":
        text = pick(BOOKING).format(r=_ref(rng))
    elif kind == "photo":
        text = pick(PHOTO).format(r=_ref(rng))
    elif kind == "payout_calc":
        k = rng.choice([2, 3, 3, 3, 4, 4])
        its = rng.sample(ITEMS, k)
        parts = [f"{n} (£{v})" for n, v in its]
        items = ", ".join(parts[:-1]) + " and " + parts[-1]
        text = pick(PAYOUT).format(items=items, Items=_cap(items), x=rng.choice([100, 150, 250, 350]))
    elif kind == "complaint_claim":
        text = pick(COMPLAINT_CLAIM).format(r=_ref(rng))
    elif kind == "complaint_other":
        text = pick(COMPLAINT_OTHER)
    elif kind == "vague":
        text = pick(VAGUE)
    elif kind == "human":
        text = pick(HUMAN)
    else:
        text = pick(THANKS)
    return text, hist


class Result:
    def __init__(self, traces, failing, by_mode, out, labels):
        self.traces, self.failing, self.by_mode, self.out, self.labels = traces, failing, by_mode, out, labels

    def __repr__(self):
        return f"Result(traces={self.traces}, failing={self.failing}, by_mode={self.by_mode})"


def requests(n: int, seed: int, start=None):
    """Yield n request inputs (dicts with seed and timestamp), time-ordered."""
    rng = random.Random(seed)
    start = start or date(2026, 11, 2)
    t_start = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    kinds = list(WEIGHTS)
    w = [WEIGHTS[k] for k in kinds]
    customers = [(f"cust_{rng.randrange(10**6, 10**7)}", "M" if rng.random() < 0.42 else "H") for _ in range(max(50, n // 3))]
    pols = {c: f"HM-{d}-{rng.randrange(100000, 999999)}" for c, d in customers}
    sessions = []
    count = 0
    while count < n:
        while True:
            day = rng.randrange(7)
            hour = rng.random() * 24
            # diurnal shape: busier 08-22
            if rng.random() < (0.15 if hour < 7 else 1.0 if 8 <= hour <= 22 else 0.4):
                break
        t = t_start + timedelta(days=day, hours=hour)
        k = min(n - count, rng.choices([1, 2, 3], [0.8, 0.15, 0.05])[0])
        cust = rng.choice(customers)
        conv = f"conv_{rng.randrange(16**10):010x}"
        for _ in range(k):
            sessions.append((t, cust, conv))
            t += timedelta(minutes=rng.uniform(1.5, 25))
        count += k
    sessions.sort(key=lambda x: x[0])
    seeds = set()
    out = []
    for t, (cust, dom), conv in sessions:
        kind = rng.choices(kinds, w)[0]
        for _ in range(20):
            text, hist = _make(kind, rng, t, dom)
            if intent_of(text) == EXPECT[kind]:
                break
        s = rng.randrange(1, 2**40)
        while s in seeds:
            s = rng.randrange(1, 2**40)
        seeds.add(s)
        inp = {"message": text}
        if hist:
            inp["history"] = hist
        inp["policy_id"] = pols[cust]
        inp["customer_id"] = cust
        inp["conversation_id"] = conv
        r = rng.random()
        inp["channel"] = "app" if r < 0.62 else "web"
        if rng.random() < 0.3:
            inp["app_version"] = rng.choice(["7.14.2", "7.15.0", "7.15.1"]) if inp["channel"] == "app" else None
            if inp["app_version"] is None:
                del inp["app_version"]
        inp["seed"] = s
        inp["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(inp)
    return out


def generate(n: int, seed: int, config_dir=None, out=None, start=None):
    if out is None:
        out = Path("out") / "traces.jsonl"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = config_dir if config_dir is not None else DEFAULT_CONFIG_DIR
    labels = {}
    by_mode = {}
    with out.open("w", encoding="utf-8") as f:
        for inp in requests(n, seed, start):
            trace, mode, fstep = simulate(inp, cfg)
            f.write(json.dumps(trace, ensure_ascii=False) + "\n")
            if mode:
                by_mode[mode] = by_mode.get(mode, 0) + 1
                labels[trace["trace_id"]] = {"failure_mode": mode, "root_cause": FAILURE_MODES[mode],
                                             "failing_step": fstep, "agent": None,
                                             "fixable": mode in CONFIG_FIXABLE, "severity": SEVERITY[mode]}
    lp = out.parent / "labels.json"
    lp.write_text(json.dumps(labels, indent=1), encoding="utf-8")
    return Result(n, len(labels), dict(sorted(by_mode.items(), key=lambda kv: -kv[1])), str(out), str(lp))

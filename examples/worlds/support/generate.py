#!/usr/bin/env python3
"""Relay: production traces of a broadband & mobile customer-support agent.

World
-----
"Relay" is the webchat / in-app chat / e-mail support agent of a UK broadband and mobile
provider.  Each trace is ONE turn of a support conversation ("case").  Customers come back
to the same case over hours or days, so a turn carries the earlier turns the way the
platform stores them: chat turns as a structured list (`history` on orchestrator 3.8,
`thread.turns` on 3.9), e-mail turns as a quoted reply chain (`quoted_thread`).

A turn runs through the Relay orchestrator:
  relay.handle_turn (chain)
    context.build_window      builds the history window under a token budget (may trim)
    inbound.pii_mask          guardrail, on most turns
    triage.route              router: intent -> desk, or answer directly from the KB
    <desk> (agent)            billing_desk | tech_desk | accounts_desk | triage (FAQ)
      <desk>.plan             llm: chooses the tool calls
      crm.get_account, billing.list_invoices, billing.apply_credit, kb.search, kb.rerank,
      netstatus.check_area, line.run_diagnostics, fieldops.*, catalogue.quote_change,
      identity.verify, sim.order_replacement, handoff.create_case, ...
      <desk>.compose          llm: writes the customer reply
    outbound.policy_check     guardrail
    qa.tone_policy            evaluator (QA model scoring tone / policy compliance)
Customers leave CSAT ratings (1-5), thumbs and free-text comments; the platform records
implicit signals (reopened case, called the phone line); supervisors review a sample.

Failure modes (labels.json, root-cause category in brackets)
------------------------------------------------------------
 1 missed_mandatory_handoff   [prompt_instruction]  complaint / bereavement / vulnerability /
                              ombudsman / manager request not handed to a human (S2, fixable)
 2 crm_timeout_exhausted      [latency_infra]       CRM lookups time out on every retry, the
                              customer gets a generic apology (S2)
 3 contradicts_prior_turn     [memory_multiturn]    reply contradicts a commitment Relay made
                              earlier in the same case (credit, visit, plan date) (S2)
 4 history_trimmed_key_fact   [context_construction] long case, window trimmed without a usable
                              summary; the reply re-asks / repeats what the customer said (S3)
 5 outdated_kb_policy         [data_freshness]      KB article last reviewed years ago quotes an
                              old fee / price / policy that the account data contradicts (S2)
 6 skipped_account_lookup     [routing_decision]    account-specific question routed to the
                              direct FAQ path, generic answer with no lookup (S3, fixable)
 7 wrong_kb_article_ranked    [retrieval_ranking]   off-topic article ranked first, the right one
                              lower down; reply follows the wrong article (S3)
 8 malformed_tool_call        [tool_arguments]      credit in pence / wrong id field / bad date
                              format, tool rejects; action not done (S2, fixable)
 9 qa_judge_misfire           [evaluation_scorer]   QA model fails a correct turn with a
                              rationale contradicted by the trace (S3)
10 unsupported_request        [missing_capability]  PAC/STAC, direct-debit bank change, eSIM
                              re-issue, ownership transfer, handset unlock: no tool exists (S2)
11 proration_miscalculated    [model_limitation]    wrong pro-rata arithmetic, wrong credit
                              actually applied (S1)

Healthy traffic (~59 %) has the same shape and the same tools: long cases whose window was
trimmed (with or without a summary) where nothing that mattered was lost, CRM / KB / tool
errors that recovered on retry (incl. a first malformed call the agent corrected itself),
old-but-still-valid how-to articles and stale articles ranked next to the current one,
"restart your hub" advice on a first contact, correct hand-offs for complaints and
vulnerable customers, contact-detail updates, mediocre-but-acceptable QA scores (a few QA
flags for genuinely minor points) and ~2 % unrelated thumbs-down / low CSAT.

Field conventions: orchestrator 3.8.4 (until 26 Nov 14:00 UTC) stores chat history under
`input.history` (speaker/text/sent_at) and trace scores as a mapping {qa_tone, qa_policy};
3.9.1 uses `input.thread.turns` (role/content/at) and a list of named scores.  E-mail turns
carry `quoted_thread`.  KB documents carry `meta.last_reviewed`; tool steps sometimes carry
`metadata.schema_ref` / `metadata.args_schema`; retries carry `metadata.attempt`.
Every step has `metadata.agent` (orchestrator, triage, billing_desk, tech_desk,
accounts_desk, qa_auditor); labels name the agent owning the failing step.

Usage: python generate.py --n 3000 --seed 1 --out DIR
writes DIR/traces.jsonl and DIR/labels.json
"""
import argparse
import json
import os
import random
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone

# --------------------------------------------------------------------------------------
# Failure modes: name -> (root_cause, fixable, severity, share of traffic, p_feedback)
# --------------------------------------------------------------------------------------
MODES = {
    "missed_mandatory_handoff": ("prompt_instruction", True, "S2", 0.100, 0.50),
    "crm_timeout_exhausted": ("latency_infra", False, "S2", 0.055, 0.50),
    "contradicts_prior_turn": ("memory_multiturn", False, "S2", 0.045, 0.60),
    "history_trimmed_key_fact": ("context_construction", False, "S3", 0.036, 0.50),
    "outdated_kb_policy": ("data_freshness", False, "S2", 0.032, 0.45),
    "skipped_account_lookup": ("routing_decision", True, "S3", 0.028, 0.45),
    "wrong_kb_article_ranked": ("retrieval_ranking", False, "S3", 0.025, 0.40),
    "malformed_tool_call": ("tool_arguments", True, "S2", 0.024, 0.45),
    "qa_judge_misfire": ("evaluation_scorer", False, "S3", 0.022, 0.55),
    "unsupported_request": ("missing_capability", False, "S2", 0.022, 0.60),
    "proration_miscalculated": ("model_limitation", False, "S1", 0.021, 0.30),
}

# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------
FIRST = ["Aisha", "Ben", "Chloe", "Daniel", "Eilidh", "Farah", "George", "Hannah", "Imran",
         "Jade", "Kieran", "Laura", "Mohammed", "Niamh", "Oliver", "Priya", "Rhys", "Sophie",
         "Tom", "Usha", "Vikram", "Wendy", "Yusuf", "Zara", "Gareth", "Siobhan", "Callum",
         "Maria", "Tariq", "Helen", "Dev", "Grace", "Owen", "Fatima", "Liam", "Megan",
         "Ade", "Ruth", "Stuart", "Kasia", "Pawel", "Joanne", "Ian", "Bethan", "Luca"]
LAST = ["Patel", "Smith", "Jones", "Williams", "Khan", "Taylor", "Brown", "Davies", "Evans",
        "Wilson", "Thomas", "Roberts", "Hughes", "Ahmed", "Walker", "Wright", "Murray",
        "O'Brien", "Campbell", "Kowalski", "Okafor", "Singh", "Clarke", "Hall", "Lewis",
        "MacDonald", "Nowak", "Begum", "Reid", "Morgan", "Price", "Fraser"]
TOWNS = [("Leeds", "LS6"), ("Cardiff", "CF24"), ("Bristol", "BS3"), ("Glasgow", "G12"),
         ("Norwich", "NR2"), ("Sheffield", "S11"), ("York", "YO10"), ("Leicester", "LE2"),
         ("Swansea", "SA1"), ("Reading", "RG1"), ("Derby", "DE22"), ("Brighton", "BN2"),
         ("Hull", "HU5"), ("Exeter", "EX4"), ("Stoke", "ST4"), ("Dundee", "DD1"),
         ("Preston", "PR1"), ("Luton", "LU2"), ("Bolton", "BL1"), ("Newport", "NP20")]
STREETS = ["Mill Lane", "Church Road", "Victoria Street", "Park Avenue", "Station Road",
           "Elm Grove", "Queens Road", "Albert Terrace", "Heather Close", "Kingsway",
           "Orchard Way", "Manor Drive", "Brook Street", "Castle View", "Willow Court"]
BB_PLANS = [("Fibre 80", 29.00), ("Fibre 150", 34.00), ("Fibre 500", 41.00),
            ("Full Fibre 900", 52.00)]
MOB_PLANS = [("SIM Only 12GB", 10.00), ("SIM Only 40GB", 15.00), ("SIM Only 100GB", 20.00),
             ("Unlimited Max", 28.00)]

CHANNELS = ["webchat", "app_chat", "email"]
MODEL_ROUTER = "gpt-4.1-mini-2025-04-14"
MODEL_DESK = "gpt-4.1-2025-04-14"
MODEL_QA = "claude-3-5-haiku-20241022"
MODEL_SUM = "gpt-4.1-mini-2025-04-14"

SCENARIOS = {
    # name: (desk, intent, product)
    "bill_higher": ("billing_desk", "billing.query_increase", "any"),
    "refund_request": ("billing_desk", "billing.refund", "any"),
    "roaming_charge": ("billing_desk", "billing.roaming", "mobile"),
    "plan_change": ("accounts_desk", "account.plan_change", "any"),
    "cancellation": ("accounts_desk", "account.cancel", "any"),
    "moving_house": ("accounts_desk", "account.home_move", "broadband"),
    "sim_swap": ("accounts_desk", "account.sim_replacement", "mobile"),
    "outage_report": ("tech_desk", "tech.outage", "broadband"),
    "slow_speed": ("tech_desk", "tech.slow_speed", "broadband"),
    "visit_reschedule": ("tech_desk", "tech.engineer_visit", "broadband"),
    "general_faq": ("triage", "faq.general", "any"),
    "unsupported": ("accounts_desk", "account.other", "mobile"),
    "contact_update": ("accounts_desk", "account.other", "any"),
}
SCEN_WEIGHTS = {"bill_higher": 14, "refund_request": 10, "roaming_charge": 5, "plan_change": 11,
                "cancellation": 7, "moving_house": 6, "sim_swap": 6, "outage_report": 12,
                "slow_speed": 10, "visit_reschedule": 6, "general_faq": 13, "contact_update": 4}

MODE_SCENARIOS = {
    "missed_mandatory_handoff": ["bill_higher", "refund_request", "cancellation", "outage_report",
                                 "slow_speed", "plan_change", "visit_reschedule", "moving_house"],
    "crm_timeout_exhausted": [s for s in SCENARIOS if s not in ("general_faq", "unsupported")],
    "contradicts_prior_turn": ["refund_request", "visit_reschedule", "plan_change", "moving_house"],
    "history_trimmed_key_fact": ["slow_speed", "outage_report", "moving_house", "refund_request",
                                 "visit_reschedule"],
    "outdated_kb_policy": ["cancellation", "roaming_charge", "plan_change", "moving_house"],
    "skipped_account_lookup": ["bill_higher", "roaming_charge", "refund_request", "slow_speed"],
    "wrong_kb_article_ranked": ["slow_speed", "outage_report", "sim_swap", "roaming_charge",
                                "general_faq", "plan_change"],
    "malformed_tool_call": ["refund_request", "bill_higher", "visit_reschedule"],
    "qa_judge_misfire": [s for s in SCENARIOS if s != "unsupported"],
    "unsupported_request": ["unsupported"],
    "proration_miscalculated": ["plan_change", "cancellation", "refund_request"],
}


def money(x):
    return "£%.2f" % x


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def day_name(dt):
    return dt.strftime("%A %-d %B")


# --------------------------------------------------------------------------------------
# Trace builder
# --------------------------------------------------------------------------------------
class TB:
    def __init__(self, rng, t0):
        self.rng = rng
        self.t = t0
        self.steps = []
        self.ids = set()

    def new_id(self):
        while True:
            i = "sp_%08x" % self.rng.getrandbits(32)
            if i not in self.ids:
                self.ids.add(i)
                return i

    def add(self, typ, name, parent, inp=None, out=None, error=None, lat=None, model=None,
            usage=None, agent=None, meta=None, advance=True):
        sid = self.new_id()
        if lat is None:
            lat = self.rng.randint(20, 400)
        st = {"id": sid, "parent_id": parent, "type": typ, "name": name,
              "start_time": iso(self.t), "latency_ms": lat}
        if inp is not None:
            st["input"] = inp
        if out is not None:
            st["output"] = out
        st["error"] = error
        if model:
            st["model"] = model
        if usage:
            st["usage"] = usage
            pt, ct = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            rate = (2.0, 8.0) if "mini" not in model and "haiku" not in model else (0.4, 1.6)
            if "haiku" in model:
                rate = (0.8, 4.0)
            st["cost_usd"] = round((pt * rate[0] + ct * rate[1]) / 1e6, 6)
        m = dict(meta or {})
        if agent:
            m["agent"] = agent
        if m:
            st["metadata"] = m
        self.steps.append(st)
        if advance:
            self.t += timedelta(milliseconds=lat + self.rng.randint(3, 40))
        return sid

    def llm(self, name, parent, inp, out, agent, model=MODEL_DESK, pt=None, ct=None, meta=None):
        r = self.rng
        pt = pt or r.randint(1400, 6800)
        ct = ct or r.randint(60, 420)
        lat = int(300 + ct * r.uniform(9, 22) + pt * 0.02)
        return self.add("llm", name, parent, inp, out, lat=lat, model=model,
                        usage={"prompt_tokens": pt, "completion_tokens": ct}, agent=agent,
                        meta=meta)

    def get(self, sid):
        for s in self.steps:
            if s["id"] == sid:
                return s
        raise KeyError(sid)


# --------------------------------------------------------------------------------------
# Persona / session
# --------------------------------------------------------------------------------------
def make_persona(rng, uid):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    town, pc = rng.choice(TOWNS)
    product = rng.choice(["broadband", "broadband", "mobile", "mobile", "bundle"])
    p = {"first": first, "last": last, "town": town,
         "postcode": "%s %d%s%s" % (pc, rng.randint(1, 9), rng.choice("ABDEFGHJLNPQRSTUWXYZ"),
                                     rng.choice("ABDEFGHJLNPQRSTUWXYZ")),
         "street": "%d %s" % (rng.randint(1, 140), rng.choice(STREETS)),
         "user_id": uid, "product": product,
         "last4": "%04d" % rng.randint(0, 9999)}
    bb = rng.choice(BB_PLANS)
    mob = rng.choice(MOB_PLANS)
    if product == "broadband":
        p["plan"], p["monthly"] = bb
        p["account_no"] = "BB%08d" % rng.randint(10 ** 7, 10 ** 8 - 1)
    elif product == "mobile":
        p["plan"], p["monthly"] = mob
        p["account_no"] = "MB%08d" % rng.randint(10 ** 7, 10 ** 8 - 1)
    else:
        p["plan"], p["monthly"] = bb
        p["mobile_plan"], p["mobile_monthly"] = mob
        p["account_no"] = "BX%08d" % rng.randint(10 ** 7, 10 ** 8 - 1)
    p["contract_end"] = (datetime(2026, 11, 1) + timedelta(days=rng.randint(-60, 600))).date()
    return p


def is_mobile(p):
    return p["product"] in ("mobile", "bundle")


def is_bb(p):
    return p["product"] in ("broadband", "bundle")


def mobile_plan(p):
    if p["product"] == "mobile":
        return p["plan"], p["monthly"]
    return p.get("mobile_plan", "SIM Only 40GB"), p.get("mobile_monthly", 15.0)


# --------------------------------------------------------------------------------------
# KB corpus
# --------------------------------------------------------------------------------------
KB = {
    "hub_lights": ("KB-2210", "Hub light colours and what they mean",
                   "A flashing orange light means your hub is trying to connect. Solid white means "
                   "connected. If the light stays orange for over 20 minutes, check the grey "
                   "cable is firmly in the master socket and try the test socket."),
    "hub_restart": ("KB-1004", "Restarting your hub the right way",
                    "Switch the hub off at the wall, wait 30 seconds, switch back on and give it "
                    "up to 10 minutes to settle."),
    "slow_evening": ("KB-2317", "Slow speeds at busy times",
                     "Speeds can dip between 8pm and 11pm. If sync speed is below the minimum "
                     "guaranteed speed for three days, you're entitled to a fix or to leave "
                     "penalty free."),
    "wifi_interference": ("KB-1188", "Improving your Wi-Fi signal",
                          "Place the hub in the open, away from microwaves and cordless phones; "
                          "use the 5GHz band for nearby devices."),
    "outage_comp": ("KB-3050", "Compensation for loss of service",
                    "If your broadband is down for more than two full working days after you "
                    "report it, automatic compensation of £9.76 per day applies."),
    "area_outage": ("KB-3002", "What to do during a network outage",
                    "Check the service status page for your postcode. We post updates every "
                    "2 hours; no need to book an engineer while an area fault is open."),
    "price_change": ("KB-4102", "Annual price change April 2026",
                     "From 1 April 2026 monthly prices rose by £3.00 for broadband and £1.50 for "
                     "mobile plans, as set out in your contract."),
    "oob_calls": ("KB-4120", "Calls not included in your plan",
                  "Calls to 084, 087, 09 and 118 numbers are charged per minute on top of your "
                  "plan. You can add a call-barring option free of charge."),
    "paper_bill": ("KB-4133", "Paper bill charge",
                   "A £2.50 charge applies to paper bills. Switch to online billing to remove it; "
                   "the charge is refunded if you were switched without consent."),
    "late_fee": ("KB-4140", "Late payment fees",
                 "A £7.50 fee applies if a payment is missed. One fee per 12 months can be "
                 "waived as a goodwill gesture."),
    "roaming_eu_new": ("KB-5210", "Roaming in Europe: EU Roam daily pass",
                       "Since 1 May 2025 using your allowance in the EU costs £2.25 per day "
                       "(capped at 15 charged days per bill). Unlimited Max includes EU roaming."),
    "roaming_eu_old": ("KB-0977", "Using your phone in the EU",
                       "Good news: you can use your minutes, texts and data in the EU at no extra "
                       "cost, just like at home."),
    "roaming_world": ("KB-5233", "Roaming outside Europe",
                      "Outside Europe, data is charged at £6 per MB unless you add a World "
                      "Traveller bolt-on."),
    "sim_replace": ("KB-6011", "Lost or stolen phone: replacement SIM",
                    "Bar the SIM immediately, then order a replacement. Replacement SIMs arrive "
                    "in 1-2 working days; your number stays the same."),
    "esim_setup": ("KB-6040", "Setting up an eSIM",
                   "eSIM QR codes are single use. Scan the code from Settings > Mobile data."),
    "mobile_data_abroad": ("KB-6102", "Mobile data not working abroad",
                           "Check data roaming is switched on and restart the phone; select a "
                           "partner network manually if needed."),
    "tv_box": ("KB-7001", "Setting up your TV box", "Connect the TV box to the hub with the "
               "supplied Ethernet cable and follow the on-screen steps."),
    "landline_vm": ("KB-7210", "Landline voicemail", "Dial 1571 to listen to your voicemail."),
    "hotspot": ("KB-6230", "Using your phone as a hotspot",
                "Personal hotspot is included on all plans; it uses your data allowance."),
    "plan_catalogue": ("KB-4300", "Broadband and SIM plans - current prices",
                       "Fibre 80 £29, Fibre 150 £34, Fibre 500 £41, Full Fibre 900 £52 per "
                       "month. SIM Only 12GB £10, 40GB £15, 100GB £20, Unlimited Max £28."),
    "plan_catalogue_old": ("KB-2875", "Our broadband plans and prices",
                           "Fibre 80 £24, Fibre 150 £28, Fibre 500 £32, Full Fibre 900 £45 per "
                           "month. Changing plan mid-contract is free."),
    "plan_change_rules": ("KB-4310", "Changing your plan",
                          "Upgrades take effect within 24 hours. Downgrades take effect from the "
                          "start of your next bill period; a pro-rata credit applies when an "
                          "upgrade is reversed within 14 days."),
    "exit_fees": ("KB-4405", "Leaving during your minimum term",
                  "Early termination charges are the monthly price for each remaining month, "
                  "less 20% for services not provided (2026 terms)."),
    "exit_fees_old": ("KB-1502", "Early termination charges",
                      "If you leave early you pay £3.50 for each remaining month of your "
                      "minimum term."),
    "home_move": ("KB-4510", "Moving home with us",
                  "Tell us at least 14 days before you move. A £60 home move fee applies "
                  "(waived if you re-contract for 24 months)."),
    "home_move_old": ("KB-1320", "Moving house? Take us with you",
                      "Moving home is free - let us know two weeks before and we'll switch your "
                      "service over on the day."),
    "engineer_visits": ("KB-3110", "Engineer visits and missed appointments",
                        "You can rearrange a visit up to 24 hours before for free. If our "
                        "engineer misses an appointment you receive £30.25 automatically."),
    "opening_hours": ("KB-0100", "Contact us and opening hours",
                      "Our phone team is available 8am-8pm Monday to Saturday, 9am-6pm Sunday."),
    "social_tariff": ("KB-4600", "Essential Fibre social tariff",
                      "If you receive Universal Credit or Pension Credit you may qualify for "
                      "Essential Fibre at £15 per month with no exit fees."),
    "voicemail_mobile": ("KB-6300", "Setting up mobile voicemail",
                         "Call 443 from your mobile and follow the prompts to record a greeting."),
    "wifi_password": ("KB-1190", "Changing your Wi-Fi name and password",
                      "Log in to the hub manager at 192.168.1.254 with the admin password on the "
                      "hub sticker, then go to Wireless settings."),
    "direct_debit": ("KB-4700", "Paying by Direct Debit", "Direct Debits are collected on your "
                     "chosen payment date each month. Bank details can be changed by phone."),
    "complaints": ("KB-0900", "How to make a complaint", "Our complaints code sets out how we "
                   "handle complaints; after 8 weeks you can go to the ombudsman."),
}
# Dates: (last_reviewed) - most current, some evergreen old-but-valid, the *_old are stale
KB_DATES = {
    "hub_lights": "2026-02-11", "hub_restart": "2022-09-30", "slow_evening": "2026-06-03",
    "wifi_interference": "2023-05-17", "outage_comp": "2026-04-01", "area_outage": "2025-10-21",
    "price_change": "2026-03-02", "oob_calls": "2025-08-14", "paper_bill": "2025-12-09",
    "late_fee": "2026-01-20", "roaming_eu_new": "2026-05-12", "roaming_eu_old": "2022-11-04",
    "roaming_world": "2026-05-12", "sim_replace": "2025-07-28", "esim_setup": "2026-08-19",
    "mobile_data_abroad": "2024-06-30", "tv_box": "2023-03-08", "landline_vm": "2021-11-15",
    "hotspot": "2024-02-26", "plan_catalogue": "2026-04-01", "plan_catalogue_old": "2024-01-15",
    "plan_change_rules": "2026-04-01", "exit_fees": "2026-01-05", "exit_fees_old": "2023-06-12",
    "home_move": "2026-02-18", "home_move_old": "2023-09-07", "engineer_visits": "2025-11-30",
    "opening_hours": "2026-09-01", "social_tariff": "2026-03-15", "voicemail_mobile": "2022-04-06",
    "wifi_password": "2023-10-10", "direct_debit": "2025-06-01", "complaints": "2025-12-01",
}
KB_OWNER = ["billing-content", "network-ops-content", "cx-knowledge", "mobile-content"]


def desc_scores(rng, n):
    return sorted([rng.uniform(0.5, 0.92) for _ in range(n)], reverse=True)


def kb_doc(rng, key, score):
    did, title, body = KB[key]
    d = {"doc_id": did, "title": title, "score": round(score, 3),
         "content": body,
         "meta": {"last_reviewed": KB_DATES[key], "owner": rng.choice(KB_OWNER)}}
    if rng.random() < 0.3:
        d["meta"]["locale"] = "en-GB"
    return d


# --------------------------------------------------------------------------------------
# Text pools
# --------------------------------------------------------------------------------------
GREET_CUST = ["Hi", "Hello", "Hiya", "Hi there", "Good morning", "Evening", ""]
FILLER_CUST = ["ok thanks", "Yes that's right", "It's the account ending {last4}",
               "Still the same I'm afraid", "When will it be sorted?", "ok", "Any update on this?",
               "Right, and what happens next?", "Sorry, was away from my desk",
               "Yes it's {first} {last}", "Fine, go ahead", "Can you check again please",
               "I'm at work now, can reply later", "that's not great tbh",
               "Could you explain that again?", "Thanks for getting back to me"]
FILLER_RELAY = ["Thanks {first}, let me take a look at that for you.",
                "I can see your account here, thanks for confirming.",
                "Thanks for your patience while I checked.",
                "I understand, that's frustrating. Let me see what I can do.",
                "No problem at all, take your time.",
                "I've added a note to your case so it's all in one place.",
                "Just to confirm, is that the {plan} service at {postcode}?",
                "Is there anything else I can help with today?",
                "I've checked our systems and I'm looking into it now."]
SCEN_FILL_CUST = {
    "bill_higher": ["It was {monthly} last month", "I pay by direct debit", "I haven't made any calls to premium numbers"],
    "refund_request": ["It was the bill from 1 November", "I want it back on my card, not as credit", "how long will it take?"],
    "roaming_charge": ["I was only there for a week", "Data roaming was on, yes", "Nobody told me about daily charges"],
    "plan_change": ["What's the difference in speed?", "Would my contract restart?", "I don't need that much data"],
    "cancellation": ["I've found a cheaper deal elsewhere", "When does my contract end?", "I don't want any offers thanks"],
    "moving_house": ["It's a new build", "We get the keys at the end of the month", "Will I need a new router?"],
    "sim_swap": ["The number ends {last4}", "I still have my old SIM card box somewhere", "Can you block it now?"],
    "outage_report": ["The light is flashing orange", "Neighbours have the same problem", "It went off around 7pm"],
    "slow_speed": ["It's worst in the evenings", "The laptop is right next to the hub", "Speedtest says {last4}kbps lol"],
    "visit_reschedule": ["The current date doesn't work", "Is there anything later in the week?", "Morning or afternoon?"],
}
SCEN_FILL_RELAY = {
    "bill_higher": ["I can see your last two bills here, give me a moment to compare them.",
                    "Thanks - I'm checking the itemised charges now."],
    "refund_request": ["I can see the payments on your account, one moment.",
                       "Refunds normally show within 5 working days once approved."],
    "roaming_charge": ["Could you tell me which dates you were away?", "Thanks, I'm checking the usage records now."],
    "plan_change": ["I can see you're on {plan} at the moment.", "Let me pull up the plans available at {postcode}."],
    "cancellation": ["I'm sorry to hear you're thinking of leaving.", "Let me check where you are in your contract."],
    "moving_house": ["Congratulations on the move!", "I'll need to check what's available at the new address."],
    "sim_swap": ["I'm sorry to hear that. First, let's make sure your SIM is blocked.",
                 "For security I'll need to verify a few details."],
    "outage_report": ["Could you tell me what lights you can see on the hub?", "I'm checking the network status for {postcode} now."],
    "slow_speed": ["I'm going to run a line test, it takes about a minute.", "Are you testing over Wi-Fi or with a cable?"],
    "visit_reschedule": ["I can see your engineer visit on the system.", "Let me check what other slots we have."],
}
OPENERS = {
    "bill_higher": ["Why has my bill gone up this month?", "My bill is higher than normal, can you explain?",
                    "I've been charged more than usual on my latest bill"],
    "refund_request": ["I think I've been overcharged and want a refund",
                       "I need money back for the days I had no service",
                       "You've charged me twice for last month"],
    "roaming_charge": ["I've got roaming charges on my bill from my holiday",
                       "Why was I charged extra while I was abroad?"],
    "plan_change": ["I want to change my plan", "Can I move to a different package?"],
    "cancellation": ["I'm thinking of leaving", "I want to cancel my contract"],
    "moving_house": ["I'm moving house soon and want to take my broadband with me",
                     "We're moving next month, what do I need to do?"],
    "sim_swap": ["I've lost my phone", "My phone was stolen last night"],
    "outage_report": ["My internet is down", "No service since this morning"],
    "slow_speed": ["My broadband is really slow", "Speeds have dropped badly"],
    "visit_reschedule": ["I need to change my engineer appointment",
                         "About the engineer booking"],
    "general_faq": ["Quick question", "Hi, a general question"],
    "unsupported": ["I need some help with my account", "Hi, can you help with something"],
    "contact_update": ["I need to update some details", "Hi, can you help with something"],
}


def fmt(s, p):
    return s.format(**{k: v for k, v in p.items() if isinstance(v, (str, int, float))})


def build_history(rng, p, scen, n_prior, t_now, key_fact=None, key_pos=None,
                  commitment=None):
    """Return a list of prior turns: dicts (role, text, at)."""
    turns = []
    t = t_now - timedelta(hours=rng.choice([0.2, 0.5, 1, 3, 6, 20, 26, 49, 72]),
                          minutes=rng.randint(0, 59))
    span = timedelta(minutes=rng.randint(2, 30))
    for i in range(n_prior):
        role = "customer" if i % 2 == 0 else "relay"
        if i == 0:
            txt = (rng.choice(GREET_CUST) + " " + rng.choice(OPENERS[scen])).strip()
        elif role == "customer":
            pool = SCEN_FILL_CUST.get(scen, [])
            txt = fmt(rng.choice(pool if pool and rng.random() < 0.5 else FILLER_CUST), p)
        else:
            pool = SCEN_FILL_RELAY.get(scen, [])
            txt = fmt(rng.choice(pool if pool and rng.random() < 0.55 else FILLER_RELAY), p)
        turns.append({"role": role, "text": txt})
    if key_fact is not None and n_prior:
        pos = key_pos if key_pos is not None else 0
        pos = min(pos, n_prior - 1)
        if turns[pos]["role"] != "customer":
            pos = max(0, pos - 1)
        turns[pos]["text"] = key_fact
    if commitment is not None and n_prior >= 2:
        # commitment is a relay turn near the end
        idx = n_prior - 1 if turns[n_prior - 1]["role"] == "relay" else n_prior - 2
        idx = max(1, idx)
        turns[idx]["role"] = "relay"
        turns[idx]["text"] = commitment
    # timestamps, going backwards
    stamps = []
    cur = t
    for i in range(n_prior):
        stamps.append(cur)
        cur = cur - span * rng.uniform(0.3, 1.5)
        if rng.random() < 0.08:
            cur -= timedelta(hours=rng.randint(4, 30))
    stamps.reverse()
    for tr, s in zip(turns, stamps):
        tr["at"] = s
    return turns


def render_history(rng, channel, turns, ver, p):
    """Return (field_name, value) as the platform stores it."""
    if channel == "email":
        parts = []
        for tr in reversed(turns):
            who = "Relay Support <help@relay-support.example>" if tr["role"] == "relay" \
                else "%s %s" % (p["first"], p["last"])
            parts.append("On %s, %s wrote:\n> %s" % (tr["at"].strftime("%a %-d %b %Y %H:%M"), who,
                                                    tr["text"].replace("\n", "\n> ")))
        return "quoted_thread", "\n\n".join(parts)
    if ver.startswith("3.8"):
        return "history", [{"speaker": "cust" if tr["role"] == "customer" else "bot",
                            "text": tr["text"], "sent_at": iso(tr["at"])} for tr in turns]
    return "thread", {"turns": [{"role": tr["role"], "content": tr["text"], "at": iso(tr["at"])}
                                for tr in turns]}


# --------------------------------------------------------------------------------------
# Turn builder
# --------------------------------------------------------------------------------------
class Ctx:
    pass


HANDOFF_TRIGGERS = [
    ("complaint", "complaints", [
        "I want to make a formal complaint about this.",
        "This is the third time I've contacted you. I'd like this logged as a complaint.",
        "Please register this as an official complaint.",
        "I'm not happy and I want to raise a complaint, not just another chat.",
    ]),
    ("ombudsman", "complaints", [
        "If this isn't fixed I'm going to the ombudsman.",
        "I've had enough, I'll be taking this to Ofcom and the ombudsman.",
        "Do I need to go to the ombudsman to get this sorted?",
    ]),
    ("bereavement", "bereavement_support", [
        "My dad passed away last month and the account is in his name.",
        "My husband died in October, the bills are still coming in his name.",
        "I'm dealing with my late mother's account.",
    ]),
    ("vulnerability", "priority_care", [
        "My mum relies on the line for her personal alarm, she's 87.",
        "I'm disabled and housebound, the internet is my only way to contact anyone.",
        "I'm on dialysis at home and the machine reports over the broadband.",
        "I honestly can't afford this, I've lost my job and I'm behind on everything.",
    ]),
    ("manager", "team_leaders", [
        "Can I speak to a manager please.",
        "I want a real person, put me through to a supervisor.",
        "I'd like this escalated to a human team leader.",
    ]),
]


def pick_trigger(rng):
    kind, queue, texts = rng.choice(HANDOFF_TRIGGERS)
    return kind, queue, rng.choice(texts)


def make_turn(rng, idx, mode, scen, p, ts, session_id, base_turns, ver, channel):
    c = Ctx()
    c.rng, c.p, c.mode, c.scen, c.ver, c.channel = rng, p, mode, scen, ver, channel
    c.ts = ts
    tb = TB(rng, ts)
    c.tb = tb
    c.label_step = None
    c.label_agent = None
    c.handoff = None
    c.extra_fb = []          # (kind, text) hints for feedback generation
    c.actions = []
    c.qa_override = None
    c.trigger = None
    c.cont = base_turns is not None
    c.retry_noise = (mode is None and rng.random() < 0.07)
    desk = "triage" if scen in ("general_faq",) else SCENARIOS[scen][0]
    c.desk = desk

    # trigger phrase for handoff (failing mode always, healthy sometimes)
    if mode == "missed_mandatory_handoff" or (mode is None and scen != "general_faq"
                                              and rng.random() < 0.06):
        c.trigger = pick_trigger(rng)

    # ---------------- conversation history ----------------
    n_prior = rng.choices([0, rng.randint(1, 5), rng.randint(6, 11), rng.randint(12, 30)],
                          [40, 35, 15, 10])[0]
    key_fact = None
    key_pos = None
    commitment = None
    c.commit = None
    c.keyfact = None
    if base_turns is not None:
        n_prior = len(base_turns)
    elif mode == "history_trimmed_key_fact":
        n_prior = rng.randint(13, 32)
        c.keyfact = trimmed_fact(c)
        key_fact = c.keyfact["text"]
        key_pos = rng.randint(0, 4)
    elif mode == "contradicts_prior_turn":
        n_prior = rng.randint(2, 9)
        c.commit = commitment_for(c)
        commitment = c.commit["said"]
    elif mode is None and n_prior >= 12 and rng.random() < 0.5:
        # healthy long case with a fact that the summary keeps
        if scen in ("slow_speed", "outage_report", "moving_house", "refund_request",
                    "visit_reschedule"):
            c.keyfact = trimmed_fact(c)
            key_fact = c.keyfact["text"]
            key_pos = rng.randint(0, 4)
    elif mode is None and n_prior >= 2 and scen in ("refund_request", "visit_reschedule",
                                                     "plan_change", "moving_house") \
            and rng.random() < 0.35:
        c.commit = commitment_for(c)
        commitment = c.commit["said"]
    if base_turns is not None:
        turns = [dict(t) for t in base_turns]
    else:
        turns = build_history(rng, p, scen, n_prior, ts, key_fact, key_pos, commitment)
    c.turns = turns
    c.n_prior = n_prior

    # ---------------- current customer message ----------------
    msg = customer_message(c)
    if base_turns is not None and rng.random() < 0.75:
        msg = rng.choice(["Thanks. One more thing: ", "Also - ", "Another question while I'm here. ",
                          "Ok. Separately, ", "Right, and another thing: ", "cheers. also "]) + msg
    if c.trigger:
        if rng.random() < 0.5:
            msg = c.trigger[2] + " " + msg
        else:
            msg = msg + " " + c.trigger[2]
    c.msg = msg

    root = tb.add("chain", "relay.handle_turn", None,
                  inp={"case_ref": session_id, "turn": n_prior // 2 + 1, "channel": channel},
                  lat=0, advance=False, meta={"orchestrator": ver})
    c.root = root

    # ---------------- context window ----------------
    build_context(c)

    if rng.random() < 0.75:
        masked = sum(1 for ch in msg if ch.isdigit()) > 3
        tb.add("guardrail", "inbound.pii_mask", root, inp={"chars": len(msg)},
               out={"masked_spans": rng.randint(1, 3) if masked else 0, "action": "pass"},
               lat=rng.randint(8, 40))

    # ---------------- routing ----------------
    route(c)

    # ---------------- desk ----------------
    reply = run_desk(c)

    # ---------------- outbound guardrail ----------------
    tb.add("guardrail", "outbound.policy_check", root,
           inp={"reply_chars": len(reply)},
           out={"verdict": "pass", "checks": rng.sample(
               ["no_card_numbers", "no_internal_urls", "credit_within_limit", "tone_basic",
                "no_competitor_naming", "promise_language"], 3)},
           lat=rng.randint(30, 160))

    # ---------------- QA evaluator ----------------
    scores = qa_eval(c, reply)

    # finalize root
    total = int((tb.t - ts).total_seconds() * 1000)
    tb.steps[0]["latency_ms"] = total
    tb.steps[0]["output"] = {"status": "replied", "handoff": bool(c.handoff)}

    # ---------------- assemble trace ----------------
    hist_key, hist_val = render_history(rng, channel, turns, ver, p)
    if channel == "email":
        subj = email_subject(c)
        inp = {"channel": "email", "from": "%s.%s@%s" % (p["first"].lower(), p["last"].lower().replace("'", ""),
                                                      rng.choice(["gmail.example", "outlook.example", "icloud.example", "btinternet.example"])),
               "subject": subj, "body": "%s,\n\n%s\n\n%s" % (rng.choice(["Hello", "Hi", "Dear Relay team", "To whom it may concern"]), msg, p["first"])}
        if turns:
            inp[hist_key] = hist_val
        out = {"subject": "Re: " + subj,
               "body": "Hi %s,\n\n%s\n\nKind regards,\nRelay \u2013 Customer Support" % (p["first"], reply)}
    else:
        inp = {"channel": channel, "message": msg}
        if turns:
            inp[hist_key] = hist_val
        out = {"reply": reply}
        if rng.random() < 0.4:
            out["quick_replies"] = rng.sample(["That's sorted, thanks", "I still need help",
                                               "Talk to someone", "Check my bill", "Report a fault"], 2)
    if rng.random() < 0.5:
        inp["account_ref"] = p["account_no"]

    cost = round(sum(s.get("cost_usd", 0) for s in tb.steps), 6)
    tr = {"trace_id": "rly-%s-%06d" % (ts.strftime("%y%m%d"), idx) + "%04x" % rng.getrandbits(16),
          "session_id": session_id, "user_id": p["user_id"], "timestamp": iso(ts),
          "input": inp, "output": out, "latency_ms": total}
    if rng.random() < 0.92:
        tr["cost_usd"] = cost
    tr["steps"] = tb.steps
    if scores is not None:
        tr["scores"] = scores
    md = {"orchestrator": ver, "brand": "relay", "locale": "en-GB", "desk": c.desk,
          "intent": c.intent, "region": rng.choice(["eu-west-2", "eu-west-2", "eu-west-1"])}
    if rng.random() < 0.6:
        md["customer_tenure_months"] = rng.randint(1, 140)
    if c.handoff:
        md["handoff_queue"] = c.handoff
    if rng.random() < 0.3:
        md["ab_bucket"] = rng.choice(["compose_v41", "compose_v42"])
    tr["metadata"] = md
    return tr, c


# ----------------------------- history facts -----------------------------------------
def trimmed_fact(c):
    rng, p = c.rng, c.p
    if c.scen in ("slow_speed", "outage_report"):
        txt = rng.choice([
            "I've already restarted the hub three times, swapped the cable and plugged it into the test socket behind the faceplate. Same thing.",
            "Before you ask - yes I've turned it off and on, factory reset it, and tried a different filter.",
            "Done all the usual stuff already, reset, new cable, laptop wired in directly. Still nothing.",
        ])
        return {"kind": "troubleshooting", "text": txt}
    if c.scen == "moving_house":
        addr = "%d %s, %s" % (rng.randint(2, 90), rng.choice(STREETS), rng.choice(TOWNS)[0])
        c.p = dict(p)
        c.newaddr = addr
        return {"kind": "new_address", "text": "The new address is %s, and we get the keys on the %dth." %
                (addr, rng.randint(3, 28))}
    if c.scen == "refund_request":
        inv = "INV-2026%04d" % rng.randint(1000, 9999)
        c.inv_ref = inv
        return {"kind": "invoice", "text": "It's invoice %s that's wrong, the one dated 1 November." % inv}
    # visit_reschedule
    pk, txt = rng.choice([
        ("deaf", "Please don't phone me, I'm deaf - email or chat only."),
        ("deaf", "I can't take calls (hearing impaired), texts or e-mail only please."),
        ("nights", "I work nights so mornings are impossible, afternoons only please."),
        ("days", "Just so you know I can't do Mondays or Tuesdays at all."),
    ])
    return {"kind": "preference", "text": txt, "pref": pk}


def commitment_for(c):
    rng, p = c.rng, c.p
    ts = c.ts
    if c.scen == "refund_request":
        amt = rng.choice([10.0, 12.5, 15.0, 20.0, 25.0, 30.0])
        return {"kind": "credit", "amount": amt,
                "said": rng.choice([
                    "I've arranged a %s goodwill credit for you; it'll show on your next bill." % money(amt),
                    "I've approved a credit of %s for the disruption. You'll see it on the December invoice." % money(amt),
                    "As a gesture of goodwill I've put through %s, which will come off your next bill." % money(amt)])}
    if c.scen == "visit_reschedule":
        d = ts + timedelta(days=rng.randint(1, 5))
        slot = rng.choice(["8am-1pm", "12pm-6pm", "8am-12pm"])
        ref = "FO-%06d" % rng.randint(0, 999999)
        c.visit = (d, slot, ref)
        return {"kind": "visit", "said": "Your engineer visit is booked for %s, %s. Your reference is %s." %
                (day_name(d), slot, ref)}
    if c.scen == "plan_change":
        nd = (ts.replace(day=1) + timedelta(days=32)).replace(day=rng.choice([1, 5, 12, 18]))
        return {"kind": "plan_date", "date": nd,
                "said": "Your plan change is all set and will take effect from your next bill date, %s, so nothing changes on this month's bill." % day_name(nd)}
    d = ts + timedelta(days=rng.randint(6, 20))
    return {"kind": "install", "date": d,
            "said": "Your service will switch over to the new address on %s - no need to do anything on the day." % day_name(d)}


# ----------------------------- customer message ---------------------------------------
def customer_message(c):
    rng, p, s = c.rng, c.p, c.scen
    g = rng.choice(GREET_CUST)
    g = (g + ", ") if g and rng.random() < 0.5 and c.channel != "email" and not c.cont else ""
    if c.mode == "contradicts_prior_turn" or (c.commit and c.mode is None):
        k = c.commit["kind"]
        if k == "credit":
            return g + rng.choice([
                "just checking the %s credit you mentioned is definitely going on?" % money(c.commit["amount"]),
                "my bill's come through - where's the credit you agreed?",
                "can you confirm the goodwill credit is still happening?"])
        if k == "visit":
            return g + rng.choice([
                "is the engineer still coming for the visit you booked?",
                "what time window was the engineer visit again?",
                "can you confirm my engineer appointment please, I've taken the day off."])
        if k == "plan_date":
            return g + rng.choice([
                "so just to double check, I won't pay anything extra this month for the plan change?",
                "when exactly does my new plan kick in?",
                "will my current bill change because of the switch?"])
        return g + rng.choice([
            "is everything still set for the switch-over at the new place?",
            "just confirming the date my broadband moves over?",
            "do I need to be in on the day the service moves?"])
    if c.mode == "history_trimmed_key_fact" or (c.keyfact and c.mode is None):
        k = c.keyfact["kind"]
        if k == "troubleshooting":
            return g + rng.choice(["still no connection, what now?", "it's dropped again this evening. Next steps?",
                                   "nothing has changed, what else can we try?"])
        if k == "new_address":
            return g + rng.choice(["so can you go ahead and set up the move?", "what's the next step for the move then?",
                                   "ok please book it in"])
        if k == "invoice":
            return g + rng.choice(["have you worked out the refund yet?", "so how much am I getting back?",
                                   "any news on the overcharge?"])
        return g + rng.choice(["ok can you find me a new slot for the engineer?", "please rebook the visit",
                               "what other appointments are there?"])
    if s == "bill_higher":
        old = p["monthly"]
        c.old, c.diff = old, rng.choice([2.50, 3.00, 6.40, 7.50, 11.82, 4.17, 18.90])
        if c.diff == 3.00 and not is_bb(p):
            c.diff = 1.50
        c.new = round(old + c.diff, 2)
        return g + rng.choice([
            "my bill's gone up to %s from %s, why?" % (money(c.new), money(old)),
            "why is this month's invoice %s more than usual?" % money(c.diff),
            "I've been charged %s this month, normally it's %s. What's that about?" % (money(c.new), money(old)),
            "can someone explain the extra %s on my latest bill please" % money(c.diff),
            "Bill is higher again. %s?! I didn't change anything." % money(c.new)])
    if s == "refund_request":
        c.refund_kind = rng.choice(["outage_days", "double_charge", "addon"])
        if c.mode == "proration_miscalculated" or (c.mode is None and rng.random() < 0.3):
            c.refund_kind = "outage_days"
        if c.mode == "malformed_tool_call":
            c.refund_kind = rng.choice(["double_charge", "addon"])
        if c.refund_kind == "outage_days":
            c.down_days = rng.randint(3, 9)
            if not is_bb(p):
                return g + rng.choice([
                    "I had no mobile signal at home for %d days this month. I want money back for that." % c.down_days,
                    "can I get a refund for the %d days my phone had no service?" % c.down_days])
            return g + rng.choice([
                "I had no internet for %d days this month. I want money back for that." % c.down_days,
                "I'm not paying full price when the service was dead for %d days." % c.down_days,
                "can I get a refund for the %d days I was without broadband?" % c.down_days])
        if c.refund_kind == "double_charge":
            return g + rng.choice(["you've taken two payments for October, I want one refunded.",
                                   "I've been charged twice this month - please refund the duplicate.",
                                   "Two direct debits came out on the 1st, can you sort that?"])
        return g + rng.choice(["I cancelled the sports add-on in September but I'm still paying for it.",
                               "why am I still billed for the extra data bolt-on I removed?",
                               "I removed the TV pack weeks ago and you're still charging me"])
    if s == "roaming_charge":
        c.country = rng.choice(["Spain", "France", "Portugal", "Greece", "Italy", "Croatia", "the Netherlands"])
        c.roam_amt = rng.choice([13.50, 15.75, 20.25, 22.50, 31.50])
        return g + rng.choice([
            "why have I been charged %s for using my phone in %s?" % (money(c.roam_amt), c.country),
            "I was in %s for a week and got a %s roaming charge, I thought roaming was included?" % (c.country, money(c.roam_amt)),
            "There's %s of roaming on my bill from %s. Is that right?" % (money(c.roam_amt), c.country)])
    if s == "plan_change":
        c.up = rng.random() < 0.5
        if p["product"] == "broadband" or (p["product"] == "bundle" and rng.random() < 0.6):
            names = [n for n, _ in BB_PLANS if n != p["plan"]]
        else:
            names = [n for n, _ in MOB_PLANS if n != mobile_plan(p)[0]]
        if c.mode == "proration_miscalculated":
            fam = BB_PLANS if names[0] in [n for n, _ in BB_PLANS] else MOB_PLANS
            cur_p = p["monthly"] if fam is BB_PLANS else mobile_plan(p)[1]
            names = [n for n in names if price_of(n) > cur_p] or [n for n, _ in fam[1:]]
        c.target = rng.choice(names)
        return g + rng.choice([
            "I'd like to switch to %s please." % c.target,
            "how much would %s be and can I move to it now?" % c.target,
            "can you change me over to %s? What will it cost?" % c.target,
            "thinking of moving to %s - what happens with my bill?" % c.target])
    if s == "cancellation":
        return g + rng.choice([
            "I want to cancel. What will it cost me to leave now?",
            "how much is the fee if I leave before my contract ends?",
            "I'm moving to another provider, what's the cancellation charge?",
            "Please cancel my %s. What do I owe?" % p["plan"]])
    if s == "moving_house":
        c.newaddr = "%d %s, %s" % (rng.randint(2, 90), rng.choice(STREETS), rng.choice(TOWNS)[0])
        return g + rng.choice([
            "we're moving to %s at the end of the month. Can I take my broadband?" % c.newaddr,
            "I'm moving house to %s, what does it cost to move my service?" % c.newaddr,
            "Moving soon (%s). How do I move my internet over and is there a fee?" % c.newaddr])
    if s == "sim_swap":
        return g + rng.choice([
            "I've lost my phone, can you send me a new SIM with the same number?",
            "phone was nicked on the bus, I need the SIM blocked and a replacement.",
            "I need a replacement SIM, my old one stopped working after the phone got wet."])
    if s == "outage_report":
        return g + rng.choice([
            "internet's been down since %s. Is there a problem in %s?" % (rng.choice(["this morning", "last night", "about 6pm", "lunchtime"]), p["town"]),
            "no broadband at all, hub light is flashing orange.",
            "no signal on my mobile anywhere near %s since yesterday." % p["postcode"],
            "is there an outage in %s? Nothing's working." % p["postcode"]])
    if s == "slow_speed":
        c.speed = rng.randint(3, 25)
        return g + rng.choice([
            "speeds are awful in the evenings, getting %dMbps on %s." % (c.speed, p["plan"]),
            "my broadband keeps dropping and it's really slow, %d meg at best." % c.speed,
            "paying for %s and getting %dMbps. Not acceptable." % (p["plan"], c.speed)])
    if s == "visit_reschedule":
        return g + rng.choice([
            "I need to move my engineer appointment, something's come up.",
            "can I change the engineer visit to later in the week?",
            "the engineer slot doesn't work for me any more, can we rearrange?"])
    if s == "general_faq":
        c.faq = rng.choice(["opening_hours", "social_tariff", "voicemail_mobile", "wifi_password",
                            "hotspot", "esim_setup", "complaints", "tv_box", "landline_vm"])
        q = {"opening_hours": ["what time does your phone line open on Sunday?", "when can I ring you?"],
             "social_tariff": ["do you do a cheaper tariff for people on Universal Credit?", "is there a social tariff?"],
             "voicemail_mobile": ["how do I set up voicemail on my mobile?", "how do I record a voicemail greeting?"],
             "wifi_password": ["how do I change my wifi password?", "how do I rename my wifi network?"],
             "hotspot": ["can I use my phone as a hotspot on my plan?", "is tethering allowed?"],
             "esim_setup": ["how do I set up an eSIM on a new phone?", "do you support eSIM?"],
             "complaints": ["what's your complaints process?", "how long do complaints take?"],
             "tv_box": ["how do I set up the TV box that came today?", "TV box arrived, how do I connect it?"],
             "landline_vm": ["how do I get my voicemail on the home phone?", "how do I check landline messages?"]}[c.faq]
        return g + rng.choice(q)
    if s == "contact_update":
        c.cu = rng.choice(["email", "marketing", "paperless", "contact_number"])
        return g + rng.choice({
            "email": ["can you update my contact email to %s.%s@newmail.example please?" % (p["first"].lower(), rng.randint(10, 99)),
                      "I've got a new email address, can you change it on the account?"],
            "marketing": ["please stop sending me marketing texts.", "can you opt me out of all the sales emails?"],
            "paperless": ["please switch me to paperless billing.", "I don't want paper bills any more."],
            "contact_number": ["I've a new contact number, it's 07700 9%05d." % rng.randint(0, 99999),
                               "can you update my contact phone number please?"]}[c.cu])
    if s == "unsupported":
        c.unsup = rng.choice(["pac", "stac", "dd_change", "esim_reissue", "ownership", "unlock"])
        return g + rng.choice({
            "pac": ["I'm switching networks, can you give me my PAC code?", "please send my PAC so I can keep my number."],
            "stac": ["I need a STAC code to leave without keeping my number.", "can I get a STAC please, leaving for another network."],
            "dd_change": ["I've changed banks, can you update my direct debit to the new account?", "need to change the bank account my direct debit comes from, sort code ends 41."],
            "esim_reissue": ["my eSIM got deleted when I reset the phone, can you send a new QR code?", "need my eSIM reissued to my new iPhone please."],
            "ownership": ["I want to transfer the account into my partner's name.", "can the account be moved to my daughter, she's taking over the bills?"],
            "unlock": ["please unlock my handset so I can use another network's SIM.", "can you send me the network unlock code for my phone?"]}[c.unsup])
    raise ValueError(s)


def email_subject(c):
    return c.rng.choice({
        "bill_higher": ["Bill query", "Why has my bill increased?", "Invoice question"],
        "refund_request": ["Refund request", "Overcharged", "Refund please"],
        "roaming_charge": ["Roaming charges", "Charges from holiday"],
        "plan_change": ["Change of plan", "Plan switch"],
        "cancellation": ["Cancellation", "Leaving - costs?"],
        "moving_house": ["Moving home", "House move"],
        "sim_swap": ["Lost phone / new SIM", "Replacement SIM"],
        "outage_report": ["No service", "Broadband down", "Outage?"],
        "slow_speed": ["Slow broadband", "Speed complaint"],
        "visit_reschedule": ["Engineer appointment", "Rearrange visit"],
        "general_faq": ["Question", "Quick query"],
        "unsupported": ["Account request", "Request"],
        "contact_update": ["Account request", "Update my details", "Request"],
    }[c.scen])


# ----------------------------- context window -----------------------------------------
def build_context(c):
    rng, tb = c.rng, c.tb
    n = c.n_prior
    budget = rng.choice([3000, 3500, 4000]) if c.ver.startswith("3.8") else rng.choice([4000, 6000])
    est = sum(len(t["text"]) // 4 + 12 for t in c.turns) + 1200
    out = {"turns_in_store": n}
    meta = {"budget_tokens": budget}
    trimmed = n >= 12 and (c.mode == "history_trimmed_key_fact" or rng.random() < 0.75)
    if c.mode == "history_trimmed_key_fact":
        kept = rng.randint(4, 8)
        out["turns_in_window"] = kept
        variant = rng.random()
        if variant < 0.4:
            out["summary"] = None
            out["notice"] = rng.choice([
                "history over budget: dropped %d oldest turns" % (n - kept),
                "trimmed to last %d turns to fit %d-token budget" % (kept, budget),
                "window truncated (tail %d/%d)" % (kept, n)])
        elif variant < 0.7:
            out["summary"] = None
            out["notice"] = "summariser timed out after 1500ms; fell back to tail truncation, kept %d of %d turns" % (kept, n)
        else:
            out["summary"] = generic_summary(c, include_fact=False)
            out["notice"] = "older turns summarised (%d turns -> summary), kept last %d" % (n - kept, kept)
        c.label_step = tb.add("chain", "context.build_window", c.root,
                              inp={"case_ref": "…", "estimated_tokens": est + 2000}, out=out,
                              lat=rng.randint(40, 1800), agent="orchestrator", meta=meta)
        c.label_agent = "orchestrator"
        return
    if trimmed and not c.keyfact and rng.random() < 0.45:
        kept = rng.randint(4, 8)
        out["turns_in_window"] = kept
        out["summary"] = None
        out["notice"] = rng.choice([
            "history over budget: dropped %d oldest turns" % (n - kept),
            "trimmed to last %d turns to fit %d-token budget" % (kept, budget),
            "window truncated (tail %d/%d)" % (kept, n),
            "summariser timed out after 1500ms; fell back to tail truncation, kept %d of %d turns" % (kept, n)])
    elif trimmed:
        kept = rng.randint(4, 8)
        out["turns_in_window"] = kept
        out["summary"] = generic_summary(c, include_fact=True)
        out["notice"] = rng.choice(["older turns summarised (%d turns -> summary), kept last %d" % (n - kept, kept),
                                    "compacted %d earlier turns into case summary" % (n - kept)])
        if rng.random() < 0.3:
            tb.llm("context.summarise", c.root, {"turns": n - kept},
                   {"summary_chars": len(out["summary"])}, "orchestrator", model=MODEL_SUM,
                   ct=rng.randint(80, 200))
    else:
        out["turns_in_window"] = n
    tb.add("chain", "context.build_window", c.root, inp={"estimated_tokens": est}, out=out,
           lat=rng.randint(10, 120), agent="orchestrator", meta=meta)


def generic_summary(c, include_fact):
    p = c.p
    s = "Customer %s %s (%s, %s) contacting about %s." % (
        p["first"], p["last"], p["account_no"], p["plan"], SCENARIOS[c.scen][1].split(".")[-1].replace("_", " "))
    if include_fact and c.keyfact:
        k = c.keyfact["kind"]
        s += {"troubleshooting": " Customer has already restarted/reset hub and swapped cable; issue persists.",
              "new_address": " New address given: %s." % getattr(c, "newaddr", "see turn 3"),
              "invoice": " Disputed invoice: %s." % getattr(c, "inv_ref", "Nov invoice"),
              "preference": " Contact preference noted: " + c.keyfact["text"]}[k]
    else:
        s += c.rng.choice([" Several messages exchanged; customer awaiting next steps.",
                           " Customer frustrated with time taken.",
                           " Relay has been investigating."])
    return s


# ----------------------------- routing ------------------------------------------------
def route(c):
    rng, tb = c.rng, c.tb
    scen = c.scen
    if scen == "unsupported":
        intent = {"pac": "account.port_out", "stac": "account.port_out",
                  "dd_change": "billing.payment_method", "esim_reissue": "account.esim",
                  "ownership": "account.change_owner", "unlock": "account.device_unlock"}[c.unsup]
        if rng.random() < 0.6:
            intent = "account.other" if c.unsup != "dd_change" else rng.choice(["billing.other", "account.other"])
        desk = "accounts_desk" if c.unsup != "dd_change" else "billing_desk"
    else:
        desk, intent, _ = SCENARIOS[scen]
    c.intent = intent
    if c.mode == "skipped_account_lookup":
        out = {"intent": rng.choice(["faq.billing_general", "faq.general", "faq.roaming_general", "faq.speed_general"]),
               "route": "answer_directly", "desk": None,
               "needs_account_context": False, "confidence": round(rng.uniform(0.55, 0.83), 2)}
        c.desk = "triage"
        c.intent = out["intent"]
        c.label_step = tb.llm("triage.route", c.root, {"message": c.msg[:200], "window_turns": c.n_prior},
                              out, "triage", model=MODEL_ROUTER, pt=rng.randint(700, 1800), ct=rng.randint(30, 70))
        c.label_agent = "triage"
        return
    if scen == "general_faq":
        intent = {"opening_hours": "faq.general", "social_tariff": "faq.billing_general", "voicemail_mobile": "faq.general",
                  "wifi_password": "faq.speed_general", "hotspot": "faq.roaming_general", "esim_setup": "faq.general",
                  "complaints": "faq.general", "tv_box": "faq.general", "landline_vm": "faq.general"}[c.faq]
        c.intent = intent
        out = {"intent": intent, "route": "answer_directly", "desk": None, "needs_account_context": False,
               "confidence": round(rng.uniform(0.8, 0.98), 2)}
    else:
        out = {"intent": intent, "route": "desk", "desk": desk, "needs_account_context": True,
               "confidence": round(rng.uniform(0.7, 0.99), 2)}
        if c.trigger and c.mode is None:
            out["flags"] = [c.trigger[0]]
    c.desk = desk if scen != "general_faq" else "triage"
    tb.llm("triage.route", c.root, {"message": c.msg[:200], "window_turns": c.n_prior}, out, "triage",
           model=MODEL_ROUTER, pt=rng.randint(700, 1800), ct=rng.randint(30, 70))


# ----------------------------- desk tools ---------------------------------------------
TOOLS_BY_DESK = {  # desk -> tools offered to the planner
    "billing_desk": ["crm.get_account", "billing.list_invoices", "billing.apply_credit", "kb.search",
                     "handoff.create_case"],
    "tech_desk": ["crm.get_account", "netstatus.check_area", "line.run_diagnostics", "fieldops.list_bookings",
                  "fieldops.book_visit", "kb.search", "handoff.create_case"],
    "accounts_desk": ["crm.get_account", "catalogue.quote_change", "plan.schedule_change", "identity.verify",
                      "sim.order_replacement", "orders.schedule_move", "address.check_availability",
                      "retention.get_offers", "kb.search", "handoff.create_case", "billing.apply_credit",
                      "crm.update_contact", "orders.get_status"],
    "triage": ["kb.search"],
}
CRM_ERRORS = [
    "ReadTimeout: crm-gateway.internal:443 did not respond within 8000 ms",
    "HTTP 504 Gateway Timeout from GET /v2/accounts/{acct}",
    "DEADLINE_EXCEEDED: accounts.AccountService/GetAccount after 10.0s",
    "upstream request timeout (envoy) on crm-accounts, 9001ms",
    "CircuitBreakerOpen: crm-accounts tripped after 5 consecutive failures",
]
TRANSIENT_ERRORS = [
    "HTTP 503 Service Unavailable (retry-after: 1)",
    "ConnectionResetError: [Errno 104] Connection reset by peer",
    "HTTP 429 Too Many Requests from crm-gateway",
    "ReadTimeout after 4000 ms",
]


def crm_account(c):
    p = c.p
    acct = {"account_no": p["account_no"], "holder": "%s %s" % (p["first"], p["last"]),
            "status": "active", "products": [], "contract_end": str(p["contract_end"]),
            "address": {"line1": p["street"], "town": p["town"], "postcode": p["postcode"]},
            "payment_method": "direct_debit", "bill_day": c.rng.choice([1, 5, 12, 18]),
            "flags": []}
    if is_bb(p):
        acct["products"].append({"type": "broadband", "plan": p["plan"], "monthly_gbp": p["monthly"]})
    if is_mobile(p):
        mp, mm = mobile_plan(p)
        acct["products"].append({"type": "mobile", "plan": mp, "monthly_gbp": mm, "msisdn_last4": p["last4"]})
    if c.rng.random() < 0.15:
        acct["flags"].append(c.rng.choice(["paperless", "loyalty_2y", "price_lock_2025"]))
    return acct


def crm_lookup(c, parent):
    rng, tb = c.rng, c.tb
    acct = c.p["account_no"]
    inp = {"account_no": acct, "fields": rng.choice([["profile", "products", "contract"],
                                                     ["profile", "products", "billing"],
                                                     ["products", "contract", "flags"]])}
    if c.mode == "crm_timeout_exhausted":
        attempts = rng.randint(2, 4)
        first = None
        base_err = rng.choice(CRM_ERRORS)
        for a in range(attempts):
            err = base_err.format(acct=acct) if a == 0 or rng.random() < 0.7 else rng.choice(CRM_ERRORS).format(acct=acct)
            lat = rng.randint(8000, 10200) if "Circuit" not in err else rng.randint(2, 15)
            sid = tb.add("tool", "crm.get_account", parent, inp=inp, out=None, error=err, lat=lat,
                         agent=c.desk, meta={"attempt": a + 1, "max_attempts": attempts})
            first = first or sid
            tb.t += timedelta(milliseconds=rng.choice([250, 500, 1000, 2000]) * (a + 1))
        c.label_step = first
        c.label_agent = c.desk
        return None
    if c.retry_noise and rng.random() < 0.6:
        c.retry_noise = False
        tb.add("tool", "crm.get_account", parent, inp=inp,
               error=rng.choice(TRANSIENT_ERRORS) if rng.random() < 0.5 else rng.choice(CRM_ERRORS[:4]).format(acct=acct),
               lat=rng.randint(40, 4000), agent=c.desk, meta={"attempt": 1, "max_attempts": 3})
        tb.t += timedelta(milliseconds=rng.choice([200, 500, 1000]))
        att = 2
        if rng.random() < 0.25:
            tb.add("tool", "crm.get_account", parent, inp=inp, error=rng.choice(CRM_ERRORS[:4]).format(acct=acct),
                   lat=rng.randint(3000, 9000), agent=c.desk, meta={"attempt": 2, "max_attempts": 3})
            tb.t += timedelta(milliseconds=rng.choice([500, 1000, 2000]))
            att = 3
        a = crm_account(c)
        tb.add("tool", "crm.get_account", parent, inp=inp, out=a, lat=rng.randint(120, 900),
               agent=c.desk, meta={"attempt": att, "max_attempts": 3})
        return a
    a = crm_account(c)
    tb.add("tool", "crm.get_account", parent, inp=inp, out=a, lat=rng.randint(90, 1300), agent=c.desk)
    c.acct = a
    return a


STALE_SIBLING = {"exit_fees": "exit_fees_old", "roaming_eu_new": "roaming_eu_old",
                 "plan_catalogue": "plan_catalogue_old", "home_move": "home_move_old"}


def kb_search(c, parent, query, keys, label=False, rerank=None):
    """keys: ordered list of KB keys; returns doc list."""
    rng, tb = c.rng, c.tb
    keys = list(keys)
    if not label and rerank is None and c.mode is None:
        if keys[0] in STALE_SIBLING and rng.random() < 0.35:
            keys.insert(0 if rng.random() < 0.35 else rng.randint(1, len(keys)), STALE_SIBLING[keys[0]])
        if rng.random() < 0.15:
            keys.append(rng.choice([k for k in ("tv_box", "landline_vm", "hotspot", "mobile_data_abroad", "voicemail_mobile")
                                    if k not in keys]))
    scores = sorted([rng.uniform(0.45, 0.93) for _ in keys], reverse=True)
    docs = [kb_doc(rng, k, s) for k, s in zip(keys, scores)]
    inp = {"query": query, "top_k": len(keys), "index": rng.choice(["kb-prod-2026-11", "kb-prod"])}
    if c.retry_noise and rng.random() < 0.5:
        c.retry_noise = False
        tb.add("retriever", "kb.search", parent, inp=inp, error=rng.choice(TRANSIENT_ERRORS),
               lat=rng.randint(500, 4000), agent=c.desk, meta={"attempt": 1})
    sid = tb.add("retriever", "kb.search", parent, inp=inp, out={"documents": docs},
                 lat=rng.randint(60, 700), agent=c.desk)
    if label:
        c.label_step = sid
        c.label_agent = c.desk
    if rerank is not None:
        rr = tb.add("reranker", "kb.rerank", parent, inp={"n": len(docs)},
                    out={"order": [d["doc_id"] for d in rerank]}, lat=rng.randint(30, 200),
                    agent=c.desk, model="bge-reranker-v2-m3")
        if label:
            c.label_step = rr
        return rerank
    return docs


def tool(c, parent, name, inp, out=None, error=None, lat=None, meta=None):
    m = dict(meta or {})
    if c.rng.random() < 0.25:
        m["schema_ref"] = "%s@v%d" % (name, c.rng.randint(2, 5))
    return c.tb.add("tool", name, parent, inp=inp, out=out, error=error,
                    lat=lat or c.rng.randint(80, 1500), agent=c.desk, meta=m)


CREDIT_SCHEMA = {"account_no": "string", "amount": "number", "reason_code": "enum[GOODWILL,SERVICE_LOSS,BILLING_ERROR,PRORATA]",
                 "invoice_ref": "string"}


def apply_credit(c, parent, amount, reason, inv_ref):
    inp = {"account_no": c.p["account_no"], "amount": round(amount, 2), "reason_code": reason,
           "invoice_ref": inv_ref}
    meta = {"args_schema": CREDIT_SCHEMA} if c.rng.random() < 0.3 else None
    if c.mode is None and c.rng.random() < 0.06:
        bad = dict(inp)
        bad["amount"] = int(round(amount * 100))
        tool(c, parent, "billing.apply_credit", bad, meta=meta,
             error=c.rng.choice(["ValidationError: amount %.2f exceeds single-credit limit of 50.00 GBP" % bad["amount"],
                                 "rejected: amount=%d outside permitted range [0.01, 50.00]" % bad["amount"]]))
    out = {"credit_id": "CR-%07d" % c.rng.randint(0, 9999999), "status": "applied",
           "amount_gbp": round(amount, 2), "appears_on": "next invoice"}
    return tool(c, parent, "billing.apply_credit", inp, out=out, meta=meta)


def invoices(c, parent, lines=None):
    rng = c.rng
    p = c.p
    ref = getattr(c, "inv_ref", None) or "INV-2026%04d" % rng.randint(1000, 9999)
    c.inv_ref = ref
    ps = datetime(2026, 11, 1)
    inv = {"invoice_ref": ref, "period_start": "2026-11-01", "period_end": "2026-11-30",
           "issued": "2026-11-01", "lines": lines or [{"desc": p["plan"] + " monthly charge", "gbp": p["monthly"]}]}
    inv["total_gbp"] = round(sum(l["gbp"] for l in inv["lines"]), 2)
    prev = {"invoice_ref": "INV-2026%04d" % rng.randint(1000, 9999), "period_start": "2026-10-01",
            "period_end": "2026-10-31", "total_gbp": p["monthly"]}
    tool(c, parent, "billing.list_invoices", {"account_no": p["account_no"], "limit": 2},
         out={"invoices": [inv, prev]})
    return inv


def handoff(c, parent, queue, summary):
    rng = c.rng
    c.handoff = queue
    c.actions.append("handoff.create_case")
    return tool(c, parent, "handoff.create_case",
                {"queue": queue, "priority": rng.choice(["normal", "high"]), "summary": summary[:160],
                 "account_no": c.p["account_no"]},
                out={"case_id": "HC-%06d" % rng.randint(0, 999999), "eta": rng.choice(["2h", "4h", "next working day"])})


# ----------------------------- desk logic ---------------------------------------------
def run_desk(c):
    rng, tb = c.rng, c.tb
    p = c.p
    if c.desk == "triage":
        return faq_path(c)
    dk = tb.add("agent", c.desk, c.root, inp={"intent": c.intent}, lat=0, advance=False, agent=c.desk)
    c.dk = dk
    plan_out = {"actions": [], "notes": ""}
    c.plan_out = plan_out
    c.plan_id = tb.llm(c.desk + ".plan", dk,
                       {"prompt_ref": "relay/%s/plan@v%d" % (c.desk, rng.randint(17, 23)),
                        "tools": TOOLS_BY_DESK[c.desk], "message": c.msg[:240],
                        "window_turns": c.n_prior},
                       plan_out, c.desk, ct=rng.randint(60, 260))
    t_start = tb.t
    if c.scen == "unsupported":
        reply = desk_unsupported(c)
    else:
        acct = crm_lookup(c, dk)
        if acct is None:
            plan_out["actions"] = ["crm.get_account"]
            reply = timeout_reply(c)
        else:
            c.acct = acct
            reply = SCEN_FN[c.scen](c)
            # handoff triggers
            if c.trigger and c.mode is None:
                handoff(c, dk, c.trigger[1], "%s: %s" % (c.trigger[0], c.msg))
                reply = handoff_reply(c, reply)
                plan_out["notes"] += " Customer raised %s -> hand off to %s per policy." % (c.trigger[0], c.trigger[1])
            elif c.trigger and c.mode == "missed_mandatory_handoff":
                c.label_step = c.plan_id
                c.label_agent = c.desk
    if not plan_out["actions"]:
        plan_out["actions"] = [s["name"] for s in tb.steps if s["parent_id"] == dk and s["type"] in ("tool", "retriever")]
        plan_out["actions"] = list(dict.fromkeys(plan_out["actions"]))
    plan_out["notes"] = plan_out["notes"].strip() or rng.choice(["Look up account then answer.", "Check account and KB.",
                                                                  "Verify details, then resolve.", ""])
    comp_id = tb.llm(c.desk + ".compose", dk,
                     {"prompt_ref": "relay/%s/compose@v%d" % (c.desk, rng.randint(38, 42)),
                      "tool_results": len([s for s in tb.steps if s["parent_id"] == dk]),
                      "window_turns": c.n_prior},
                     {"text": reply}, c.desk, ct=len(reply) // 4 + rng.randint(5, 40))
    c.compose_id = comp_id
    if c.mode == "contradicts_prior_turn":
        c.label_step = comp_id
        c.label_agent = c.desk
    dstep = tb.get(dk)
    dstep["latency_ms"] = int((tb.t - t_start).total_seconds() * 1000) + 900
    dstep["output"] = {"handoff": bool(c.handoff)}
    return reply


def timeout_reply(c):
    return c.rng.choice([
        "I'm really sorry, I'm having trouble accessing your account details at the moment. Please try again a little later, or I can pick this up when you next message.",
        "Apologies - our systems are running slowly and I can't load your account right now. Could you message back in an hour or so?",
        "Sorry about this, I'm unable to pull up your account just now due to a technical issue on our side. Please try again later.",
        "I can't retrieve your account information at the moment. I'm sorry for the inconvenience - please get back in touch shortly and we'll look at this straight away."])


def handoff_reply(c, reply):
    kind = c.trigger[0]
    pre = {"complaint": "I've logged this as a formal complaint and passed it to our complaints team, who will contact you within 2 working days. ",
           "ombudsman": "I understand. I've passed your case to our complaints team so it's formally recorded; they'll be in touch within 2 working days. ",
           "bereavement": "I'm very sorry for your loss. I've passed this to our bereavement support team, who can handle the account with you directly and will be in touch. ",
           "vulnerability": "Thank you for telling me. I've added a priority care note and passed your case to the team who look after this, so it gets handled as a priority. ",
           "manager": "Of course - I've requested a call back from a team leader, who'll contact you today. "}[kind]
    first = reply.split(" ", 1)[0]
    if not (first in ("I", "I'm", "I've", "I'd", "I'll") or first[:1].isdigit() or first.isupper()):
        reply = reply[0].lower() + reply[1:]
    return pre + "In the meantime: " + reply


def faq_path(c):
    rng, tb = c.rng, c.tb
    dk = tb.add("agent", "triage", c.root, inp={"intent": c.intent}, lat=0, advance=False, agent="triage")
    t_start = tb.t
    if c.mode == "skipped_account_lookup":
        reply = generic_answer(c, dk)
    else:
        keys, good = faq_docs(c)
        if c.mode == "wrong_kb_article_ranked":
            wrong = rng.choice([k for k in ("tv_box", "landline_vm", "mobile_data_abroad", "hotspot", "esim_setup", "voicemail_mobile") if k != good])
            keys = [wrong] + [k for k in keys if k != good][:rng.randint(1, 3)] + [good]
            kb_search(c, dk, c.msg[:80], keys, label=True)
            reply = article_reply(c, wrong)
        else:
            if good in ("opening_hours", "hotspot", "complaints", "voicemail_mobile") and rng.random() < 0.3:
                pass  # answered from the FAQ snippet pinned in the system prompt
            else:
                kb_search(c, dk, c.msg[:80], keys)
            reply = article_reply(c, good)
    comp = tb.llm("triage.compose", dk, {"prompt_ref": "relay/triage/faq@v12"}, {"text": reply}, "triage",
                  model=MODEL_ROUTER, ct=len(reply) // 4 + 10)
    dstep = tb.get(dk)
    dstep["latency_ms"] = int((tb.t - t_start).total_seconds() * 1000) + 300
    return reply


def faq_docs(c):
    good = c.faq
    others = [k for k in ("opening_hours", "complaints", "direct_debit", "hotspot", "wifi_interference") if k != good]
    return [good] + c.rng.sample(others, 2), good


ARTICLE_REPLY = {
    "opening_hours": "Our phone team is available 8am-8pm Monday to Saturday and 9am-6pm on Sundays. You can also message us here any time.",
    "social_tariff": "Yes - if you receive Universal Credit or Pension Credit you may qualify for Essential Fibre at £15 a month, with no exit fees. I can check eligibility if you'd like.",
    "voicemail_mobile": "To set up voicemail, call 443 from your mobile and follow the prompts to record your greeting.",
    "wifi_password": "You can change your Wi-Fi name and password in the hub manager: go to 192.168.1.254, log in with the admin password on the hub sticker, then open Wireless settings.",
    "hotspot": "Personal hotspot is included on all our plans - it just uses your normal data allowance.",
    "esim_setup": "Yes, we support eSIM. You'll get a single-use QR code; scan it from Settings > Mobile data on your new phone.",
    "complaints": "You can raise a complaint with us any time here or by phone. If it isn't resolved within 8 weeks you can take it to the ombudsman.",
    "tv_box": "To set up your TV box, connect it to the hub using the Ethernet cable in the box and follow the on-screen steps.",
    "landline_vm": "You can listen to your voicemail by dialling 1571 from your home phone.",
    "mobile_data_abroad": "If mobile data isn't working, make sure data roaming is switched on, restart your phone, and try selecting a partner network manually.",
    "hub_restart": "Please switch the hub off at the wall, wait 30 seconds and switch it back on, then give it up to 10 minutes to settle.",
    "wifi_interference": "Try moving the hub into the open, away from microwaves and cordless phones, and use the 5GHz network for devices close by.",
    "sim_replace": "I'd recommend barring the SIM straight away and ordering a replacement - it arrives in 1-2 working days and you keep your number.",
    "hub_lights": "A flashing orange light means the hub is trying to connect. If it stays orange for more than 20 minutes, check the grey cable is firmly in the master socket, then try the test socket behind the faceplate.",
    "area_outage": "There's no need to book an engineer while an area fault is open - updates are posted every 2 hours on the service status page for your postcode.",
    "roaming_world": "Outside Europe data is charged at £6 per MB unless you add the World Traveller bolt-on.",
    "plan_catalogue": "Our current prices are: Fibre 80 £29, Fibre 150 £34, Fibre 500 £41 and Full Fibre 900 £52 a month.",
    "direct_debit": "Direct Debits are collected on your chosen payment date each month.",
}


def article_reply(c, key):
    return ARTICLE_REPLY[key]


def generic_answer(c, dk):
    """Mode skipped_account_lookup: generic answer, maybe a KB search but no account tools."""
    rng, tb = c.rng, c.tb
    s = c.scen
    if rng.random() < 0.55:
        keys = {"bill_higher": ["price_change", "oob_calls", "paper_bill"],
                "roaming_charge": ["roaming_eu_new", "roaming_world"],
                "refund_request": ["outage_comp", "late_fee"],
                "slow_speed": ["slow_evening", "wifi_interference", "hub_restart"]}[s]
        kb_search(c, dk, c.msg[:80], keys)
    return {
        "bill_higher": rng.choice([
            "Bills can change from month to month for a few reasons - for example our annual price change in April, calls to numbers outside your allowance, or a paper bill charge. You can see a full breakdown in the app under Bills.",
            "There are a few common reasons a bill goes up: the yearly price change, out-of-bundle calls, or one-off charges like late payment fees. Have a look at the itemised bill in your online account for details."]),
        "roaming_charge": rng.choice([
            "Roaming charges depend on where you travel and your plan. In Europe there's a daily EU Roam charge on most plans, and outside Europe data is charged per MB. Your bill will show the details.",
            "Depending on your plan, using your phone abroad may incur a daily roaming fee. You can check which plans include roaming on our website."]),
        "refund_request": rng.choice([
            "If you've had a loss of service for more than two working days after reporting it, automatic compensation applies. For billing errors, refunds are normally processed within 5-7 working days once confirmed.",
            "Refunds for overcharging are usually processed within 5-7 working days once we've confirmed the error. You can view your payments in the app."]),
        "slow_speed": rng.choice([
            "Speeds can dip at busy times, usually 8pm-11pm. Try restarting your hub, moving it into an open space and using a wired connection for the most accurate speed test.",
            "Broadband speeds can be affected by Wi-Fi interference and busy evening periods. Restarting your hub and keeping it away from other electronics often helps."]),
    }[s]


# ----- scenario functions (healthy behaviour + mode variations) -----
def sc_bill_higher(c):
    rng, p, dk = c.rng, c.p, c.dk
    if not hasattr(c, "diff"):
        c.diff = rng.choice([2.50, 3.00, 7.50]); c.old = p["monthly"]
    reason = "oob_calls"
    if c.diff in (2.50,):
        reason = "paper_bill"
    elif c.diff in (3.00, 1.50):
        reason = "price_change"
    elif c.diff == 7.50:
        reason = "late_fee"
    desc = {"price_change": "Annual price change (from 1 Apr 2026)", "oob_calls": "Calls to 0845/0870 numbers",
            "paper_bill": "Paper bill charge", "late_fee": "Late payment fee"}[reason]
    lines = [{"desc": p["plan"] + " monthly charge", "gbp": p["monthly"]}, {"desc": desc, "gbp": c.diff}]
    inv = invoices(c, dk, lines)
    kb_search(c, dk, "bill increase " + desc.lower(), [reason] + rng.sample([k for k in ("price_change", "oob_calls", "paper_bill", "late_fee", "direct_debit") if k != reason], 2))
    explain = {"price_change": "the %s difference is our annual price change, which applied from 1 April as set out in your contract" % money(c.diff),
               "oob_calls": "the extra %s is for calls to 0845/0870 numbers, which aren't included in your plan - I can add free call barring for those if you'd like" % money(c.diff),
               "paper_bill": "the extra %s is a paper bill charge" % money(c.diff),
               "late_fee": "the extra %s is a late payment fee from when last month's payment didn't go through" % money(c.diff)}[reason]
    credit = reason in ("paper_bill", "late_fee") and rng.random() < 0.7
    if c.mode == "malformed_tool_call" and True:
        credit = True
    if credit:
        amt = c.diff
        if c.mode == "malformed_tool_call":
            return malformed_credit(c, amt, "BILLING_ERROR" if reason == "paper_bill" else "GOODWILL", inv["invoice_ref"])
        apply_credit(c, dk, amt, "BILLING_ERROR" if reason == "paper_bill" else "GOODWILL", inv["invoice_ref"])
        return "I've looked at your latest bill (%s): %s. I've applied a credit of %s, so you'll see that come off your next bill." % (
            inv["invoice_ref"], explain, money(amt))
    return "I've checked invoice %s: %s. Your normal monthly charge of %s hasn't changed otherwise." % (
        inv["invoice_ref"], explain, money(p["monthly"]))


def malformed_credit(c, amt, reason, inv_ref):
    rng, dk = c.rng, c.dk
    variant = rng.choice(["pence", "pence", "acct_as_invoice", "string_amount", "reason_free_text"])
    inp = {"account_no": c.p["account_no"], "amount": round(amt, 2), "reason_code": reason, "invoice_ref": inv_ref}
    if variant == "pence":
        inp["amount"] = int(round(amt * 100))
        err = rng.choice(["ValidationError: amount %.2f exceeds single-credit limit of 50.00 GBP" % inp["amount"],
                          "422 Unprocessable Entity: credit amount above agent authority (max 50.00)",
                          "rejected: amount=%d outside permitted range [0.01, 50.00]" % inp["amount"]])
    elif variant == "acct_as_invoice":
        inp["invoice_ref"] = c.p["account_no"]
        err = rng.choice(["404 invoice not found: %s" % c.p["account_no"],
                          "ValidationError: invoice_ref must match ^INV-\\d{8}$"])
    elif variant == "string_amount":
        inp["amount"] = money(amt)
        err = rng.choice(["TypeError: amount must be a number, got str ('%s')" % money(amt),
                          "400 Bad Request: field 'amount' - expected decimal"])
    else:
        inp["reason_code"] = rng.choice(["customer unhappy with bill", "refund for overcharge", "goodwill gesture"])
        err = "ValidationError: reason_code '%s' is not one of GOODWILL, SERVICE_LOSS, BILLING_ERROR, PRORATA" % inp["reason_code"]
    meta = {"args_schema": CREDIT_SCHEMA} if rng.random() < 0.5 else None
    sid = tool(c, dk, "billing.apply_credit", inp, error=err, meta=meta)
    c.label_step = sid
    c.label_agent = c.desk
    if rng.random() < 0.4:
        # second attempt also malformed
        inp2 = dict(inp)
        if variant == "pence":
            inp2["amount"] = inp["amount"] / 10.0
        tool(c, dk, "billing.apply_credit", inp2,
             error=err if variant != "pence" else "ValidationError: amount %.2f exceeds single-credit limit of 50.00 GBP" % inp2["amount"], meta=meta)
    c.plan_out["notes"] = "Apply credit of %s." % money(amt)
    return rng.choice([
        "I've tried to add a credit of %s to your account but our billing system didn't accept it just now. I've made a note on your case - please check back in a day or two." % money(amt),
        "I wasn't able to apply the %s credit at the moment due to a system issue. Please contact us again if it doesn't appear on your next bill." % money(amt),
        "Unfortunately I couldn't process the refund of %s right now. I'm sorry about that - please try again later." % money(amt),
        "I've put the %s credit through and it'll show on your next bill." % money(amt)])


def sc_refund(c):
    rng, p, dk = c.rng, c.p, c.dk
    if c.commit:  # follow-up about a promised credit
        inv = invoices(c, dk)
        amt = c.commit["amount"]
        if c.mode == "contradicts_prior_turn":
            return rng.choice([
                "I've checked your account and I can't see any credit agreed. Your invoice %s looks correct, so I'm not able to add a credit." % inv["invoice_ref"],
                "There's no goodwill credit on your account, and the charges on %s are correct, so I'm afraid there isn't a refund due." % inv["invoice_ref"],
                "I can't find any record of a credit. If you'd like, I can raise a billing review, but based on what I can see no credit is due."])
        if rng.random() < 0.3:
            apply_credit(c, dk, amt, "GOODWILL", inv["invoice_ref"])
            return "Thanks for checking - I've made sure the %s credit we agreed is now applied; it will come off your next bill." % money(amt)
        return rng.choice(["Yes - the %s credit we agreed is still in place and will come off your next bill." % money(amt),
                           "Don't worry, the %s goodwill credit we arranged is pending and will show on your December bill." % money(amt)])
    if c.keyfact and c.keyfact["kind"] == "invoice":
        inv = invoices(c, dk)
        amt = round(rng.uniform(6, 22), 2)
        if c.mode == "history_trimmed_key_fact":
            return rng.choice(["Could you tell me which invoice you think is wrong, and roughly how much you were overcharged?",
                               "To look into this, can you let me know which bill you're querying?",
                               "Which invoice are you referring to? Once I know that I can check the charges."])
        apply_credit(c, dk, amt, "BILLING_ERROR", inv["invoice_ref"])
        return "I've gone through %s and you were overcharged %s. I've credited that back, so you'll see it on your next bill." % (inv["invoice_ref"], money(amt))
    kind = getattr(c, "refund_kind", "outage_days")
    if kind == "outage_days":
        days = getattr(c, "down_days", 4)
        inv = invoices(c, dk)
        tool(c, dk, "netstatus.check_area", {"postcode": p["postcode"], "lookback_days": 30},
             out={"incidents": [{"id": "INC-%05d" % rng.randint(0, 99999), "status": "resolved",
                                 "opened": "2026-11-%02d" % rng.randint(3, 10), "duration_days": days}]}) \
            if rng.random() < 0.6 else None
        monthly = p["monthly"]
        correct = round(monthly * days / 30, 2)
        if c.mode == "proration_miscalculated":
            wrong_kind = rng.choice(["complement", "arith", "weekly"])
            if wrong_kind == "complement":
                val = round(monthly * (30 - days) / 30, 2)
                calc = "%.2f * (30-%d)/30 = %.2f" % (monthly, days, val)
            elif wrong_kind == "arith":
                val = round(correct + rng.choice([4, 5, 6, 8, 10]) + rng.choice([0.0, 0.33, 0.5]), 2)
                calc = "%.2f * %d/30 = %.2f" % (monthly, days, val)
            else:
                val = round(monthly / 4 * days, 2)
                calc = "%.2f / 4 weeks * %d days = %.2f" % (monthly, days, val)
            val = min(val, 49.99)
            c.plan_out["notes"] = "Pro-rata service-loss credit: " + calc
            c.label_step = c.plan_id
            c.label_agent = c.desk
            apply_credit(c, dk, val, "SERVICE_LOSS", inv["invoice_ref"])
            return "You were without service for %d days, so I've worked out a pro-rata refund of %s (%s a month for %d days) and applied it to your account." % (
                days, money(val), money(monthly), days)
        c.plan_out["notes"] = "Pro-rata service-loss credit: %.2f * %d/30 = %.2f" % (monthly, days, correct)
        if rng.random() < 0.35:
            kb_search(c, dk, "compensation loss of service", ["outage_comp", "late_fee", "area_outage"])
        apply_credit(c, dk, correct, "SERVICE_LOSS", inv["invoice_ref"])
        return "I'm sorry about the disruption. For the %d days without service I've applied a pro-rata credit of %s (%s a month x %d/30), which will show on your next bill." % (
            days, money(correct), money(monthly), days)
    if kind == "double_charge":
        extra = {"desc": "Duplicate Direct Debit collection (01 Nov)", "gbp": p["monthly"]}
    else:
        extra = {"desc": rng.choice(["Sports add-on", "Data bolt-on 10GB", "TV Entertainment pack", "Multi-room add-on"]),
                 "gbp": rng.choice([5.0, 8.0, 12.0, 15.0])}
    inv = invoices(c, dk, [{"desc": p["plan"] + " monthly charge", "gbp": p["monthly"]}, extra])
    amt = inv["lines"][1]["gbp"]
    if amt > 50 and c.mode is None:
        handoff(c, dk, "billing_refunds", "Duplicate DD collection %s on %s" % (money(amt), inv["invoice_ref"]))
        return "I can see the duplicate collection of %s on %s. Refunds over £50 are handled by our payments team, so I've passed it to them - the money will be back in your account within 5 working days." % (money(amt), inv["invoice_ref"])
    amt = min(amt, 50.0)
    if c.mode == "malformed_tool_call":
        return malformed_credit(c, amt, "BILLING_ERROR", inv["invoice_ref"])
    apply_credit(c, dk, amt, "BILLING_ERROR", inv["invoice_ref"])
    return "You're right - %s shouldn't have been charged on %s. I've refunded %s; it'll appear as a credit on your next bill." % (
        inv["lines"][1]["desc"], inv["invoice_ref"], money(amt))


def sc_roaming(c):
    rng, p, dk = c.rng, c.p, c.dk
    if not hasattr(c, "roam_amt"):
        c.country, c.roam_amt = "Spain", 15.75
    mp, mm = mobile_plan(p)
    if c.mode in ("outdated_kb_policy", "wrong_kb_article_ranked", "skipped_account_lookup") and "Unlimited" in mp:
        mp, mm = "SIM Only 40GB", 15.0
        for pr in c.acct["products"]:
            if pr["type"] == "mobile":
                pr["plan"], pr["monthly_gbp"] = mp, mm
    days = int(round(c.roam_amt / 2.25))
    inv = invoices(c, dk, [{"desc": mp + " monthly charge", "gbp": mm},
                           {"desc": "EU Roam daily pass x%d (%s)" % (days, c.country), "gbp": round(days * 2.25, 2)}])
    q = "roaming charges %s" % c.country
    if c.mode == "outdated_kb_policy":
        kb_search(c, dk, q, ["roaming_eu_old", "roaming_world", "hotspot"], label=True)
        return rng.choice([
            "Good news - you can use your allowance in the EU at no extra cost, just like at home, so this roaming charge looks like an error. I've flagged it for our billing team to review.",
            "Roaming in the EU is included at no extra cost, so you shouldn't have been charged for %s. I've raised this for review and it should be corrected." % c.country])
    if c.mode == "wrong_kb_article_ranked":
        keys = ["mobile_data_abroad", "hotspot", "roaming_world", "roaming_eu_new"]
        docs = [kb_doc(rng, k, sc) for k, sc in zip(keys, desc_scores(rng, 4))]
        use_rr = rng.random() < 0.5
        if use_rr:
            kb_search(c, dk, q, ["roaming_eu_new", "mobile_data_abroad", "hotspot", "roaming_world"], label=True, rerank=docs)
        else:
            c.tb.add("retriever", "kb.search", dk, inp={"query": q, "top_k": 4}, out={"documents": docs},
                     lat=rng.randint(60, 600), agent=c.desk)
            c.label_step = c.tb.steps[-1]["id"]; c.label_agent = c.desk
        return "Sorry to hear about the trouble abroad. If mobile data wasn't working, make sure data roaming is switched on, restart your phone and try selecting a partner network manually. That usually sorts it."
    kb_search(c, dk, q, ["roaming_eu_new", "roaming_world", "mobile_data_abroad"])
    if "Unlimited" in mp:
        apply_credit(c, dk, round(days * 2.25, 2), "BILLING_ERROR", inv["invoice_ref"])
        return "Your %s plan includes EU roaming, so those %s charges shouldn't be there. I've refunded them as a credit on your next bill." % (mp, money(round(days * 2.25, 2)))
    return "Since May 2025, using your allowance in the EU costs £2.25 a day on %s. You were charged for %d days in %s, totalling %s, which is correct. Unlimited Max includes EU roaming if you travel often." % (
        mp, days, c.country, money(round(days * 2.25, 2)))


def price_of(name):
    for n, v in BB_PLANS + MOB_PLANS:
        if n == name:
            return v
    return 30.0


def sc_plan_change(c):
    rng, p, dk = c.rng, c.p, c.dk
    if c.commit:
        nd = c.commit["date"]
        if c.mode == "contradicts_prior_turn":
            return rng.choice([
                "Your new plan is active from today, so you'll see a pro-rata charge for the rest of this month on your next bill.",
                "The change took effect immediately when you requested it, so this month's bill will include part of the new price.",
                "Plan changes apply straight away - there will be an adjustment on this month's bill for the days on the new plan."])
        return "Yes - your new plan starts on %s, your next bill date, so nothing changes on this month's bill." % day_name(nd)
    if not hasattr(c, "target"):
        c.target = "Fibre 500"
    new = price_of(c.target)
    cur_name = p["plan"] if c.target in [n for n, _ in BB_PLANS] else mobile_plan(p)[0]
    cur = price_of(cur_name)
    if c.mode == "proration_miscalculated" and new <= cur:
        fam = BB_PLANS if c.target in [n for n, _ in BB_PLANS] else MOB_PLANS
        cur_name, cur = min([x for x in fam if x[1] < new], key=lambda x: x[1], default=fam[0])
        if cur >= new:
            c.target, new = fam[-1]
            cur_name, cur = fam[0]
        for pr in c.acct["products"]:
            if (pr["type"] == "broadband") == (fam is BB_PLANS):
                pr["plan"], pr["monthly_gbp"] = cur_name, cur
    if c.mode == "outdated_kb_policy":
        kb_search(c, dk, "plan prices " + c.target, ["plan_catalogue_old", "plan_change_rules", "hub_restart"], label=True)
        old_prices = {"Fibre 80": 24, "Fibre 150": 28, "Fibre 500": 32, "Full Fibre 900": 45}
        qp = old_prices.get(c.target, round(new - rng.choice([3, 4, 5]), 0))
        tool(c, dk, "catalogue.quote_change", {"account_no": p["account_no"], "target_plan": c.target},
             out={"target_plan": c.target, "monthly_gbp": new, "effective": "next_bill_period"})
        return "%s is %s a month, and changing plan mid-contract is free. Would you like me to go ahead?" % (c.target, money(qp))
    if c.mode == "wrong_kb_article_ranked":
        keys = ["tv_box", "hotspot", "plan_change_rules", "plan_catalogue"]
        docs = [kb_doc(rng, k, s) for k, s in zip(keys, desc_scores(rng, len(keys)))]
        c.tb.add("retriever", "kb.search", dk, inp={"query": "change plan " + c.target, "top_k": 4},
                 out={"documents": docs}, lat=rng.randint(60, 600), agent=c.desk)
        c.label_step = c.tb.steps[-1]["id"]; c.label_agent = c.desk
        return "To get set up, connect your TV box to the hub using the Ethernet cable in the box and follow the on-screen steps. Let me know if you need anything else with your package."
    kb_search(c, dk, "change plan " + c.target, ["plan_catalogue", "plan_change_rules", "exit_fees"])
    tool(c, dk, "catalogue.quote_change", {"account_no": p["account_no"], "target_plan": c.target},
         out={"target_plan": c.target, "monthly_gbp": new,
              "effective": "within_24h" if new > cur else "next_bill_period"})
    if c.mode == "proration_miscalculated" or (c.mode is None and rng.random() < 0.4 and new > cur):
        # upgrade reversal / mid-cycle upgrade adjustment
        days_left = rng.randint(8, 24)
        diff = round(abs(new - cur), 2)
        correct = round(diff * days_left / 30, 2)
        if c.mode == "proration_miscalculated":
            k = rng.choice(["full_price", "complement", "arith"])
            if k == "full_price":
                val = round(new * days_left / 30, 2); calc = "%.2f * %d/30 = %.2f" % (new, days_left, val)
            elif k == "complement":
                val = round(diff * (30 - days_left) / 30, 2); calc = "%.2f * (30-%d)/30 = %.2f" % (diff, days_left, val)
            else:
                val = round(correct * rng.choice([2, 3]) + 0.17, 2); calc = "%.2f * %d/30 = %.2f" % (diff, days_left, val)
            c.plan_out["notes"] = "Price difference %s -> %s is %.2f/month; %d days left in period; adjustment %s" % (cur_name, c.target, diff, days_left, calc)
            c.label_step = c.plan_id; c.label_agent = c.desk
            tool(c, dk, "plan.schedule_change", {"account_no": p["account_no"], "target_plan": c.target, "when": "now",
                                                 "prorata_gbp": val},
                 out={"order_id": "PC-%06d" % rng.randint(0, 999999), "status": "scheduled"})
            return "Done - you're moving to %s today. For the %d days left in this bill period the adjustment is %s, which will be added to your next bill, then %s a month after that." % (
                c.target, days_left, money(val), money(new))
        c.plan_out["notes"] = "Price difference %.2f/month; %d days left; adjustment %.2f * %d/30 = %.2f" % (diff, days_left, diff, days_left, correct)
        tool(c, dk, "plan.schedule_change", {"account_no": p["account_no"], "target_plan": c.target, "when": "now",
                                             "prorata_gbp": correct},
             out={"order_id": "PC-%06d" % rng.randint(0, 999999), "status": "scheduled"})
        return "Done - you're moving to %s today. For the %d days left in this bill period there's a pro-rata adjustment of %s (%s difference x %d/30), then it's %s a month." % (
            c.target, days_left, money(correct), money(diff), days_left, money(new))
    if rng.random() < 0.3:
        return "%s is %s a month (you're currently paying %s). %s Would you like me to go ahead?" % (
            c.target, money(new), money(cur),
            "As it's a downgrade it would start from your next bill period." if new < cur else "Upgrades are live within 24 hours.")
    tool(c, dk, "plan.schedule_change", {"account_no": p["account_no"], "target_plan": c.target,
                                         "when": "next_bill_period" if new < cur else "now"},
         out={"order_id": "PC-%06d" % rng.randint(0, 999999), "status": "scheduled"})
    if new < cur:
        return "I've scheduled your move to %s at %s a month. As it's a downgrade it starts from your next bill period, so this month stays the same." % (c.target, money(new))
    return "All done - %s is %s a month and will be active within 24 hours. Your next bill will show the new price." % (c.target, money(new))


def sc_cancellation(c):
    rng, p, dk = c.rng, c.p, c.dk
    end = p["contract_end"]
    remaining = max(0, (end.year - 2026) * 12 + end.month - 11)
    monthly = p["monthly"]
    if remaining == 0:
        remaining = rng.randint(3, 14)
        p["contract_end"] = (datetime(2026, 11, 1) + timedelta(days=30 * remaining)).date()
        c.acct["contract_end"] = str(p["contract_end"])
    c.acct.setdefault("contract", {"min_term_remaining_months": remaining, "etc_basis": "monthly_price_less_20pct"})
    fee = round(monthly * remaining * 0.8, 2)
    offers = rng.random() < 0.6
    if c.mode == "outdated_kb_policy":
        kb_search(c, dk, "early termination charge", ["exit_fees_old", "complaints", "direct_debit"], label=True)
        old = round(3.50 * remaining, 2)
        return "You have %d months left on your minimum term, so leaving now would cost %s (%d x £3.50). If you'd like to go ahead I can start the cancellation." % (remaining, money(old), remaining)
    kb_search(c, dk, "early termination charge", ["exit_fees", "complaints", "plan_catalogue"])
    if offers:
        tool(c, dk, "retention.get_offers", {"account_no": p["account_no"]},
             out={"offers": [{"code": "RET-%d" % rng.randint(10, 99), "desc": "%s for %s/month on a new 24-month term" % (p["plan"], money(monthly - rng.choice([4, 5, 6])))}]})
    if c.mode == "proration_miscalculated" or (c.mode is None and rng.random() < 0.35):
        inv = invoices(c, dk)
        days_unused = rng.randint(6, 25)
        correct = round(monthly * days_unused / 30, 2)
        if c.mode == "proration_miscalculated":
            k = rng.choice(["complement", "arith"])
            if k == "complement":
                val = round(monthly * (30 - days_unused) / 30, 2); calc = "%.2f * (30-%d)/30 = %.2f" % (monthly, days_unused, val)
            else:
                val = round(correct + rng.choice([5.5, 7.0, 9.25, 11.0]), 2); calc = "%.2f * %d/30 = %.2f" % (monthly, days_unused, val)
            c.plan_out["notes"] = "Cancel effective mid-period, %d unused days; refund %s; ETC %.2f" % (days_unused, calc, fee)
            c.label_step = c.plan_id; c.label_agent = c.desk
            apply_credit(c, dk, min(val, 49.99), "PRORATA", inv["invoice_ref"])
            return "Your exit fee would be %s (%d remaining months at %s less 20%%). Because you've paid for the full month, I've credited %s back for the %d unused days." % (
                money(fee), remaining, money(monthly), money(min(val, 49.99)), days_unused)
        apply_credit(c, dk, correct, "PRORATA", inv["invoice_ref"])
        c.plan_out["notes"] = "Unused days refund %.2f * %d/30 = %.2f" % (monthly, days_unused, correct)
        return "Your exit fee would be %s (%d remaining months at %s, less 20%% for services not provided). I've also credited %s for the %d days you've paid for but won't use." % (
            money(fee), remaining, money(monthly), money(correct), days_unused)
    s = "Leaving now would mean an early termination charge of %s - that's %d remaining months at %s, less 20%% for services not provided." % (
        money(fee), remaining, money(monthly))
    if offers:
        s += " Before you decide, I can offer you %s for %s a month if you stay on a new term." % (p["plan"], money(monthly - 5))
    return s


def sc_moving(c):
    rng, p, dk = c.rng, c.p, c.dk
    newaddr = getattr(c, "newaddr", "the new address")
    if c.commit:
        d = c.commit["date"]
        if c.mode == "contradicts_prior_turn":
            if rng.random() < 0.5:
                kb_search(c, dk, "home move", ["home_move", "engineer_visits", "hub_restart"])
            return rng.choice([
                "Happy to help with your move! We need at least 14 days' notice - what date are you moving, and what's the new address?",
                "To set up a home move I'll need your moving date and new address. The earliest switch-over we can usually do is about 3 weeks away.",
                "You'll need an engineer to connect the new property, so please make sure someone's in between 8am and 1pm on the day."])
        tool(c, dk, "orders.get_status", {"account_no": p["account_no"]},
             out={"orders": [{"type": "home_move", "status": "scheduled", "id": "HM-%06d" % rng.randint(0, 999999),
                              "switch_date": d.strftime("%Y-%m-%d")}]})
        return "Yes, all set - your service moves over to the new address on %s and there's nothing you need to do on the day." % day_name(d)
    if c.keyfact and c.keyfact["kind"] == "new_address":
        if c.mode == "history_trimmed_key_fact":
            return rng.choice(["Happy to help with the move! Could you tell me the full address and postcode you're moving to?",
                               "Of course. What's the new address, and what date do you move in?",
                               "To check availability I'll need the address you're moving to - could you send it over?"])
        tool(c, dk, "address.check_availability", {"address": c.newaddr}, out={"available": True, "max_speed_mbps": rng.choice([80, 500, 900])})
        tool(c, dk, "orders.schedule_move", {"account_no": p["account_no"], "new_address": c.newaddr},
             out={"order_id": "HM-%06d" % rng.randint(0, 999999), "status": "scheduled"})
        return "That's booked - your service will move to %s. You'll get a confirmation e-mail with the date shortly." % c.newaddr
    if c.mode == "outdated_kb_policy":
        kb_search(c, dk, "home move fee", ["home_move_old", "engineer_visits", "hub_restart"], label=True)
        tool(c, dk, "address.check_availability", {"address": newaddr}, out={"available": True, "max_speed_mbps": rng.choice([80, 500, 900]),
                                                                              "move_fee_gbp": 60.0})
        return "Yes, you can take your broadband with you to %s and moving home is free. Just let us know two weeks before and we'll switch it over on the day." % newaddr
    kb_search(c, dk, "home move fee", ["home_move", "engineer_visits", "plan_catalogue"])
    tool(c, dk, "address.check_availability", {"address": newaddr}, out={"available": True, "max_speed_mbps": rng.choice([80, 500, 900]),
                                                                          "move_fee_gbp": 60.0})
    return "Good news, we can provide service at %s. There's a £60 home move fee, which is waived if you sign up to a new 24-month term. We need at least 14 days' notice - shall I book it in?" % newaddr


def sc_sim(c):
    rng, p, dk = c.rng, c.p, c.dk
    v = tool(c, dk, "identity.verify", {"account_no": p["account_no"], "method": rng.choice(["otp_email", "security_questions"])},
             out={"verified": True, "level": "L2"})
    if c.mode == "wrong_kb_article_ranked":
        keys = ["esim_setup", "hotspot", "voicemail_mobile", "sim_replace"]
        docs = [kb_doc(rng, k, s) for k, s in zip(keys, desc_scores(rng, len(keys)))]
        c.tb.add("retriever", "kb.search", dk, inp={"query": "replacement sim lost phone", "top_k": 4},
                 out={"documents": docs}, lat=rng.randint(60, 600), agent=c.desk)
        c.label_step = c.tb.steps[-1]["id"]; c.label_agent = c.desk
        return "You can set up an eSIM on your new phone: scan the single-use QR code from Settings > Mobile data. Let me know if you need anything else."
    kb_search(c, dk, "replacement sim lost phone", ["sim_replace", "esim_setup", "hotspot"])
    tool(c, dk, "sim.order_replacement", {"account_no": p["account_no"], "bar_existing": True, "delivery": "home_address"},
         out={"order_id": "SIM-%06d" % rng.randint(0, 999999), "dispatch": "next working day", "barred": True})
    return "Thanks, you're verified. I've barred your old SIM so nobody can use it, and a replacement is on its way to %s - it should arrive in 1-2 working days with the same number." % p["postcode"]


def sc_outage(c):
    rng, p, dk = c.rng, c.p, c.dk
    area_fault = rng.random() < 0.5 and not (c.keyfact and c.keyfact["kind"] == "troubleshooting")
    inc = {"id": "INC-%05d" % rng.randint(0, 99999), "status": "investigating", "eta": "%02d:00" % rng.randint(14, 22),
           "affected": rng.choice(["broadband", "mobile", "broadband+mobile"])}
    tool(c, dk, "netstatus.check_area", {"postcode": p["postcode"]},
         out={"incidents": [inc] if area_fault else [], "as_of": iso(c.tb.t - timedelta(minutes=rng.randint(1, 9)))})
    if c.keyfact and c.keyfact["kind"] == "troubleshooting":
        area_fault = False
        tool(c, dk, "line.run_diagnostics", {"account_no": p["account_no"]},
             out={"sync": False, "fault": rng.choice(["line_fault_suspected", "no_dial_tone", "sync_loss"])})
        if c.mode == "history_trimmed_key_fact":
            kb_search(c, dk, "hub no connection", ["hub_restart", "hub_lights", "wifi_interference"])
            return rng.choice(["Let's try a few things first: switch the hub off at the wall, wait 30 seconds and turn it back on, then check the grey cable is firmly in the master socket. Let me know how you get on.",
                               "Could you start by restarting your hub and trying a different cable? If that doesn't help, plug it into the test socket behind the faceplate.",
                               "First, please turn the hub off and on again and give it 10 minutes. If the light stays orange, try another cable."])
        tool(c, dk, "fieldops.book_visit", {"account_no": p["account_no"], "slot_start": (c.ts + timedelta(days=2)).strftime("%Y-%m-%dT08:00:00Z"), "window_hours": 5, "type": "line_fault"},
             out={"booking_ref": "FO-%06d" % rng.randint(0, 999999), "status": "confirmed"})
        return "Thanks for trying all of that already. The line test shows a fault, so I've booked an engineer for %s. You'll get a text the day before." % day_name(c.ts + timedelta(days=2))
    if c.mode == "wrong_kb_article_ranked":
        keys = ["tv_box", "landline_vm", "hub_lights", "area_outage"]
        docs = [kb_doc(rng, k, s) for k, s in zip(keys, desc_scores(rng, len(keys)))]
        c.tb.add("retriever", "kb.search", dk, inp={"query": "no internet %s" % p["postcode"], "top_k": 4},
                 out={"documents": docs}, lat=rng.randint(60, 600), agent=c.desk)
        c.label_step = c.tb.steps[-1]["id"]; c.label_agent = c.desk
        return rng.choice(["To get things working, connect your TV box to the hub with the Ethernet cable and follow the on-screen steps.",
                           "You can check your voicemail by dialling 1571. If you have other issues with the service, let me know."])
    if not area_fault and rng.random() < 0.4:
        tool(c, dk, "line.run_diagnostics", {"account_no": p["account_no"]}, out={"sync": False, "fault": None,
                                                                                    "last_sync": iso(c.ts - timedelta(hours=rng.randint(1, 9)))})
        kb_search(c, dk, "no internet hub", ["hub_restart", "hub_lights", "area_outage"])
        return rng.choice([
            "There's no fault in your area. Your hub isn't connecting at the moment, so let's start with a restart: switch it off at the wall, wait 30 seconds, switch back on and give it up to 10 minutes. If it still doesn't connect, let me know and I'll run a full line test.",
            "No outage showing for %s. Please switch the hub off at the wall for 30 seconds and back on, and check the grey cable is firmly in the master socket. If that doesn't fix it, reply here and I'll book an engineer." % p["postcode"]])
    kb_search(c, dk, "no internet outage", ["area_outage", "hub_lights", "outage_comp"])
    if area_fault:
        return "There's a known issue in %s (ref %s) that our engineers are working on; the current estimate is %s today. No need to book an engineer - it should come back on its own." % (
            p["postcode"].split()[0], inc["id"], inc["eta"])
    tool(c, dk, "line.run_diagnostics", {"account_no": p["account_no"]}, out={"sync": True, "downstream_mbps": rng.randint(30, 120)})
    return "There's no outage in your area and your line is connected at our end. A flashing orange light means the hub is still trying to connect - please check the grey cable is firmly in the master socket and restart the hub."


def sc_slow(c):
    rng, p, dk = c.rng, c.p, c.dk
    if c.keyfact and c.keyfact["kind"] == "troubleshooting":
        return sc_outage(c)
    tool(c, dk, "line.run_diagnostics", {"account_no": p["account_no"], "tests": ["sync", "noise", "wifi"]},
         out={"sync": True, "downstream_mbps": getattr(c, "speed", 10) + rng.randint(10, 50), "noise_margin_db": round(rng.uniform(3, 9), 1),
              "wifi_clients": rng.randint(3, 14)})
    if c.mode == "wrong_kb_article_ranked":
        keys = ["hotspot", "mobile_data_abroad", "slow_evening", "wifi_interference"]
        docs = [kb_doc(rng, k, s) for k, s in zip(keys, desc_scores(rng, len(keys)))]
        c.tb.add("retriever", "kb.search", dk, inp={"query": "slow broadband speed evenings", "top_k": 4},
                 out={"documents": docs}, lat=rng.randint(60, 600), agent=c.desk)
        c.label_step = c.tb.steps[-1]["id"]; c.label_agent = c.desk
        return rng.choice(["If you need a quicker connection in the meantime, you can use your phone as a personal hotspot - it's included on all plans and uses your data allowance.",
                           "Make sure data roaming is switched on and restart your phone; you can also try selecting a network manually."])
    kb_search(c, dk, "slow broadband speed evenings", ["slow_evening", "wifi_interference", "hub_restart"])
    return "Your line is syncing fine, so the drop is most likely Wi-Fi related at busy times. Try moving the hub into the open and use the 5GHz network for nearby devices. If the wired speed stays below the guaranteed minimum for three days, let me know and I'll book an engineer."


def sc_visit(c):
    rng, p, dk = c.rng, c.p, c.dk
    if c.commit:
        d, slot, ref = c.visit
        if c.mode == "contradicts_prior_turn":
            if rng.random() < 0.4:
                kb_search(c, dk, "engineer visit", ["engineer_visits", "hub_lights", "area_outage"])
            return rng.choice([
                "Happy to help - would you like me to book an engineer visit? The next available slot is %s, 8am-1pm." % day_name(d + timedelta(days=4)),
                "To get an engineer out I'll need to book a visit first. Which days are best for you next week?",
                "I can arrange an engineer for you. Before I do, have you tried restarting the hub and checking the cables?",
                "You don't currently have an engineer booked. I can look at availability for next week if you'd like."])
        tool(c, dk, "fieldops.list_bookings", {"account_no": p["account_no"]},
             out={"bookings": [{"ref": ref, "date": d.strftime("%Y-%m-%d"), "window": slot, "status": "confirmed"}]})
        return "Yes, your engineer is booked for %s, %s (ref %s). They'll text you when they're on the way." % (day_name(d), slot, ref)
    cur = c.ts + timedelta(days=rng.randint(1, 4))
    if rng.random() < 0.3:
        kb_search(c, dk, "rearrange engineer visit", ["engineer_visits", "hub_lights", "area_outage"])
    tool(c, dk, "fieldops.list_bookings", {"account_no": p["account_no"]},
         out={"bookings": [{"ref": "FO-%06d" % rng.randint(0, 999999), "date": cur.strftime("%Y-%m-%d"), "window": "8am-1pm", "status": "confirmed"}]})
    new = c.ts + timedelta(days=rng.randint(5, 10))
    if c.keyfact and c.keyfact["kind"] == "preference":
        pk = c.keyfact["pref"]
        if c.mode == "history_trimmed_key_fact":
            if pk == "days":
                while new.weekday() not in (0, 1):
                    new += timedelta(days=1)
            tool(c, dk, "fieldops.book_visit", {"account_no": p["account_no"], "slot_start": new.strftime("%Y-%m-%dT08:00:00Z"), "window_hours": 5},
                 out={"booking_ref": "FO-%06d" % rng.randint(0, 999999), "status": "confirmed"})
            if pk == "deaf":
                return rng.choice(["I've moved your visit to %s, 8am-1pm. The engineer will phone you 30 minutes before arriving." % day_name(new),
                                   "Done - your new appointment is %s between 8am and 1pm, and we'll call you the morning before to confirm." % day_name(new)])
            return rng.choice(["I've moved your visit to %s, 8am-1pm. You'll get a confirmation text shortly." % day_name(new),
                               "Done - the earliest slot was %s, 8am-1pm, so I've booked that for you." % day_name(new)])
        while new.weekday() in (0, 1, 6):
            new += timedelta(days=1)
        tool(c, dk, "fieldops.book_visit", {"account_no": p["account_no"], "slot_start": new.strftime("%Y-%m-%dT12:00:00Z"), "window_hours": 6,
                                            "notes": "contact by text/email only" if pk == "deaf" else "customer constraints: " + c.keyfact["text"][:60]},
             out={"booking_ref": "FO-%06d" % rng.randint(0, 999999), "status": "confirmed"})
        if pk == "deaf":
            return "I've moved your visit to %s, 12pm-6pm, and noted on the job that the engineer should contact you by text only." % day_name(new)
        return "I've moved your visit to %s, 12pm-6pm, which fits around what you told me earlier. You'll get a confirmation text." % day_name(new)
    if c.mode == "malformed_tool_call":
        variant = rng.choice(["uk_date", "missing_tz", "slot_label"])
        if variant == "uk_date":
            bad = new.strftime("%d/%m/%Y 08:00"); err = "ValidationError: slot_start '%s' is not a valid ISO-8601 datetime" % bad
        elif variant == "missing_tz":
            bad = new.strftime("%Y-%m-%d"); err = "400 Bad Request: slot_start requires date-time with timezone, got date"
        else:
            bad = "%s AM" % new.strftime("%A"); err = "ValueError: could not parse slot_start='%s'" % bad
        sid = tool(c, dk, "fieldops.book_visit", {"account_no": p["account_no"], "slot_start": bad, "window_hours": 5},
                   error=err, meta={"args_schema": {"slot_start": "string", "window_hours": "integer"}} if rng.random() < 0.5 else None)
        c.label_step = sid; c.label_agent = c.desk
        return rng.choice(["I've requested the change to %s morning - you'll get a confirmation text shortly." % day_name(new),
                           "Sorry, I wasn't able to move your appointment just now. Please keep the existing slot or try again later.",
                           "I tried to rebook you for %s but the booking system didn't go through. Your original appointment is still in place for now." % day_name(new)])
    if c.mode is None and rng.random() < 0.08:
        tool(c, dk, "fieldops.book_visit", {"account_no": p["account_no"], "slot_start": new.strftime("%d/%m/%Y 08:00"), "window_hours": 5},
             error="ValidationError: slot_start '%s' is not a valid ISO-8601 datetime" % new.strftime("%d/%m/%Y 08:00"))
    tool(c, dk, "fieldops.book_visit", {"account_no": p["account_no"], "slot_start": new.strftime("%Y-%m-%dT08:00:00Z"), "window_hours": 5},
         out={"booking_ref": "FO-%06d" % rng.randint(0, 999999), "status": "confirmed"})
    return "No problem - I've moved your engineer visit to %s, 8am-1pm. You'll get a confirmation text and the engineer will message when they're on the way." % day_name(new)


def sc_contact(c):
    rng, p, dk = c.rng, c.p, c.dk
    if c.cu in ("email", "contact_number"):
        tool(c, dk, "identity.verify", {"account_no": p["account_no"], "method": rng.choice(["otp_sms", "security_questions"])},
             out={"verified": True, "level": "L1"})
    field = {"email": "contact_email", "marketing": "marketing_opt_in", "paperless": "bill_format",
             "contact_number": "contact_phone"}[c.cu]
    val = {"email": "updated", "marketing": False, "paperless": "online", "contact_number": "updated"}[c.cu]
    tool(c, dk, "crm.update_contact", {"account_no": p["account_no"], "field": field, "value": val},
         out={"status": "ok", "field": field})
    return {"email": "Done - your contact e-mail has been updated. You'll get a confirmation at the new address.",
            "marketing": "All done - I've opted you out of marketing messages. It can take up to 48 hours for any already-scheduled messages to stop.",
            "paperless": "You're now on paperless billing, so the paper bill charge won't apply from your next bill. Bills will be in the app and by e-mail.",
            "contact_number": "Thanks - I've updated your contact number on the account."}[c.cu]


SCEN_FN = {"contact_update": sc_contact, "bill_higher": sc_bill_higher, "refund_request": sc_refund, "roaming_charge": sc_roaming,
           "plan_change": sc_plan_change, "cancellation": sc_cancellation, "moving_house": sc_moving,
           "sim_swap": sc_sim, "outage_report": sc_outage, "slow_speed": sc_slow,
           "visit_reschedule": sc_visit}


def desk_unsupported(c):
    rng, dk = c.rng, c.dk
    acct = crm_account(c)
    tool(c, dk, "crm.get_account", {"account_no": c.p["account_no"], "fields": ["profile", "products"]}, out=acct)
    what = {"pac": "a PAC code", "stac": "a STAC code", "dd_change": "changing your Direct Debit bank details",
            "esim_reissue": "reissuing an eSIM QR code", "ownership": "transferring account ownership",
            "unlock": "a network unlock code"}[c.unsup]
    c.plan_out["notes"] = rng.choice(["No available tool supports %s." % what,
                                      "Request (%s) not covered by desk tools; advise customer." % what,
                                      "Cannot action: no matching tool in manifest.",
                                      "Look up account then answer.", "Check account and KB.", ""])
    c.plan_out["actions"] = ["crm.get_account"]
    c.label_step = c.plan_id; c.label_agent = c.desk
    if rng.random() < 0.4:
        kb_search(c, dk, what, rng.sample(["direct_debit", "esim_setup", "sim_replace", "opening_hours", "complaints"], 3))
    return rng.choice([
        "I'm sorry, I'm not able to help with %s here. Please call our team on 0800 000 0150 (8am-8pm Mon-Sat) and they'll sort it for you." % what,
        "Unfortunately %s isn't something I can do in chat. You'll need to contact our phone team." % what,
        "I can't process %s from here, I'm afraid. You can ring us and a colleague will help." % what,
        "Thanks for your message. Requests for %s need to be handled by another team - please give us a call." % what])


# ----------------------------- QA evaluator -------------------------------------------
QA_OK_COMMENTS = ["Clear, empathetic, resolves the query.", "Accurate and polite; policy followed.",
                  "Good tone. Could summarise next steps more clearly.", "Correct information, concise.",
                  "Adequate. Slightly formulaic opening.", "Friendly and accurate.",
                  "Meets policy. Minor: no confirmation question at end."]
QA_MEH_COMMENTS = ["Acceptable but a bit curt.", "Correct but could show more empathy.",
                   "Answer is fine; wording is robotic.", "OK. Long-winded explanation of charges.",
                   "Resolves issue; did not restate reference number."]


def qa_eval(c, reply):
    rng, tb = c.rng, c.tb
    if c.mode != "qa_judge_misfire" and rng.random() < 0.13:
        return None
    m = c.mode
    tone = rng.uniform(0.78, 0.97)
    pol = rng.uniform(0.8, 0.98)
    comment = rng.choice(QA_OK_COMMENTS)
    flagged = False
    if m is None and rng.random() < 0.12:
        tone, pol = rng.uniform(0.55, 0.7), rng.uniform(0.6, 0.75)
        comment = rng.choice(QA_MEH_COMMENTS)
        if rng.random() < 0.15:
            pol = rng.uniform(0.42, 0.5)
            comment = rng.choice(["Did not restate the case reference; minor.", "No closing check-in question.",
                                  "Missed chance to mention paperless billing.", "Slightly informal register for e-mail."])
    elif m in ("crm_timeout_exhausted", "unsupported_request"):
        tone, pol = rng.uniform(0.7, 0.9), rng.uniform(0.6, 0.85)
        comment = rng.choice(["Polite apology; no resolution possible.", "Tone fine; customer left without resolution.",
                              "Empathetic, but no next step offered beyond contacting again."])
    elif m == "missed_mandatory_handoff":
        # QA sometimes catches it, mostly not
        if rng.random() < 0.3:
            pol = rng.uniform(0.3, 0.55)
            comment = rng.choice(["Customer signalled %s; no referral made." % c.trigger[0],
                                  "Possible missed escalation.", "Check vulnerability handling."])
    elif m == "qa_judge_misfire":
        tone = rng.uniform(0.15, 0.5) if rng.random() < 0.4 else rng.uniform(0.7, 0.9)
        pol = rng.uniform(0.05, 0.35)
        flagged = True
        comment = misfire_rationale(c)
    elif m is not None:
        # other failures mostly not caught by QA
        if rng.random() < 0.25:
            pol = rng.uniform(0.5, 0.7); comment = rng.choice(QA_MEH_COMMENTS)
    out = {"tone": round(tone, 2), "policy_compliance": round(pol, 2), "rationale": comment}
    if flagged or pol < 0.5:
        out["flag"] = "needs_review"
    sid = tb.add("evaluator", "qa.tone_policy", c.root, inp={"reply": reply[:300], "rubric": "qa-rubric-2026.10"},
                 out=out, lat=rng.randint(600, 2600), model=MODEL_QA,
                 usage={"prompt_tokens": rng.randint(900, 2400), "completion_tokens": rng.randint(60, 180)},
                 agent="qa_auditor")
    if m == "qa_judge_misfire":
        c.label_step = sid
        c.label_agent = "qa_auditor"
    if c.ver.startswith("3.8"):
        return {"qa_tone": round(tone, 2), "qa_policy": round(pol, 2)}
    return [{"name": "qa.tone", "value": round(tone, 2), "source": "qa-model"},
            {"name": "qa.policy_compliance", "value": round(pol, 2), "source": "qa-model", "comment": comment}]


def misfire_rationale(c):
    rng = c.rng
    names = [s["name"] for s in c.tb.steps]
    opts = ["Agent disclosed account details without verifying the customer's identity.",
            "Agent did not offer a referral to a human advisor as required.",
            "Response makes commitments outside agent authority.",
            "Reply does not address the customer's question.",
            "Tone dismissive; no apology given for the inconvenience.",
            "Agent quoted a price without checking the current catalogue."]
    if "billing.apply_credit" in names:
        opts.append("Agent issued a credit above the £50 single-credit limit.")
        opts.append("Credit applied without documented reason code.")
    if c.channel == "email":
        opts.append("Response not in the customer's language.")
    return rng.choice(opts)


# ----------------------------- feedback -----------------------------------------------
NEG_COMMENTS = {
    "missed_mandatory_handoff": ["I asked for a complaint to be logged and you just ignored it.",
                                 "Didn't listen to a word I said. I want a person.",
                                 "Not once did anyone acknowledge what I told you about my situation.",
                                 "asked for a manager, got a bot reply", ""],
    "crm_timeout_exhausted": ["Your system is always down.", "Useless, couldn't even find my account.",
                              "waited ages for 'try again later'", "", "So I have to come back AGAIN?"],
    "contradicts_prior_turn": ["You told me the opposite yesterday!", "Your colleague promised me this. Now it's gone?",
                               "Which is it? You keep changing your story.", "That's not what you said before", ""],
    "history_trimmed_key_fact": ["I ALREADY told you that. Read the chat.", "Going round in circles.",
                                 "Asked me the same thing again", "I've done all that already!!", ""],
    "outdated_kb_policy": ["That's not what your website says.", "Got a completely different figure on the phone.",
                           "The price you gave me was wrong.", ""],
    "skipped_account_lookup": ["Generic answer, didn't look at MY bill.", "Copy-paste reply, not helpful.",
                               "You didn't even check my account", ""],
    "wrong_kb_article_ranked": ["What has that got to do with my question?", "Irrelevant answer.",
                                "I didn't ask about that", ""],
    "malformed_tool_call": ["So is the refund happening or not?", "Still no credit on my account.",
                            "Couldn't do the one thing I asked.", ""],
    "unsupported_request": ["So I have to phone anyway? Pointless.", "Why can't the chat do this?",
                            "Waste of time, just give me the code.", ""],
    "proration_miscalculated": ["The refund amount doesn't add up.", "Pretty sure that's not the right amount.", ""],
}
HANDOFF_NEG = {
    "complaint": ["I asked for a complaint to be logged and you just ignored it.", "Still no complaint reference.",
                  "I said COMPLAINT. Is anyone reading these?"],
    "ombudsman": ["Fine, see you at the ombudsman.", "Ignored what I said completely.", "No escalation, nothing."],
    "bereavement": ["I told you he died and got a standard reply back.", "Very insensitive response.",
                    "No acknowledgement at all of what I said."],
    "vulnerability": ["Did you even read what I wrote about my situation?", "I explained my circumstances and got a script.",
                      "Nobody seems to care that this is urgent for us."],
    "manager": ["asked for a manager, got a bot reply", "I want a human!", "Still talking to a bot."],
}
TRIM_NEG = {
    "troubleshooting": ["I ALREADY told you that. Read the chat.", "I've done all that already!!",
                        "Restart the hub?? I said at the start I'd done it."],
    "new_address": ["I gave you the address ages ago!", "Asked me the same thing again"],
    "invoice": ["I told you which invoice at the very start.", "Asked me the same thing again"],
    "deaf": ["I said I can't take phone calls.", "Did you not read what I said about calls?"],
    "nights": ["I told you mornings are impossible.", "Booked a morning slot after I said no mornings..."],
    "days": ["I said no Mondays or Tuesdays!", "Did you not read what I told you earlier?"],
}
POS_COMMENTS = ["Quick and easy, thanks!", "Sorted, cheers", "Very helpful", "", "", "Thanks, that explains it",
                "Great service", "Better than waiting on the phone"]
UNRELATED_NEG = ["Prices are too high in general.", "I just don't like chatbots.", "Your phone queue yesterday was 40 minutes.",
                 "Still annoyed about the price rise in April.", "The app keeps logging me out.",
                 "Shouldn't need to contact you at all.", "Thumbs down for the survey popups."]
REVIEW_CORRECT = {
    "missed_mandatory_handoff": "Customer disclosed %s - should have been referred via handoff per policy CX-17.",
    "crm_timeout_exhausted": "Infra issue - CRM unavailable, no resolution.",
    "contradicts_prior_turn": "Reply contradicts what we told the customer earlier in the case.",
    "history_trimmed_key_fact": "Customer had already provided this earlier in the conversation.",
    "outdated_kb_policy": "Quoted figures are from superseded terms.",
    "skipped_account_lookup": "Should have checked the account before answering.",
    "wrong_kb_article_ranked": "Answer based on unrelated article.",
    "malformed_tool_call": "Action failed, customer not resolved.",
    "qa_judge_misfire": "QA flag is incorrect - turn handled correctly. Overriding.",
    "unsupported_request": "Customer had to be sent to phone channel.",
    "proration_miscalculated": "Credit amount calculated incorrectly - needs adjustment.",
}


def feedback(c, tr, healthy_neg):
    rng = c.rng
    m = c.mode
    fb = []
    t0 = datetime.fromisoformat(tr["timestamp"].replace("Z", "+00:00"))

    def ts(mins):
        return iso(t0 + timedelta(minutes=mins))

    if m is None:
        if healthy_neg:
            if rng.random() < 0.5:
                fb.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": ts(rng.randint(1, 30)),
                           "comment": rng.choice(UNRELATED_NEG)})
            else:
                fb.append({"kind": "rating", "value": rng.choice([1, 2]), "scale": 5, "source": "user",
                           "timestamp": ts(rng.randint(5, 600)), "comment": rng.choice(UNRELATED_NEG)})
        else:
            r = rng.random()
            if r < 0.28:
                fb.append({"kind": "rating", "value": rng.choices([5, 4, 3], [60, 30, 10])[0], "scale": 5,
                           "source": "user", "timestamp": ts(rng.randint(5, 900)),
                           "comment": rng.choice(POS_COMMENTS)})
            elif r < 0.38:
                fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": ts(rng.randint(1, 20))})
        if rng.random() < 0.03:
            fb.append({"kind": "comment", "value": None, "source": "reviewer",
                       "comment": rng.choice(["Fine.", "Good handling.", "OK - minor tone point.", "No issues."]),
                       "timestamp": ts(rng.randint(1440, 4000))})
    else:
        pf = MODES[m][4]
        if rng.random() < pf:
            if m == "qa_judge_misfire":
                if rng.random() < 0.7:
                    fb.append({"kind": "rating", "value": rng.choice([4, 5, 5]), "scale": 5, "source": "user",
                               "timestamp": ts(rng.randint(5, 600)), "comment": rng.choice(POS_COMMENTS)})
                else:
                    fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": ts(rng.randint(1, 30))})
                if rng.random() < 0.35:
                    fb.append({"kind": "correction", "value": None, "source": "reviewer",
                               "comment": REVIEW_CORRECT[m], "timestamp": ts(rng.randint(1440, 5000))})
            else:
                r = rng.random()
                pool = NEG_COMMENTS[m]
                if m == "missed_mandatory_handoff":
                    pool = HANDOFF_NEG[c.trigger[0]] + ["Didn't listen to a word I said.", ""]
                elif m == "history_trimmed_key_fact":
                    pool = TRIM_NEG[c.keyfact.get("pref", c.keyfact["kind"])] + ["Going round in circles.", ""]
                if r < 0.45:
                    fb.append({"kind": "rating", "value": rng.choices([1, 2, 3], [55, 35, 10])[0], "scale": 5,
                               "source": "user", "timestamp": ts(rng.randint(5, 900)),
                               "comment": rng.choice(pool)})
                elif r < 0.75:
                    fb.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": ts(rng.randint(1, 30)),
                               **({"comment": x} if (x := rng.choice(pool)) else {})})
                else:
                    fb.append({"kind": "implicit", "value": None, "source": "system",
                               "timestamp": ts(rng.randint(20, 2000)),
                               "comment": rng.choice(["case reopened by customer", "customer called 0800 line within 24h (IVR match)",
                                                      "customer escalated via complaints form", "repeat contact within 48h"])})
                if m == "proration_miscalculated" and rng.random() < 0.2:
                    fb[-1:] = [{"kind": "rating", "value": rng.choice([4, 5]), "scale": 5, "source": "user",
                                "timestamp": ts(rng.randint(5, 300)), "comment": "Thanks for the refund"}]
                if rng.random() < 0.2:
                    txt = REVIEW_CORRECT[m]
                    if "%s" in txt:
                        txt = txt % c.trigger[0]
                    fb.append({"kind": "correction", "value": None, "source": "reviewer", "comment": txt,
                               "timestamp": ts(rng.randint(1440, 5000))})
    for f in fb:
        if "comment" in f and not f["comment"]:
            del f["comment"]
    return fb


# ----------------------------- main --------------------------------------------------
def allocate(n, rng):
    counts = {m: int(round(n * v[3])) for m, v in MODES.items()}
    slots = []
    for m, k in counts.items():
        slots += [m] * k
    slots += [None] * (n - len(slots))
    rng.shuffle(slots)
    return slots


def generate(n, seed):
    rng = random.Random(seed)
    slots = allocate(n, rng)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    n_users = max(50, int(n * 0.55))
    personas = {}
    traces, labels = [], {}
    sess_pool = []  # (session_id, persona, first_ts, scen)
    sess_turns = {}  # session_id -> stored transcript
    sess_channel = {}
    sess_last_scen = {}
    healthy_idx = [i for i, m in enumerate(slots) if m is None]
    neg_noise = set(rng.sample(healthy_idx, max(1, int(round(len(healthy_idx) * 0.022)))))
    # timestamps: a week, daytime heavy
    stamps = []
    for _ in range(n):
        while True:
            t = start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1), milliseconds=rng.randint(0, 999))
            h = t.hour
            w = 0.15 if h < 7 else (1.0 if h < 21 else 0.45)
            if rng.random() < w:
                break
        stamps.append(t)
    stamps.sort()
    ids = set()
    for i in range(n):
        mode = slots[i]
        ts = stamps[i]
        # session reuse (~25% of traces continue an existing session of the same user)
        reuse = None
        if sess_pool and rng.random() < 0.25 and mode not in ("contradicts_prior_turn", "history_trimmed_key_fact"):
            cand = [x for x in sess_pool[-40:] if x[0] in sess_turns and ts - x[2] < timedelta(days=3)]
            reuse = rng.choice(cand) if cand else None
        scen_choices = MODE_SCENARIOS[mode] if mode else list(SCEN_WEIGHTS)

        def draw():
            if mode is None:
                return rng.choices(list(SCEN_WEIGHTS), [SCEN_WEIGHTS[x] for x in SCEN_WEIGHTS])[0]
            return rng.choice(scen_choices)
        scen = draw()
        base_turns = None
        if reuse is not None:
            sid = reuse[0]
            last = sess_last_scen[sid]
            tries = 0
            while scen == last and tries < 6:
                scen = draw()
                tries += 1
            if scen != last and len(sess_turns[sid]) <= 34:
                base_turns = sess_turns[sid]
                p = personas[reuse[1]["user_id"]]
            else:
                reuse = None
        if reuse is None:
            uid = "cus_%06d" % rng.randint(0, n_users * 7)
            p = personas.get(uid) or make_persona(rng, uid)
            personas[uid] = p
            sid = "case-%s-%05d" % (ts.strftime("%m%d"), rng.randint(0, 99999))
            sess_pool.append((sid, p, ts, scen))
        sess_last_scen[sid] = scen
        # product compatibility
        prod = SCENARIOS.get(scen, ("", "", "any"))[2]
        if prod == "mobile" and not is_mobile(p):
            p = dict(p); p["product"] = "bundle"; p["mobile_plan"], p["mobile_monthly"] = rng.choice(MOB_PLANS)
            p["account_no"] = "BX" + p["account_no"][2:]
            personas[p["user_id"]] = p
        if prod == "broadband" and not is_bb(p):
            p = dict(p); p["product"] = "bundle"; p["mobile_plan"], p["mobile_monthly"] = p["plan"], p["monthly"]
            p["plan"], p["monthly"] = rng.choice(BB_PLANS)
            p["account_no"] = "BX" + p["account_no"][2:]
            personas[p["user_id"]] = p
        p = dict(p)
        ver = "3.8.4" if ts < datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc) else "3.9.1"
        channel = sess_channel.get(sid) if base_turns is not None else None
        channel = channel or rng.choices(CHANNELS, [45, 27, 28])[0]
        sess_channel[sid] = channel
        tr, c = make_turn(rng, i, mode, scen, p, ts, sid, base_turns, ver, channel)
        reply_txt = tr["output"].get("reply") or tr["output"].get("body")
        sess_turns[sid] = c.turns + [{"role": "customer", "text": c.msg, "at": ts},
                                     {"role": "relay", "text": reply_txt.split("\n\n")[1] if "\n\n" in reply_txt else reply_txt,
                                      "at": ts + timedelta(milliseconds=tr["latency_ms"])}]
        while tr["trace_id"] in ids:
            tr["trace_id"] += "x"
        ids.add(tr["trace_id"])
        fb = feedback(c, tr, i in neg_noise)
        if fb:
            tr["feedback"] = fb
        traces.append(tr)
        if mode:
            rc, fx, sev, _, _ = MODES[mode]
            if c.label_step is None:
                raise RuntimeError("no failing step for %s / %s" % (mode, scen))
            labels[tr["trace_id"]] = {"failure_mode": mode, "root_cause": rc, "failing_step": c.label_step,
                                      "agent": c.label_agent, "fixable": fx, "severity": sev}
    return traces, labels


STEP_TYPES = {"llm", "tool", "retriever", "reranker", "embedding", "chain", "agent", "router",
              "guardrail", "evaluator", "other"}
ROOT_CAUSES = {"prompt_instruction", "routing_decision", "retrieval_ranking", "context_construction",
               "tool_arguments", "missing_capability", "model_limitation", "memory_multiturn",
               "data_freshness", "latency_infra", "evaluation_scorer"}


def _iso_ok(x):
    return isinstance(x, str) and x.endswith("Z") and datetime.fromisoformat(x.replace("Z", "+00:00")).tzinfo


def validate(traces, labels):
    """Plain checks against TRACE_SCHEMA.md; raises AssertionError on the first problem."""
    ids = set()
    for t in traces:
        json.loads(json.dumps(t))
        assert isinstance(t["trace_id"], str) and t["trace_id"] not in ids, t["trace_id"]
        ids.add(t["trace_id"])
        assert isinstance(t["input"], (str, dict, list))
        assert "output" not in t or isinstance(t["output"], (str, dict, list))
        assert _iso_ok(t["timestamp"])
        assert t["latency_ms"] >= 0 and t.get("cost_usd", 0) >= 0
        sids = set()
        for st in t["steps"]:
            assert isinstance(st["id"], str) and st["id"] not in sids
            assert st["parent_id"] is None or st["parent_id"] in sids
            sids.add(st["id"])
            assert st["type"] in STEP_TYPES, st["type"]
            assert isinstance(st["name"], str)
            assert st["error"] is None or isinstance(st["error"], str)
            assert _iso_ok(st["start_time"]) and st["latency_ms"] >= 0
            if "usage" in st:
                assert all(isinstance(v, int) for v in st["usage"].values())
        for f in t.get("feedback", []):
            assert f["kind"] in ("thumb", "rating", "comment", "correction", "implicit")
            assert f["source"] in ("user", "reviewer", "system")
            assert f["value"] is None or isinstance(f["value"], (int, float))
            if f["kind"] == "rating":
                assert f["scale"] > 0 and 0 <= f["value"] <= f["scale"]
        sc = t.get("scores")
        if isinstance(sc, list):
            assert all(isinstance(x["name"], str) and isinstance(x["value"], (int, float)) for x in sc)
        elif sc is not None:
            assert isinstance(sc, dict) and all(isinstance(v, (int, float)) for v in sc.values())
    byid = {t["trace_id"]: t for t in traces}
    for tid, l in labels.items():
        assert tid in byid, tid
        assert l["failure_mode"] in MODES and l["root_cause"] in ROOT_CAUSES
        assert l["root_cause"] == MODES[l["failure_mode"]][0]
        assert l["failing_step"] in {st["id"] for st in byid[tid]["steps"]}, (tid, l)
        assert l["agent"] is None or isinstance(l["agent"], str)
        assert isinstance(l["fixable"], bool) and l["severity"] in ("S1", "S2", "S3", "S4")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out")
    a = ap.parse_args()
    traces, labels = generate(a.n, a.seed)
    validate(traces, labels)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "traces.jsonl"), "w") as f:
        for t in traces:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1, ensure_ascii=False)
    # summary
    cnt = Counter(l["failure_mode"] for l in labels.values())
    byid = {t["trace_id"]: t for t in traces}
    nofb = Counter(l["failure_mode"] for tid, l in labels.items() if not byid[tid].get("feedback"))
    print("traces: %d  failing: %d (%.1f%%)  healthy: %d" % (len(traces), len(labels), 100 * len(labels) / len(traces),
                                                              len(traces) - len(labels)))
    print("%-28s %-22s %5s %7s" % ("mode", "root_cause", "n", "no_fb"))
    for m in MODES:
        print("%-28s %-22s %5d %7d" % (m, MODES[m][0], cnt[m], nofb[m]))
    tot_nofb = sum(nofb.values())
    print("failing without any feedback: %d (%.0f%%)" % (tot_nofb, 100 * tot_nofb / max(1, len(labels))))
    hneg = sum(1 for t in traces if t["trace_id"] not in labels and any(
        (f["kind"] == "thumb" and f["value"] == 0) or (f["kind"] == "rating" and f["value"] <= 2) for f in t.get("feedback", [])))
    print("healthy with negative feedback (noise): %d" % hneg)
    print("healthy with a recovered step error: %d" % sum(
        1 for t in traces if t["trace_id"] not in labels and any(st["error"] for st in t["steps"])))
    print("sessions: %d, users: %d, span: %s .. %s" % (
        len({t["session_id"] for t in traces}), len({t["user_id"] for t in traces}),
        min(t["timestamp"] for t in traces), max(t["timestamp"] for t in traces)))
    print("validation: OK (every line valid JSON, ids unique, labels resolve to traces and steps)")


if __name__ == "__main__":
    main()

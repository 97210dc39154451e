"""Turns a decision of the simulated model into a native trace."""
from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta, timezone

from .world import INTENT_TOOL, MODES, _in_incident

MODEL = "nw-care-llm-2.3"
SMALL = "nw-care-llm-2.3-mini"

FB = {  # mode -> (p explicit user feedback, comments)
    "wrong_source_answer": (0.55, ["I asked about MY street, not general tips", "useless, it didn't even check the network", "generic answer, didn't look at my area", "it just told me to restart my phone"]),
    "handoff_misroute": (0.6, ["I only wanted my PAC code, waited 35 minutes", "why do I need to talk to retention to get a code", "transferred for no reason", "kept in a queue for something the bot should do"]),
    "credit_promised": (0.12, ["where is the credit you promised?", "bot said I'd get a refund, nothing on my bill"]),
    "unverified_account_change": (0.1, ["I didn't ask for my plan to be changed yet", "it never asked who I was?"]),
    "msisdn_format_rejected": (0.5, ["it couldn't find my number", "said my number was invalid??", "couldn't check my data"]),
    "billing_period_unparsed": (0.45, ["that's not the bill I asked about", "it explained the wrong month", "couldn't get my bill"]),
    "backend_timeout": (0.5, ["it just said try again later", "system down again?", "nothing worked"]),
    "esim_transfer_unsupported": (0.65, ["I have to go to a shop for an eSIM?? seriously", "couldn't move my eSIM", "no help at all with the eSIM"]),
    "stale_roaming_tariff": (0.22, ["price was different when I got charged", "the daily rate you told me was wrong"]),
    "unlock_guide_wrong_device": (0.5, ["those steps are for an iPhone, I don't have one", "wrong phone instructions", "menus don't exist on my phone"]),
    "earlier_turn_ignored": (0.55, ["I already told you that", "asked me the same thing twice", "I gave you my details already!"]),
    "bill_delta_miscalculated": (0.3, ["the numbers don't add up", "that's not what my bill says"]),
    "tariff_judge_false_alarm": (0.0, []),
}
HEALTHY_DOWN = ["app keeps logging me out", "too many messages", "I prefer talking to a person", "slow to load", "the chat window is tiny on my phone", "annoying survey"]


def _rid(*parts) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=6).hexdigest()


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class _B:
    def __init__(self, start: datetime, rng: random.Random):
        self.steps, self.t, self.rng, self.n = [], start, rng, 0
        self.cost = 0.0

    def add(self, type_, name, inp, out, lat, error=None, parent=None, **kw):
        self.n += 1
        sid = f"s{self.n}"
        st = {"id": sid, "parent_id": parent, "type": type_, "name": name, "input": inp, "output": out,
              "error": error, "start_time": _iso(self.t), "latency_ms": round(lat, 1)}
        st.update({k: v for k, v in kw.items() if v is not None})
        if "cost_usd" in st:
            self.cost += st["cost_usd"]
        self.steps.append(st)
        self.t += timedelta(milliseconds=lat + self.rng.uniform(2, 25))
        return sid

    def llm(self, name, inp, out, ptoks, ctoks, model=MODEL, error=None, meta=None):
        lat = 250 + ctoks * self.rng.uniform(9, 16) + ptoks * 0.05
        cost = round(ptoks * 8e-7 + ctoks * 3.2e-6, 6)
        return self.add("llm", name, inp, out, lat, error=error, model=model,
                        usage={"prompt_tokens": ptoks, "completion_tokens": ctoks}, cost_usd=cost,
                        metadata=meta)


def build(inputs: dict, D: dict, cfg: dict) -> dict:
    L, mode, route = D["L"], D["mode"], D["route"]
    seed, rep = D["seed"], D["rep"]
    rng = random.Random(int(_rid("trace", seed, rep), 16))
    s = L["slots"]
    ts = inputs.get("timestamp") or "2026-11-02T09:00:00Z"
    try:
        start = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        start = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    b = _B(start, rng)
    intent, chan = L["intent"], L["channel"]
    hist = L["history"]
    htoks = sum(len(m["content"]) // 4 + 4 for m in hist)
    base_pt = 420 + int(cfg["prompt_words"] * 1.35) + htoks + 60 * min(len(cfg["fewshot"]), 6)
    fail_step = None
    acct = f"NW{int(_rid('acct', L['user']), 16) % 10**8:08d}"
    period = {"August": "2026-08", "September": "2026-09", "October": "2026-10"}.get(s["month"], "2026-10")

    if chan != "sms" and rng.random() < 0.8:
        b.add("guardrail", "pii_scrub", {"text": D["text"]}, {"redactions": rng.choice([0, 0, 0, 1]), "blocked": False}, rng.uniform(3, 12))
    if hist:
        b.add("chain", "load_conversation", {"session_turns": len(hist)},
              {"turns": len(hist), "verified": bool(L["verified"]) if L["verified"] is not None else None}, rng.uniform(4, 20))
    rout = {"route": route}
    rout.update(D["rinfo"])
    router_id = b.add("router", "intent_router", {"text": D["text"]}, rout, rng.uniform(8, 40),
                      metadata={"router_version": "rules+knn"})
    if mode in ("wrong_source_answer", "handoff_misroute"):
        fail_step = router_id
    out, price_answer = "", False
    ledger_items = None

    def tool_call(tool, args, ok_out, errs=None, final_err=None):
        """errs: list of error strings for failed attempts; final_err: if set the call never succeeds."""
        attempts = errs or []
        first = None
        for i, e in enumerate(attempts):
            sid = b.add("tool", tool, args, None, rng.uniform(2000, 8100) if "imeout" in e or "504" in e else rng.uniform(40, 400),
                        error=e, metadata={("attempt" if rng.random() < 0.5 else "retry_no"): i + 1})
            first = first or sid
        if final_err is None:
            b.add("tool", tool, args, ok_out, rng.uniform(60, 900), metadata={"attempt": len(attempts) + 1} if attempts else None)
        return first

    def retrieve(query, docs):
        rid = b.add("retriever", "helpcentre_search", {"query": query, "top_k": 4}, {"documents": docs}, rng.uniform(60, 240),
                    metadata={"index": "helpcentre-2026-11"})
        rr = b.add("reranker", "doc_rerank", {"n": len(docs)}, {"order": [d["doc_id"] for d in docs]}, rng.uniform(20, 80))
        return rid, rr

    # ---------------------------------------------------------------- route bodies
    if route == "handoff":
        queue = "retention" if intent == "port_out" or D["rinfo"].get("matched_rule") == "retention" else rng.choice(["care", "billing", "tech"])
        b.add("tool", "handoff", {"queue": queue, "summary": D["text"][:80]},
              {"queue": queue, "position": rng.randint(1, 40), "est_wait_min": rng.randint(3, 45)}, rng.uniform(80, 300))
        out = rng.choice(["I'm passing you to one of our {q} team now — they'll pick this up shortly.",
                          "Let me transfer you to a colleague in {q}. Current wait is a few minutes.",
                          "I've put you through to our {q} specialists; please stay in the chat."]).format(q=queue)
    elif route == "clarify":
        if mode == "esim_transfer_unsupported":
            cid = b.llm("clarify_question", {"text": D["text"]}, None, base_pt, 40)
            fail_step = cid
            out = rng.choice(["Could you tell me a bit more about what you'd like to do with your SIM?",
                              "Do you mean a physical SIM or an eSIM? If it's an eSIM, moving it needs a visit to a Northwind store."])
        elif mode == "wrong_source_answer":
            b.llm("clarify_question", {"text": D["text"]}, None, base_pt, 35)
            out = rng.choice(["Could you tell me a bit more about the problem?", "Sorry, can you say more about what you need help with?"])
        elif mode == "earlier_turn_ignored":
            fail_step = b.llm("clarify_question", {"text": D["text"], "turns": len(hist)}, None, base_pt, 38)
            out = "Could you tell me which address / number / device you mean?"
        else:
            b.llm("clarify_question", {"text": D["text"]}, None, base_pt, 35)
            out = rng.choice(["Happy to help — is this about your bill, your data, your signal or your phone?",
                              "Sorry to hear that. Can you tell me a bit more — is it calls, data or something on your account?",
                              "Could you give me a little more detail about what isn't working?"])
    elif route not in ("search", "tool"):
        b.llm("direct_answer", {"text": D["text"]}, None, base_pt, 80)
        out = "Thanks for your message — here's some general information that may help: see northwind.co.uk/help."
    if route == "search":
        if intent == "roaming_prices":
            dest = s["dest"]
            fresh = {"doc_id": "hc-roam-2026", "title": "Roaming prices and zones", "updated": "2026-09-01", "score": round(rng.uniform(0.7, 0.85), 3)}
            old = {"doc_id": "hc-roam-wz-2025", "title": "World Zone roaming prices 2025", "updated": "2025-03-01", "score": round(rng.uniform(0.86, 0.93), 3)}
            docs = [old, fresh] if L["stale"] else [fresh, old]
            rid, _ = retrieve(D["text"], docs + [{"doc_id": "hc-fup", "title": "Fair use abroad", "updated": "2026-06-12", "score": 0.41}])
            price_answer = True
            if mode == "stale_roaming_tariff":
                fail_step = rid
                out = rng.choice([f"Using your phone in {dest} costs £5 a day with World Pass (per the 2025 price list) — your allowance works as at home.",
                                  f"For {dest} it's £5/day including VAT, or pay-as-you-go data at £4.50/MB.",
                                  f"{dest} is in World Zone 2: £5 per day for your UK allowance."])
            elif L["stale"]:
                out = f"{dest} is in World Zone 2: £7 a day (incl. VAT) for your UK allowance, from 1 September 2026."
            else:
                out = f"{dest} is covered by Roam Like Home: £2.50 a day incl. VAT, capped at 15 days a bill."
        elif intent == "device_unlock":
            dev = s["device"]
            right = {"doc_id": "hc-unlock-android", "title": "Unlocking an Android phone", "updated": "2026-05-20", "score": round(rng.uniform(0.6, 0.8), 3)}
            ios = {"doc_id": "hc-unlock-iphone", "title": "Unlocking your iPhone", "updated": "2026-07-02", "score": round(rng.uniform(0.81, 0.9), 3)}
            docs = [ios, right] if (L["rare"] or dev.startswith("iPhone")) else [right, ios]
            rid, rr = retrieve(D["text"], docs)
            if mode == "unlock_guide_wrong_device":
                fail_step = rr
                out = rng.choice([f"To unlock your {dev}: request an unlock in the app, then go to Settings > General > About and wait for 'No SIM restrictions'.",
                                  f"Your {dev} will unlock once you insert the new SIM and connect to iTunes/Finder; check Settings > General > About.",
                                  f"Unlocking is free. After you request it, open Settings > General > About on your {dev} and look for 'No SIM restrictions'."])
            else:
                out = f"Unlocking your {dev} is free: request it in the app under Device > Unlock; you'll get a code by SMS within 48 hours."
        elif mode == "esim_transfer_unsupported":
            rid, _ = retrieve(D["text"], [{"doc_id": "hc-esim", "title": "Setting up an eSIM", "updated": "2026-04-11", "score": 0.77}])
            fail_step = b.llm("compose_reply", {"docs": ["hc-esim"]}, None, base_pt + 300, 70)
            out = rng.choice(["Moving an eSIM to a new phone isn't something I can do here — please visit a Northwind store with photo ID.",
                              "eSIM transfers need to be done in store at the moment. You can book an appointment on our website."])
        elif mode == "wrong_source_answer":
            rid, _ = retrieve(D["text"], [{"doc_id": "hc-signal-tips", "title": "Improving signal at home", "updated": "2026-02-14", "score": 0.71},
                                          {"doc_id": "hc-wifi-calling", "title": "Wi-Fi Calling", "updated": "2026-06-30", "score": 0.58}])
            out = rng.choice(["Sorry about the signal. Try restarting your phone, toggling airplane mode, and turning on Wi-Fi Calling in settings.",
                              "Poor signal indoors is often caused by thick walls — Wi-Fi Calling can help. You can also check coverage on our website.",
                              "Here are some tips: restart your phone, check for software updates, and make sure 4G/5G is enabled. If it persists, let us know.",
                              "Network issues can be temporary. You can check the coverage checker at northwind.co.uk/coverage."])
        elif mode == "earlier_turn_ignored":
            rid, _ = retrieve(D["text"], [{"doc_id": "hc-unlock-android", "title": "Unlocking an Android phone", "updated": "2026-05-20", "score": 0.6},
                                          {"doc_id": "hc-unlock-iphone", "title": "Unlocking your iPhone", "updated": "2026-07-02", "score": 0.6}])
        else:
            topic = {"payment_help": ("hc-payments", "Paying your bill and Direct Debit"), "coverage_info": ("hc-wifi-calling", "Wi-Fi Calling and 5G"), "port_in": ("hc-port-in", "Bringing your number to Northwind")}.get(intent, ("hc-general", "Help centre"))
            retrieve(D["text"], [{"doc_id": topic[0], "title": topic[1], "updated": "2026-08-0" + str(rng.randint(1, 9)), "score": round(rng.uniform(0.7, 0.9), 3)}])
            if D.get("detour") is None:
                out = {"coverage_info": "You can switch on Wi-Fi Calling in Settings > Mobile Data; all Northwind plans include it and 5G where available.",
                       "payment_help": "You can update your card or Direct Debit and choose a payment date in the app under Account > Payments.",
                       "port_in": "Ask your current provider for a PAC (text PAC to 65075), then give it to us when you join — your number moves in 1 working day."}.get(intent, "Here's what I found in our help centre.")
            else:
                out = "Here's what I found in our help centre."
    # ---------------------------------------------------------------- tool route
    if route == "tool":
        tool = INTENT_TOOL.get(intent)
        if D.get("detour") or tool is None:
            tool = rng.choice(["network_status", "plan_catalogue"])
            b.llm("plan_tool_call", {"text": D["text"]}, {"tool": tool, "arguments": {"location": s["city"]} if tool == "network_status" else {"account_id": acct}}, base_pt, 45)
            b.add("tool", tool, {"location": s["city"]} if tool == "network_status" else {"account_id": acct}, {"status": "ok"}, rng.uniform(200, 1500))
            b.llm("compose_reply", {"text": D["text"]}, None, base_pt + 200, 90)
            if mode == "wrong_source_answer":
                out = rng.choice([f"I've checked the network around {s['city']} and everything is running normally.",
                                  "I've looked at your account: you're on your current plan with no changes pending.",
                                  "Your account looks fine and there are no faults on your line.",
                                  f"There are no outages reported near {s['city']} at the moment."])
            else:
              out = {"coverage_info": "Wi-Fi Calling is included on all plans; switch it on in your phone's settings. 5G is live in your area.",
                   "port_in": "You can keep your number: get a PAC from your current provider and enter it when you join.",
                   "device_unlock": f"Unlocking your {s['device']} is free: request it in the app under Device > Unlock.",
                   "roaming_prices": "Roaming prices depend on the zone; see northwind.co.uk/roaming for your destination.",
                   }.get(intent, "Could you tell me a bit more so I can help?")
        elif mode == "esim_transfer_unsupported":
            if rng.random() < 0.5:
                pid = b.llm("plan_tool_call", {"text": D["text"], "tools": sorted(cfg["tools"])}, {"tool": "sim_provisioning", "arguments": {"msisdn": "+44" + s["num"][-10:].replace(" ", ""), "action": "esim_transfer"}}, base_pt, 60)
                b.add("tool", "sim_provisioning", {"action": "esim_transfer"}, None, rng.uniform(40, 150),
                      error=rng.choice(["unsupported action 'esim_transfer' (allowed: pac_code, stac_code, sim_swap)", "400: action not supported", "ValidationError: action must be one of pac_code|stac_code|sim_swap"]))
            else:
                pid = b.llm("plan_tool_call", {"text": D["text"], "tools": sorted(cfg["tools"])}, {"tool": None, "reason": "no available tool can reissue an eSIM profile"}, base_pt, 50)
            fail_step = pid
            b.llm("compose_reply", {"text": D["text"]}, None, base_pt + 150, 70)
            out = rng.choice(["I'm sorry, I can't move an eSIM from here. Please pop into a Northwind store with photo ID and they'll set it up.",
                              "eSIM transfers aren't available in chat yet — you'll need to visit a store or call 150.",
                              "I've not been able to do that. For a new eSIM QR code please visit one of our stores."])
        elif D.get("verify_flow"):
            num = "+44" + s["num"][-10:].replace(" ", "").replace("-", "")
            b.llm("plan_tool_call", {"text": D["text"]}, {"tool": "verify_identity", "arguments": {"msisdn": num}}, base_pt, 40)
            b.add("tool", "verify_identity", {"msisdn": num}, {"otp_sent": True, "channel": "sms"}, rng.uniform(150, 600))
            out = rng.choice(["Before I make changes I need to check it's you — I've just texted you a 6-digit code, please type it here.",
                              "For security, please enter the one-time code we've sent to your phone and I'll carry on.",
                              "I've sent a verification code to your number. Once you enter it I can sort this out."])
        else:
            num_raw = s["num"]
            msisdn_ok = "+44" + num_raw.replace(" ", "").replace("-", "").lstrip("+").removeprefix("44").lstrip("0")
            if tool == "billing_ledger":
                args = {"account_id": acct, "period": period}
            elif tool == "usage_meter":
                args = {"msisdn": msisdn_ok, "window": "current"}
            elif tool == "network_status":
                args = {"location": s["pc"] if "pc" in D["text"] or rng.random() < 0.5 else f"{s['street']}, {s['city']}"}
            elif tool == "order_system":
                args = {"account_id": acct, "action": "change_plan", "plan_code": rng.choice(["ESS30", "UNLMAX", "SIMO15"])}
            else:
                args = {"msisdn": msisdn_ok, "action": "stac_code" if "STAC" in D["text"] else "pac_code"}
            if mode == "msisdn_format_rejected":
                args["msisdn"] = num_raw
            if mode == "billing_period_unparsed":
                args["period"] = rng.choice([s["month"], s["month"].lower(), "last month", f"{s['month']} bill", "this month"])
            pid = b.llm("plan_tool_call", {"text": D["text"], "history_turns": len(hist)}, {"tool": tool, "arguments": args}, base_pt, rng.randint(30, 60))
            if mode in ("msisdn_format_rejected", "billing_period_unparsed", "unverified_account_change"):
                fail_step = pid
            # outputs
            items = None
            if tool == "billing_ledger":
                n_items = max(L["items"], 2)
                amt = float(s["amt"])
                parts = [round(amt / n_items + rng.uniform(-1, 1), 2) for _ in range(n_items - 1)]
                parts.append(round(amt - sum(parts), 2))
                labels = ["Loyalty discount ended", "Out-of-bundle calls", "Roaming (" + s["dest_ok"] + ")", "Premium SMS (short code 8" + str(rng.randint(1000, 9999)) + ")", "Annual price rise (CPI+3.9%)", "Extra data add-on", "International calls"]
                rng.shuffle(labels)
                items = [{"desc": labels[i], "amount": parts[i]} for i in range(n_items)]
                ok = {"account_id": acct, "period": period, "total": round(s["base"] + amt, 2), "previous_total": s["base"], "items": items}
            elif tool == "usage_meter":
                ok = {"msisdn": args["msisdn"], "data_used_gb": round(rng.uniform(1, 28), 1), "allowance_gb": rng.choice([15, 30, 100]), "cycle_ends": "2026-11-" + str(rng.randint(10, 28))}
            elif tool == "network_status":
                deg = rng.random() < 0.6
                ok = {"location": args["location"], "status": "degraded" if deg else "normal", "incident": f"INC-{rng.randint(40000, 49999)}" if deg else None, "eta": "within 24h" if deg else None}
            elif tool == "order_system":
                ok = {"order_id": f"ORD-{rng.randint(10**6, 10**7)}", "status": "accepted", "effective": "next_cycle"}
            else:
                ok = {"code": f"PAC{rng.randint(100000, 999999)}", "valid_days": 30}
            errs, final = [], None
            if mode == "msisdn_format_rejected":
                final = rng.choice([f"INVALID_MSISDN: '{num_raw}' is not E.164", "422 Unprocessable Entity: msisdn must be in international format",
                                    f"subscriber lookup failed for msisdn={num_raw}", "ValueError: msisdn pattern ^\\+\\d{10,14}$ not matched"])
                errs = [final]
            elif mode == "billing_period_unparsed" and rng.random() < 0.6:
                final = rng.choice([f"400 Bad Request: period '{args['period']}' does not match expected format",
                                    f"ledger: could not parse billing period '{args['period']}'", "invalid period"])
                errs = [final]
            elif mode == "billing_period_unparsed":
                ok["period"] = "2026-11"
                ok["note"] = "period not recognised; returned open cycle"
                ok["items"] = [{"desc": "Plan charge (part month)", "amount": round(s["base"] * 0.3, 2)}]
            elif mode == "backend_timeout":
                gw = {"billing_ledger": "billing-ledger.int", "usage_meter": "usage-meter.int", "network_status": "netmap-gw", "order_system": "oms-api", "sim_provisioning": "simprov"}[tool]
                n = rng.choice([2, 3, 3])
                errs = [rng.choice([f"upstream timeout after 8000ms ({gw})", "504 Gateway Timeout", f"ReadTimeout: {gw}:8443", f"{gw}: deadline exceeded"]) for _ in range(n)]
                final = errs[-1]
            elif D["transient"]:
                errs = [rng.choice(["503 Service Unavailable", "connection reset by peer", "upstream timeout after 8000ms", "429 Too Many Requests"])]
            first_err = tool_call(tool, args, ok, errs, final)
            if mode == "backend_timeout":
                fail_step = first_err
            # compose
            cid = b.llm("compose_reply", {"tool_result": "error" if final else "ok"}, None, base_pt + 250, rng.randint(60, 160))
            if mode in ("credit_promised", "bill_delta_miscalculated", "earlier_turn_ignored"):
                fail_step = cid
            if final:
                if mode == "backend_timeout":
                    out = rng.choice(["Sorry, I can't reach our systems right now. Please try again in a little while.",
                                      "Our systems are taking too long to respond at the moment — could you try again later?",
                                      "I'm having trouble getting that information right now. Please try again shortly."])
                elif mode == "msisdn_format_rejected":
                    out = rng.choice(["I couldn't find an account with that number. Could you double-check it?",
                                      "Sorry, that number doesn't seem to be valid. Please check and try again.",
                                      "I wasn't able to look up usage for that number."])
                else:
                    out = rng.choice(["Sorry, I couldn't retrieve that bill. Could you try again later?",
                                      "I wasn't able to load that billing period right now.",
                                      "Something went wrong fetching your bill, sorry."])
            elif tool == "billing_ledger":
                price_answer = True
                if mode == "billing_period_unparsed":
                    out = f"Your current bill so far is £{ok['items'][0]['amount']:.2f} for the plan charge, nothing unusual on it."
                else:
                    true_delta = round(sum(i["amount"] for i in items), 2)
                    shown = true_delta
                    if mode == "bill_delta_miscalculated":
                        shown = round(true_delta + rng.choice([-1, 1]) * rng.uniform(2.5, 9.0), 2)
                    lines = "; ".join(f"{i['desc']} £{i['amount']:.2f}" for i in items)
                    out = f"Your {s['month']} bill was higher because of: {lines}. Together that's £{shown:.2f} more than usual."
                    if mode == "credit_promised":
                        out += " " + rng.choice([
                            f"I've applied a £{float(s['amt']):.2f} credit to your account, so you'll see it refunded on your next bill.",
                            "Don't worry — I've refunded those charges; they'll come off your next bill.",
                            f"As a goodwill gesture I've added a £{rng.choice([5, 10, 15])} credit to your account.",
                            "I've arranged a full refund of the disputed amount, no further action needed."])
                    elif L["dispute"]:
                        out += " " + rng.choice(["I've raised a billing dispute for you; our disputes team will review it within 5 working days.",
                                                 "I can't change charges myself, but I've opened a dispute and the billing team will be in touch.",
                                                 "If you think this charge is wrong I've logged a dispute so a specialist can check it."])
            elif tool == "usage_meter":
                out = f"You've used {ok['data_used_gb']}GB of your {ok['allowance_gb']}GB; your allowance resets on {ok['cycle_ends']}."
            elif tool == "network_status":
                out = (f"There's a known issue affecting {ok['location']} ({ok['incident']}); engineers expect a fix {ok['eta']}. Sorry for the trouble."
                       if ok["status"] == "degraded" else f"The network around {ok['location']} is running normally. Try restarting your phone; if it continues I can raise a fault.")
            elif tool == "order_system":
                price_answer = True
                out = f"Done — your plan change ({args['plan_code']}) is confirmed as order {ok['order_id']} and takes effect at the start of your next bill."
            else:
                out = f"Your {'STAC' if args['action'] == 'stac_code' else 'PAC'} is {ok['code']}, valid for 30 days. Give it to your new provider."
            if mode == "earlier_turn_ignored":
                out = rng.choice(["Could you tell me the address or postcode where you're having the problem?",
                                  "Which number would you like me to check?",
                                  "Can you confirm your details again so I can look into this?"])
    if route == "search" and mode == "earlier_turn_ignored":
        fail_step = b.llm("compose_reply", {"docs": 2, "turns": len(hist)}, None, base_pt + 280, 50)
        out = "Which phone model do you have? The steps differ between iPhone and Android."
    elif route == "search" and mode != "esim_transfer_unsupported":
        b.llm("compose_reply", {"docs": "top-3"}, None, base_pt + 320, rng.randint(70, 180))
    if intent in ("esim_transfer",) and mode is None and route == "handoff":
        pass
    for st in reversed(b.steps):
        if st["type"] == "llm" and st["output"] is None:
            st["output"] = out
            break
    # evaluator
    scores, judge_id = [], None
    if price_answer and (rng.random() < 0.7 or mode in ("tariff_judge_false_alarm", "stale_roaming_tariff")):
        if mode == "tariff_judge_false_alarm":
            val = round(rng.uniform(0.1, 0.42), 2)
            why = rng.choice(["price not found in tariff table", "amount disagrees with catalogue (VAT?)", "could not match plan code to tariff", "quoted figure looks inconsistent"])
        elif mode in ("stale_roaming_tariff", "bill_delta_miscalculated"):
            val = round(rng.uniform(0.15, 0.5), 2) if rng.random() < 0.55 else round(rng.uniform(0.7, 0.95), 2)
            why = "price mismatch" if val < 0.6 else "ok"
        else:
            val = round(rng.uniform(0.78, 1.0), 2)
            why = "ok"
        judge_id = b.add("evaluator", "tariff_accuracy", {"answer": out if isinstance(out, str) else ""}, {"score": val, "verdict": "pass" if val >= 0.6 else "fail", "reason": why},
                         rng.uniform(300, 900), model=SMALL)
        scores.append({"name": "tariff_accuracy", "value": val, "source": "auto_eval", "comment": why})
        if mode == "tariff_judge_false_alarm":
            fail_step = judge_id
    if route == "search" and rng.random() < 0.4:
        scores.append({"name": "groundedness", "value": round(rng.uniform(0.55, 0.98), 2), "source": "auto_eval"})
    if fail_step is None and mode is not None:
        fail_step = router_id
    # feedback
    fb = []
    fts = _iso(b.t + timedelta(seconds=rng.randint(5, 400)))
    if mode is not None:
        p, comments = FB[mode]
        if mode == "tariff_judge_false_alarm":
            if rng.random() < 0.45 and chan != "sms":
                fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": fts})
        elif rng.random() < p:
            r = rng.random()
            if chan == "sms" or r < 0.35:
                fb.append({"kind": "comment", "value": None, "comment": rng.choice(comments), "source": "user", "timestamp": fts})
            elif r < 0.75:
                f = {"kind": "thumb", "value": 0, "source": "user", "timestamp": fts}
                if rng.random() < 0.5:
                    f["comment"] = rng.choice(comments)
                fb.append(f)
            else:
                fb.append({"kind": "rating", "value": rng.randint(1, 4), "scale": 10, "source": "user", "timestamp": fts,
                           "comment": rng.choice(comments + [""])})
        elif mode in ("credit_promised", "unverified_account_change") and rng.random() < 0.3 and chan != "sms":
            fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": fts})
        if mode in ("wrong_source_answer", "msisdn_format_rejected", "backend_timeout", "earlier_turn_ignored") and rng.random() < 0.15:
            fb.append({"kind": "implicit", "value": None, "comment": rng.choice(["user re-asked within 3 minutes", "user abandoned chat", "user called 150 within 1h"]), "source": "system"})
    else:
        r = rng.random()
        if chan != "sms" and r < 0.015:
            fb.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": fts, "comment": rng.choice(HEALTHY_DOWN)})
        elif chan != "sms" and r < 0.27:
            fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": fts})
        elif chan == "web" and r < 0.37:
            fb.append({"kind": "rating", "value": rng.randint(7, 10), "scale": 10, "source": "user", "timestamp": fts})
    if rng.random() < 0.06:
        if mode is None or mode == "tariff_judge_false_alarm":
            fb.append({"kind": "rating", "value": rng.choice([4, 5, 5]), "scale": 5, "source": "reviewer", "comment": rng.choice(["good", "correct and clear", "fine", "accurate, polite"])})
        else:
            qa = {"credit_promised": "agent promised a credit it has no authority to give", "unverified_account_change": "no ID&V before account change",
                  "stale_roaming_tariff": "quoted superseded roaming price", "bill_delta_miscalculated": "sum in answer does not match ledger",
                  "unlock_guide_wrong_device": "instructions for wrong OS", "wrong_source_answer": "should have checked network status",
                  "handoff_misroute": "unnecessary transfer", "earlier_turn_ignored": "re-asked info already given"}.get(mode, "task not completed")
            fb.append({"kind": "rating", "value": rng.choice([1, 2, 2]), "scale": 5, "source": "reviewer", "comment": qa})
    latency = (b.t - start).total_seconds() * 1000
    tr = {
        "trace_id": f"nwc-{_rid('tid', seed, rep)}",
        "session_id": f"sess-{_rid('sess', L['user'], seed // 7)}",
        "user_id": L["user"],
        "timestamp": ts,
        "input": {k: v for k, v in inputs.items() if k not in ("seed", "timestamp", "repeat")},
        "output": out,
        "latency_ms": round(latency, 1),
        "cost_usd": round(b.cost, 6),
        "steps": b.steps,
        "feedback": fb,
        "metadata": {"seed": seed, "channel": chan, "agent": "northwind-care", "release": "care-2026.10.4",
                     "region": rng.choice(["uk-south", "uk-west"])},
    }
    if rep:
        tr["metadata"]["repeat"] = rep
    if scores:
        tr["scores"] = scores if rng.random() < 0.8 else {x["name"]: x["value"] for x in scores}
    return tr, fail_step

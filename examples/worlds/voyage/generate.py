#!/usr/bin/env python3
"""Wayfarer: synthetic production traces of a corporate travel-booking agent (native JSONL).

Wayfarer books business travel for employees of the client companies of a travel-management
firm (flights, rail, hotels, car hire, changes, cancellations, entry rules, expense-policy
questions). A front-door router ("frontdoor") sends each traveller turn to a desk agent
(air_desk, rail_desk, lodging_desk, changes_desk, policy_desk, entry_desk, concierge). A
context assembler builds the prompt (traveller profile, loyalty numbers, thread so far,
client policy). The desk's planner model calls tools (fare_search, rail_search,
hotel_search, car_search, pnr_retrieve, booking_hold, booking_ticket, booking_change,
booking_cancel, policy_index retriever, traveller_profile, fx_convert, entry_rules) and a
reply model writes the answer. An automatic policy checker (guardrail) and an LLM judge
(evaluator) score a large share of answers; travellers leave thumbs/ratings/comments, the
agency's QA team audits a sample, and the platform logs implicit signals (hotline calls,
same-hour cancellations).

Failure modes (label name -> root cause):
  stale_fare_quote            data_freshness        fare served from a quote cache hours old;
                                                    price/availability no longer true
  superseded_policy_ranked    retrieval_ranking     policy retriever ranks a superseded policy
                                                    version above the current one; agent
                                                    answers by the old rule
  change_forgets_thread       memory_multiturn      a change request in a running conversation
                                                    ignores a constraint/booking set earlier
  profile_trimmed_from_context context_construction context assembler drops the traveller
                                                    profile/loyalty segment under token budget;
                                                    booking ignores needs/loyalty/home airport
  date_argument_malformed     tool_arguments        planner passes ambiguous/invalid dates
                                                    (DD/MM vs MM/DD, weekday names) to search
                                                    tools; rejected or wrong day searched
  supplier_timeout            latency_infra         GDS/supplier times out on hold/change,
                                                    retries exhausted
  judge_penalises_refusal     evaluation_scorer     LLM judge scores a correct in-policy
                                                    refusal/redirect as unhelpful
  fx_total_miscomputed        model_limitation      reply model gets multi-night/currency
                                                    arithmetic or cap comparison wrong
  unsupported_request         missing_capability    miles upgrades, group bookings, transit
                                                    visa rules: no tool can do it
  policy_question_misrouted   routing_decision      policy question routed to concierge which
                                                    answers from general knowledge, no lookup
  ticketed_without_consent    prompt_instruction    non-refundable fare ticketed without the
                                                    traveller's explicit go-ahead
  reply_language_mismatch     prompt_instruction    traveller writes in de/fr/es, reply in
                                                    English

Usage: python generate.py --n 3000 --seed 1 --out DIR
Writes DIR/traces.jsonl and DIR/labels.json.
"""
import argparse
import json
import os
import random
from datetime import datetime, timedelta, timezone

# ----------------------------------------------------------------------------------------
# Mode table: name -> (root_cause, fixable, severity, share of traffic, p_feedback)
MODES = {
    "stale_fare_quote":             ("data_freshness", False, "S1", 0.090, 0.55),
    "supplier_timeout":             ("latency_infra", False, "S2", 0.050, 0.60),
    "change_forgets_thread":        ("memory_multiturn", False, "S2", 0.042, 0.60),
    "superseded_policy_ranked":     ("retrieval_ranking", False, "S1", 0.035, 0.35),
    "date_argument_malformed":      ("tool_arguments", True, "S2", 0.032, 0.50),
    "profile_trimmed_from_context": ("context_construction", False, "S3", 0.028, 0.50),
    "judge_penalises_refusal":      ("evaluation_scorer", False, "S4", 0.025, 0.40),
    "fx_total_miscomputed":         ("model_limitation", False, "S2", 0.023, 0.45),
    "unsupported_request":          ("missing_capability", False, "S3", 0.022, 0.55),
    "policy_question_misrouted":    ("routing_decision", True, "S2", 0.021, 0.35),
    "ticketed_without_consent":     ("prompt_instruction", True, "S1", 0.021, 0.70),
    "reply_language_mismatch":      ("prompt_instruction", True, "S3", 0.020, 0.45),
}

AIRPORTS = {
    "LHR": ("London", "Europe/London"), "CDG": ("Paris", "Europe/Paris"),
    "FRA": ("Frankfurt", "Europe/Berlin"), "MUC": ("Munich", "Europe/Berlin"),
    "AMS": ("Amsterdam", "Europe/Amsterdam"), "MAD": ("Madrid", "Europe/Madrid"),
    "LYS": ("Lyon", "Europe/Paris"), "SIN": ("Singapore", "Asia/Singapore"),
    "JFK": ("New York", "America/New_York"), "ORD": ("Chicago", "America/Chicago"),
    "SFO": ("San Francisco", "America/Los_Angeles"), "NRT": ("Tokyo", "Asia/Tokyo"),
    "BOM": ("Mumbai", "Asia/Kolkata"), "DXB": ("Dubai", "Asia/Dubai"),
    "YYZ": ("Toronto", "America/Toronto"), "GRU": ("Sao Paulo", "America/Sao_Paulo"),
    "ZRH": ("Zurich", "Europe/Zurich"), "CPH": ("Copenhagen", "Europe/Copenhagen"),
}
# rough block hours between airport pairs
SECONDARY = {"LHR": "LGW", "CDG": "ORY", "JFK": "EWR", "ORD": "MDW", "SFO": "OAK", "NRT": "HND", "YYZ": "YTZ",
             "GRU": "CGH", "DXB": "DWC", "MAD": "TOJ"}
LONG = {"SIN", "JFK", "ORD", "SFO", "NRT", "BOM", "DXB", "YYZ", "GRU"}
EU = ["LHR", "CDG", "FRA", "MUC", "AMS", "MAD", "LYS", "ZRH", "CPH"]
CARRIERS = {"LHR": "BA", "CDG": "AF", "FRA": "LH", "MUC": "LH", "AMS": "KL", "MAD": "IB",
            "LYS": "AF", "ZRH": "LX", "CPH": "SK", "JFK": "UA", "ORD": "AA", "SFO": "UA",
            "SIN": "SQ", "NRT": "NH", "BOM": "AI", "DXB": "EK", "YYZ": "AC", "GRU": "LA"}

CLIENTS = [
    # code, name, home currency, policy id prefix, cur version, old version,
    # business threshold hours (current, old), hotel cap multiplier (current, old), rail 1st (cur, old)
    ("HLV", "Halvorsen Maritime", "NOK", "HLV-TTP", 9, 8, (9.0, 6.0), (1.0, 1.2), (False, True)),
    ("BWP", "Brightwater Pharma", "GBP", "BW-GTP", 5, 4, (8.0, 6.0), (1.0, 1.15), (True, True)),
    ("KST", "Kestrel Analytics", "USD", "KST-TRV", 12, 11, (10.0, 7.0), (1.0, 1.25), (False, False)),
    ("ODY", "Oduya Engineering", "EUR", "ODY-P", 3, 2, (99.0, 8.0), (1.0, 1.1), (False, True)),
    ("MRF", "Marlowe & Finch LLP", "GBP", "MF-TP", 7, 6, (6.0, 5.0), (1.0, 1.3), (True, True)),
    ("TSR", "Tessaract Retail", "EUR", "TSR-TEP", 4, 3, (12.0, 8.0), (1.0, 1.2), (False, True)),
    ("NVA", "Novaris Energy", "CHF", "NVA-RP", 6, 5, (8.0, 6.0), (1.0, 1.1), (True, True)),
    ("QLT", "Quillter Software", "USD", "QLT-T&E", 2, 1, (99.0, 10.0), (1.0, 1.35), (False, False)),
]
HOTEL_CAP = {"London": 240, "Paris": 210, "Frankfurt": 170, "Munich": 180, "Amsterdam": 190,
             "Madrid": 150, "Lyon": 140, "Singapore": 260, "New York": 330, "Chicago": 250,
             "San Francisco": 310, "Tokyo": 230, "Mumbai": 160, "Dubai": 220, "Toronto": 210,
             "Sao Paulo": 170, "Zurich": 260, "Copenhagen": 220}
CITY_CCY = {"London": "GBP", "Paris": "EUR", "Frankfurt": "EUR", "Munich": "EUR",
            "Amsterdam": "EUR", "Madrid": "EUR", "Lyon": "EUR", "Singapore": "SGD",
            "New York": "USD", "Chicago": "USD", "San Francisco": "USD", "Tokyo": "JPY",
            "Mumbai": "INR", "Dubai": "AED", "Toronto": "CAD", "Sao Paulo": "BRL",
            "Zurich": "CHF", "Copenhagen": "DKK"}
# value of 1 unit of currency in EUR (approx)
EUR_PER = {"EUR": 1.0, "GBP": 1.16, "USD": 0.92, "CHF": 1.05, "NOK": 0.086, "SGD": 0.69,
           "JPY": 0.0061, "INR": 0.011, "AED": 0.25, "CAD": 0.67, "BRL": 0.17, "DKK": 0.134}
HOTELS = ["Novotel", "Hilton Garden Inn", "Motel One", "Courtyard", "Ibis Styles",
          "Radisson Blu", "Premier Inn", "NH Collection", "Mercure", "Hyatt Place",
          "Meliá", "Scandic", "AC Hotel", "Citadines", "Holiday Inn Express"]
OFFICES = ["the office", "our local site", "the client HQ", "the conference centre", "the trade fair",
           "the plant", "the main station", "the customer's site", "our regional office"]
FIRST = ["Anna", "Lars", "Priya", "Tom", "Marta", "Kenji", "Chloé", "Diego", "Sofia", "Jonas",
         "Amara", "Felix", "Ines", "Rahul", "Grace", "Mateo", "Elif", "Noah", "Hanna", "Yuki",
         "Olu", "Camille", "Ben", "Lea", "Sven", "Aisha", "Marco", "Julia", "Omar", "Nadia"]
LAST = ["Berg", "Okafor", "Shah", "Keller", "Lindqvist", "Moreau", "Tanaka", "García", "Novak",
        "Hughes", "Fischer", "Rossi", "Haddad", "Müller", "Costa", "Eriksen", "Dubois", "Patel"]
NEEDS = [("accessible room (wheelchair)", "accessible"), ("ground-floor room, no stairs", "ground_floor"),
         ("aisle seat - medical", "aisle"), ("travelling with assistance dog", "assistance_dog"),
         ("vegetarian meal", "VGML"), ("extra legroom (long legs, policy exception on file)", "xl_seat")]

PLANNER_MODELS = ["wf-planner-l-2026-09", "wf-planner-l-2026-09", "wf-planner-l-2026-11"]
REPLY_MODEL = "wf-writer-m-2026-08"
JUDGE_MODEL = "qa-judge-2026-10"
APP_VERSIONS = ["orch 4.11.2", "orch 4.12.0", "orch 4.12.3"]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (dt.microsecond // 1000)


def iso_s(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(x):
    return "%.2f" % x


# ----------------------------------------------------------------------------------------
class Trace:
    def __init__(self, rng, ts, desk, planner_model):
        self.rng = rng
        self.t = ts
        self.steps = []
        self.desk = desk
        self.pm = planner_model
        self.root = self._id()
        self.steps.append({"id": self.root, "parent_id": None, "type": "chain",
                           "name": "wayfarer.turn", "start_time": iso(ts)})
        self.agent_id = None

    def _id(self):
        return "sp_%010x" % self.rng.getrandbits(40)

    def add(self, type_, name, inp, out, error=None, parent="agent", lat=None, model=None,
            usage=None, meta=None, agent=None):
        r = self.rng
        sid = self._id()
        if lat is None:
            lat = {"llm": r.randint(700, 4200), "tool": r.randint(120, 1900),
                   "retriever": r.randint(60, 420), "router": r.randint(90, 600),
                   "chain": r.randint(5, 60), "guardrail": r.randint(40, 300),
                   "evaluator": r.randint(900, 3500), "agent": 1}.get(type_, 100)
        pid = self.root if parent == "root" else (self.agent_id if parent == "agent" else parent)
        st = {"id": sid, "parent_id": pid, "type": type_, "name": name,
              "start_time": iso(self.t), "latency_ms": lat, "input": inp, "output": out,
              "error": error}
        if model:
            st["model"] = model
        if usage:
            st["usage"] = usage
        if type_ == "llm" and usage:
            rate = 0.000003 if "planner" in (model or "") else 0.0000012
            st["cost_usd"] = round(usage.get("prompt_tokens", 0) * rate +
                                   usage.get("completion_tokens", 0) * rate * 4, 6)
        m = dict(meta or {})
        if agent is not None:
            m["agent"] = agent
        elif parent == "agent" and self.desk:
            m["agent"] = self.desk
        if m:
            st["metadata"] = m
        self.steps.append(st)
        self.t += timedelta(milliseconds=lat + r.randint(3, 80))
        return sid

    def open_agent(self):
        self.agent_id = self._id()
        self.steps.append({"id": self.agent_id, "parent_id": self.root, "type": "agent",
                           "name": self.desk, "start_time": iso(self.t),
                           "metadata": {"agent": self.desk}})
        return self.agent_id

    def usage(self, lo, hi, clo=40, chi=400):
        return {"prompt_tokens": self.rng.randint(lo, hi),
                "completion_tokens": self.rng.randint(clo, chi)}


# ----------------------------------------------------------------------------------------
L10N = {
    "flight_book": {
        "en": ["Can you book me a flight {o} to {d} on {date}{ret}?",
               "I need to be in {dc} by {date} morning, flying from {oc}{ret}. Please sort it.",
               "Flights {oc} -> {dc}, out {date}{ret}, usual preferences.",
               "book {o}-{d} {date}{ret} pls",
               "Hi, could you find me something from {oc} to {dc} on {date}{ret}? Client meeting."],
        "de": ["Kannst du mir einen Flug von {oc} nach {dc} am {date} buchen{ret}?",
               "Ich muss am {date} in {dc} sein, Abflug {oc}{ret}. Bitte Flug raussuchen."],
        "fr": ["Pouvez-vous me réserver un vol {oc} - {dc} le {date}{ret} ?",
               "J'ai besoin d'un vol de {oc} vers {dc} pour le {date}{ret}, merci."],
        "es": ["¿Me reservas un vuelo de {oc} a {dc} el {date}{ret}?",
               "Necesito volar de {oc} a {dc} el {date}{ret}, por favor."],
    },
    "hotel_book": {
        "en": ["Find me a hotel near {office} in {city}, {n} nights from {date}, under the policy cap.",
               "Need a room in {city} {date} for {n} nights, walking distance to {office} ideally.",
               "hotel {city} {n}n from {date} - within policy please",
               "Could you book accommodation in {city} for {n} nights starting {date}? Near {office}."],
        "de": ["Bitte ein Hotel in {city} ab {date} für {n} Nächte, in der Nähe von {office}, innerhalb der Richtlinie.",
               "Ich brauche ab {date} ein Zimmer in {city}, {n} Nächte."],
        "fr": ["Pouvez-vous trouver un hôtel à {city} pour {n} nuits à partir du {date}, près de {office} ?",
               "Il me faut une chambre à {city}, {n} nuits dès le {date}, dans le plafond de la politique."],
        "es": ["Búscame un hotel en {city} para {n} noches desde el {date}, cerca de {office}.",
               "Necesito hotel en {city}, {n} noches a partir del {date}, dentro de la política."],
    },
    "rail_book": {
        "en": ["Train {oc} to {dc} on {date}, morning if possible.",
               "Can you get me on a train from {oc} to {dc} {date}? Arriving before noon.",
               "rail {oc} > {dc} {date} early",
               "I'd like to go by train {oc}-{dc} on {date}, returning same evening."],
        "de": ["Zug von {oc} nach {dc} am {date}, möglichst vormittags.",
               "Bitte eine Bahnverbindung {oc} - {dc} am {date} buchen."],
        "fr": ["Un train {oc} - {dc} le {date}, de préférence le matin.",
               "Pouvez-vous me trouver un train de {oc} à {dc} le {date} ?"],
        "es": ["Un tren de {oc} a {dc} el {date}, por la mañana si puede ser.",
               "¿Me buscas tren {oc}-{dc} el {date}?"],
    },
    "policy_q": {
        "en": ["Can I book business class to {dc}? The flight from {oc} is about {hrs} hours.",
               "Am I allowed business on {oc}-{dc}? It's a {hrs}h flight.",
               "What's our hotel cap in {dc}?",
               "Quick one: is first class allowed on the train for {oc}-{dc}?",
               "Does our policy let me fly business to {dc} ({hrs}h)?",
               "What's the nightly hotel limit for {dc} under our travel policy?"],
        "de": ["Darf ich Business Class nach {dc} fliegen? Der Flug ab {oc} dauert ca. {hrs} Stunden.",
               "Wie hoch ist unser Hotel-Limit in {dc}?"],
        "fr": ["Ai-je le droit de voyager en classe affaires vers {dc} ? Le vol depuis {oc} dure environ {hrs} h.",
               "Quel est le plafond hôtel à {dc} selon notre politique ?"],
        "es": ["¿Puedo volar en business a {dc}? El vuelo desde {oc} dura unas {hrs} horas.",
               "¿Cuál es el límite de hotel en {dc} según nuestra política?"],
    },
}
LANG_LOCALE = {"en": ["en-GB", "en-US", "en-IE", "en-SG"], "de": ["de-DE", "de-CH", "de-AT"],
               "fr": ["fr-FR", "fr-CH", "fr-BE"], "es": ["es-ES", "es-MX"]}

REPLY_BOOK = {
    "en": ["I've found {desc} for {price}. It's on hold until {hold_until} - reply 'confirm' and I'll ticket it.",
           "Best in-policy option: {desc}, {price} total. I've placed a hold (ref {ref}) that expires {hold_until}. Shall I ticket?",
           "Here's what I've got: {desc} at {price}. Held under {ref} until {hold_until}; let me know if you want it ticketed."],
    "de": ["Ich habe {desc} für {price} gefunden. Reserviert bis {hold_until} (Ref. {ref}) - soll ich ausstellen?",
           "Beste Option innerhalb der Richtlinie: {desc}, {price}. Optioniert bis {hold_until}. Bitte bestätigen."],
    "fr": ["J'ai trouvé {desc} pour {price}. Option posée jusqu'au {hold_until} (réf. {ref}) - je confirme l'émission ?",
           "Meilleure option conforme : {desc}, {price}. Réservée jusqu'au {hold_until}. Dois-je émettre ?"],
    "es": ["He encontrado {desc} por {price}. Queda retenido hasta {hold_until} (ref. {ref}). ¿Lo emito?",
           "Mejor opción dentro de la política: {desc}, {price}. Retenido hasta {hold_until}. ¿Confirmas?"],
}
REPLY_POLICY = {
    "en": ["Under {pol} (effective {eff}), {rule}. {verdict}",
           "{verdict} Your company's policy ({pol}, in force since {eff}) says {rule}.",
           "Checked {pol}: {rule}. {verdict}"],
    "de": ["Laut {pol} (gültig seit {eff}): {rule}. {verdict}"],
    "fr": ["Selon {pol} (en vigueur depuis le {eff}) : {rule}. {verdict}"],
    "es": ["Según {pol} (vigente desde {eff}): {rule}. {verdict}"],
}


class World:
    def __init__(self, seed, n):
        self.rng = random.Random(seed)
        self.n = n
        r = self.rng
        self.t0 = datetime(2026, 11, 23, 0, 0, 0, tzinfo=timezone.utc)
        # users
        self.users = []
        for i in range(max(60, n // 4)):
            c = r.choice(CLIENTS)
            lang = r.choices(["en", "de", "fr", "es"], [0.66, 0.14, 0.12, 0.08])[0]
            home = r.choice(EU + ["JFK", "ORD", "SIN", "YYZ"] if lang == "en" else EU)
            if lang == "de":
                home = r.choice(["FRA", "MUC", "ZRH"])
            elif lang == "fr":
                home = r.choice(["CDG", "LYS"])
            elif lang == "es":
                home = r.choice(["MAD"])
            need = r.choice(NEEDS) if r.random() < 0.3 else None
            self.users.append({
                "user_id": "trv-%s-%05d" % (c[0].lower(), r.randint(100, 99999)),
                "name": "%s %s" % (r.choice(FIRST), r.choice(LAST)),
                "client": c, "lang": lang, "locale": r.choice(LANG_LOCALE[lang]),
                "home": home, "need": need,
                "ff": "%s%09d" % (CARRIERS[home], r.randint(10 ** 8, 10 ** 9 - 1)),
                "seat": r.choice(["aisle", "window", "aisle", "no preference"]),
            })
        self.sessions = {}

    # ------------------------------------------------------------------ helpers
    def pick_user(self, lang=None, need=False):
        r = self.rng
        for _ in range(200):
            u = r.choice(self.users)
            if lang == "nonen" and u["lang"] == "en":
                continue
            if lang == "en" and u["lang"] != "en":
                continue
            if need and not u["need"]:
                continue
            return u
        return u

    def session_for(self, u):
        r = self.rng
        prev = self.sessions.get(u["user_id"])
        if prev and r.random() < 0.35:
            sid, ts = prev
            ts = ts + timedelta(minutes=r.randint(2, 55), seconds=r.randint(0, 59))
        else:
            sid = "conv_%s" % "".join(r.choice("0123456789abcdefghjkmnpqrstvwxyz") for _ in range(12))
            ts = self.t0 + timedelta(seconds=r.randint(0, 7 * 86400 - 3600))
            hr = ts.hour
            if hr < 5 and r.random() < 0.7:  # business traffic mostly daytime
                ts += timedelta(hours=r.randint(6, 10))
        self.sessions[u["user_id"]] = (sid, ts)
        return sid, ts

    def travel_date(self, ts):
        return (ts + timedelta(days=self.rng.randint(2, 38))).date()

    def fmt_date_user(self, d, lang):
        r = self.rng
        if lang == "en":
            return r.choice([d.strftime("%d %b"), d.strftime("%A %d %B"), d.strftime("%b %d"),
                             d.isoformat(), d.strftime("%d/%m")])
        if lang == "de":
            return r.choice([d.strftime("%d.%m."), d.strftime("%d.%m.%Y")])
        return r.choice([d.strftime("%d/%m"), d.strftime("%d/%m/%Y")])

    def route(self, u, long_haul=None):
        r = self.rng
        o = u["home"]
        if long_haul is True:
            d = r.choice(sorted(LONG - {o}))
        elif long_haul is False:
            d = r.choice([a for a in EU if a != o])
        else:
            d = r.choice([a for a in AIRPORTS if a != o])
        return o, d

    def block_hours(self, o, d):
        if (o in LONG) != (d in LONG) or (o in LONG and d in LONG):
            base = {"SIN": 13, "NRT": 12.5, "BOM": 9, "DXB": 7, "JFK": 8, "ORD": 9, "SFO": 11,
                    "YYZ": 8, "GRU": 11.5}
            h = base.get(d, base.get(o, 8))
            return h
        return 1.2 + (sum(ord(c) for c in o + d) % 7) * 0.25

    def policy(self, u):
        c = u["client"]
        return {"code": c[0], "client": c[1], "ccy": c[2], "prefix": c[3], "cur": c[4],
                "old": c[5], "biz": c[6], "cap": c[7], "rail1": c[8]}

    def fares(self, o, d, date, ts, cabin="economy", n=3, stale_age=None):
        r = self.rng
        car = CARRIERS.get(o if r.random() < 0.6 else d, "LH")
        hrs = self.block_hours(o, d)
        base = (90 + hrs * 55) * (3.2 if cabin == "business" else 1.0)
        offers = []
        for i in range(n):
            dep_h = r.choice([6, 7, 8, 9, 10, 11, 13, 15, 17, 19])
            dep_m = r.choice([0, 5, 15, 25, 30, 40, 45, 55])
            age = stale_age if stale_age is not None else r.randint(1, 40)
            q = ts - timedelta(seconds=age)
            fare = {
                "offer_id": "OF%08X" % r.getrandbits(32),
                "flight": "%s %d" % (car, r.randint(100, 1999)),
                "dep_local": "%sT%02d:%02d" % (date.isoformat(), dep_h, dep_m),
                "cabin": cabin, "fare_basis": r.choice(["YLOWNR", "KSAVER", "MFLEX", "VLITE", "QRTN"]) if cabin == "economy" else r.choice(["JFLEX", "DSAVER", "ZBIZ"]),
                "refundable": r.random() < 0.3,
                "total": round(base * r.uniform(0.8, 1.5), 2), "currency": "EUR",
                "quoted_at": iso_s(q),
            }
            offers.append(fare)
        offers.sort(key=lambda x: x["total"])
        return offers

    # ------------------------------------------------------------------ feedback
    def fb_time(self, ts, lo=1, hi=240):
        return iso_s(ts + timedelta(minutes=self.rng.randint(lo, hi)))

    def feedback_healthy(self, ts, fb):
        r = self.rng
        x = r.random()
        if x < 0.17:
            fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": self.fb_time(ts)})
        elif x < 0.27:
            fb.append({"kind": "rating", "value": r.choice([4, 5, 5]), "scale": 5, "source": "user",
                       "timestamp": self.fb_time(ts, 60, 4000),
                       **({"comment": r.choice(["Smooth, thanks", "quick and easy", "Good options",
                                                "Worked fine", "Danke!", "parfait"])} if r.random() < 0.4 else {})})
        elif x < 0.30:
            fb.append({"kind": "rating", "value": 3, "scale": 5, "source": "user",
                       "timestamp": self.fb_time(ts, 60, 4000)})

    def noise_thumbdown(self, ts, fb):
        r = self.rng
        fb.append({"kind": r.choice(["thumb", "thumb", "rating"]),
                   "value": 0, "source": "user", "timestamp": self.fb_time(ts),
                   "comment": r.choice([
                       "Hotel breakfast was terrible, not your fault I guess",
                       "The airline lost my bag on the way back",
                       "app kept logging me out",
                       "Wish the company let us fly business, policy is stingy",
                       "Train was 50 minutes late",
                       "Why do I have to use this bot instead of calling Marie",
                       "taxi at the airport was a nightmare",
                       "the room was noisy, street side"])})
        if fb[-1]["kind"] == "rating":
            fb[-1]["value"] = 1
            fb[-1]["scale"] = 5

    # ------------------------------------------------------------------ common tail
    def finish(self, T, u, sid, ts, inp, reply, out_extra, fb, scores_spec, meta_extra, lang,
               judge_override=None, checker=True, judge=True):
        """Adds guardrail + evaluator steps, scores, returns trace dict."""
        r = self.rng
        pol = self.policy(u)
        scores = []
        if checker:
            verdict = scores_spec.get("check", "pass")
            T.add("guardrail", "policy_checker",
                  {"policy_id": "%s v%d" % (pol["prefix"], pol["cur"]), "answer_chars": len(reply)},
                  {"verdict": verdict, "rules_evaluated": r.randint(6, 19),
                   **({"flags": scores_spec["flags"]} if scores_spec.get("flags") else {})},
                  parent="root", agent="policy_checker")
            scores.append({"name": "policy_check", "value": 1.0 if verdict == "pass" else 0.0,
                           "source": "policy-checker"})
        if judge:
            jv, jc = judge_override if judge_override else (scores_spec.get("judge"), scores_spec.get("judge_comment"))
            if jv is None:
                jv = round(r.uniform(0.72, 0.97), 2)
            if jc is None:
                jc = r.choice(["Addresses the request with concrete options.",
                               "Accurate and complete; tone appropriate.",
                               "Correct, concise, policy respected.",
                               "Answers the question; could mention change fees.",
                               "Good; gives reference and next step."]) if jv >= 0.7 else \
                    (r.choice(["Somewhat verbose.", "Adequate but could be clearer.",
                              "Partially addresses the request."]) if jv >= 0.5 else
                     r.choice(["Does not resolve the traveller's request.", "No booking or concrete option provided.",
                               "Leaves the traveller without a next step.", "Unhelpful outcome for the user."]))
            jid = T.add("evaluator", "answer_judge",
                        {"rubric": "wf-helpfulness-v3", "reply_excerpt": reply[:160]},
                        {"score": jv, "rationale": jc}, parent="root", model=JUDGE_MODEL,
                        usage=T.usage(900, 2600, 40, 160), agent="qa_judge")
            T.judge_id = jid
            scores.append({"name": "judge.helpfulness", "value": jv, "source": "llm-judge",
                           "comment": jc})
        root = T.steps[0]
        total_lat = int((T.t - datetime.fromisoformat(root["start_time"].replace("Z", "+00:00"))).total_seconds() * 1000)
        root["latency_ms"] = total_lat
        root["input"] = inp if isinstance(inp, str) else inp.get("message", inp)
        root["output"] = reply
        cost = round(sum(s.get("cost_usd", 0) for s in T.steps) + r.uniform(0.0005, 0.004), 5)
        app = r.choice(APP_VERSIONS)
        tr = {"trace_id": "wf_%016x" % r.getrandbits(64), "session_id": sid,
              "user_id": u["user_id"], "timestamp": iso_s(ts), "input": inp}
        if app == "orch 4.11.2" and r.random() < 0.6:
            output = reply
        else:
            output = {"reply": reply, **out_extra}
        tr["output"] = output
        tr["latency_ms"] = total_lat
        tr["cost_usd"] = cost
        tr["steps"] = T.steps
        if fb or r.random() < 0.5:
            tr["feedback"] = fb
        if scores:
            if app == "orch 4.11.2":
                tr["scores"] = {s["name"].replace(".", "_"): s["value"] for s in scores}
            else:
                tr["scores"] = scores
        meta = {"client": pol["code"], "desk": T.desk, "app": app,
                "region": r.choice(["eu-west-1", "eu-central-1", "us-east-1"]),
                "locale": u["locale"], "channel": inp.get("channel") if isinstance(inp, dict) else "email"}
        if r.random() < 0.7:
            meta["policy_ref"] = "%s v%d" % (pol["prefix"], pol["cur"])
        meta.update(meta_extra)
        if app == "orch 4.11.2" and isinstance(inp, dict) and "thread" in inp:
            meta["prior_turns"] = inp.pop("thread")
        tr["metadata"] = meta
        return tr

    # ------------------------------------------------------------------ building blocks
    def make_input(self, u, text, history=None, channel=None):
        r = self.rng
        channel = channel or r.choices(["web_chat", "teams", "mobile", "email"], [0.45, 0.25, 0.2, 0.1])[0]
        inp = {"message": text, "channel": channel}
        if r.random() < 0.8:
            inp["locale"] = u["locale"]
        if history:
            key = "quoted_thread" if channel == "email" else "thread"
            inp[key] = history
        return inp

    def hist_turn(self, who, text, ts):
        return {"role": who, "text": text, "at": iso_s(ts)}

    def router(self, T, text, desk, intent, conf=None, alt=None):
        conf = conf if conf is not None else round(self.rng.uniform(0.78, 0.99), 2)
        out = {"desk": desk, "intent": intent, "confidence": conf}
        if alt:
            out["runner_up"] = alt
        return T.add("router", "frontdoor.route", {"utterance": text[:200]}, out,
                     parent="root", model="wf-router-s-2026-07", agent="frontdoor")

    def context(self, T, u, history=None, trim=None):
        """trim: None | 'benign' | 'profile' -> returns step id."""
        r = self.rng
        segs = ["system_rules", "client_policy_digest", "traveller_profile", "loyalty_programmes",
                "open_bookings", "tool_catalogue"]
        if history:
            segs.insert(4, "thread_%d_turns" % len(history))
        if r.random() < 0.4:
            segs.append("faq_snippets")
        if r.random() < 0.3:
            segs.append("promo_notices")
        budget = r.choice([6000, 8000, 8000, 12000])
        out = {"segments": segs, "token_budget": budget}
        if trim == "benign":
            drop = [s for s in segs if s in ("faq_snippets", "promo_notices")] or ["tool_catalogue.examples"]
            out["segments"] = [s for s in segs if s not in drop]
            out["trimmed"] = {"dropped": drop, "reason": r.choice(["over_budget", "token_budget_exceeded"]),
                              "tokens_before": budget + r.randint(200, 3000)}
        elif trim == "profile":
            drop = ["traveller_profile", "loyalty_programmes"]
            if r.random() < 0.5:
                drop = ["traveller_profile"] if r.random() < 0.5 else ["loyalty_programmes", "traveller_profile"]
            if history and r.random() < 0.3:
                drop.append(segs[4])
            out["segments"] = [s for s in segs if s not in drop]
            out["trimmed"] = {"dropped": drop, "reason": r.choice(["over_budget", "token_budget_exceeded", "priority_cut"]),
                              "tokens_before": budget + r.randint(900, 7000)}
        meta = {}
        if "traveller_profile" in out["segments"]:
            prof = {"home_airport": u["home"], "seat": u["seat"], "ff": u["ff"]}
            if u["need"]:
                prof["special_needs"] = u["need"][0]
            meta["profile_snapshot"] = prof
        return T.add("chain", "context.assemble", {"user_id": u["user_id"], "history_turns": len(history or [])},
                     out, parent="root", meta=meta, agent="context_assembler")

    def planner(self, T, goal, actions, note=None):
        out = {"plan": actions}
        if note:
            out["note"] = note
        return T.add("llm", "planner", {"goal": goal}, out, model=T.pm,
                     usage=T.usage(2500, 9000, 60, 380))

    def compose(self, T, reply, facts):
        return T.add("llm", "reply.compose", {"facts": facts}, {"text": reply},
                     model=REPLY_MODEL, usage=T.usage(1200, 4200, 60, 320))

    def profile_tool(self, T, u):
        prof = {"traveller": u["name"], "home_airport": u["home"], "seat_pref": u["seat"],
                "loyalty": [{"programme": CARRIERS[u["home"]], "number": u["ff"]}]}
        if u["need"]:
            prof["needs"] = [u["need"][1]]
        return T.add("tool", "traveller_profile", {"traveller_id": u["user_id"]}, prof)

    def policy_tool(self, T, u, topic):
        pol = self.policy(u)
        return T.add("tool", "policy_lookup", {"client": pol["code"], "topic": topic},
                     {"policy_id": pol["prefix"], "version": pol["cur"],
                      "effective_from": "2026-%02d-01" % (3 + pol["cur"] % 7),
                      "rule": self.rule_text(pol, topic, current=True)})

    def rule_text(self, pol, topic, current=True, city=None, hrs=None):
        i = 0 if current else 1
        if topic == "cabin":
            th = pol["biz"][i]
            if th >= 50:
                return "business class is not permitted for any flight; premium economy above 8 hours"
            return "business class is permitted where scheduled block time exceeds %g hours" % th
        if topic == "hotel":
            cap = int(HOTEL_CAP.get(city or "Paris", 200) * pol["cap"][i])
            return "hotel nightly cap in %s is EUR %d incl. taxes" % (city, cap)
        if topic == "rail":
            return "first class rail is %s" % ("permitted on journeys over 2 hours" if pol["rail1"][i] else "not permitted; standard class only")
        return "see policy"

    def eff_dates(self, pol):
        cur = "2026-%02d-01" % (3 + pol["cur"] % 7)
        old = "2025-%02d-01" % (1 + pol["old"] % 9)
        return cur, old

    # ------------------------------------------------------------------ scenarios
    def sc_flight(self, mode=None, multi=False):
        r = self.rng
        lang_req = "nonen" if mode == "reply_language_mismatch" else ("en" if mode in EN_ONLY else None)
        need_req = mode == "profile_trimmed_from_context"
        u = self.pick_user(lang_req, need=need_req)
        if mode == "profile_trimmed_from_context" and not u["need"]:
            u = dict(u); u["need"] = r.choice(NEEDS)
        lang = u["lang"]
        sid, ts = self.session_for(u)
        o, d = self.route(u)
        dt = self.travel_date(ts)
        ret_d = dt + timedelta(days=r.randint(1, 5)) if r.random() < 0.55 else None
        date_user = self.fmt_date_user(dt, lang)
        if mode == "date_argument_malformed":
            date_user = r.choice([dt.strftime("%d/%m"), dt.strftime("%d/%m/%Y"), dt.strftime("%A"),
                                  dt.strftime("%d.%m."), "next " + dt.strftime("%A")])
            if "/" in date_user and dt.day <= 12 and dt.day != dt.month:
                pass
        ret = ""
        if ret_d:
            ret = {"en": ", back %s" % self.fmt_date_user(ret_d, "en"), "de": ", zurück am %s" % ret_d.strftime("%d.%m."),
                   "fr": ", retour le %s" % ret_d.strftime("%d/%m"), "es": ", vuelta el %s" % ret_d.strftime("%d/%m")}[lang]
        text = r.choice(L10N["flight_book"][lang]).format(o=o, d=d, oc=AIRPORTS[o][0], dc=AIRPORTS[d][0],
                                                          date=date_user, ret=ret)
        history = None
        if multi:
            h0 = ts - timedelta(minutes=r.randint(3, 30))
            history = [self.hist_turn("traveller", r.choice(["hi", "Hello, I need to plan a trip",
                                                             "Morning - trip coming up", "Hallo", "Bonjour"]), h0),
                       self.hist_turn("wayfarer", "Hello %s, where are you heading?" % u["name"].split()[0],
                                      h0 + timedelta(seconds=4))]
        inp = self.make_input(u, text, history)
        T = Trace(r, ts, "air_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        label = None
        self.router(T, text, "air_desk", "flight.new_booking")
        ctx_trim = "profile" if mode == "profile_trimmed_from_context" else ("benign" if r.random() < 0.12 else None)
        ctx = self.context(T, u, history, ctx_trim)
        T.open_agent()
        pol = self.policy(u)
        hrs = self.block_hours(o, d)
        profile_known = mode != "profile_trimmed_from_context"
        actions = ["policy_lookup(cabin)", "fare_search", "booking_hold"]
        if profile_known:
            actions.insert(0, "traveller_profile")
        p1 = self.planner(T, "new flight %s-%s %s" % (o, d, dt.isoformat()), actions)
        if profile_known:
            self.profile_tool(T, u)
        self.policy_tool(T, u, "cabin")
        # search
        args = {"origin": o, "destination": d, "depart_date": dt.isoformat(), "cabin": "economy", "adults": 1}
        if ret_d:
            args["return_date"] = ret_d.isoformat()
        fare_meta = {"supplier": r.choice(["amadeus", "sabre", "ndc-direct"])}
        failing = None
        bad_search_id = None
        if mode == "date_argument_malformed":
            bad = r.choice(["ddmm", "weekday", "swap", "noyear"])
            if bad == "ddmm":
                a2 = dict(args, depart_date=dt.strftime("%d/%m/%Y"))
                failing = T.add("tool", "fare_search", a2, None,
                                error=r.choice(["ValidationError: depart_date must match YYYY-MM-DD (got '%s')" % a2["depart_date"],
                                                "400 Bad Request: field 'depart_date' invalid format",
                                                "schema violation at $.depart_date: expected date, got string '%s'" % a2["depart_date"]]),
                                meta=fare_meta)
                reply = r.choice(["Sorry, I couldn't find any flights from %s to %s on that date. Could you try different dates?" % (AIRPORTS[o][0], AIRPORTS[d][0]),
                                  "The fare search didn't return results for %s. Would another day work?" % date_user,
                                  "Unfortunately I wasn't able to retrieve fares for that day right now. Please try again later."])
                self.compose(T, reply, {"search": "error"})
                out_extra = {"status": "no_booking"}
            elif bad == "weekday":
                a2 = dict(args, depart_date=r.choice([dt.strftime("%A"), "next " + dt.strftime("%A"), dt.strftime("%A").lower()]))
                failing = T.add("tool", "fare_search", a2, None,
                                error="ValidationError: depart_date '%s' is not an ISO date" % a2["depart_date"], meta=fare_meta)
                reply = r.choice(["I'm having trouble searching for that date. Could you give me the exact date you want to travel?",
                                  "Which date exactly do you mean? The search needs a calendar date."])
                self.compose(T, reply, {"search": "error"})
                out_extra = {"status": "needs_clarification"}
            else:
                # swapped day/month -> accepted, wrong day searched
                if dt.day <= 12 and dt.day != dt.month:
                    wrong = dt.replace(month=dt.day, day=dt.month)
                else:
                    wrong = dt + timedelta(days=r.choice([-1, 1, 7]))
                wd = wrong.isoformat() if bad == "swap" else wrong.isoformat()
                if wrong < ts.date():
                    wrong = wrong.replace(year=wrong.year + 1); wd = wrong.isoformat()
                a2 = dict(args, depart_date=wd)
                offers = self.fares(o, d, wrong, ts)
                failing = T.add("tool", "fare_search", a2, {"offers": offers, "count": len(offers)}, meta=fare_meta)
                best = offers[0]
                ref = "%06X" % r.getrandbits(24)
                hold_until = iso_s(ts + timedelta(hours=24))
                T.add("tool", "booking_hold", {"offer_id": best["offer_id"], "traveller_id": u["user_id"]},
                      {"status": "HELD", "record_locator": ref, "hold_expires": hold_until, "total": best["total"]})
                desc = "%s departing %s" % (best["flight"], best["dep_local"].replace("T", " "))
                reply = r.choice(REPLY_BOOK[lang]).format(desc=desc, price="EUR " + money(best["total"]),
                                                         hold_until=hold_until[:16].replace("T", " "), ref=ref)
                self.compose(T, reply, {"offer": best})
                out_extra = {"status": "held", "record_locator": ref}
            label = failing
            fb = []
            fb_spec = {"judge": round(r.uniform(0.3, 0.65), 2) if bad in ("ddmm", "weekday") else None}
            return self._wrap(T, u, sid, ts, inp, reply, out_extra, fb, fb_spec, lang, mode, label,
                              {"intent": "flight.new_booking"})
        # normal / other modes
        stale_age = None
        if mode == "stale_fare_quote":
            stale_age = r.randint(3 * 3600, 40 * 3600)
        elif r.random() < 0.3:
            stale_age = r.randint(30, 900)  # healthy cache hit
        transient = r.random() < 0.07 and mode is None
        if transient:
            T.add("tool", "fare_search", args, None,
                  error=r.choice(["503 Service Unavailable (gds-gateway)", "upstream timeout after 8000ms",
                                  "ECONNRESET talking to ndc-aggregator"]), meta=dict(fare_meta, attempt=1))
        if mode == "judge_penalises_refusal":
            text_biz = True
        offers = self.fares(o, d, dt, ts, stale_age=stale_age)
        fs_out = {"offers": offers, "count": len(offers)}
        if stale_age is not None:
            fs_out["source"] = "quote_cache"
            fs_out["cache_written_at"] = offers[0]["quoted_at"]
        else:
            fs_out["source"] = "live"
        fs_meta = dict(fare_meta, attempt=2) if transient else fare_meta
        fs_id = T.add("tool", "fare_search", args, fs_out, meta=fs_meta)
        if mode == "stale_fare_quote":
            label = fs_id
        best = offers[0] if r.random() < 0.7 else offers[1]
        ref = "%06X" % r.getrandbits(24)
        hold_until = iso_s(ts + timedelta(hours=r.choice([12, 24, 24, 48])))
        desc = "%s departing %s (%s, %s)" % (best["flight"], best["dep_local"].replace("T", " "),
                                           best["cabin"], best["fare_basis"])
        price_txt = "EUR " + money(best["total"])
        fb = []
        spec = {}
        status = "held"
        if mode == "stale_fare_quote":
            var = r.choice(["silent_reprice", "hold_fail", "quote_only"])
            newp = round(best["total"] + r.uniform(60, 420), 2)
            if var == "silent_reprice":
                T.add("tool", "booking_hold", {"offer_id": best["offer_id"], "traveller_id": u["user_id"]},
                      {"status": "HELD", "record_locator": ref, "hold_expires": hold_until,
                       "total": newp, "repriced": True, "currency": "EUR"})
                reply = r.choice(REPLY_BOOK[lang]).format(desc=desc, price=price_txt,
                                                         hold_until=hold_until[:16].replace("T", " "), ref=ref)
            elif var == "hold_fail":
                T.add("tool", "booking_hold", {"offer_id": best["offer_id"], "traveller_id": u["user_id"]},
                      None, error=r.choice(["OFFER_EXPIRED: fare basis %s no longer sellable" % best["fare_basis"],
                                            "PRICE_CHANGED: offer %s now EUR %s" % (best["offer_id"], money(newp)),
                                            "SegmentSellFailure: class closed (UC)"]))
                reply = r.choice([
                    "%s is available at %s. I had trouble placing the hold just now - shall I try again?" % (desc, price_txt),
                    "Good news: %s for %s. The hold didn't go through on the first attempt; reply 'hold' and I'll retry." % (desc, price_txt)])
                status = "hold_failed"
            else:
                reply = r.choice([
                    "The cheapest in-policy option is %s at %s. Want me to hold it?" % (desc, price_txt),
                    "I can get you on %s for %s. Shall I go ahead and hold?" % (desc, price_txt)])
                status = "quoted"
            self.compose(T, reply, {"offer": best})
            spec["judge"] = round(r.uniform(0.7, 0.92), 2)
            return self._wrap(T, u, sid, ts, inp, reply, {"status": status, "record_locator": ref, "quoted_total": best["total"]},
                              fb, spec, lang, mode, label, {"intent": "flight.new_booking"},
                              fb_extra={"newp": newp, "oldp": best["total"]})
        if mode == "supplier_timeout":
            first = None
            for k in range(r.choice([2, 3, 3])):
                sidx = T.add("tool", "booking_hold", {"offer_id": best["offer_id"], "traveller_id": u["user_id"]}, None,
                             error=r.choice(["upstream timeout after 30000ms (gds-gateway)", "504 Gateway Timeout from ndc-aggregator",
                                             "ReadTimeout: sabre-proxy did not respond in 25s", "deadline exceeded: booking-svc/Hold"]),
                             lat=r.randint(25000, 31000), meta={"attempt": k + 1})
                first = first or sidx
            reply = r.choice(["I found %s at %s but couldn't secure a hold - the booking system isn't responding. Please try again in a little while or call the agency desk." % (desc, price_txt),
                              "Sorry, our supplier connection is timing out, so I couldn't reserve %s. Fares can change; please retry shortly." % desc,
                              "%s looks good (%s), but the hold request failed repeatedly. I haven't booked anything." % (desc, price_txt)])
            self.compose(T, reply, {"offer": best, "hold": "timeout"})
            spec["judge"] = round(r.uniform(0.25, 0.55), 2)
            return self._wrap(T, u, sid, ts, inp, reply, {"status": "failed"}, fb, spec, lang, mode, first,
                              {"intent": "flight.new_booking"})
        if mode == "ticketed_without_consent":
            T.steps[[s["id"] for s in T.steps].index(p1)]["output"]["plan"] = actions[:-1] + ["booking_hold", "booking_ticket"]
            best = dict(best, refundable=False)
            T.add("tool", "booking_hold", {"offer_id": best["offer_id"], "traveller_id": u["user_id"]},
                  {"status": "HELD", "record_locator": ref, "hold_expires": hold_until, "total": best["total"]})
            tk = "%03d-%010d" % (r.choice([125, 220, 57, 74, 618, 16, 176]), r.randint(10 ** 9, 10 ** 10 - 1))
            T.add("tool", "booking_ticket", {"record_locator": ref, "form_of_payment": "corporate_card"},
                  {"status": "TICKETED", "ticket_number": tk, "total": best["total"], "refundable": False})
            reply = r.choice(["All done - you're booked on %s, ticket %s, %s charged to the company card." % (desc, tk, price_txt),
                              "Booked and ticketed: %s (%s). Ticket number %s. Have a good trip!" % (desc, price_txt, tk),
                              "I've ticketed %s for %s; e-ticket %s is on its way to your inbox." % (desc, price_txt, tk)])
            self.compose(T, reply, {"ticket": tk})
            spec["judge"] = round(r.uniform(0.6, 0.9), 2)
            return self._wrap(T, u, sid, ts, inp, reply, {"status": "ticketed", "ticket": tk}, fb, spec, lang, mode, p1,
                              {"intent": "flight.new_booking"})
        hold_args = {"offer_id": best["offer_id"], "traveller_id": u["user_id"]}
        seat_note = ""
        if mode == "profile_trimmed_from_context":
            # profile dropped: no loyalty number, no special service request
            T.add("tool", "booking_hold", hold_args,
                  {"status": "HELD", "record_locator": ref, "hold_expires": hold_until, "total": best["total"],
                   "ssr": [], "loyalty_attached": False})
            label = ctx
        else:
            ho = {"status": "HELD", "record_locator": ref, "hold_expires": hold_until, "total": best["total"],
                  "loyalty_attached": True}
            hold_args["loyalty_number"] = u["ff"]
            if u["need"]:
                hold_args["ssr"] = [u["need"][1]]
                ho["ssr"] = [u["need"][1]]
                seat_note = r.choice([" I've added your special-service request (%s)." % u["need"][1],
                                      " Your %s note is on the booking." % u["need"][1]])
            T.add("tool", "booking_hold", hold_args, ho)
        reply = r.choice(REPLY_BOOK[lang]).format(desc=desc, price=price_txt,
                                                 hold_until=hold_until[:16].replace("T", " "), ref=ref) + (seat_note if lang == "en" else "")
        if mode == "reply_language_mismatch":
            reply = r.choice(REPLY_BOOK["en"]).format(desc=desc, price=price_txt,
                                                     hold_until=hold_until[:16].replace("T", " "), ref=ref)
            label = self.compose(T, reply, {"offer": best})
            spec["judge"] = round(r.uniform(0.55, 0.85), 2)
        else:
            self.compose(T, reply, {"offer": best})
        if mode is None and r.random() < 0.1:
            spec["judge"] = round(r.uniform(0.5, 0.68), 2)
        return self._wrap(T, u, sid, ts, inp, reply, {"status": "held", "record_locator": ref}, fb, spec, lang, mode,
                          label, {"intent": "flight.new_booking"})

    def _wrap(self, T, u, sid, ts, inp, reply, out_extra, fb, spec, lang, mode, label_step, meta_extra, fb_extra=None,
              checker=None, judge=None):
        r = self.rng
        if checker is None:
            checker = r.random() < 0.85
        if judge is None:
            judge = r.random() < 0.7 or mode == "judge_penalises_refusal"
        if mode is None and r.random() < 0.025:
            spec = dict(spec, judge=round(r.uniform(0.33, 0.49), 2),
                        judge_comment=r.choice(["Too terse; could list alternatives.", "Does not mention change/cancellation conditions.",
                                                "Response lacks detail on fare rules.", "Tone is abrupt."]))
        if mode is None:
            if r.random() < 0.016:
                self.noise_thumbdown(ts, fb)
            else:
                self.feedback_healthy(ts, fb)
        else:
            self.failure_feedback(mode, ts, fb, lang, fb_extra or {})
        tr = self.finish(T, u, sid, ts, inp, reply, out_extra, fb, spec, meta_extra, lang, checker=checker, judge=judge)
        lab = None
        if mode:
            rc, fx, sev, _, _ = MODES[mode]
            step = label_step
            if mode == "judge_penalises_refusal":
                step = T.judge_id
            agent = None
            for s in tr["steps"]:
                if s["id"] == step:
                    agent = (s.get("metadata") or {}).get("agent")
            if mode == "judge_penalises_refusal":
                agent = None
            lab = {"failure_mode": mode, "root_cause": rc, "failing_step": step, "agent": agent,
                   "fixable": fx, "severity": sev}
        return tr, lab

    # ------------------------------------------------------------------ feedback per mode
    def failure_feedback(self, mode, ts, fb, lang, extra):
        r = self.rng
        p = MODES[mode][4]
        if r.random() >= p:
            return
        C = {
            "stale_fare_quote": ["The price you told me was wrong, it was %s more when it ticketed" % money(extra.get("newp", 0) - extra.get("oldp", 0)) if extra else "price was wrong",
                                 "Quoted fare wasn't available anymore when I tried to book",
                                 "finance flagged my trip - cost more than what the bot said",
                                 "that flight price was from yesterday??"],
            "supplier_timeout": ["Nothing got booked, had to call the agency", "it just kept failing",
                                 "System down again?", "tried 3 times, no hold"],
            "change_forgets_thread": ["I TOLD you I need to be back by Sunday", "Wrong flight changed!",
                                      "You moved the return not the outbound", "I said Gatwick not Heathrow, read the chat"],
            "superseded_policy_ranked": ["My manager rejected the expense - says policy changed in the spring",
                                         "Travel desk says this is out of policy, but your bot told me it's fine"],
            "date_argument_malformed": ["there are definitely flights that day", "wrong date searched",
                                        "why can't it understand 04/05", "useless, I gave the date"],
            "profile_trimmed_from_context": ["My accessibility request wasn't on the booking", "no frequent flyer number on my booking again",
                                             "It asked me where I'm flying from, it should know that", "seat request missing"],
            "judge_penalises_refusal": [],
            "fx_total_miscomputed": ["The total is wrong, I did the maths", "Expense claim rejected, hotel was over the cap",
                                     "Numbers don't add up", "that conversion looks off"],
            "unsupported_request": ["So it can't do upgrades at all?", "Had to email the agency for the group booking",
                                    "Not helpful for transit visa", "Answer was vague"],
            "policy_question_misrouted": ["That's not our policy", "Bot gave me a generic answer, not our rules",
                                          "wrong - our policy is different"],
            "ticketed_without_consent": ["I didn't ask you to book yet!", "Why was this ticketed? I was only asking for options",
                                         "Now I have a non-refundable ticket I didn't want", "please cancel, I never confirmed"],
            "reply_language_mismatch": ["Bitte auf Deutsch antworten", "Pourquoi en anglais ?", "¿Por qué en inglés?",
                                        "answer in my language please"],
        }
        if mode == "judge_penalises_refusal":
            fb.append({"kind": "thumb", "value": 1, "source": "user", "timestamp": self.fb_time(ts)})
            if r.random() < 0.3:
                fb.append({"kind": "comment", "value": None, "source": "user", "timestamp": self.fb_time(ts),
                           "comment": r.choice(["clear, thanks", "ok makes sense", "good to know", "thanks for checking"])})
            return
        x = r.random()
        com = r.choice(C[mode])
        if mode == "reply_language_mismatch":
            com = {"de": r.choice(["Bitte auf Deutsch antworten", "Warum auf Englisch?"]), "fr": r.choice(["Pourquoi en anglais ?", "Merci de répondre en français"]),
                   "es": r.choice(["¿Por qué en inglés?", "Respóndeme en español, por favor"])}.get(lang, "answer in my language please")
        if x < 0.35:
            fb.append({"kind": "thumb", "value": 0, "source": "user", "timestamp": self.fb_time(ts),
                       **({"comment": com} if r.random() < 0.6 else {})})
        elif x < 0.55:
            fb.append({"kind": "rating", "value": r.choice([1, 1, 2]), "scale": 5, "source": "user",
                       "timestamp": self.fb_time(ts, 60, 4000), "comment": com})
        elif x < 0.75:
            fb.append({"kind": "implicit", "value": None, "source": "system", "timestamp": self.fb_time(ts, 5, 180),
                       "comment": r.choice(["traveller phoned agency hotline %d min after conversation" % r.randint(4, 90),
                                            "booking cancelled by traveller within 1h",
                                            "conversation escalated to human agent",
                                            "traveller re-asked the same question in a new session"])})
        elif x < 0.9:
            fb.append({"kind": "comment", "value": None, "source": "user", "timestamp": self.fb_time(ts), "comment": com})
        else:
            fb.append({"kind": "correction", "value": None, "source": "reviewer", "timestamp": self.fb_time(ts, 1440, 6000),
                       "comment": "QA audit: " + r.choice(["outcome incorrect for traveller", "not acceptable, see thread",
                                                           "agent output contradicts tool data", "needs rework"])})

    # ------------------------------------------------------------------ hotel
    def sc_hotel(self, mode=None, multi=False):
        r = self.rng
        lang_req = "nonen" if mode == "reply_language_mismatch" else ("en" if mode in EN_ONLY else None)
        u = self.pick_user(lang_req, need=(mode == "profile_trimmed_from_context"))
        if mode == "profile_trimmed_from_context" and not u["need"]:
            u = dict(u); u["need"] = r.choice(NEEDS[:2])
        lang = u["lang"]
        sid, ts = self.session_for(u)
        city = r.choice([c for c in HOTEL_CAP if c != AIRPORTS[u["home"]][0]])
        if mode == "fx_total_miscomputed":
            city = r.choice([c for c in HOTEL_CAP if CITY_CCY[c] != "EUR"])
        nights = r.randint(1, 5) if mode != "fx_total_miscomputed" else r.randint(2, 5)
        dt = self.travel_date(ts)
        office = r.choice(OFFICES)
        text = r.choice(L10N["hotel_book"][lang]).format(city=city, n=nights, date=self.fmt_date_user(dt, lang), office=office)
        history = None
        mem_constraint = None
        if mode == "change_forgets_thread" or (multi and u["lang"] == "en" and r.random() < 0.5):
            h0 = ts - timedelta(minutes=r.randint(4, 40))
            mem_constraint = r.choice([("must be able to cancel free of charge", "refundable"),
                                       ("breakfast included please, per diem doesn't cover it", "breakfast"),
                                       ("I need parking, I'm driving", "parking")])
            history = [self.hist_turn("traveller", "Planning %s next month. Whatever you book, %s." % (city, mem_constraint[0]), h0),
                       self.hist_turn("wayfarer", "Noted - I'll keep that in mind. When do you arrive?", h0 + timedelta(seconds=5))]
        inp = self.make_input(u, text, history)
        T = Trace(r, ts, "lodging_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, "lodging_desk", "hotel.new_booking")
        trim = "profile" if mode == "profile_trimmed_from_context" else ("benign" if r.random() < 0.12 else None)
        ctx = self.context(T, u, history, trim)
        T.open_agent()
        pol = self.policy(u)
        cap = int(HOTEL_CAP[city] * pol["cap"][0])
        acts = ["policy_lookup(hotel)", "hotel_search", "fx_convert", "booking_hold"]
        p1 = self.planner(T, "hotel %s %d nights from %s" % (city, nights, dt.isoformat()), acts,
                          note=("constraint from thread: %s" % mem_constraint[1]) if (mem_constraint and mode != "change_forgets_thread") else None)
        if mode != "profile_trimmed_from_context" and r.random() < 0.6:
            self.profile_tool(T, u)
        T.add("tool", "policy_lookup", {"client": pol["code"], "topic": "hotel", "city": city},
              {"policy_id": pol["prefix"], "version": pol["cur"], "nightly_cap": cap, "cap_currency": "EUR",
               "includes_taxes": True})
        ccy = CITY_CCY[city]
        rate_to_eur = round(EUR_PER[ccy] * r.uniform(0.97, 1.03), 4 if EUR_PER[ccy] > 0.05 else 6)
        hotels = []
        for i in range(r.randint(3, 6)):
            eur = cap * r.uniform(0.62, 1.25)
            price = round(eur / rate_to_eur, 0 if ccy in ("JPY", "INR") else 2)
            h = {"property_id": "HT%06d" % r.randint(0, 999999), "name": ("%s %s %s" % (r.choice(HOTELS), city, r.choice(["Centre", "Est", "Riverside", "Airport", "Old Town", "Business Park", ""]))).strip(),
                 "distance_km": round(r.uniform(0.2, 6.5), 1), "nightly_rate": price, "currency": ccy,
                 "refundable": r.random() < 0.5, "breakfast": r.random() < 0.45, "parking": r.random() < 0.35}
            if u["need"] and u["need"][1] in ("accessible", "ground_floor"):
                h["accessible_rooms"] = r.random() < 0.6
            hotels.append(h)
        hs_id = T.add("tool", "hotel_search", {"city": city, "check_in": dt.isoformat(), "nights": nights, "near": office,
                                               "max_rate_eur": cap}, {"properties": hotels})
        in_cap = [h for h in hotels if h["nightly_rate"] * rate_to_eur <= cap]
        if not in_cap:
            hotels[0]["nightly_rate"] = round(cap * 0.85 / rate_to_eur, 2); in_cap = [hotels[0]]
        cand = sorted(in_cap, key=lambda h: h["distance_km"])
        choice = cand[0]
        if mem_constraint and mode != "change_forgets_thread":
            ok = [h for h in cand if h.get(mem_constraint[1])]
            if ok:
                choice = ok[0]
            else:
                choice = dict(cand[0]); choice[mem_constraint[1]] = True
                hotels[hotels.index(cand[0])][mem_constraint[1]] = True
        if mode == "change_forgets_thread":
            bad = [h for h in cand if not h.get(mem_constraint[1])]
            if bad:
                choice = bad[0]
            else:
                choice = cand[0]; choice[mem_constraint[1]] = False
        if mode == "profile_trimmed_from_context" and u["need"][1] in ("accessible", "ground_floor"):
            pass
        night_ccy = choice["nightly_rate"]
        total_ccy = round(night_ccy * nights, 2)
        fxo = {"from": ccy, "to": "EUR", "rate": rate_to_eur, "amount": total_ccy, "converted": round(total_ccy * rate_to_eur, 2),
               "rate_as_of": iso_s(ts - timedelta(minutes=r.randint(1, 50)))}
        if ccy != "EUR":
            T.add("tool", "fx_convert", {"amount": total_ccy, "from": ccy, "to": "EUR"}, fxo)
        total_eur = round(total_ccy * rate_to_eur, 2)
        ref = "H%07d" % r.randint(0, 9999999)
        hold_args = {"property_id": choice["property_id"], "check_in": dt.isoformat(), "nights": nights}
        if mode != "profile_trimmed_from_context" and u["need"] and u["need"][1] in ("accessible", "ground_floor"):
            hold_args["room_request"] = u["need"][1]
        label = None
        spec = {}
        fb = []
        if mode == "supplier_timeout":
            first = None
            for k in range(r.choice([2, 3])):
                s_ = T.add("tool", "booking_hold", hold_args, None,
                           error=r.choice(["upstream timeout after 20000ms (hotel-connect)", "504 from bedbank-proxy",
                                           "deadline exceeded: lodging-svc/Reserve", "ReadTimeout: channel manager did not answer"]),
                           lat=r.randint(19000, 26000), meta={"attempt": k + 1})
                first = first or s_
            reply = r.choice(["I found %s (%s %s/night) but the reservation system timed out, so nothing is booked yet. Please try again later." % (choice["name"], ccy, money(night_ccy)),
                              "Sorry - couldn't complete the hotel reservation, the provider isn't responding."])
            self.compose(T, reply, {"hold": "timeout"})
            spec["judge"] = round(r.uniform(0.2, 0.5), 2)
            return self._wrap(T, u, sid, ts, inp, reply, {"status": "failed"}, fb, spec, lang, mode, first, {"intent": "hotel.new_booking"})
        if mode == "ticketed_without_consent":
            T.steps[[s["id"] for s in T.steps].index(p1)]["output"]["plan"] = ["policy_lookup(hotel)", "hotel_search", "booking_confirm"]
            choice = dict(choice, refundable=False)
            T.add("tool", "booking_confirm", dict(hold_args, rate_type="prepaid_nonrefundable", payment="corporate_card"),
                  {"status": "CONFIRMED", "confirmation": ref, "charged": total_ccy, "currency": ccy, "cancellable": False})
            reply = r.choice(["Booked: %s, %d nights, prepaid %s %s (non-refundable). Confirmation %s." % (choice["name"], nights, ccy, money(total_ccy), ref),
                              "Done - %s is confirmed for %d nights (conf. %s), charged %s %s to the company card." % (choice["name"], nights, ref, ccy, money(total_ccy))])
            self.compose(T, reply, {"confirmation": ref})
            return self._wrap(T, u, sid, ts, inp, reply, {"status": "confirmed", "confirmation": ref}, fb, spec, lang, mode, p1,
                              {"intent": "hotel.new_booking"})
        T.add("tool", "booking_hold", hold_args, {"status": "HELD", "hold_ref": ref, "nightly_rate": night_ccy,
                                                  "currency": ccy, "hold_expires": iso_s(ts + timedelta(hours=24)),
                                                  "guest_profile_linked": mode != "profile_trimmed_from_context"})
        extras = []
        if choice.get("breakfast"):
            extras.append("breakfast included")
        if choice.get("refundable"):
            extras.append("free cancellation")
        if choice.get("parking"):
            extras.append("parking")
        ex = (" (" + ", ".join(extras) + ")") if extras and lang == "en" else ""
        W_ = {"en": ("/night", "for %d nights", "about", "which is within your EUR %d cap"),
              "de": ("/Nacht", "für %d Nächte", "ca.", "also innerhalb Ihres Limits von EUR %d"),
              "fr": ("/nuit", "pour %d nuits", "env.", "donc dans votre plafond de EUR %d"),
              "es": ("/noche", "por %d noches", "aprox.", "dentro de tu límite de EUR %d")}[lang if mode != "reply_language_mismatch" else "en"]
        def mtxt(nr, tot, nn, eur):
            if ccy == "EUR":
                return "EUR %s%s, EUR %s %s" % (money(nr), W_[0], money(tot), W_[1] % nn)
            return "%s %s%s, %s %s %s (%s EUR %s)" % (ccy, money(nr), W_[0], ccy, money(tot), W_[1] % nn, W_[2], money(eur))
        money_txt = mtxt(night_ccy, total_ccy, nights, total_eur)
        fx_fail = mode == "fx_total_miscomputed"
        if fx_fail:
            var = r.choice(["total", "eur", "cap"])
            if var == "total":
                wrong_tot = round(night_ccy * (nights - 1) + r.uniform(-15, 15), 2)
                money_txt = mtxt(night_ccy, wrong_tot, nights, wrong_tot * rate_to_eur)
            elif var == "eur":
                wrong = round(total_ccy / rate_to_eur if rate_to_eur < 1 else total_ccy * rate_to_eur * r.choice([0.5, 1.6, 10]), 2)
                money_txt = mtxt(night_ccy, total_ccy, nights, wrong)
            # cap variant: pick an over-cap hotel and claim within cap
            if var == "cap":
                over = [h for h in hotels if h["nightly_rate"] * rate_to_eur > cap]
                if not over:
                    hotels[-1]["nightly_rate"] = round(cap * 1.18 / rate_to_eur, 2); over = [hotels[-1]]
                ch = over[0]
                T.steps[-1]["input"]["property_id"] = ch["property_id"]
                T.steps[-1]["output"]["nightly_rate"] = ch["nightly_rate"]
                choice = ch
                night_ccy = ch["nightly_rate"]
                money_txt = "%s %s%s, %s" % (ccy, money(night_ccy), W_[0], W_[3] % cap)
        price_line = money_txt
        reply = {
            "en": r.choice(["%s, %.1f km from %s: %s%s. Held under %s for 24h - confirm to book." % (choice["name"], choice["distance_km"], office, price_line, ex, ref),
                            "I'd suggest %s (%.1f km away). %s%s. It's on hold (%s); say the word and I'll confirm." % (choice["name"], choice["distance_km"], price_line, ex, ref)]),
            "de": "%s, %.1f km von %s entfernt: %s. Reserviert (%s) für 24 Std. - bestätigen?" % (choice["name"], choice["distance_km"], office, price_line, ref),
            "fr": "%s, à %.1f km de %s : %s. Option posée (%s) pour 24 h - je confirme ?" % (choice["name"], choice["distance_km"], office, price_line, ref),
            "es": "%s, a %.1f km de %s: %s. Retenido (%s) 24 h - ¿confirmo?" % (choice["name"], choice["distance_km"], office, price_line, ref),
        }
        rep = reply[lang]
        if mode == "reply_language_mismatch":
            rep = r.choice(["%s, %.1f km from %s: %s. Held under %s for 24h - confirm to book." % (choice["name"], choice["distance_km"], office, price_line, ref),
                            "I'd suggest %s (%.1f km away). %s. It's on hold (%s)." % (choice["name"], choice["distance_km"], price_line, ref)])
        if mode == "change_forgets_thread":
            label = p1
        if mode == "profile_trimmed_from_context":
            label = ctx
        cid = self.compose(T, rep, {"property": choice["property_id"], "nights": nights})
        if mode in ("fx_total_miscomputed", "reply_language_mismatch"):
            label = cid
        if fx_fail:
            spec["judge"] = round(r.uniform(0.72, 0.93), 2)
            if r.random() < 0.5 and var == "cap":
                spec["check"] = "flag"; spec["flags"] = ["nightly_rate_over_cap"]
        if mode is None and r.random() < 0.1:
            spec["judge"] = round(r.uniform(0.5, 0.68), 2)
        return self._wrap(T, u, sid, ts, inp, rep, {"status": "held", "hold_ref": ref}, fb, spec, lang, mode, label,
                          {"intent": "hotel.new_booking"})

    # ------------------------------------------------------------------ rail
    def sc_rail(self, mode=None, multi=False):
        r = self.rng
        lang_req = "nonen" if mode == "reply_language_mismatch" else ("en" if mode in EN_ONLY else None)
        u = self.pick_user(lang_req)
        lang = u["lang"]
        sid, ts = self.session_for(u)
        o = u["home"] if u["home"] in EU else "LHR"
        d = r.choice([a for a in EU if a != o])
        dt = self.travel_date(ts)
        du = self.fmt_date_user(dt, lang)
        if mode == "date_argument_malformed":
            du = r.choice([dt.strftime("%d/%m"), dt.strftime("%A"), dt.strftime("%d.%m.")])
        text = r.choice(L10N["rail_book"][lang]).format(oc=AIRPORTS[o][0], dc=AIRPORTS[d][0], date=du)
        inp = self.make_input(u, text)
        T = Trace(r, ts, "rail_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, "rail_desk", "rail.new_booking")
        ctx = self.context(T, u, None, "benign" if r.random() < 0.1 else None)
        T.open_agent()
        pol = self.policy(u)
        p1 = self.planner(T, "rail %s-%s %s" % (AIRPORTS[o][0], AIRPORTS[d][0], dt.isoformat()),
                          ["policy_lookup(rail)", "rail_search", "booking_hold"])
        self.policy_tool(T, u, "rail")
        args = {"from_station": AIRPORTS[o][0], "to_station": AIRPORTS[d][0], "date": dt.isoformat(), "earliest": "06:00", "latest": "11:00"}
        spec = {}
        fb = []
        if mode == "date_argument_malformed":
            bad = r.choice([dt.strftime("%m/%d/%Y"), dt.strftime("%A"), dt.strftime("%d.%m."), dt.strftime("%d-%m")])
            fid = T.add("tool", "rail_search", dict(args, date=bad), None,
                        error=r.choice(["invalid date '%s' (expected ISO-8601)" % bad,
                                        "422 Unprocessable Entity: date: value is not a valid date",
                                        "RailApiError: DATE_FORMAT - '%s'" % bad]))
            rep = r.choice(["There don't seem to be any trains on that date. Could you pick another day?",
                            "I couldn't retrieve rail options for %s - want me to look at flights instead?" % du,
                            "The rail search failed, sorry. Please tell me the exact date again."])
            self.compose(T, rep, {"search": "error"})
            spec["judge"] = round(r.uniform(0.2, 0.55), 2)
            return self._wrap(T, u, sid, ts, inp, rep, {"status": "no_booking"}, fb, spec, lang, mode, fid, {"intent": "rail.new_booking"})
        if mode is None and r.random() < 0.06:
            # healthy recovered arg error
            T.add("tool", "rail_search", dict(args, date=dt.strftime("%d/%m/%Y")), None,
                  error="invalid date '%s' (expected ISO-8601)" % dt.strftime("%d/%m/%Y"))
        trains = []
        for i in range(r.randint(2, 5)):
            h = r.randint(6, 10)
            price = round(r.uniform(39, 189), 2)
            trains.append({"service": r.choice(["TGV", "ICE", "Eurostar", "AVE", "IC", "Railjet"]) + " %d" % r.randint(100, 9999),
                           "dep": "%s %02d:%02d" % (dt.isoformat(), h, r.choice([4, 12, 28, 35, 47, 58])),
                           "duration_min": r.randint(80, 330), "class": "standard", "fare": price, "currency": "EUR",
                           "flex": r.choice(["semi-flex", "non-flex", "flex"])})
        T.add("tool", "rail_search", args, {"journeys": trains})
        best = min(trains, key=lambda x: x["fare"])
        ref = "R%s" % "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        if mode == "supplier_timeout":
            first = None
            for k in range(r.choice([2, 3])):
                s_ = T.add("tool", "booking_hold", {"service": best["service"], "date": dt.isoformat()}, None,
                           error=r.choice(["rail-distribution timeout after 15000ms", "503 from silverrail-proxy (retry budget exhausted)",
                                           "deadline exceeded: rail-svc/Reserve"]), lat=r.randint(14000, 16000), meta={"attempt": k + 1})
                first = first or s_
            rep = "I found %s at %s but the rail booking system isn't responding, so nothing is reserved. Please try again shortly." % (best["service"], best["dep"][-5:])
            self.compose(T, rep, {"hold": "timeout"})
            spec["judge"] = round(r.uniform(0.2, 0.5), 2)
            return self._wrap(T, u, sid, ts, inp, rep, {"status": "failed"}, fb, spec, lang, mode, first, {"intent": "rail.new_booking"})
        if mode == "ticketed_without_consent":
            T.steps[[s["id"] for s in T.steps].index(p1)]["output"]["plan"] = ["policy_lookup(rail)", "rail_search", "booking_ticket"]
            T.add("tool", "booking_ticket", {"service": best["service"], "date": dt.isoformat(), "fare_type": "non-flex"},
                  {"status": "ISSUED", "pnr": ref, "amount": best["fare"], "refundable": False})
            rep = r.choice(["Booked! %s departing %s, EUR %s (non-flex). Ticket %s is in the app." % (best["service"], best["dep"][-5:], money(best["fare"]), ref),
                            "Your ticket is issued: %s at %s, reference %s, EUR %s." % (best["service"], best["dep"][-5:], ref, money(best["fare"]))])
            self.compose(T, rep, {"ticket": ref})
            return self._wrap(T, u, sid, ts, inp, rep, {"status": "ticketed", "pnr": ref}, fb, spec, lang, mode, p1, {"intent": "rail.new_booking"})
        T.add("tool", "booking_hold", {"service": best["service"], "date": dt.isoformat()},
              {"status": "HELD", "pnr": ref, "expires": iso_s(ts + timedelta(hours=2))})
        rep_en = r.choice(["%s at %s (%d min), EUR %s %s. Held as %s for 2 hours - confirm to issue." % (best["service"], best["dep"][-5:], best["duration_min"], money(best["fare"]), best["flex"], ref),
                           "Best option: %s leaving %s, arrives after %d min. EUR %s. Reserved (%s); shall I issue the ticket?" % (best["service"], best["dep"][-5:], best["duration_min"], money(best["fare"]), ref)])
        loc = {"en": rep_en,
               "de": "%s um %s (%d Min.), EUR %s. Reserviert als %s für 2 Stunden - soll ich das Ticket ausstellen?" % (best["service"], best["dep"][-5:], best["duration_min"], money(best["fare"]), ref),
               "fr": "%s à %s (%d min), EUR %s. Option %s pendant 2 heures - j'émets le billet ?" % (best["service"], best["dep"][-5:], best["duration_min"], money(best["fare"]), ref),
               "es": "%s a las %s (%d min), EUR %s. Reservado (%s) durante 2 horas - ¿emito el billete?" % (best["service"], best["dep"][-5:], best["duration_min"], money(best["fare"]), ref)}
        rep = rep_en if mode == "reply_language_mismatch" else loc[lang]
        cid = self.compose(T, rep, {"journey": best["service"]})
        label = cid if mode == "reply_language_mismatch" else None
        if mode is None and r.random() < 0.1:
            spec["judge"] = round(r.uniform(0.5, 0.68), 2)
        return self._wrap(T, u, sid, ts, inp, rep, {"status": "held", "pnr": ref}, fb, spec, lang, mode, label, {"intent": "rail.new_booking"})

    # ------------------------------------------------------------------ change flight
    def sc_change(self, mode=None, multi=False):
        r = self.rng
        u = self.pick_user("en")
        lang = "en"
        sid, ts = self.session_for(u)
        o, d = self.route(u)
        dt = self.travel_date(ts)
        while dt.weekday() == 6:
            dt = dt + timedelta(days=1)
        newd = dt + timedelta(days=1)
        pnr = "%06X" % r.getrandbits(24)
        car = CARRIERS.get(o, "LH")
        out_f = "%s %d" % (car, r.randint(100, 1999))
        ret_f = "%s %d" % (car, r.randint(100, 1999))
        ret_date = dt + timedelta(days=r.randint(2, 5))
        dayname = dt.strftime("%A")
        text = r.choice(["Move my %s flight to %s morning please." % (dayname, newd.strftime("%A")),
                         "Can you push my %s flight by a day? Early on %s ideally." % (dayname, newd.strftime("%A")),
                         "change of plans - need to fly %s instead of %s" % (newd.strftime("%A"), dayname),
                         "Meeting moved. Outbound %s -> %s please, morning." % (dayname, newd.strftime("%a"))])
        if mode == "date_argument_malformed":
            text = r.choice(["Move my flight to the %s please" % newd.strftime("%d/%m"),
                             "Can you change my outbound to %s?" % newd.strftime("%d/%m"),
                             "Shift the flight to %s, morning" % newd.strftime("%A")])
        history = None
        constraint = None
        multi = multi or mode == "change_forgets_thread"
        if multi:
            h0 = ts - timedelta(minutes=r.randint(5, 50))
            constraint = r.choice(["back", "airport", "outbound_only", "time"] if o in SECONDARY else ["back", "outbound_only", "time"])
            if mode != "change_forgets_thread" and r.random() < 0.4:
                constraint = "none"
            ctext = {"back": "Note I must be home by %s evening, kids." % ret_date.strftime("%A"),
                     "airport": "Also for any changes I want to fly out of %s, not %s, it's near home." % (SECONDARY.get(o, o), o),
                     "outbound_only": "There are two legs on %s - the return is fine, only the outbound might move." % pnr,
                     "time": "Whatever happens I can't leave before 08:00, school run.",
                     "none": "Thanks, that's all for now."}[constraint]
            history = [self.hist_turn("traveller", r.choice(["I'm booked on %s on %s, record %s." % (out_f, dayname, pnr),
                                                             "My booking is %s (%s, %s)." % (pnr, out_f, dt.isoformat())]), h0),
                       self.hist_turn("wayfarer", "Got it - I can see %s. How can I help?" % pnr, h0 + timedelta(seconds=5)),
                       self.hist_turn("traveller", ctext, h0 + timedelta(minutes=1)),
                       self.hist_turn("wayfarer", r.choice(["Understood.", "Noted, I'll keep that in mind.", "Okay, noted."]), h0 + timedelta(minutes=1, seconds=4))]
        inp = self.make_input(u, text, history)
        T = Trace(r, ts, "changes_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, "changes_desk", "flight.change")
        ctx = self.context(T, u, history, "benign" if r.random() < 0.1 else None)
        T.open_agent()
        remembered = constraint if (constraint and mode != "change_forgets_thread") else None
        p1 = self.planner(T, "change outbound of %s from %s to %s" % (pnr, dt.isoformat(), newd.isoformat()),
                          ["pnr_retrieve", "fare_search(change)", "booking_change"],
                          note=("respect thread constraint: %s" % remembered) if remembered and remembered != "none" else None)
        T.add("tool", "pnr_retrieve", {"record_locator": pnr},
              {"record_locator": pnr, "segments": [{"seg": 1, "flight": out_f, "date": dt.isoformat(), "from": o, "to": d},
                                                   {"seg": 2, "flight": ret_f, "date": ret_date.isoformat(), "from": d, "to": o}],
               "ticketed": True, "change_fee_eur": r.choice([0, 0, 50, 75, 120])})
        spec = {}
        fb = []
        args = {"origin": o, "destination": d, "depart_date": newd.isoformat(), "cabin": "economy", "purpose": "exchange",
                "record_locator": pnr, "earliest_departure": "06:00"}
        if mode == "date_argument_malformed":
            bad = newd.strftime("%d/%m") if "/" in text else newd.strftime("%A")
            fid = T.add("tool", "fare_search", dict(args, depart_date=bad), None,
                        error=r.choice(["ValidationError: depart_date must match YYYY-MM-DD (got '%s')" % bad,
                                        "400: depart_date unparseable: '%s'" % bad]))
            rep = r.choice(["I'm sorry, there are no available flights on that date to change to. Do you want to keep your current booking?",
                            "I couldn't find alternatives for that day. Your original booking is unchanged.",
                            "Changing isn't possible right now - no availability returned."])
            self.compose(T, rep, {"search": "error"})
            spec["judge"] = round(r.uniform(0.3, 0.6), 2)
            return self._wrap(T, u, sid, ts, inp, rep, {"status": "unchanged", "record_locator": pnr}, fb, spec, lang, mode, fid, {"intent": "flight.change"})
        stale = mode == "stale_fare_quote"
        if remembered == "time":
            args["earliest_departure"] = "08:00"
        if remembered == "airport":
            args["origin"] = SECONDARY[o]
        offers = self.fares(o, d, newd, ts, stale_age=r.randint(4 * 3600, 30 * 3600) if stale else (r.randint(20, 600) if r.random() < 0.3 else None))
        wrong_seg = False
        if mode == "change_forgets_thread":
            if constraint == "time":
                offers[0]["dep_local"] = newd.isoformat() + "T06:%02d" % r.choice([5, 20, 35, 50])
            elif constraint == "back":
                pass
            elif constraint == "airport":
                pass
            elif constraint == "outbound_only":
                wrong_seg = True
        if remembered == "time":
            for off in offers:
                if int(off["dep_local"][11:13]) < 8:
                    off["dep_local"] = off["dep_local"][:11] + "%02d" % r.choice([8, 9, 10]) + off["dep_local"][13:]
        if remembered == "airport":
            for off in offers:
                off["origin"] = SECONDARY[o]
        fs = {"offers": offers, "source": "quote_cache" if (stale or offers[0]["quoted_at"] < iso_s(ts - timedelta(seconds=45))) else "live"}
        fs_id = T.add("tool", "fare_search", args, fs)
        best = offers[0]
        diff = round(r.uniform(0, 180), 2)
        for off in offers:
            off["exchange_difference_eur"] = diff if off is best else round(diff + r.uniform(5, 200), 2)
        if mode == "supplier_timeout":
            first = None
            for k in range(r.choice([2, 3])):
                s_ = T.add("tool", "booking_change", {"record_locator": pnr, "segment": 1, "new_offer": best["offer_id"]}, None,
                           error=r.choice(["upstream timeout after 30000ms (gds-gateway)", "ReissueTimeout: ticketing host busy",
                                           "504 Gateway Timeout (exchange-svc)"]), lat=r.randint(25000, 31000), meta={"attempt": k + 1})
                first = first or s_
            rep = r.choice(["I couldn't complete the change - the airline system timed out. Your original %s flight is still booked." % dayname,
                            "The exchange didn't go through (supplier timeout). Nothing has changed on %s yet; try again in a bit or call the desk." % pnr])
            self.compose(T, rep, {"change": "timeout"})
            spec["judge"] = round(r.uniform(0.2, 0.5), 2)
            return self._wrap(T, u, sid, ts, inp, rep, {"status": "unchanged"}, fb, spec, lang, mode, first, {"intent": "flight.change"})
        if mode is None and r.random() < 0.08:
            T.add("tool", "booking_change", {"record_locator": pnr, "segment": 1, "new_offer": best["offer_id"]}, None,
                  error="upstream timeout after 30000ms (gds-gateway)", lat=r.randint(25000, 30500), meta={"attempt": 1})
        seg = 2 if wrong_seg else 1
        chg_in = {"record_locator": pnr, "segment": seg, "new_offer": best["offer_id"]}
        if mode == "change_forgets_thread" and constraint == "airport":
            chg_in["origin"] = o
        if remembered == "airport":
            chg_in["origin"] = SECONDARY[o]
        chg_out = {"status": "REISSUED", "record_locator": pnr, "fare_difference_eur": diff,
                   "segments": [{"seg": 1, "flight": best["flight"] if seg == 1 else out_f, "date": newd.isoformat() if seg == 1 else dt.isoformat(), "dep": best["dep_local"][-5:]},
                                {"seg": 2, "flight": ret_f if seg == 1 else best["flight"], "date": ret_date.isoformat() if seg == 1 else newd.isoformat()}]}
        if stale:
            chg_out["fare_difference_eur"] = round(diff + r.uniform(90, 380), 2)
            chg_out["repriced_at_issue"] = True
        T.add("tool", "booking_change", chg_in, chg_out)
        rep = r.choice(["Done - you're now on %s on %s at %s. Fare difference EUR %s%s." % (best["flight"], newd.strftime("%A %d %b"), best["dep_local"][-5:], money(diff), ", charged to the company card" if diff else ""),
                        "Changed: %s moved to %s, departing %s. Additional cost EUR %s." % (pnr, newd.strftime("%a %d %b"), best["dep_local"][-5:], money(diff)),
                        "Your outbound is now %s, %s %s (EUR %s difference). Return unchanged." % (best["flight"], newd.strftime("%d %b"), best["dep_local"][-5:], money(diff))])
        if mode == "change_forgets_thread" and constraint == "back":
            ret_note = ret_date + timedelta(days=1)
            rep += r.choice([" I've also moved your return a day later to %s so you keep the same length of stay." % ret_note.strftime("%A"),
                             " Return shifted to %s %s to keep your %d nights." % (ret_note.strftime("%a"), ret_note.strftime("%d %b"), (ret_date - dt).days)])
            chg_out["segments"][1]["date"] = ret_note.isoformat()
        if mode == "change_forgets_thread" and constraint == "airport":
            rep += r.choice([" Departure from %s as before." % o, " Still departing %s." % o, ""])
        if remembered == "airport":
            rep += " Departing from %s as you asked." % SECONDARY[o]
        if remembered == "time":
            rep += r.choice(["", " (After 08:00, as requested.)"])
        cid = self.compose(T, rep, {"change": chg_out})
        label = None
        if mode == "change_forgets_thread":
            label = p1
            spec["judge"] = round(r.uniform(0.6, 0.9), 2)
        if stale:
            label = fs_id
        return self._wrap(T, u, sid, ts, inp, rep, {"status": "changed", "record_locator": pnr}, fb, spec, lang, mode, label,
                          {"intent": "flight.change", **({"thread_turns": len(history)} if history and r.random() < 0.5 else {})},
                          fb_extra={"newp": chg_out["fare_difference_eur"], "oldp": diff} if stale else None)

    # ------------------------------------------------------------------ policy question
    def sc_policy(self, mode=None, multi=False):
        r = self.rng
        lang_req = "nonen" if mode == "reply_language_mismatch" else ("en" if mode == "policy_question_misrouted" else None)
        u = self.pick_user(lang_req)
        lang = u["lang"]
        sid, ts = self.session_for(u)
        pol = self.policy(u)
        o, d = self.route(u, long_haul=True if r.random() < 0.6 else None)
        hrs = self.block_hours(o, d)
        tmpl_list = L10N["policy_q"][lang]
        tmpl = r.choice(tmpl_list)
        topic = "hotel" if ("hotel" in tmpl.lower() or "Hotel" in tmpl or "hôtel" in tmpl) else ("rail" if "train" in tmpl else "cabin")
        if mode == "judge_penalises_refusal":
            # pick cabin question where current policy refuses
            topic = "cabin"
            tmpl = [t for t in tmpl_list if "business" in t.lower() or "affaires" in t][0]
            o, d = self.route(u, long_haul=True)
            hrs = self.block_hours(o, d)
            if hrs >= pol["biz"][0]:
                o, d = self.route(u, long_haul=False)
                hrs = round(self.block_hours(o, d), 1)
        if mode == "superseded_policy_ranked" and topic == "rail" and pol["rail1"][0] == pol["rail1"][1]:
            topic = "hotel"
            tmpl = [t for t in tmpl_list if "hotel" in t.lower() or "hôtel" in t.lower()][0]
        if mode == "superseded_policy_ranked" and topic == "cabin" and not (pol["biz"][1] <= hrs < pol["biz"][0]):
            # make the rules disagree for this question
            if pol["biz"][0] >= 50:
                hrs = max(hrs, pol["biz"][1] + 1)
            else:
                hrs = round((pol["biz"][0] + pol["biz"][1]) / 2, 1)
        text = tmpl.format(oc=AIRPORTS[o][0], dc=AIRPORTS[d][0], hrs=("%g" % hrs))
        city = AIRPORTS[d][0]
        inp = self.make_input(u, text)
        misroute = mode == "policy_question_misrouted"
        desk = "concierge" if misroute else "policy_desk"
        T = Trace(r, ts, desk, r.choice(PLANNER_MODELS))
        T.judge_id = None
        rid = self.router(T, text, desk, "smalltalk.general" if misroute else "policy.question",
                          conf=round(r.uniform(0.41, 0.66), 2) if misroute else None,
                          alt={"desk": "policy_desk", "confidence": round(r.uniform(0.3, 0.5), 2)} if misroute else None)
        self.context(T, u, None, "benign" if r.random() < 0.1 else None)
        T.open_agent()
        cur_eff, old_eff = self.eff_dates(pol)
        spec = {}
        fb = []
        cur_rule = self.rule_text(pol, topic, True, city)
        if topic == "cabin":
            allowed = hrs > pol["biz"][0]
            allowed_old = hrs > pol["biz"][1]
        elif topic == "rail":
            allowed, allowed_old = pol["rail1"]
        else:
            allowed = allowed_old = None
        if misroute:
            generic = {"cabin": r.choice(["Most corporate travel policies allow business class on flights over 6 hours, so for a %g-hour flight you should be fine to book business." % hrs,
                                          "Generally business class is fine for long-haul trips like this one - go ahead and I can book it.",
                                          "Typically yes - long-haul flights usually qualify for business class."]),
                       "hotel": r.choice(["Hotel limits are usually around EUR 200 per night in major cities like %s." % city,
                                          "Most companies allow up to about 250 a night in %s." % city]),
                       "rail": r.choice(["First class on trains is generally allowed for business travel.",
                                         "Usually standard class is expected, but first class on longer trips is common."])}[topic]
            plan = T.add("llm", "concierge.respond", {"utterance": text}, {"text": generic}, model=REPLY_MODEL,
                         usage=T.usage(800, 2000, 40, 160))
            rep = generic
            return self._wrap(T, u, sid, ts, inp, rep, {"answer_type": "general"}, fb, {"judge": round(r.uniform(0.55, 0.85), 2)},
                              lang, mode, rid, {"intent": "policy.question"})
        p1 = self.planner(T, "answer %s policy question for %s" % (topic, pol["code"]), ["policy_index.search", "answer"])
        docs = []
        cur_doc = {"doc_id": "%s-v%d-%s" % (pol["prefix"], pol["cur"], {"cabin": "s4.2", "hotel": "s5.1", "rail": "s4.6"}[topic]),
                   "title": "%s Travel & Expense Policy v%d - %s" % (pol["client"], pol["cur"], {"cabin": "Air travel class of service", "hotel": "Accommodation", "rail": "Rail"}[topic]),
                   "version": pol["cur"], "effective_from": cur_eff, "status": "current", "text": cur_rule[0].upper() + cur_rule[1:] + "."}
        old_rule = self.rule_text(pol, topic, False, city)
        old_doc = {"doc_id": "%s-v%d-%s" % (pol["prefix"], pol["old"], {"cabin": "s4.2", "hotel": "s5.1", "rail": "s4.6"}[topic]),
                   "title": "%s Travel Policy v%d - %s" % (pol["client"], pol["old"], {"cabin": "Class of travel", "hotel": "Hotels", "rail": "Rail"}[topic]),
                   "version": pol["old"], "effective_from": old_eff, "text": old_rule[0].upper() + old_rule[1:] + "."}
        if r.random() < 0.7:
            old_doc["status"] = "superseded"
        else:
            old_doc["superseded_by"] = cur_doc["doc_id"]
        faq = {"doc_id": "TMC-FAQ-%03d" % r.randint(1, 300), "title": r.choice(["Booking through the agency: FAQ", "Expense claims FAQ", "Travel safety guidance"]),
               "text": r.choice(["Bookings must be made at least 7 days in advance where possible.", "Receipts must be attached within 30 days.",
                                 "Check entry requirements before booking international travel."])}
        ranking_fail = mode == "superseded_policy_ranked"
        include_old = ranking_fail or r.random() < 0.45
        if ranking_fail:
            ordered = [old_doc, cur_doc, faq] if r.random() < 0.6 else [old_doc, faq, cur_doc]
        else:
            ordered = [cur_doc] + ([old_doc] if include_old else []) + [faq]
            if include_old and r.random() < 0.3:
                ordered = [cur_doc, faq, old_doc]
        sc = sorted([round(r.uniform(0.55, 0.93), 3) for _ in ordered], reverse=True)
        for dd, s in zip(ordered, sc):
            dd["score"] = s
        ret_id = T.add("retriever", "policy_index.search", {"query": text, "client": pol["code"], "top_k": 3},
                       {"documents": [dict(x) for x in ordered]})
        used_rule, used_pol, used_eff = (old_rule, "%s v%d" % (pol["prefix"], pol["old"]), old_eff) if ranking_fail else (cur_rule, "%s v%d" % (pol["prefix"], pol["cur"]), cur_eff)
        if topic == "hotel":
            verdict = {"en": "Rates above that need pre-approval from your manager.", "de": "Darüber ist eine Genehmigung nötig.",
                       "fr": "Au-delà, une approbation préalable est nécessaire.", "es": "Por encima necesitas aprobación previa."}[lang]
            used_ok = None
        else:
            used_ok = allowed_old if ranking_fail else allowed
            if topic == "cabin":
                verdict = {"en": ["So yes, business class is fine for this %g-hour flight." % hrs, "So this %g-hour flight does not qualify for business; I can look at economy or premium economy options." % hrs],
                           "de": ["Business Class ist für diesen Flug also erlaubt.", "Dieser Flug qualifiziert sich also nicht für Business; ich kann Economy-Optionen suchen."],
                           "fr": ["La classe affaires est donc autorisée pour ce vol.", "Ce vol ne donne donc pas droit à la classe affaires ; je peux chercher en économie."],
                           "es": ["Así que business está permitido en este vuelo.", "Este vuelo no da derecho a business; puedo buscar opciones en turista."]}[lang][0 if used_ok else 1]
            else:
                verdict = {"en": ["You can book first class.", "Please book standard class."],
                           "de": ["Erste Klasse ist erlaubt.", "Bitte 2. Klasse buchen."],
                           "fr": ["La première classe est autorisée.", "Merci de réserver en seconde."],
                           "es": ["Puedes reservar primera.", "Reserva en clase turista."]}[lang][0 if used_ok else 1]
        if lang == "en" or mode == "reply_language_mismatch":
            if mode == "reply_language_mismatch":
                verdict = ("This flight qualifies for business class." if used_ok else "This does not qualify; I can look at economy options.") if topic == "cabin" else \
                          ("Rates above that need pre-approval." if topic == "hotel" else ("First class is allowed." if used_ok else "Please book standard class."))
            rep = r.choice(REPLY_POLICY["en"]).format(pol=used_pol, eff=used_eff, rule=used_rule, verdict=verdict)
        else:
            rep = REPLY_POLICY[lang][0].format(pol=used_pol, eff=used_eff, rule=used_rule, verdict=verdict)
        if ranking_fail and r.random() < 0.35:
            rep = rep.replace(" (effective %s)" % used_eff, "").replace(", in force since %s" % used_eff, "").replace(" (gültig seit %s)" % used_eff, "")
        cid = self.compose(T, rep, {"rule": used_rule, "source": ordered[0]["doc_id"]})
        label = None
        judge_ov = None
        if ranking_fail:
            label = ret_id
            spec["judge"] = round(r.uniform(0.74, 0.95), 2)
        elif mode == "reply_language_mismatch":
            label = cid
        elif mode == "judge_penalises_refusal":
            jv = round(r.uniform(0.12, 0.42), 2)
            judge_ov = (jv, r.choice(["Response does not fulfil the user's request for business class; unhelpful.",
                                      "Declines the request instead of helping the traveller book.",
                                      "User wanted business class; the answer refuses and offers a downgrade. Low helpfulness.",
                                      "Fails to accomplish the task; overly restrictive."]))
        elif mode is None and topic == "cabin" and not allowed and r.random() < 0.85:
            judge_ov = (round(r.uniform(0.74, 0.95), 2), r.choice(["Correctly applies the client policy and offers alternatives.",
                                                                   "Accurate policy answer with a helpful next step.",
                                                                   "Declines appropriately per policy; clear."]))
        if judge_ov:
            spec["judge"], spec["judge_comment"] = judge_ov
        return self._wrap(T, u, sid, ts, inp, rep, {"answer_type": "policy", "policy_ref": used_pol} if r.random() < 0.7 else {"answer_type": "policy"},
                          fb, spec, lang, mode, label, {"intent": "policy.question"},
                          checker=True if mode == "judge_penalises_refusal" else None)

    # ------------------------------------------------------------------ entry rules / unsupported
    def sc_entry(self, mode=None, multi=False):
        r = self.rng
        u = self.pick_user("en")
        sid, ts = self.session_for(u)
        nat = r.choice(["UK", "US", "German", "Indian", "Brazilian", "Canadian", "Nigerian", "French"])
        o, d = self.route(u, long_haul=True)
        text = r.choice(["Do I need a visa for %s on a %s passport?" % (AIRPORTS[d][0], nat),
                         "What are the entry rules for %s? I hold a %s passport, trip is for meetings." % (AIRPORTS[d][0], nat),
                         "%s passport - any visa or ETA needed for a business trip to %s?" % (nat, AIRPORTS[d][0])])
        inp = self.make_input(u, text)
        T = Trace(r, ts, "entry_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, "entry_desk", "entry.requirements")
        self.context(T, u, None, None)
        T.open_agent()
        self.planner(T, "entry requirements %s -> %s" % (nat, d), ["entry_rules"])
        req = r.choice(["visa-free up to 90 days for business visits", "e-visa required before travel (apply online, ~72h)",
                        "electronic travel authorisation required", "visa on arrival available; passport valid 6 months",
                        "business visa required, apply via consulate"])
        if mode is None and r.random() < 0.06:
            T.add("tool", "entry_rules", {"nationality": nat, "destination": d, "purpose": "business"}, None,
                  error="429 Too Many Requests (timatic-proxy), retry after 2s")
        T.add("tool", "entry_rules", {"nationality": nat, "destination": d, "purpose": "business"},
              {"requirement": req, "source": "timatic", "checked_at": iso_s(ts - timedelta(seconds=r.randint(1, 30)))})
        rep = r.choice(["For a %s passport travelling to %s on business: %s. Always double-check before you fly." % (nat, AIRPORTS[d][0], req),
                        "Entry for %s: %s (source: Timatic)." % (AIRPORTS[d][0], req)])
        self.compose(T, rep, {"req": req})
        return self._wrap(T, u, sid, ts, inp, rep, {"answer_type": "entry"}, [], {}, "en", None, None, {"intent": "entry.requirements"})

    def sc_unsupported(self, mode="unsupported_request", multi=False):
        r = self.rng
        u = self.pick_user("en")
        sid, ts = self.session_for(u)
        o, d = self.route(u, long_haul=True)
        kind = r.choice(["miles_upgrade", "group", "transit", "miles_upgrade", "transit", "multicity_rail_pass"])
        pnr = "%06X" % r.getrandbits(24)
        spec = {}
        if kind == "miles_upgrade":
            text = r.choice(["Can you use my %s miles to upgrade %s to business?" % (CARRIERS[u["home"]], pnr),
                             "I have loads of points - upgrade my seat on booking %s with miles please" % pnr])
            desk, intent = "changes_desk", "flight.upgrade"
        elif kind == "group":
            k = r.randint(11, 24)
            gdt = self.travel_date(ts)
            text = r.choice(["Need flights for %d of us from %s to %s for the sales kickoff on %s." % (k, AIRPORTS[o][0], AIRPORTS[d][0], gdt.strftime("%d %b")),
                             "Book the team offsite travel - %d people, %s to %s" % (k, o, d)])
            desk, intent = "air_desk", "flight.group_booking"
        elif kind == "transit":
            hub = r.choice(["DOH", "IST", "PEK", "DXB", "LHR", "FRA"])
            nat = r.choice(["Indian", "Nigerian", "Pakistani", "Brazilian", "Chinese"])
            text = "I'm flying %s-%s via %s with a %s passport, 9h layover. Do I need a transit visa?" % (o, d, hub, nat)
            desk, intent = "entry_desk", "entry.transit"
        else:
            text = "Can you add an Interrail business pass for my 3-week site tour?"
            desk, intent = "rail_desk", "rail.pass"
        inp = self.make_input(u, text)
        T = Trace(r, ts, desk, r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, desk, intent)
        self.context(T, u, None, None)
        T.open_agent()
        if kind == "transit":
            self.planner(T, "transit requirements via %s" % hub, ["entry_rules"])
            fid = T.add("tool", "entry_rules", {"nationality": nat, "destination": hub, "purpose": "transit", "layover_hours": 9}, None,
                        error=r.choice(["UnsupportedQuery: purpose 'transit' not supported by entry_rules v2",
                                        "400: transit checks not available - supported purposes: business, leisure"]))
            rep = r.choice(["For a 9-hour layover you generally don't need a visa as long as you stay airside. Have a good trip!",
                            "I can't check transit rules automatically, sorry - please contact the embassy or the agency.",
                            "Transit visas are usually not required if you don't leave the airport, but I couldn't verify it for %s." % hub])
        elif kind == "miles_upgrade":
            fid = self.planner(T, "upgrade %s using miles" % pnr, ["pnr_retrieve", "(no tool for loyalty redemption)"],
                               note="no available tool supports award upgrades")
            T.add("tool", "pnr_retrieve", {"record_locator": pnr}, {"record_locator": pnr, "ticketed": True, "cabin": "economy"})
            rep = r.choice(["I've noted your upgrade request on %s; the airline will process it if space is available." % pnr,
                            "Upgrades with miles aren't something I can do here - you'll need to contact the airline directly.",
                            "I can't redeem miles, but I can search paid business fares if that helps?"])
        elif kind == "group":
            fid = self.planner(T, "group booking %s-%s" % (o, d), ["fare_search(adults=%d)" % k], note=None)
            T.add("tool", "fare_search", {"origin": o, "destination": d, "adults": k, "depart_date": gdt.isoformat()}, None,
                  error="ValidationError: adults must be <= 9")
            rep = r.choice(["I can only book up to 9 travellers at once. I'd suggest splitting the group into two bookings.",
                            "Group bookings aren't supported here - please email groups@ the agency.",
                            "I've searched for 9 travellers; the others will need a separate booking."])
            fid = T.steps[-1]["id"]
        else:
            fid = self.planner(T, "rail pass", ["(no tool for rail passes)"], note="rail_search covers point-to-point tickets only")
            rep = "Rail passes aren't available through me - I can book individual journeys instead."
        self.compose(T, rep, {})
        spec["judge"] = round(r.uniform(0.25, 0.6), 2)
        return self._wrap(T, u, sid, ts, inp, rep, {"answer_type": r.choice(["info", "advice"])}, [], spec, "en", mode, fid, {"intent": intent})

    # ------------------------------------------------------------------ cancel / car / general (healthy)
    def sc_cancel(self, mode=None, multi=False):
        r = self.rng
        u = self.pick_user()
        sid, ts = self.session_for(u)
        pnr = "%06X" % r.getrandbits(24)
        text = r.choice(["Please cancel booking %s, trip is off." % pnr, "cancel %s" % pnr,
                         "The meeting got cancelled, can you cancel my flights (%s)?" % pnr,
                         "Bitte Buchung %s stornieren." % pnr if u["lang"] == "de" else "Cancel my trip %s please" % pnr])
        inp = self.make_input(u, text)
        T = Trace(r, ts, "changes_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, "changes_desk", "booking.cancel")
        self.context(T, u, None, "benign" if r.random() < 0.1 else None)
        T.open_agent()
        self.planner(T, "cancel %s" % pnr, ["pnr_retrieve", "booking_cancel"])
        refundable = r.random() < 0.5
        T.add("tool", "pnr_retrieve", {"record_locator": pnr}, {"record_locator": pnr, "refundable": refundable, "ticketed": True})
        spec = {}
        if mode == "supplier_timeout":
            first = None
            for k in range(r.choice([2, 3])):
                s_ = T.add("tool", "booking_cancel", {"record_locator": pnr}, None,
                           error=r.choice(["upstream timeout after 30000ms (gds-gateway)", "VoidTimeout: ticketing host did not respond"]),
                           lat=r.randint(25000, 31000), meta={"attempt": k + 1})
                first = first or s_
            rep = "I wasn't able to cancel %s - the airline system timed out. It's still active; please retry or call the agency." % pnr
            self.compose(T, rep, {})
            spec["judge"] = round(r.uniform(0.2, 0.5), 2)
            return self._wrap(T, u, sid, ts, inp, rep, {"status": "active"}, [], spec, u["lang"], mode, first, {"intent": "booking.cancel"})
        if r.random() < 0.06:
            T.add("tool", "booking_cancel", {"record_locator": pnr}, None, error="503 Service Unavailable (gds-gateway)", meta={"attempt": 1})
        T.add("tool", "booking_cancel", {"record_locator": pnr}, {"status": "CANCELLED", "refund_eur": round(r.uniform(80, 900), 2) if refundable else 0,
                                                                 "credit_shell": not refundable})
        rep = "Cancelled %s. %s" % (pnr, "A refund is on its way to the company card." if refundable else "The ticket was non-refundable; the value is kept as airline credit for 12 months.")
        if text.startswith("Bitte Buchung"):
            rep = "Buchung %s storniert. %s" % (pnr, "Die Erstattung geht an die Firmenkarte." if refundable else "Das Ticket war nicht erstattbar; der Wert bleibt 12 Monate als Guthaben bei der Airline.")
        self.compose(T, rep, {})
        return self._wrap(T, u, sid, ts, inp, rep, {"status": "cancelled"}, [], spec, u["lang"], None, None, {"intent": "booking.cancel"})

    def sc_car(self, mode=None, multi=False):
        r = self.rng
        u = self.pick_user("en")
        sid, ts = self.session_for(u)
        city = r.choice([c for c in HOTEL_CAP if CITY_CCY[c] != "EUR"] if mode == "fx_total_miscomputed" else list(HOTEL_CAP))
        days = r.randint(2, 6)
        dt = self.travel_date(ts)
        text = r.choice(["Need a rental car in %s from %s for %d days." % (city, dt.strftime("%d %b"), days),
                         "car hire %s %d days from %s, compact is fine" % (city, days, dt.isoformat())])
        inp = self.make_input(u, text)
        T = Trace(r, ts, "lodging_desk", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, text, "lodging_desk", "car.new_booking")
        self.context(T, u, None, None)
        T.open_agent()
        self.planner(T, "car %s %d days" % (city, days), ["car_search", "fx_convert", "booking_hold"])
        ccy = CITY_CCY[city]
        daily = round(r.uniform(35, 95) / EUR_PER[ccy], 0 if ccy in ("JPY", "INR") else 2)
        T.add("tool", "car_search", {"city": city, "pickup": dt.isoformat(), "days": days, "class": "compact"},
              {"offers": [{"vendor": r.choice(["Sixt", "Hertz", "Europcar", "Avis", "Enterprise"]), "daily_rate": daily, "currency": ccy,
                           "class": "compact", "unlimited_km": r.random() < 0.7}]})
        total = round(daily * days, 2)
        rate = round(EUR_PER[ccy] * r.uniform(0.98, 1.02), 6)
        if ccy != "EUR":
            T.add("tool", "fx_convert", {"amount": total, "from": ccy, "to": "EUR"}, {"rate": rate, "converted": round(total * rate, 2)})
        ref = "C%07d" % r.randint(0, 9999999)
        T.add("tool", "booking_hold", {"vendor_offer": "compact", "days": days}, {"status": "HELD", "ref": ref})
        eur = round(total * rate, 2)
        label = None
        if mode == "fx_total_miscomputed":
            var = r.choice(["days", "rate"])
            if var == "days":
                total_s = round(daily * (days + r.choice([-1, 1])), 2); eur_s = round(total_s * rate, 2)
            else:
                total_s = total; eur_s = round(total / rate if rate < 1 else total * rate * 3, 2)
            rep = "Compact car in %s, %s %s/day - %s %s for %d days (~EUR %s). Held as %s." % (city, ccy, money(daily), ccy, money(total_s), days, money(eur_s), ref)
        else:
            rep = "Compact car in %s, %s %s/day - %s %s for %d days%s. Held as %s." % (city, ccy, money(daily), ccy, money(total), days,
                                                                                   (" (~EUR %s)" % money(eur)) if ccy != "EUR" else "", ref)
        cid = self.compose(T, rep, {})
        spec = {}
        if mode == "fx_total_miscomputed":
            label = cid; spec["judge"] = round(r.uniform(0.72, 0.93), 2)
        return self._wrap(T, u, sid, ts, inp, rep, {"status": "held", "ref": ref}, [], spec, "en", mode, label, {"intent": "car.new_booking"})

    def sc_general(self, mode=None, multi=False):
        r = self.rng
        u = self.pick_user("en")
        sid, ts = self.session_for(u)
        q, a = r.choice([("thanks!", "You're welcome - have a great trip!"),
                         ("What does 'semi-flex' mean on a train ticket?", "Semi-flex tickets can usually be exchanged before departure for a fee, but aren't refundable."),
                         ("how early should I be at the airport for a long-haul flight?", "For long-haul, aim to be there about 3 hours before departure."),
                         ("what's a record locator?", "It's the 6-character booking reference (PNR) the airline uses to find your reservation."),
                         ("ok great, that's all", "Great - safe travels!")])
        inp = self.make_input(u, q)
        T = Trace(r, ts, "concierge", r.choice(PLANNER_MODELS))
        T.judge_id = None
        self.router(T, q, "concierge", "smalltalk.general")
        T.open_agent()
        T.add("llm", "concierge.respond", {"utterance": q}, {"text": a}, model=REPLY_MODEL, usage=T.usage(600, 1800, 20, 90))
        return self._wrap(T, u, sid, ts, inp, a, {"answer_type": "general"}, [], {}, "en", None, None, {"intent": "smalltalk"},
                          checker=False, judge=r.random() < 0.3)


EN_ONLY = {"stale_fare_quote", "supplier_timeout", "ticketed_without_consent", "date_argument_malformed",
           "change_forgets_thread"}

MODE_SCEN = {
    "stale_fare_quote": [("sc_flight", 0.75), ("sc_change", 0.25)],
    "supplier_timeout": [("sc_flight", 0.45), ("sc_hotel", 0.2), ("sc_rail", 0.15), ("sc_change", 0.1), ("sc_cancel", 0.1)],
    "change_forgets_thread": [("sc_change", 0.7), ("sc_hotel", 0.3)],
    "superseded_policy_ranked": [("sc_policy", 1.0)],
    "date_argument_malformed": [("sc_flight", 0.5), ("sc_rail", 0.3), ("sc_change", 0.2)],
    "profile_trimmed_from_context": [("sc_flight", 0.6), ("sc_hotel", 0.4)],
    "judge_penalises_refusal": [("sc_policy", 1.0)],
    "fx_total_miscomputed": [("sc_hotel", 0.7), ("sc_car", 0.3)],
    "unsupported_request": [("sc_unsupported", 1.0)],
    "policy_question_misrouted": [("sc_policy", 1.0)],
    "ticketed_without_consent": [("sc_flight", 0.5), ("sc_hotel", 0.25), ("sc_rail", 0.25)],
    "reply_language_mismatch": [("sc_flight", 0.35), ("sc_hotel", 0.25), ("sc_rail", 0.2), ("sc_policy", 0.2)],
}
HEALTHY_SCEN = [("sc_flight", 0.27), ("sc_hotel", 0.18), ("sc_rail", 0.12), ("sc_change", 0.12), ("sc_policy", 0.13),
                ("sc_entry", 0.06), ("sc_cancel", 0.05), ("sc_car", 0.04), ("sc_general", 0.03)]


def pick(rng, opts):
    x = rng.random() * sum(w for _, w in opts)
    for name, w in opts:
        x -= w
        if x <= 0:
            return name
    return opts[-1][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out")
    a = ap.parse_args()
    W = World(a.seed, a.n)
    rng = W.rng
    slots = []
    for m, spec in MODES.items():
        slots += [m] * max(1, round(spec[3] * a.n))
    slots += [None] * max(0, a.n - len(slots))
    slots = slots[:a.n]
    rng.shuffle(slots)
    traces, labels = [], {}
    for mode in slots:
        if mode is None:
            fn = pick(rng, HEALTHY_SCEN)
            multi = rng.random() < 0.25
        else:
            fn = pick(rng, MODE_SCEN[mode])
            multi = rng.random() < 0.25
        tr, lab = getattr(W, fn)(mode, multi)
        traces.append(tr)
        if lab:
            labels[tr["trace_id"]] = lab
    traces.sort(key=lambda t: t["timestamp"])
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "traces.jsonl"), "w", encoding="utf-8") as f:
        for t in traces:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "labels.json"), "w", encoding="utf-8") as f:
        json.dump(labels, f, indent=1, ensure_ascii=False)
    # summary
    cnt = {}
    nofb = 0
    for tid, l in labels.items():
        cnt[l["failure_mode"]] = cnt.get(l["failure_mode"], 0) + 1
    byid = {t["trace_id"]: t for t in traces}
    for tid in labels:
        if not byid[tid].get("feedback"):
            nofb += 1
    print("traces: %d  failing: %d (%.1f%%)  healthy: %d" % (len(traces), len(labels), 100.0 * len(labels) / len(traces), len(traces) - len(labels)))
    for m in MODES:
        print("  %-30s %4d" % (m, cnt.get(m, 0)))
    print("failing without feedback: %d (%.1f%%)" % (nofb, 100.0 * nofb / max(1, len(labels))))


if __name__ == "__main__":
    main()

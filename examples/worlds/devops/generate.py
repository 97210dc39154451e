#!/usr/bin/env python3
"""Forge world: production traces of "Forge", an autonomous coding / DevOps agent.

Forge runs inside Halyard, a mid-size SaaS company (billing, ledger, auth, notifications,
search, data pipeline, web dashboard, mobile BFF).  Engineers hand it tickets through Jira,
the IDE plugin or a Slack mention: fix a bug, fix a flaky test, bump a dependency, add a CLI
flag, rename/refactor, wire a config value, address review comments on an earlier Forge PR,
investigate why a nightly pipeline is red, or ship a build to an environment.

One trace = one Forge run on one ticket turn.  A root `forge.run` agent span owns the
planner's steps (triage router, per-turn planner LLM calls, final summary); sub-agent spans
(`forge-editor`, `forge-verifier`, `forge-release`) own the tool calls: code.search,
pkg.index_lookup, repo.read_file, ctx.assemble (context packer), edit.generate,
repo.apply_patch, sh.exec, tests.run, git.commit_push, pr.open, ci.watch, ci.fetch_log,
release.deploy, release.status.  Offline enrichment may append an LLM judge step
(`pr_judge`, owned by `qa-judge`) and a post-merge main-branch CI observation.
Feedback arrives as PR reviews (approve / request changes / revert), ticket reopenings,
IDE thumbs and occasional close-out ratings.  Field conventions drift between Forge 2.13
(flat metadata, scores as a mapping) and 2.14 (nested `vcs`/`ticket` metadata, scores as a
list), which rolls out during the week.

Failure modes (label name -> root cause):
  ci_runner_starvation          latency_infra        CI / sandbox / git remote never recovers
  hallucinated_library_api      model_limitation     edit uses an API absent from pinned deps
  legacy_module_edited          retrieval_ranking    code search ranks a dead copy first; it gets patched
  review_feedback_forgotten     memory_multiturn     follow-up patch violates a constraint from an earlier turn
  file_elided_duplicate_edit    context_construction context packer elides part of a big file; edit re-adds existing code
  narrow_test_scope_regression  prompt_instruction   only the touched test file is run; PR merges; main goes red later
  stale_dependency_index        data_freshness       package mirror snapshot weeks old; bump picks a superseded version
  no_runtime_log_access         missing_capability   incident needs cluster logs/metrics Forge cannot reach; answer is a guess
  judge_penalizes_good_pr       evaluation_scorer    offline judge scores a good, approved PR low with false rationale
  deploy_call_rejected          tool_arguments       release.deploy args rejected (env alias, ref kind, missing field)
  needless_clarification        routing_decision     triage asks a question the ticket already answers
  untracked_secret_committed    prompt_instruction   `git add -A` sweeps an untracked env/credentials file into the PR

Usage: python generate.py --n 3000 --seed 1 --out DIR   (writes DIR/traces.jsonl, DIR/labels.json)
"""
import argparse
import datetime as dt
import json
import os
import random
import sys

ORG = "halyard"
WEEK_START = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)

# mode -> (root_cause, fixable, severity, share of traffic)
MODES = {
    "ci_runner_starvation":         ("latency_infra",        False, "S2", 0.090),
    "hallucinated_library_api":     ("model_limitation",     False, "S2", 0.050),
    "legacy_module_edited":         ("retrieval_ranking",    False, "S2", 0.040),
    "review_feedback_forgotten":    ("memory_multiturn",     False, "S3", 0.032),
    "file_elided_duplicate_edit":   ("context_construction", False, "S2", 0.028),
    "narrow_test_scope_regression": ("prompt_instruction",   True,  "S2", 0.028),
    "stale_dependency_index":       ("data_freshness",       False, "S2", 0.025),
    "no_runtime_log_access":        ("missing_capability",   False, "S2", 0.024),
    "judge_penalizes_good_pr":      ("evaluation_scorer",    False, "S3", 0.022),
    "deploy_call_rejected":         ("tool_arguments",       True,  "S2", 0.022),
    "needless_clarification":       ("routing_decision",     True,  "S3", 0.021),
    "untracked_secret_committed":   ("prompt_instruction",   True,  "S1", 0.021),
}

MODE_KINDS = {
    "ci_runner_starvation": ["fix_bug", "add_flag", "refactor", "flaky_test", "bump_dependency", "config_change"],
    "hallucinated_library_api": ["fix_bug", "add_flag", "refactor", "flaky_test"],
    "legacy_module_edited": ["fix_bug", "fix_bug", "add_flag"],
    "review_feedback_forgotten": ["address_review"],
    "file_elided_duplicate_edit": ["add_flag", "add_flag", "fix_bug", "refactor"],
    "narrow_test_scope_regression": ["fix_bug", "fix_bug", "refactor", "bump_dependency"],
    "stale_dependency_index": ["bump_dependency"],
    "no_runtime_log_access": ["investigate_red"],
    "judge_penalizes_good_pr": ["fix_bug", "add_flag", "refactor", "flaky_test", "bump_dependency", "config_change"],
    "deploy_call_rejected": ["deploy"],
    "needless_clarification": ["bump_dependency", "add_flag", "refactor"],
    "untracked_secret_committed": ["config_change"],
}

HEALTHY_KINDS = [("fix_bug", 22), ("add_flag", 14), ("refactor", 9), ("flaky_test", 10),
                 ("bump_dependency", 12), ("config_change", 7), ("address_review", 9),
                 ("investigate_red", 8), ("deploy", 8), ("vague", 3)]

USERS = ["mkeller", "a.okafor", "jtran", "sofia.r", "pnair", "dgoldberg", "lwe", "hbaptiste",
         "kowalski.m", "ytanaka", "rfernandes", "cmurphy", "ebrandt", "nasser.h", "ilinde",
         "tpham", "gcosta", "vmorozova", "bwhitfield", "achen", "oadeyemi", "sleclerc",
         "jmartins", "r.kaur", "dvasquez", "fholm", "mzhou", "tbauer", "ksato", "epetrov",
         "wgrant", "lmoreau", "amills", "zyilmaz", "cdiaz", "hsuzuki", "pquinn", "nroy",
         "jolsen", "mabara", "svaldez", "eokonkwo"]

REPOS = [
    {"name": "billing-svc", "lang": "py", "proj": "PAY", "chan": "#billing-eng", "ns": "billing",
     "cli": ("billing/cli/export.py", "build_export_parser", "billingctl export"),
     "comps": [
         ("billing/invoice/rounding.py", "round_line_total", "invoice line rounding",
          ["JPY invoices get rounded to 2 decimals instead of 0", "prorated lines lose a cent when the period spans a DST change"]),
         ("billing/subscriptions/proration.py", "prorate_period", "mid-cycle proration",
          ["downgrades mid-cycle credit the full month back", "proration ignores the customer's billing anchor day"]),
         ("billing/tax/vat_rates.py", "resolve_vat_rate", "VAT rate lookup",
          ["reverse-charge B2B customers in IE still get charged 23% VAT", "VAT lookup falls back to the seller country for Monaco addresses"]),
         ("billing/dunning/scheduler.py", "next_retry_at", "dunning retry scheduling",
          ["dunning retries fire on Sundays although the policy says business days", "retry schedule restarts from day 1 after a partial payment"]),
     ]},
    {"name": "notif-worker", "lang": "py", "proj": "NOTIF", "chan": "#notifications", "ns": "notif",
     "cli": ("notif/cli/replay.py", "build_replay_parser", "notifctl replay"),
     "comps": [
         ("notif/channels/email.py", "send_email", "email sending",
          ["bounced addresses are retried forever", "List-Unsubscribe header is missing on digest mails"]),
         ("notif/templates/render.py", "render_template", "template rendering",
          ["locale fallback picks en-US for pt-BR users", "HTML escaping is applied twice to merge fields"]),
         ("notif/queue/consumer.py", "handle_batch", "queue batch handling",
          ["a poison message blocks the whole batch forever", "messages are acked before the send, so a crash loses them"]),
     ]},
    {"name": "data-pipeline", "lang": "py", "proj": "DATA", "chan": "#data-eng", "ns": "pipelines",
     "cli": ("pipeline/cli.py", "build_cli", "pipectl backfill"),
     "comps": [
         ("pipeline/transforms/fx_normalize.py", "normalize_currency", "FX normalisation",
          ["uses the settlement-date rate instead of the booking-date rate", "rows with a null currency are silently dropped"]),
         ("pipeline/io/s3_sink.py", "write_partition", "partition writer",
          ["overwrites yesterday's partition when a run crosses midnight UTC", "writes _SUCCESS before the last part file is flushed"]),
         ("pipeline/dags/daily_revenue.py", "build_daily_revenue", "daily revenue DAG",
          ["refund rows are counted twice after the schema change", "the DAG starts before the ledger export has landed"]),
     ]},
    {"name": "ledger-api", "lang": "go", "proj": "LEDG", "chan": "#ledger", "ns": "ledger",
     "cli": ("cmd/ledgerctl/export.go", "newExportCmd", "ledgerctl export"),
     "comps": [
         ("internal/journal/post.go", "PostEntry", "journal posting",
          ["posting a zero-amount entry returns 500 instead of 422", "the idempotency key is ignored for reversed entries"]),
         ("internal/fx/convert.go", "ConvertAmount", "currency conversion",
          ["converting to KWD truncates to 2 decimals instead of 3", "the stale rate cache is used after the daily refresh"]),
         ("internal/recon/matcher.go", "MatchStatements", "statement reconciliation",
          ["the matcher pairs two bank lines with the same payout", "the tolerance window is applied in local time, not UTC"]),
     ]},
    {"name": "auth-gateway", "lang": "go", "proj": "AUTH", "chan": "#identity", "ns": "auth",
     "cli": ("cmd/authctl/keys.go", "newRotateCmd", "authctl keys rotate"),
     "comps": [
         ("internal/session/refresh.go", "RefreshToken", "token refresh",
          ["refresh succeeds with a revoked token family", "concurrent refreshes can issue two valid tokens"]),
         ("internal/ratelimit/bucket.go", "Allow", "rate limiting",
          ["the bucket never refills after a config reload", "per-tenant limits are applied per pod instead of globally"]),
         ("internal/oidc/discovery.go", "FetchJWKS", "JWKS discovery",
          ["JWKS is re-fetched on every request when the IdP omits cache headers", "a kid rotation causes 401s for up to an hour"]),
     ]},
    {"name": "search-indexer", "lang": "go", "proj": "SRCH", "chan": "#search", "ns": "search",
     "cli": ("cmd/indexer/reindex.go", "newReindexCmd", "indexer reindex"),
     "comps": [
         ("internal/index/batcher.go", "FlushBatch", "index batching",
          ["the last partial batch is never flushed on shutdown", "batches exceed the 10MB bulk limit for long documents"]),
         ("internal/tokenize/normalize.go", "NormalizeTerm", "term normalisation",
          ["Turkish dotless i is lower-cased incorrectly", "NFKC normalisation strips meaningful hyphens in SKUs"]),
     ]},
    {"name": "web-dashboard", "lang": "ts", "proj": "WEB", "chan": "#frontend", "ns": "web",
     "cli": ("scripts/seed.ts", "registerSeedCommand", "pnpm seed"),
     "comps": [
         ("src/lib/formatMoney.ts", "formatMoney", "money formatting",
          ["negative amounts render as '-$-12.00'", "CHF amounts show 3 decimals in the invoice table"]),
         ("src/features/invoices/InvoiceTable.tsx", "InvoiceTable", "invoice table",
          ["sorting by due date sorts lexicographically", "pagination resets when a filter is cleared"]),
         ("src/hooks/usePolling.ts", "usePolling", "polling hook",
          ["polling keeps running after the tab is hidden", "the interval doubles after every error and never resets"]),
     ]},
    {"name": "mobile-bff", "lang": "ts", "proj": "MOB", "chan": "#mobile", "ns": "bff",
     "cli": ("src/cli/cacheAdmin.ts", "registerCacheCommands", "bff cache purge"),
     "comps": [
         ("src/routes/feed.ts", "getFeed", "feed endpoint",
          ["the feed returns duplicates across page boundaries", "an empty feed returns 500 instead of []"]),
         ("src/middleware/auth.ts", "verifyJwt", "JWT middleware",
          ["clock-skew tolerance is 0, so fresh tokens fail on some devices", "expired tokens return 500 instead of 401"]),
         ("src/cache/redis.ts", "getOrSet", "redis cache helper",
          ["getOrSet stampedes on cold keys", "the TTL is passed in ms to an API that expects seconds"]),
     ]},
]

LANG = {
    "py": {"runner": "pytest", "manifest": "pyproject.toml", "lock": "uv.lock", "lint": "ruff check .",
           "full": "pytest -q -n auto", "toolchains": ["python 3.10.14", "python 3.11.9"], "ext": ".py"},
    "go": {"runner": "go test", "manifest": "go.mod", "lock": "go.sum", "lint": "golangci-lint run ./...",
           "full": "go test ./...", "toolchains": ["go 1.22.5", "go 1.21.13"], "ext": ".go"},
    "ts": {"runner": "vitest", "manifest": "package.json", "lock": "pnpm-lock.yaml", "lint": "pnpm lint",
           "full": "pnpm vitest run", "toolchains": ["node 20.11.1 / typescript 5.3", "node 18.19.0 / typescript 5.2"], "ext": ".ts"},
}

# (package, current, stale "latest" on an old mirror, true latest, advisory or None)
PKGS = {
    "py": [("psycopg", "3.1.18", "3.2.1", "3.2.4", "CVE-2026-31877"), ("requests", "2.31.0", "2.32.2", "2.32.5", None),
           ("pydantic", "2.5.3", "2.9.2", "2.10.3", None), ("sqlalchemy", "2.0.23", "2.0.35", "2.0.38", None),
           ("jinja2", "3.1.2", "3.1.4", "3.1.6", "CVE-2026-40112"), ("cryptography", "41.0.7", "43.0.1", "44.0.0", "GHSA-h4gh-qq45-vh27"),
           ("celery", "5.3.4", "5.4.0", "5.5.1", None), ("urllib3", "1.26.18", "2.2.2", "2.2.4", "CVE-2026-37891")],
    "go": [("github.com/jackc/pgx/v5", "v5.5.1", "v5.6.0", "v5.7.2", "CVE-2026-33815"), ("golang.org/x/net", "v0.19.0", "v0.29.0", "v0.33.0", "GO-2026-3333"),
           ("github.com/golang-jwt/jwt/v5", "v5.2.0", "v5.2.1", "v5.2.2", "CVE-2026-30204"), ("google.golang.org/grpc", "v1.60.1", "v1.66.2", "v1.68.1", None),
           ("github.com/redis/go-redis/v9", "v9.3.0", "v9.6.1", "v9.7.0", None)],
    "ts": [("axios", "1.6.2", "1.7.4", "1.7.9", "CVE-2026-39338"), ("zod", "3.22.4", "3.23.6", "3.23.8", None),
           ("vite", "5.0.10", "5.4.6", "5.4.11", "CVE-2026-45812"), ("@tanstack/react-query", "5.14.0", "5.56.2", "5.62.3", None),
           ("jsonwebtoken", "9.0.0", "9.0.1", "9.0.2", None), ("ioredis", "5.3.2", "5.4.1", "5.4.2", None)],
}

HALLU = {
    "py": [("datetime.UTC", "AttributeError: module 'datetime' has no attribute 'UTC'", "python 3.10.14"),
           ("itertools.batched(rows, 500)", "AttributeError: module 'itertools' has no attribute 'batched'", "python 3.11.9"),
           ("requests.Session(timeout=10)", "TypeError: Session.__init__() got an unexpected keyword argument 'timeout'", "requests 2.31.0"),
           ("conn.execute_batch(stmt, rows)", "AttributeError: 'Connection' object has no attribute 'execute_batch'", "psycopg 3.1.18"),
           ("Field(..., deprecated_alias='amt')", "TypeError: Field() got an unexpected keyword argument 'deprecated_alias'", "pydantic 2.5.3"),
           ("app.send_task(name, args, retry_jitter=True)", "TypeError: send_task() got an unexpected keyword argument 'retry_jitter'", "celery 5.3.4")],
    "go": [("slices.Chunk(ids, 500)", "undefined: slices.Chunk", "go 1.22.5"),
           ("time.Now().Truncate(time.Day)", "undefined: time.Day", "go 1.22.5"),
           ("pgxpool.NewWithRetry(ctx, dsn)", "undefined: pgxpool.NewWithRetry", "pgx v5.5.1"),
           ("strings.CutPrefixFold(s, p)", "undefined: strings.CutPrefixFold", "go 1.21.13"),
           ("rdb.GetOrSet(ctx, key, ttl)", "rdb.GetOrSet undefined (type *redis.Client has no field or method GetOrSet)", "go-redis v9.3.0")],
    "ts": [("rows.toSorted(byDueDate)", "TS2550: Property 'toSorted' does not exist on type 'Invoice[]'. Do you need to change your target library?", "typescript 5.2 (lib es2021)"),
           ("z.string().isoDate()", "TS2339: Property 'isoDate' does not exist on type 'ZodString'.", "zod 3.22.4"),
           ("axios.create({ retry: 3 })", "TS2353: Object literal may only specify known properties, and 'retry' does not exist in type 'CreateAxiosDefaults<any>'.", "axios 1.6.2"),
           ("new Intl.DurationFormat('en')", "TS2339: Property 'DurationFormat' does not exist on type 'typeof Intl'.", "typescript 5.3"),
           ("redis.getdel(key, { ttl })", "TS2554: Expected 1 arguments, but got 2.", "ioredis 5.3.2")],
}

MODELS = {"planner": "claude-sonnet-4-5", "triage": "claude-haiku-4-5", "editor": "claude-sonnet-4-5",
          "judge": "gpt-4.1-2025-04-14"}
PRICE = {"claude-sonnet-4-5": (3e-6, 15e-6), "claude-haiku-4-5": (1e-6, 5e-6), "gpt-4.1-2025-04-14": (2e-6, 8e-6)}

TOOL_SPECS = [
    {"name": "code.search", "description": "Semantic + lexical search over the repository index.", "params": {"query": "string", "k": "int", "path_glob": "string?"}},
    {"name": "repo.read_file", "description": "Read a file from the work branch.", "params": {"path": "string", "range": "string?"}},
    {"name": "repo.apply_patch", "description": "Apply a unified diff to the work tree.", "params": {"patch": "string"}},
    {"name": "sh.exec", "description": "Run a shell command in the sandbox (no cluster or cloud credentials).", "params": {"cmd": "string", "timeout_s": "int?"}},
    {"name": "tests.run", "description": "Run tests relevant to your change and report results.", "params": {"cmd": "string", "timeout_s": "int?"}},
    {"name": "git.commit_push", "description": "Stage, commit and push to the work branch.", "params": {"message": "string", "paths": "string[]?", "add": "string?"}},
    {"name": "pr.open", "description": "Open a pull request from the work branch.", "params": {"title": "string", "body": "string", "draft": "bool?"}},
    {"name": "ci.watch", "description": "Wait for a pipeline and return its job results.", "params": {"pipeline": "int|string", "timeout_min": "int?"}},
    {"name": "ci.fetch_log", "description": "Fetch a CI job log (projects forge-bot can read).", "params": {"project": "string", "job": "string"}},
    {"name": "pkg.index_lookup", "description": "Look up published versions from the internal package mirror.", "params": {"package": "string", "ecosystem": "string"}},
    {"name": "release.deploy", "description": "Trigger a deployment. env: target environment. ref: what to deploy.", "params": {"service": "string", "env": "string", "ref": "string", "canary_percent": "int?", "change_ticket": "string?"}},
    {"name": "release.status", "description": "Poll a deployment.", "params": {"deployment_id": "string"}},
]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def hexid(rng, n=16):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def test_path(lang, path):
    if lang == "py":
        parts = path.split("/")
        return "tests/" + "/".join(parts[1:-1] + ["test_" + parts[-1]])
    if lang == "go":
        return path[:-3] + "_test.go"
    base, ext = path.rsplit(".", 1)
    return base + ".test." + ext


def decoys(rng, lang, path):
    base = path.rsplit("/", 1)[-1]
    stem, ext = base.rsplit(".", 1)
    top = path.split("/")[0]
    if lang == "py":
        opts = [f"{top}/legacy/{stem}_v1.py", f"{top}/_deprecated/{stem}.py", f"scripts/oneoff/{stem}_backfill_2024.py",
                f"tests/fixtures/{stem}_golden.py", f"vendor/halyard_common/{stem}.py"]
    elif lang == "go":
        opts = [f"internal/legacy/{stem}.go", f"internal/v1compat/{stem}.go", f"tools/migrate2024/{stem}.go",
                f"vendor/github.com/halyard/shared/{stem}/{stem}.go", f"testdata/golden/{stem}.go"]
    else:
        opts = [f"src/legacy/{stem}.{ext}", f"src/__old__/{stem}.{ext}", f"storybook/mocks/{stem}.{ext}",
                f"packages/ui-kit-v1/src/{stem}.{ext}", f"e2e/fixtures/{stem}.{ext}"]
    rng.shuffle(opts)
    return opts


def pick(rng, xs):
    return xs[rng.randrange(len(xs))]


class Builder:
    def __init__(self, rng, t0, version):
        self.rng = rng
        self.t = t0
        self.t0 = t0
        self.v = version
        self.steps = []
        self.ids = set()
        self.turn = 0
        self.root = self._new_id()
        self.steps.append({"id": self.root, "parent_id": None, "type": "agent", "name": "forge.run",
                           "start_time": iso(t0), "metadata": {"actor": "forge-planner"}})
        self.agent_span = None
        self.agent_name = None
        self.cost = 0.0

    def _new_id(self):
        while True:
            i = hexid(self.rng)
            if i not in self.ids:
                self.ids.add(i)
                return i

    def _close_agent(self):
        if self.agent_span is not None:
            st = self.agent_span
            st["latency_ms"] = int((self.t - st["_t"]).total_seconds() * 1000)
            del st["_t"]
        self.agent_span = None
        self.agent_name = None

    def _parent_for(self, actor):
        if actor in ("forge-planner",):
            self._close_agent()
            return self.root
        if actor == self.agent_name:
            return self.agent_span["id"]
        self._close_agent()
        sid = self._new_id()
        span = {"id": sid, "parent_id": self.root, "type": "agent", "name": actor, "start_time": iso(self.t),
                "_t": self.t, "metadata": {"actor": actor, "delegated_by": "forge-planner"}}
        self.steps.append(span)
        self.agent_span = span
        self.agent_name = actor
        return sid

    def step(self, actor, typ, name, inp, out, err=None, lat=None, model=None, usage=None, meta=None, gap=None, at=None):
        parent = self._parent_for(actor)
        sid = self._new_id()
        if lat is None:
            lat = self.rng.randint(80, 900)
        start = at if at is not None else self.t
        st = {"id": sid, "parent_id": parent, "type": typ, "name": name, "start_time": iso(start),
              "latency_ms": int(lat), "input": inp, "output": out, "error": err}
        m = {"actor": actor}
        if self.v >= 14:
            m["turn"] = self.turn
        if meta:
            m.update(meta)
        st["metadata"] = m
        if model:
            st["model"] = model
            st["usage"] = usage
            pi, po = PRICE[model]
            c = usage["prompt_tokens"] * pi + usage["completion_tokens"] * po
            st["cost_usd"] = round(c, 6)
            if at is None:
                self.cost += c
        if at is None:
            self.t = start + dt.timedelta(milliseconds=lat + (gap if gap is not None else self.rng.randint(40, 1500)))
        self.steps.append(st)
        return sid

    def llm(self, actor, name, inp, out, model, ptok=None, ctok=None, lat=None, err=None, meta=None):
        r = self.rng
        ptok = ptok or r.randint(3000, 26000)
        ctok = ctok or r.randint(120, 900)
        if lat is None:
            lat = int(600 + ctok * r.uniform(9, 18) + ptok * 0.02)
        return self.step(actor, "llm", name, inp, out, err=err, lat=lat, model=model,
                         usage={"prompt_tokens": ptok, "completion_tokens": ctok}, meta=meta)

    def plan(self, thought, action, tools=None, extra_in=None):
        self.turn += 1
        inp = {"turn": self.turn, "context_tokens": self.rng.randint(4000, 30000)}
        if tools is not None:
            inp["tool_specs"] = tools
        if extra_in:
            inp.update(extra_in)
        out = {"thought": thought}
        if action is not None:
            out["next_action"] = action
        return self.llm("forge-planner", "planner.decide", inp, out, MODELS["planner"],
                        ctok=self.rng.randint(90, 420))

    def finish(self):
        self._close_agent()
        root = self.steps[0]
        root["latency_ms"] = int((self.t - self.t0).total_seconds() * 1000)
        return root["latency_ms"]


# ----------------------------------------------------------------------------------------
# text helpers


def camel(sym):
    return sym[0].upper() + sym[1:]


def new_name(lang, sym):
    if lang == "py":
        return {"round_line_total": "round_line_amount", "prorate_period": "prorate_interval"}.get(sym, sym + "_v2" if "_" not in sym else sym.replace("_", "_safe_", 1))
    if lang == "go":
        return sym + "Ctx" if not sym.endswith("s") else sym[:-1] + "Batch"
    return sym + "Safe"


def make_patch(rng, lang, path, sym, lines, body):
    l0 = rng.randint(12, max(20, lines - 40))
    head = f"--- a/{path}\n+++ b/{path}\n@@ -{l0},{len(body) + 3} +{l0},{len(body) + 5} @@\n"
    return head + "\n".join(body)


def diff_body(rng, lang, sym, flavour):
    if lang == "py":
        pool = {
            "fix": [f" def {sym}(", "-    return round(value, 2)", "+    exp = CURRENCY_EXPONENT.get(currency, 2)", "+    return value.quantize(Decimal(1).scaleb(-exp), rounding=ROUND_HALF_EVEN)"],
            "fix2": [f" def {sym}(", "-    if not items:", "-        raise ValueError('empty')", "+    if not items:", "+        return []"],
            "flag": ["     parser.add_argument('--since', type=_parse_date)", "+    parser.add_argument('--dry-run', action='store_true',", "+                        help='print rows instead of writing them')"],
            "flaky": ["-    time.sleep(0.2)", "-    assert worker.done", "+    assert worker.done_event.wait(timeout=5)", "+    freezer.move_to('2026-01-01T00:00:00Z')"],
            "cfg": ["+    sendgrid_api_key: SecretStr = Field(default=None, alias='SENDGRID_API_KEY')", "+    redis_cache_url: str = 'redis://localhost:6379/3'"],
            "rename": [f"-def {sym}(", f"+def {new_name('py', sym)}(", f"+{sym} = {new_name('py', sym)}  # backwards-compatible alias"],
        }
    elif lang == "go":
        pool = {
            "fix": [f" func {sym}(", "-\treturn amt.Round(2), nil", "+\treturn amt.Round(exponentFor(cur)), nil"],
            "fix2": [f" func {sym}(", "-\tif len(in) == 0 {", "-\t\treturn nil, errEmpty", "+\tif len(in) == 0 {", "+\t\treturn nil, nil"],
            "flag": ["\tcmd.Flags().StringVar(&opts.since, \"since\", \"\", \"only rows after this date\")", "+\tcmd.Flags().BoolVar(&opts.dryRun, \"dry-run\", false, \"print rows instead of writing\")"],
            "flaky": ["-\ttime.Sleep(200 * time.Millisecond)", "+\trequire.Eventually(t, func() bool { return w.Done() }, 5*time.Second, 20*time.Millisecond)"],
            "cfg": ["+\tSendgridAPIKey string `env:\"SENDGRID_API_KEY\"`", "+\tRedisCacheURL  string `env:\"REDIS_CACHE_URL\" envDefault:\"redis://localhost:6379/3\"`"],
            "rename": [f"-func {sym}(", f"+func {new_name('go', sym)}(", f"+// Deprecated: use {new_name('go', sym)}.", f"+func {sym}(a ...any) {{ /* shim */ }}"],
        }
    else:
        pool = {
            "fix": [f" export function {sym}(", "-  return amount.toFixed(2);", "+  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(amount);"],
            "fix2": [f" export function {sym}(", "-  if (!items.length) throw new Error('empty');", "+  if (!items.length) return [];"],
            "flag": ["   .option('--since <date>', 'only rows after this date')", "+  .option('--dry-run', 'print rows instead of writing them', false)"],
            "flaky": ["-  await sleep(200);", "+  await vi.waitFor(() => expect(poller.calls).toBe(1));", "+  vi.useFakeTimers();"],
            "cfg": ["+  sendgridApiKey: z.string().optional(),", "+  redisCacheUrl: z.string().url().default('redis://localhost:6379/3'),"],
            "rename": [f"-export function {sym}(", f"+export function {new_name('ts', sym)}(", f"+/** @deprecated */ export const {sym} = {new_name('ts', sym)};"],
        }
    return pool[flavour]


def test_ok(rng, lang, narrow):
    if lang == "py":
        p = rng.randint(6, 40) if narrow else rng.randint(180, 900)
        s = rng.randint(0, 3) if narrow else rng.randint(2, 20)
        d = round(rng.uniform(0.8, 9) if narrow else rng.uniform(35, 260), 2)
        return {"exit_code": 0, "passed": p, "failed": 0, "skipped": s, "duration_s": d,
                "tail": f"===== {p} passed, {s} skipped in {d}s ====="}
    if lang == "go":
        d = round(rng.uniform(0.3, 4) if narrow else rng.uniform(20, 140), 3)
        p = rng.randint(4, 30) if narrow else rng.randint(150, 700)
        return {"exit_code": 0, "passed": p, "failed": 0, "skipped": 0, "duration_s": d,
                "tail": f"ok  \tgithub.com/{ORG}/...\t{d}s"}
    p = rng.randint(5, 35) if narrow else rng.randint(140, 620)
    f = rng.randint(1, 3) if narrow else rng.randint(20, 70)
    d = round(rng.uniform(1, 8) if narrow else rng.uniform(25, 110), 2)
    return {"exit_code": 0, "passed": p, "failed": 0, "skipped": 0, "duration_s": d,
            "tail": f" Test Files  {f} passed ({f})\n      Tests  {p} passed ({p})\n   Duration  {d}s"}


def test_fail(rng, lang, msg, where):
    p = rng.randint(3, 40)
    f = rng.randint(1, 4)
    if lang == "py":
        tail = f"FAILED {where} - {msg}\n===== {f} failed, {p} passed in {round(rng.uniform(2, 30), 2)}s ====="
    elif lang == "go":
        tail = f"# github.com/{ORG}/...\n{where}: {msg}\nFAIL\tgithub.com/{ORG}/... [build failed]"
    else:
        tail = f" FAIL  {where}\n{msg}\n Test Files  {f} failed | {rng.randint(1, 9)} passed"
    return {"exit_code": 1 if lang != "go" else 2, "passed": p, "failed": f, "skipped": 0,
            "duration_s": round(rng.uniform(1, 40), 2), "tail": tail}


def test_cmd(lang, path, tpath, sym, narrow, rng):
    if lang == "py":
        if narrow:
            return pick(rng, [f"pytest {tpath} -q", f"pytest -q -k {sym}", f"pytest {tpath} -q -x"])
        return pick(rng, ["pytest -q -n auto", "pytest -q", "make test"])
    if lang == "go":
        pkg = "./" + path.rsplit("/", 1)[0] + "/"
        if narrow:
            return pick(rng, [f"go test {pkg} -run Test{camel(sym)}", f"go test {pkg}", f"go test -count=1 {pkg} -run {camel(sym)}"])
        return pick(rng, ["go test ./...", "go test -race ./...", "make test"])
    if narrow:
        return pick(rng, [f"pnpm vitest run {tpath}", f"pnpm vitest run -t {sym}", f"pnpm test -- {tpath}"])
    return pick(rng, ["pnpm vitest run", "pnpm test", "pnpm -r test"])


# ----------------------------------------------------------------------------------------
# tickets


def make_ticket(rng, kind, repo, mode):
    lang = repo["lang"]
    comp = pick(rng, repo["comps"])
    path, sym, topic, bugs = comp
    t = {"kind": kind, "repo": repo, "lang": lang, "path": path, "sym": sym, "topic": topic,
         "tpath": test_path(lang, path), "lines": rng.randint(120, 900)}
    n = rng.randint(1200, 9800)
    t["key"] = f"{repo['proj']}-{n}"
    cli_path, cli_sym, cli_name = repo["cli"]
    if kind == "fix_bug":
        bug = pick(rng, bugs)
        t["title"] = pick(rng, [bug[0].upper() + bug[1:], f"{topic}: {bug}", f"Bug: {bug}"])
        t["body"] = pick(rng, [
            f"Customer-facing. Repro: {bug}. Expected behaviour is described in the runbook; see {path}.",
            f"Support escalated this twice this week. {bug[0].upper() + bug[1:]}. Probably somewhere around `{sym}`.",
            f"{bug[0].upper() + bug[1:]}. Please fix and add a regression test.",
            f"Seen in prod logs since the last release. {bug}.",
        ])
        t["flavour"] = pick(rng, ["fix", "fix2"])
    elif kind == "add_flag":
        flag = pick(rng, ["--dry-run", "--since", "--limit", "--tenant", "--format=json"])
        t["flag"] = flag
        t["path"], t["sym"] = cli_path, cli_sym
        t["tpath"] = test_path(lang, cli_path)
        t["lines"] = rng.randint(300, 1400)
        t["title"] = pick(rng, [f"Add {flag} to `{cli_name}`", f"{cli_name}: support {flag}", f"Need a {flag} option on {cli_name}"])
        bodies = [
            f"Ops wants to preview exports before running them. `{flag}` should default to off and print what would happen.",
            f"Add `{flag}` to `{cli_name}`. Default off. Document it in --help.",
            f"For the migration next week we need `{cli_name} {flag}`. Behaviour: print rows to stdout, don't write anything.",
        ]
        t["body"] = pick(rng, bodies[:2] if mode == "needless_clarification" else bodies)
        t["flavour"] = "flag"
    elif kind == "refactor":
        nn = new_name(lang, sym)
        t["newsym"] = nn
        titles = [f"Rename `{sym}` to `{nn}`", f"Refactor: rename {sym} -> {nn} (keep alias)", f"Extract {topic} helpers out of {path.rsplit('/', 1)[-1]}"]
        t["title"] = pick(rng, titles[:2] if mode == "needless_clarification" else titles)
        t["body"] = pick(rng, [f"Naming cleanup from the architecture review. Keep a deprecated alias for one release.",
                               f"`{sym}` is misleading now that it handles more than one case. Rename to `{nn}`, keep the old name as a deprecated alias.",
                               f"Pure refactor, no behaviour change. Keep the old symbol exported until Q1."])
        t["flavour"] = "rename"
    elif kind == "flaky_test":
        tn = ("test_" + sym) if lang == "py" else ("Test" + camel(sym))
        t["test_name"] = tn
        t["title"] = pick(rng, [f"Fix flaky test {tn}", f"Flaky: {t['tpath']}::{tn}", f"{tn} fails ~1/20 on CI"])
        t["body"] = pick(rng, ["Fails intermittently on main, usually on the shared runners. Looks timing related.",
                               "Quarantined last week. Please fix properly, not by adding retries.",
                               f"Fails with a timeout roughly once a day in {repo['name']} CI."])
        t["flavour"] = "flaky"
    elif kind == "bump_dependency":
        pkg = pick(rng, PKGS[lang])
        t["pkg"] = pkg
        t["path"] = LANG[lang]["manifest"]
        t["tpath"] = None
        style = "latest" if mode == "stale_dependency_index" else ("pinned" if mode == "needless_clarification" else pick(rng, ["latest", "latest", "pinned"]))
        if mode == "stale_dependency_index" and pkg[4] is None and rng.random() < 0.6:
            pkg = pick(rng, [p for p in PKGS[lang] if p[4]])
            t["pkg"] = pkg
        t["style"] = style
        if style == "pinned":
            t["title"] = pick(rng, [f"Bump {pkg[0]} to {pkg[3]}", f"Upgrade {pkg[0]} {pkg[1]} -> {pkg[3]}", f"deps: {pkg[0]}@{pkg[3]}"])
            t["body"] = pick(rng, [f"Please bump `{pkg[0]}` to exactly {pkg[3]} in {repo['name']}.", f"Target version {pkg[3]}. Run the full suite.", "Routine upgrade, version in the title."])
        elif pkg[4]:
            t["title"] = pick(rng, [f"Patch {pkg[4]} ({pkg[0]})", f"Upgrade {pkg[0]} for {pkg[4]}", f"Security: bump {pkg[0]} to a fixed release"])
            t["body"] = pick(rng, [f"Security flagged {pkg[4]} in {pkg[0]} {pkg[1]}. Bump to the latest release that includes the fix.",
                                   f"{pkg[4]} affects our pinned {pkg[0]}. Move to the newest version.",
                                   f"Dependency audit finding {pkg[4]}. Upgrade {pkg[0]} to latest."])
        else:
            t["title"] = pick(rng, [f"Bump {pkg[0]} to latest", f"Upgrade {pkg[0]}", f"deps: update {pkg[0]}"])
            t["body"] = pick(rng, [f"We're several releases behind on {pkg[0]}. Upgrade to the latest stable.", "Routine dependency hygiene.", f"Get {pkg[0]} current before the freeze."])
        t["flavour"] = None
    elif kind == "config_change":
        var = pick(rng, ["SENDGRID_API_KEY", "REDIS_CACHE_URL", "STRIPE_WEBHOOK_SECRET", "SEGMENT_WRITE_KEY", "OPENEXCHANGE_APP_ID"])
        t["var"] = var
        t["path"] = {"py": "app/settings.py", "go": "internal/config/config.go", "ts": "src/config/env.ts"}[lang]
        t["tpath"] = test_path(lang, t["path"]) if lang != "py" else "tests/test_settings.py"
        t["sym"] = {"py": "Settings", "go": "Config", "ts": "envSchema"}[lang]
        t["topic"] = "service configuration"
        t["title"] = pick(rng, [f"Wire {var} through settings", f"Add {var} to config (local dev + helm)", f"Read {var} from env instead of hardcoding"])
        t["body"] = pick(rng, [f"{var} is currently read ad hoc in two places. Move it into the settings object and document it in .env.example.",
                               f"Need {var} configurable per env. Add to settings + .env.example, no defaults for secrets.",
                               f"Local dev setup: add {var} to the config schema and the example env file."])
        t["flavour"] = "cfg"
    elif kind == "address_review":
        t["pr_prev"] = rng.randint(3100, 9900)
        t["title"] = pick(rng, [f"Address review on #{t['pr_prev']}", f"Follow-up: review comments on #{t['pr_prev']} ({topic})", f"#{t['pr_prev']}: round 2"])
        t["body"] = ""
        t["flavour"] = pick(rng, ["fix", "fix2"])
    elif kind == "investigate_red":
        t["title"] = pick(rng, ["Why is the nightly deploy red?", f"nightly e2e for {repo['name']} failing since Tuesday",
                                f"{repo['name']} canary was rolled back automatically at 03:10, why?",
                                f"p95 on {repo['name']} doubled after yesterday's release - investigate",
                                f"{repo['name']} pods restarting every ~20 min in prd"])
        t["body"] = pick(rng, ["Can Forge take a first look before the on-call does?", "No idea where to start. Please investigate and propose a fix if it's in the code.",
                               "Please find the root cause.", ""])
        t["flavour"] = "fix"
    elif kind == "deploy":
        t["env"] = pick(rng, ["stg", "stg", "prd", "prd-canary"])
        t["tag"] = f"v{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 12)}"
        t["chg"] = f"CHG-{rng.randint(10000, 99999)}"
        human_env = {"stg": pick(rng, ["staging", "stage", "stg"]), "prd": pick(rng, ["production", "prod", "prd"]),
                     "prd-canary": pick(rng, ["a 10% canary in prod", "prod canary (10%)"])}[t["env"]]
        t["human_env"] = human_env
        t["title"] = pick(rng, [f"Ship {repo['name']} {t['tag']} to {human_env}", f"Deploy the {topic} hotfix ({t['tag']}) to {human_env}",
                                f"Roll {t['tag']} of {repo['name']} to {human_env}"])
        t["body"] = pick(rng, [f"Change approved as {t['chg']}.", f"CAB ok ({t['chg']}). Watch the error rate after.", f"{t['chg']} approved, go ahead.", "Tag is built and green."])
        t["flavour"] = None
    elif kind == "vague":
        t["title"] = pick(rng, [f"make {repo['name']} faster", f"clean up {topic}", f"{topic} is weird sometimes", "can you look at the export thing from standup"])
        t["body"] = pick(rng, ["", "see thread", "you know the one"])
        t["flavour"] = None
    return t


def render_input(rng, t, channel, thread):
    repo = t["repo"]
    slug = f"{ORG}/{repo['name']}"
    if channel == "jira":
        inp = {"source": "jira", "ticket": {"key": t["key"], "title": t["title"], "description": t["body"]}, "repo": slug}
        if rng.random() < 0.6:
            inp["ticket"]["priority"] = pick(rng, ["P2", "P3", "P3", "P4", "P1"])
        if rng.random() < 0.5:
            inp["ticket"]["labels"] = rng.sample(["forge", "tech-debt", "customer", "security", "ops", "q4"], rng.randint(1, 2))
        if thread:
            inp["thread"] = thread
        return inp
    if channel == "ide":
        msgs = []
        for c in thread or []:
            msgs.append({"role": "assistant" if c["author"] == "forge-bot" else "user",
                         "content": c["body"]})
        text = f"{t['title']}. {t['body']}".strip().rstrip(".") + (f" ({t['key']})" if rng.random() < 0.5 else "")
        msgs.append({"role": "user", "content": text})
        return msgs
    inp = {"source": "slack", "channel": repo["chan"], "text": f"@forge {t['title']} {t['body']}".strip(), "ts": str(rng.randint(1763900000, 1764500000)) + ".%06d" % rng.randint(0, 999999)}
    if thread:
        inp["replies"] = [{"user": c["author"], "text": c["body"]} for c in thread]
    return inp


# ----------------------------------------------------------------------------------------
# trace generation


REVIEW_CONSTRAINTS = [
    ("alias", "Please keep `{sym}` as the public name, payments-worker and the reports job import it. If you want the new name add it as an alias.",
     "renames `{sym}` and drops the old export"),
    ("timeout", "Don't change DEFAULT_TIMEOUT here, ops tuned it to {n}s on purpose after the October incident.",
     "changes DEFAULT_TIMEOUT from {n} to {m}"),
    ("nodep", "Use the existing retry helper in {util} instead of pulling in a new dependency for this.",
     "adds {dep} to the manifest"),
    ("loglevel", "This path is hot, keep that log line at debug level please.",
     "logs at info on every call"),
    ("migrations", "No edits to existing migration files, they've already run in prd. Add a new one if needed.",
     "edits migration {mig} in place"),
]


class Ctx:
    pass


def gen_trace(rng, t, mode, t0, user, session, channel, version):
    """Build one trace dict and optional label for ticket t and failure mode (or None)."""
    B = Builder(rng, t0, version)
    repo = t["repo"]
    lang = t["lang"]
    L = LANG[lang]
    slug = f"{ORG}/{repo['name']}"
    words = ["".join(ch for ch in w if ch.isalnum() or ch == "_") for w in t["title"].lower().split()]
    branch = f"forge/{t['key'].lower()}-" + "-".join([w for w in words if w][:4])
    toolchain = pick(rng, L["toolchains"])
    fail = {"step": None}
    feedback = []
    scores = []
    result = {}

    def mark(sid):
        if fail["step"] is None:
            fail["step"] = sid

    thread = None
    constraint = None
    if t["kind"] == "address_review":
        rv = pick(rng, [u for u in USERS if u != user])
        c = pick(rng, REVIEW_CONSTRAINTS)
        n = pick(rng, [10, 15, 20, 30, 45])
        fmt = {"sym": t["sym"], "n": n, "m": n * 2, "util": {"py": "halyard_common/retry.py", "go": "internal/retry/backoff.go", "ts": "src/lib/retry.ts"}[lang],
               "dep": {"py": "tenacity", "go": "github.com/cenkalti/backoff/v4", "ts": "p-retry"}[lang],
               "mig": {"py": "migrations/0042_add_anchor_day.py", "go": "migrations/000118_recon_window.up.sql", "ts": "prisma/migrations/20261102_feed_cursor/migration.sql"}[lang]}
        constraint = (c[0], c[1].format(**fmt), c[2].format(**fmt))
        base = t0 - dt.timedelta(hours=rng.randint(3, 70))
        thread = [
            {"author": "forge-bot", "at": iso(base), "body": f"Opened #{t['pr_prev']} for {t['topic']}: {pick(rng, ['initial fix with tests', 'first pass, see description', 'patch + regression test'])}."},
            {"author": rv, "at": iso(base + dt.timedelta(hours=rng.randint(1, 5))), "body": constraint[1]},
        ]
        if rng.random() < 0.6:
            thread.append({"author": "forge-bot", "at": iso(base + dt.timedelta(hours=6)), "body": pick(rng, ["Noted, will do in the next revision.", "Understood, updated the description.", "Ack."])})
        ask = pick(rng, [f"Also handle the empty-input case in `{t['sym']}` and push.", "Please address the remaining nit (docstring + test name) and push.",
                         f"CI is fine now, can you also cover the {pick(rng, ['EUR', 'zero-amount', 'multi-tenant', 'retry'])} case?",
                         "Rebase on main and fix the failing lint, then push."])
        thread.append({"author": rv, "at": iso(t0 - dt.timedelta(minutes=rng.randint(2, 90))), "body": ask})
        t["body"] = ask
        t["reviewer"] = rv

    inp = render_input(rng, t, channel, thread)

    # ---------------- triage ----------------
    route = {"investigate_red": "investigate", "deploy": "deploy", "vague": "clarify"}.get(t["kind"], "implement")
    if mode == "needless_clarification":
        route = "clarify"
    tri_in = {"title": t["title"], "repo": slug}
    if version >= 14:
        tri_in["routes"] = ["implement", "investigate", "deploy", "clarify", "decline"]
    tri_out = {"route": route, "confidence": round(rng.uniform(0.55, 0.97), 2)}
    if route == "clarify":
        tri_out["reason"] = pick(rng, ["request underspecified", "missing target details", "ambiguous scope"])
    tri = B.llm("forge-planner", "triage.route", tri_in, tri_out, MODELS["triage"], ptok=rng.randint(700, 2400), ctok=rng.randint(20, 80))
    B.steps[-1]["type"] = "router"

    if route == "clarify":
        if mode == "needless_clarification":
            mark(tri)
            if t["kind"] == "bump_dependency":
                q = pick(rng, [f"Which version of {t['pkg'][0]} should I target?", f"Do you want the latest {t['pkg'][0]} or a specific version?",
                               f"Before I start: which {t['pkg'][0]} release are we moving to, and should I run the full suite?"])
            elif t["kind"] == "add_flag":
                q = pick(rng, [f"Should `{t['flag']}` default to on or off?", f"Which command should get `{t['flag']}`?",
                               f"Which CLI do you want `{t['flag']}` added to, and should it be on by default?"])
            else:
                q = pick(rng, [f"What should the new name for `{t['sym']}` be?", "Should I keep the old name around as an alias?",
                               "Is this a pure rename or should behaviour change too?"] if "alias" in (t["title"] + t["body"]) or "behaviour" in t["body"] else
                         [f"What should the new name for `{t['sym']}` be?", f"Just to confirm, rename `{t['sym']}` to what exactly?"])
        else:
            q = pick(rng, ["Which part is slow for you: the API, the export job, or the dashboard load?", "Can you point me to the thread or a failing example?",
                           "What does 'weird' look like: wrong numbers, errors, or timing?", "Which command or endpoint do you mean?"])
        B.plan("Request needs clarification before acting.", {"tool": "reply", "args": {"question": q}})
        result = {"status": "needs_info", "question": q}
        if mode == "needless_clarification":
            r = rng.random()
            if r < 0.35:
                feedback.append({"kind": "comment", "value": None, "source": "user", "comment": pick(rng, [
                    "it's literally in the title", "The ticket says which version. Please just do it.", "see description, it's specified",
                    "Already answered in the ticket body.", "??? it says default off"])})
            elif r < 0.6:
                feedback.append({"kind": "thumb", "value": 0, "source": "user"})
            elif r < 0.7:
                feedback.append({"kind": "implicit", "value": 0, "source": "system", "comment": "ticket reassigned from forge-bot to a human", "event": "ticket.reassigned"})
        else:
            if rng.random() < 0.3:
                feedback.append({"kind": "thumb", "value": 1, "source": "user"})
        return finish_trace(B, t, mode, inp, result, feedback, scores, fail, user, session, channel, version, slug, branch, toolchain)

    if t["kind"] == "investigate_red":
        investigate(B, rng, t, mode, mark, feedback, result, slug)
        return finish_trace(B, t, mode, inp, result, feedback, scores, fail, user, session, channel, version, slug, branch, toolchain)
    if t["kind"] == "deploy":
        deploy(B, rng, t, mode, mark, feedback, result, slug)
        return finish_trace(B, t, mode, inp, result, feedback, scores, fail, user, session, channel, version, slug, branch, toolchain)

    change(B, rng, t, mode, mark, feedback, scores, result, slug, branch, toolchain, constraint, version, user)
    return finish_trace(B, t, mode, inp, result, feedback, scores, fail, user, session, channel, version, slug, branch, toolchain)


def infra_error(rng, where, lang="py"):
    if where == "ci":
        tags = pick(rng, ["[docker, xl]", "[linux, arm64]", "[gpu-none, large]", "[shared, amd64]"])
        pool = pick(rng, ["linux-xl", "shared-amd64", "arm64-build", "ci-large"])
        m = rng.randint(30, 75)
        return pick(rng, [
            f"watch timed out after {m}m: 3 jobs still pending (no online runner matches tags {tags})",
            f"job 'unit' queued for {m}m; runner pool '{pool}' saturated ({rng.randint(20, 40)}/{rng.randint(20, 40)} busy)",
            f"pipeline stuck in 'created' for {m} min; scheduler returned 503 on /jobs/request",
            f"deadline exceeded waiting for pipeline (last status: pending, queue position {rng.randint(14, 80)})",
        ])
    if where == "sandbox":
        return pick(rng, [
            f"sandbox exec killed: wall-clock limit {pick(rng, [600, 900, 1200])}s exceeded (container sbx-{hexid(rng, 8)} unresponsive)",
            f"sandbox provisioning failed: ImagePullBackOff for forge-sbx:{ {'py': 'py311-2026.11', 'go': 'go122-2026.10', 'ts': 'node20-2026.11'}[lang]} (registry i/o timeout)",
            "sandbox lost: node drained during exec (spot reclaim)",
            f"OOMKilled: test process exceeded 8Gi in sandbox sbx-{hexid(rng, 8)}",
        ])
    if where == "git":
        return pick(rng, [
            "git push failed: remote: Internal Server Error (HTTP 502); RPC failed; curl 22",
            "git push failed: ssh: connect to host git.halyard.internal port 22: Connection timed out",
            "git push failed: error: RPC failed; HTTP 504 curl 22 The requested URL returned error: 504",
        ])
    return pick(rng, [
        "code search backend unavailable: upstream request timeout after 30000 ms",
        "index service returned 503 (shard rebalancing)",
    ])


def change(B, rng, t, mode, mark, feedback, scores, result, slug, branch, toolchain, constraint, version, user):
    lang = t["lang"]
    L = LANG[lang]
    repo = t["repo"]
    path, sym, tpath = t["path"], t["sym"], t["tpath"]
    verbose_specs = rng.random() < 0.3
    specs = TOOL_SPECS if verbose_specs else None
    infra_where = None
    if mode == "ci_runner_starvation":
        infra_where = pick(rng, ["ci", "ci", "ci", "sandbox", "sandbox", "git"])
    pr_number = rng.randint(3100, 9990)
    target_path = path
    elided_fail = mode == "file_elided_duplicate_edit"

    # transient recovered error in healthy-ish traces
    transient = None
    if mode is None and rng.random() < 0.12:
        transient = pick(rng, ["ci", "sandbox", "git", "search"])

    # ---------- dependency bump ----------
    if t["kind"] == "bump_dependency":
        pkg, cur, stale, true_latest, adv = t["pkg"]
        eco = {"py": "pypi", "go": "go", "ts": "npm"}[lang]
        if t["style"] == "pinned":
            target = true_latest
            B.plan(f"Ticket pins {pkg} {true_latest}. Update the manifest and lockfile, then run the suite.",
                   {"tool": "repo.read_file", "args": {"path": L["manifest"]}}, tools=specs)
        else:
            B.plan(f"Need the newest {pkg} release. Check the package mirror first.", {"tool": "pkg.index_lookup", "args": {"package": pkg, "ecosystem": eco}}, tools=specs)
            if mode == "stale_dependency_index":
                snap = B.t - dt.timedelta(days=rng.randint(38, 120), hours=rng.randint(0, 23))
                latest = stale
            else:
                snap = B.t - dt.timedelta(hours=rng.randint(1, 40)) if rng.random() < 0.85 else B.t - dt.timedelta(days=rng.randint(3, 6))
                latest = true_latest
            versions = [cur, latest] if cur != latest else [cur]
            out = {"package": pkg, "ecosystem": eco, "versions_tail": versions, "latest": latest}
            if version >= 14:
                out["mirror_synced_at"] = iso(snap)
            else:
                out["snapshot"] = snap.strftime("%Y-%m-%d")
            if rng.random() < 0.5:
                out["source"] = pick(rng, ["artifactory-mirror", "forge-pkg-cache"])
            sid = B.step("forge-editor", "retriever", "pkg.index_lookup", {"package": pkg, "ecosystem": eco}, out, lat=rng.randint(90, 900))
            target = latest
            if mode == "stale_dependency_index":
                mark(sid)
            B.step("forge-editor", "tool", "repo.read_file", {"path": L["manifest"]}, {"path": L["manifest"], "total_lines": rng.randint(40, 160), "sha": hexid(rng, 12)}, lat=rng.randint(30, 200))
        cmd = {"py": f"uv add '{pkg}=={target.lstrip('v')}'", "go": f"go get {pkg}@{target} && go mod tidy", "ts": f"pnpm add {pkg}@{target}"}[lang]
        B.plan(f"Bump {pkg} {cur} -> {target}.", {"tool": "sh.exec", "args": {"cmd": cmd}})
        B.step("forge-editor", "tool", "sh.exec", {"cmd": cmd}, {"exit_code": 0, "stdout_tail": f"updated {pkg} {cur} -> {target}"}, lat=rng.randint(3000, 40000))
        t["bumped_to"] = target
        changed = [L["manifest"], L["lock"]]
        narrow = mode == "narrow_test_scope_regression"
        tpath = pick(rng, repo["comps"])[0]
        tpath = test_path(lang, tpath)
        sym_for_tests = sym
    else:
        changed = None
        narrow = mode == "narrow_test_scope_regression"
        sym_for_tests = sym
        # ---------- locate ----------
        need_search = t["kind"] in ("fix_bug", "add_flag") or rng.random() < 0.3 or mode == "legacy_module_edited"
        if mode == "ci_runner_starvation" and infra_where == "search":
            need_search = True
        if need_search:
            q = pick(rng, [f"{sym} {t['topic']}", f"where is {t['topic']} implemented", f"def {sym}" if lang == "py" else f"func {sym}" if lang == "go" else f"function {sym}", t["title"][:60]])
            B.plan(pick(rng, [f"Locate the implementation of {t['topic']}.", f"Find where `{sym}` lives before editing.", "Search the repo for the relevant code."]),
                   {"tool": "code.search", "args": {"query": q, "k": 8}}, tools=specs)
            if transient == "search":
                B.step("forge-editor", "retriever", "code.search", {"query": q, "k": 8}, None, err=infra_error(rng, "search"), lat=30000)
                B.plan("Search backend timed out, retrying once.", {"tool": "code.search", "args": {"query": q, "k": 8}})
            ds = decoys(rng, lang, path)
            hits = []
            if mode == "legacy_module_edited":
                live_rank = pick(rng, [3, 4, 5, 6, 7, None])
                order = ds[:rng.randint(2, 4)]
                target_path = order[0]
                t["decoy"] = target_path
            else:
                live_rank = 1 if rng.random() < 0.8 else 2
                order = ds[:rng.randint(1, 3)]
            items = list(order)
            if live_rank is not None:
                items.insert(min(live_rank - 1, len(items)), path)
            filler = [tpath, f"docs/{t['topic'].replace(' ', '-').lower()}.md", pick(rng, repo["comps"])[0]]
            for f in filler:
                if f not in items and len(items) < 8:
                    items.append(f)
            sc = round(rng.uniform(0.82, 0.95), 3)
            for p in items:
                h = {"path": p, "score": sc, "line": rng.randint(10, 600)}
                if rng.random() < 0.7:
                    h["preview"] = (f"def {sym}(" if lang == "py" else f"func {sym}(" if lang == "go" else f"export function {sym}(") if p in (path, ) or p in ds else p.rsplit("/", 1)[-1]
                if rng.random() < 0.4 or (p in ds and mode == "legacy_module_edited" and rng.random() < 0.6):
                    lm = B.t - (dt.timedelta(days=rng.randint(380, 900)) if p in ds else dt.timedelta(days=rng.randint(2, 90)))
                    h["last_commit"] = lm.strftime("%Y-%m-%d")
                hits.append(h)
                sc = round(sc - rng.uniform(0.01, 0.08), 3)
            sid = B.step("forge-editor", "retriever", "code.search", {"query": q, "k": 8}, {"hits": hits}, lat=rng.randint(200, 2400))
            if mode == "legacy_module_edited":
                mark(sid)
            elif live_rank == 2:
                # healthy: agent checks the decoy and moves on
                B.plan(f"Top hit {items[0]} looks like an old copy; check whether it's still imported.", {"tool": "sh.exec", "args": {"cmd": f"grep -rn '{items[0].rsplit('/', 1)[-1].rsplit('.', 1)[0]}' --include=*{L['ext']} . | head"}})
                B.step("forge-editor", "tool", "sh.exec", {"cmd": "grep -rn ... | head"}, {"exit_code": 1, "stdout_tail": ""}, lat=rng.randint(200, 1500))
        # ---------- read ----------
        big = mode == "file_elided_duplicate_edit" or (rng.random() < 0.15)
        total_lines = rng.randint(2200, 6800) if big else t["lines"]
        B.plan(pick(rng, [f"Read {target_path}.", f"Open {target_path} to see the current logic.", f"Inspect `{sym}` in {target_path}."]),
               {"tool": "repo.read_file", "args": {"path": target_path}})
        B.step("forge-editor", "tool", "repo.read_file", {"path": target_path}, {"path": target_path, "total_lines": total_lines, "sha": hexid(rng, 12), "encoding": "utf-8"}, lat=rng.randint(20, 300))
        if rng.random() < 0.45:
            B.step("forge-editor", "tool", "repo.read_file", {"path": tpath}, {"path": tpath, "total_lines": rng.randint(40, 700), "sha": hexid(rng, 12)}, lat=rng.randint(20, 300))
        if mode == "legacy_module_edited":
            tpath = test_path(lang, target_path) if rng.random() < 0.5 else tpath
        # ---------- context packing ----------
        use_ctx = big or rng.random() < 0.4
        ctx_sid = None
        if use_ctx:
            budget = pick(rng, [16000, 24000, 32000])
            segs = []
            if big:
                if elided_fail:
                    a = rng.randint(120, 260)
                    b = rng.randint(int(total_lines * 0.5), total_lines - 200)
                    segs = [{"source": target_path, "lines": f"1-{a}", "kept": True},
                            {"source": target_path, "lines": f"{a + 1}-{b}", "kept": False, "reason": pick(rng, ["budget", "low_relevance", "token_budget"])},
                            {"source": target_path, "lines": f"{b + 1}-{total_lines}", "kept": True}]
                    t["elided"] = (a + 1, b)
                    t["elided_any"] = (a + 1, b)
                else:
                    a = rng.randint(300, 900)
                    segs = [{"source": target_path, "lines": f"1-{a}", "kept": True},
                            {"source": target_path, "lines": f"{a + 1}-{total_lines}", "kept": False, "reason": "budget"}]
                    t["elided_any"] = (a + 1, total_lines)
            else:
                segs = [{"source": target_path, "lines": f"1-{total_lines}", "kept": True}]
            if rng.random() < 0.6:
                segs.append({"source": L["lock"], "kept": False, "reason": pick(rng, ["generated", "lockfile"])})
            if rng.random() < 0.5:
                segs.append({"source": tpath, "kept": True})
            used = int(budget * rng.uniform(0.8, 0.99))
            out = {"budget_tokens": budget, "used_tokens": used, "segments": segs}
            if version >= 14 and big and rng.random() < 0.5:
                dropped = sum(int(s["lines"].split("-")[1]) - int(s["lines"].split("-")[0]) + 1 for s in segs if not s.get("kept") and "lines" in s)
                out["note"] = pick(rng, [f"{dropped:,} lines dropped to fit budget", f"packed with elision ({dropped} lines)", f"context trimmed: {dropped} lines of {target_path} omitted"])
            ctx_sid = B.step("forge-editor", "chain", "ctx.assemble", {"files": [target_path, tpath], "budget_tokens": budget}, out, lat=rng.randint(40, 400))
            if elided_fail:
                mark(ctx_sid)

    # ---------- edit ----------
    fl = t.get("flavour") or "fix"
    body = diff_body(rng, lang, sym, fl)
    hallu = None
    if mode == "hallucinated_library_api":
        hallu = pick(rng, HALLU[lang])
        body = body[:1] + [f"+    result = {hallu[0]}" if lang == "py" else f"+\tresult := {hallu[0]}" if lang == "go" else f"+  const result = {hallu[0]};"] + body[1:]
    violation = None
    if t["kind"] == "address_review":
        kind_c = constraint[0]
        if mode == "review_feedback_forgotten":
            violation = constraint[2]
            nn = new_name(lang, sym)
            vb = {"alias": [f"-def {sym}(" if lang == "py" else f"-func {sym}(" if lang == "go" else f"-export function {sym}(", f"+def {nn}(" if lang == "py" else f"+func {nn}(" if lang == "go" else f"+export function {nn}("],
                  "timeout": ["-DEFAULT_TIMEOUT = %s" % constraint[2].split()[-3], "+DEFAULT_TIMEOUT = %s" % constraint[2].split()[-1]] if lang == "py" else
                             ["-\tdefaultTimeout = %s * time.Second" % constraint[2].split()[-3], "+\tdefaultTimeout = %s * time.Second" % constraint[2].split()[-1]] if lang == "go" else
                             ["-export const DEFAULT_TIMEOUT_MS = %s_000;" % constraint[2].split()[-3], "+export const DEFAULT_TIMEOUT_MS = %s_000;" % constraint[2].split()[-1]],
                  "nodep": ["+" + {"py": "from tenacity import retry, stop_after_attempt", "go": "\t\"github.com/cenkalti/backoff/v4\"", "ts": "import pRetry from 'p-retry';"}[lang]],
                  "loglevel": ["+" + {"py": "    log.info('%s called', kwargs)" , "go": "\tlog.Info(\"called\", \"args\", args)", "ts": "  logger.info({ args }, 'called');"}[lang]],
                  "migrations": [f"--- a/{constraint[2].split()[2]}", f"+++ b/{constraint[2].split()[2]}", "-    ('anchor_day', models.IntegerField(null=True))" if lang == "py" else "-ALTER TABLE recon ADD COLUMN window_s int;", "+    ('anchor_day', models.IntegerField(default=1))" if lang == "py" else "+ALTER TABLE recon ADD COLUMN window_s int NOT NULL DEFAULT 0;"]}[kind_c]
            body = body + vb
        elif rng.random() < 0.6:
            ok = {"alias": [f"+{sym} = {new_name(lang, sym)}  # kept for payments-worker" if lang == "py" else f"+// {sym} kept exported for existing callers" if lang == "go" else f"+export {{ {sym} }};  // kept for existing importers"],
                  "timeout": [" DEFAULT_TIMEOUT = %s" % constraint[2].split()[-3] if lang == "py" else " \tdefaultTimeout = %s * time.Second" % constraint[2].split()[-3] if lang == "go" else " export const DEFAULT_TIMEOUT_MS = %s_000;" % constraint[2].split()[-3]],
                  "nodep": ["+" + {"py": "from halyard_common.retry import retry_with_backoff", "go": "\t\"github.com/halyard/ledger-api/internal/retry\"", "ts": "import { withRetry } from '../lib/retry';"}[lang]],
                  "loglevel": ["+" + {"py": "    log.debug('%s called', kwargs)", "go": "\tlog.Debug(\"called\", \"args\", args)", "ts": "  logger.debug({ args }, 'called');"}[lang]],
                  "migrations": [f"+++ b/{constraint[2].split()[2].replace('0042', '0047').replace('000118', '000121').replace('20261102', '20261124')}"]}[kind_c]
            body = body + ok
    ed_in = {"instruction": pick(rng, [f"Implement: {t['title']}", f"Apply the planned change to {target_path}", "Write the patch for the plan above."]),
             "files_in_context": [target_path] + ([tpath] if tpath else [])}
    if t["kind"] == "address_review":
        ed_in["history_turns"] = rng.randint(3, 6)
        ed_in["history_included"] = True
    if t.get("elided_any") and rng.random() < 0.5:
        a, b = t["elided_any"]
        ed_in["context_excerpt"] = f"... [ {b - a + 1:,} lines omitted by context packer ] ..."
    if t["kind"] == "bump_dependency":
        files = changed
    else:
        B.plan(pick(rng, ["Draft the patch.", f"Make the change in {target_path} and add a test.", "Hand off to the editor with the plan."]), {"tool": "edit.generate", "args": {"target": target_path}})
        patch = make_patch(rng, lang, target_path, sym, 400, body)
        ed_out = {"patch": patch, "files": [target_path] + ([tpath] if tpath else [])}
        if elided_fail:
            if t["kind"] == "add_flag":
                fl_ = t["flag"].split("=")[0]
                dup = {"py": f"+    parser.add_argument('{fl_}', action='store_true')", "go": f"+\tcmd.Flags().BoolVar(&opts.{fl_.strip('-').replace('-', '_')}, \"{fl_.strip('-')}\", false, \"\")",
                       "ts": f"+  .option('{fl_}', '', false)"}[lang]
            else:
                dup = {"py": f"+def {sym}(*args, **kwargs):", "go": f"+func {sym}(ctx context.Context, in Input) (Output, error) {{", "ts": f"+export function {sym}(...args: unknown[]) {{"}[lang]
            ed_out["patch"] += "\n" + dup
        ed_sid = B.llm("forge-editor", "edit.generate", ed_in, ed_out, MODELS["editor"], ptok=rng.randint(8000, 40000), ctok=rng.randint(400, 2500))
        if hallu or violation:
            mark(ed_sid)
        files = ed_out["files"]
        B.step("forge-editor", "tool", "repo.apply_patch", {"patch_sha": hexid(rng, 10)}, {"applied": True, "files_changed": files,
                                                                                          "insertions": rng.randint(3, 60), "deletions": rng.randint(0, 25)}, lat=rng.randint(30, 200))

    # ---------- tests ----------
    def run_tests(narrow_run, fail_msg=None, where=None, err=None):
        cmd = test_cmd(lang, path, tpath or "tests", sym_for_tests, narrow_run, rng)
        B.plan(pick(rng, ["Run the tests.", "Verify with the test runner.", f"Run {'targeted' if narrow_run else 'full'} tests."]), {"tool": "tests.run", "args": {"cmd": cmd}})
        if err:
            return B.step("forge-verifier", "tool", "tests.run", {"cmd": cmd, "timeout_s": 900}, None, err=err, lat=rng.randint(60000, 1200000)), cmd
        out = test_fail(rng, lang, fail_msg, where) if fail_msg else test_ok(rng, lang, narrow_run)
        lat = int(out["duration_s"] * 1000) + rng.randint(2000, 15000)
        return B.step("forge-verifier", "tool", "tests.run", {"cmd": cmd, "timeout_s": 900}, out, lat=lat), cmd

    blocked = None
    if hallu:
        where = (tpath or "tests") + ("::test_" + sym if lang == "py" else "")
        run_tests(True, hallu[1], where if lang != "go" else f"{target_path}:{rng.randint(20, 300)}:{rng.randint(2, 30)}")
        attempts = rng.randint(1, 2)
        for i in range(attempts):
            B.plan(pick(rng, [f"Test failure: {hallu[1][:60]}... Adjust the call.", "Fix the failing call and retry.", "The API call failed; try an alternative signature."]),
                   {"tool": "edit.generate", "args": {"target": target_path}})
            X = hallu[0]
            retry_body = {"py": pick(rng, [[f"-    result = {X}", "+    try:", f"+        result = {X}", "+    except ImportError:", "+        result = _fallback()"],
                                           [f"-    result = {X}", f"+    result = {X}  # noqa: F821"]]),
                          "go": [f"-\tresult := {X}", f"+\tresult, err := {X}", "+\tif err != nil {", "+\t\treturn err", "+\t}"],
                          "ts": pick(rng, [[f"-  const result = {X};", f"+  const result = await {X};"],
                                           [f"-  const result = {X};", f"+  // @ts-expect-error runtime supports this", f"+  const result = {X};"]])}[lang]
            B.llm("forge-editor", "edit.generate", {"instruction": "Fix the failing test", "error": hallu[1]},
                  {"patch": make_patch(rng, lang, target_path, sym, 400, retry_body)}, MODELS["editor"], ptok=rng.randint(9000, 40000), ctok=rng.randint(200, 900))
            B.step("forge-editor", "tool", "repo.apply_patch", {"patch_sha": hexid(rng, 10)}, {"applied": True, "files_changed": [target_path]}, lat=rng.randint(30, 200))
            emsg = hallu[1]
            if lang == "ts" and "@ts-expect-error" in "".join(retry_body):
                emsg = "TypeError: " + X.split("(")[0].split(".")[-1] + " is not a function"
            run_tests(True, emsg, where)
        blocked = pick(rng, ["draft", "blocked", "blocked"])
        t["pinned"] = hallu[2]
    elif elided_fail:
        a, b = t["elided"]
        line = rng.randint(a, b)
        fl_ = t.get("flag", "--dry-run").split("=")[0]
        if t["kind"] == "add_flag":
            msg = {"py": pick(rng, [f"argparse.ArgumentError: argument {fl_}: conflicting option string: {fl_}",
                                    f"AssertionError: expected option '{fl_}' to be registered once, found 2"]),
                   "go": pick(rng, [f"panic: {repo['cli'][2].split()[0]} flag redefined: {fl_.lstrip('-')}",
                                    f"panic: unable to redefine {fl_.lstrip('-')!r} flag: flag redefined"]),
                   "ts": pick(rng, [f"Error: Cannot add option '{fl_}' due to conflicting flag '{fl_}'",
                                    f"error: option '{fl_}' already registered"])}[lang]
        else:
            msg = {"py": pick(rng, [f"F811 Redefinition of unused `{sym}` from line {line}",
                                    f"AssertionError: {sym}() returned None (callers resolve the later definition)"]),
                   "go": f"{sym} redeclared in this block\n\t{target_path}:{line}:6: other declaration of {sym}",
                   "ts": pick(rng, ["TS2393: Duplicate function implementation.", f"TS2300: Duplicate identifier '{sym}'.",
                                    f"TS2323: Cannot redeclare exported variable '{sym}'."])}[lang]
        where = target_path if lang != "py" else (tpath or "tests")
        use_lint = rng.random() < 0.4
        if use_lint:
            B.plan("Run the linter before tests.", {"tool": "sh.exec", "args": {"cmd": L["lint"]}})
            B.step("forge-verifier", "tool", "sh.exec", {"cmd": L["lint"]}, {"exit_code": 1, "stdout_tail": f"{target_path}:{rng.randint(30, max(31, a - 1))}:1: {msg.splitlines()[0]}"}, lat=rng.randint(2000, 30000))
        else:
            run_tests(True, msg.splitlines()[0], where)
        B.plan(pick(rng, ["Conflict with an existing definition I can't see; rename mine.", "Try renaming the new function to avoid the clash.", "Adjust the patch to avoid the duplicate."]),
               {"tool": "edit.generate", "args": {"target": target_path}})
        B.llm("forge-editor", "edit.generate", {"instruction": "resolve duplicate definition", "error": msg.splitlines()[0]},
              {"patch": make_patch(rng, lang, target_path, sym, 400, [f"+{sym}2 = {sym}" if lang == "py" else f"+var {sym}2 = {sym}" if lang == "go" else f"+export const {sym}2 = {sym};"])}, MODELS["editor"],
              ptok=rng.randint(9000, 30000), ctok=rng.randint(200, 800))
        B.step("forge-editor", "tool", "repo.apply_patch", {"patch_sha": hexid(rng, 10)}, {"applied": True, "files_changed": [target_path]}, lat=rng.randint(30, 200))
        run_tests(False, pick(rng, [f"{rng.randint(2, 9)} tests failed in {tpath or 'tests'}", msg.splitlines()[0], "behaviour differs: existing callers now hit the new definition"]), where)
        blocked = pick(rng, ["draft", "blocked"])
    elif mode == "ci_runner_starvation" and infra_where == "sandbox":
        sid, _ = run_tests(True, err=infra_error(rng, "sandbox", lang))
        mark(sid)
        for _ in range(rng.randint(1, 3)):
            B.plan(pick(rng, ["Sandbox died; retry the run.", "Retrying tests after sandbox failure.", "Re-provision and rerun."]), {"tool": "tests.run", "args": {}})
            last_err = infra_error(rng, "sandbox", lang)
            B.step("forge-verifier", "tool", "tests.run", {"cmd": L["full"], "timeout_s": 900}, None, err=last_err, lat=rng.randint(30000, 900000))
        t["last_err"] = last_err
        blocked = "blocked"
    else:
        if transient == "sandbox":
            run_tests(True, err=infra_error(rng, "sandbox", lang))
            B.plan(pick(rng, ["Sandbox hiccup; rerun.", "Infra error, not a test failure. Retry once.", "Retry the test run."]), {"tool": "tests.run", "args": {}})
        iterative = mode is None and rng.random() < 0.15
        if iterative:
            m = pick(rng, ["AssertionError: assert Decimal('12.30') == Decimal('12.3')" if lang == "py" else "expected 3, got 2" if lang == "go" else "AssertionError: expected '€12.30' to be '12,30 €'",
                           "TypeError: unsupported operand type(s) for -: 'NoneType' and 'int'" if lang == "py" else "panic: runtime error: index out of range [1] with length 1" if lang == "go" else "TypeError: Cannot read properties of undefined (reading 'length')"])
            run_tests(True, m, tpath or "tests")
            B.plan("Test failure points at an edge case in my change; fix it.", {"tool": "edit.generate", "args": {"target": target_path}})
            B.llm("forge-editor", "edit.generate", {"instruction": "fix failing test", "error": m}, {"patch": make_patch(rng, lang, target_path, sym, 400, body[:2])}, MODELS["editor"], ptok=rng.randint(9000, 30000), ctok=rng.randint(200, 800))
            B.step("forge-editor", "tool", "repo.apply_patch", {"patch_sha": hexid(rng, 10)}, {"applied": True, "files_changed": [target_path]}, lat=rng.randint(30, 200))
        sid, cmd = run_tests(True if (narrow or rng.random() < 0.7) else False)
        if narrow:
            mark(sid)
        elif rng.random() < 0.55 and t["kind"] != "config_change":
            run_tests(False)
        if rng.random() < 0.3:
            B.step("forge-verifier", "tool", "sh.exec", {"cmd": L["lint"]}, {"exit_code": 0, "stdout_tail": pick(rng, ["All checks passed!", "", "0 issues."])}, lat=rng.randint(2000, 30000))

    if blocked == "blocked":
        msg = {
            "hallucinated_library_api": lambda: pick(rng, [f"I couldn't get the tests passing: `{hallu[0].split('(')[0]}` isn't available here ({hallu[2]}). Leaving the branch {branch} for a human.",
                                                           f"Stopped after {rng.randint(2, 3)} attempts; the test run keeps failing with: {hallu[1]}",
                                                           "Unable to complete: the change doesn't compile against the pinned dependencies."]),
            "file_elided_duplicate_edit": lambda: pick(rng, ["Stopped: my change conflicts with existing code in the file and I couldn't resolve it cleanly.",
                                                             f"Tests still failing after two attempts ({target_path}). Pushed nothing.",
                                                             "Couldn't finish; there seems to be an existing definition that clashes with the new one."]),
            "ci_runner_starvation": lambda: pick(rng, ["The test sandbox kept dying, so I couldn't verify the change. Nothing pushed.",
                                                       f"Blocked on infrastructure: {t.get('last_err')}",
                                                       "Gave up after repeated sandbox failures; please retry later."]),
        }[mode]()
        B.plan("Giving up.", None)
        B.steps[-1]["output"]["final"] = msg
        result.update({"status": "blocked", "summary": msg, "branch": branch})
        fb_failure(rng, mode, feedback, t, user, has_pr=False)
        return

    # ---------- commit ----------
    secret_file = None
    untracked = []
    if t["kind"] == "config_change" or rng.random() < 0.2:
        if t["kind"] == "config_change" and (mode == "untracked_secret_committed" or rng.random() < 0.5):
            secret_file = pick(rng, [".env.local", ".env", "config/secrets.dev.yaml", ".envrc", "deploy/local/values.secret.yaml", "scripts/.creds.json"])
            untracked.append(secret_file)
        if rng.random() < 0.3:
            untracked.append(pick(rng, [".pytest_cache/", "coverage.out", ".vitest/", "tmp/profile.json"]))
        st_out = "".join(f" M {f}\n" for f in files) + "".join(f"?? {u}\n" for u in untracked)
        B.step("forge-editor", "tool", "sh.exec", {"cmd": "git status --porcelain"}, {"exit_code": 0, "stdout_tail": st_out}, lat=rng.randint(50, 400))
        if t["kind"] == "config_change":
            ex = {"py": ".env.example", "go": ".env.example", "ts": ".env.example"}[lang]
            files = list(files) + [ex]
    cmsg = f"{t['key']}: {t['title'][:60]}"
    if mode == "untracked_secret_committed":
        ci_in = pick(rng, [{"message": cmsg, "add": "-A"}, {"message": cmsg, "paths": ["."]}, {"message": cmsg, "add": "--all"}])
        committed = list(files) + [secret_file]
    else:
        ci_in = {"message": cmsg, "paths": files} if rng.random() < 0.8 else {"message": cmsg, "add": "-u"}
        committed = list(files)
        if secret_file is None and rng.random() < 0.15:
            ci_in = {"message": cmsg, "add": pick(rng, ["-A", "--all"])}
            committed = list(files) + [u for u in untracked if not u.endswith("/")]
    if transient == "git" or (mode == "ci_runner_starvation" and infra_where == "git"):
        sid = B.step("forge-editor", "tool", "git.commit_push", ci_in, None, err=infra_error(rng, "git"), lat=rng.randint(20000, 120000))
        if mode == "ci_runner_starvation":
            mark(sid)
            for _ in range(rng.randint(1, 3)):
                B.plan("Push failed; retrying.", {"tool": "git.commit_push", "args": {}})
                last_err = infra_error(rng, "git")
                B.step("forge-editor", "tool", "git.commit_push", ci_in, None, err=last_err, lat=rng.randint(20000, 120000))
            msg = pick(rng, ["Couldn't push the branch: the git remote kept returning 5xx. The commit is local to the sandbox and will be lost.",
                             "Push to origin failed repeatedly; stopping. Please retry when git is healthy.",
                             f"Blocked: {last_err}"])
            B.plan("Giving up.", None)
            B.steps[-1]["output"]["final"] = msg
            result.update({"status": "blocked", "summary": msg})
            fb_failure(rng, mode, feedback, t, user, has_pr=False)
            return
        B.plan("Push failed transiently; retry.", {"tool": "git.commit_push", "args": {}})
    cp_out = {"commit": hexid(rng, 40), "branch": branch, "files": committed}
    if secret_file and mode == "untracked_secret_committed":
        cp_out["diffstat"] = {f: f"+{rng.randint(1, 40)}" for f in committed}
    sid = B.step("forge-editor", "tool", "git.commit_push", ci_in, cp_out, lat=rng.randint(1500, 9000))
    if mode == "untracked_secret_committed":
        mark(sid)
    # ---------- PR ----------
    draft = blocked == "draft"
    body_txt = pick(rng, ["## What\n{w}\n\n## Why\n{t}\n\n## Testing\n{x}", "{w}\n\nTicket: {k}\nTests: {x}", "Fixes {k}.\n\n{w}"]).format(
        w=pick(rng, [f"Changes `{sym}` in {target_path}.", f"Updates {target_path}.", f"Touches {len(committed)} files."]), t=t["title"], k=t["key"],
        x=pick(rng, ["unit tests added", "ran targeted tests", "full suite green locally", "see CI"]))
    pr_title = f"{t['key']}: {t['title']}" if rng.random() < 0.9 else t["title"]
    if t["kind"] == "address_review":
        pr_number = t["pr_prev"]
        note = pick(rng, ["Pushed a new revision addressing the latest comments.", "Updated per review; see the new commit.", "Addressed the remaining feedback."])
        B.plan("Reply on the existing PR.", {"tool": "pr.comment", "args": {"pr": pr_number}})
        B.step("forge-editor", "tool", "pr.comment", {"pr": pr_number, "body": note}, {"comment_id": rng.randint(100000, 999999), "pr_state": "open"}, lat=rng.randint(300, 1500))
    else:
        B.plan("Open the PR.", {"tool": "pr.open", "args": {"title": pr_title, "draft": draft}})
        B.step("forge-editor", "tool", "pr.open", {"title": pr_title, "body": body_txt, "draft": draft, "base": "main", "head": branch},
               {"number": pr_number, "url": f"https://git.halyard.internal/{slug}/pulls/{pr_number}", "state": "draft" if draft else "open"}, lat=rng.randint(600, 3000))

    # ---------- CI ----------
    pipe = rng.randint(400000, 999999)
    if transient == "ci":
        B.step("forge-verifier", "tool", "ci.watch", {"pipeline": pipe, "timeout_min": 45}, None, err=infra_error(rng, "ci"), lat=rng.randint(1800000, 2700000))
        B.plan("CI watch timed out; runners look busy. Re-attach and keep waiting.", {"tool": "ci.watch", "args": {"pipeline": pipe}})
    if mode == "ci_runner_starvation" and infra_where == "ci":
        sid = B.step("forge-verifier", "tool", "ci.watch", {"pipeline": pipe, "timeout_min": 45}, None, err=infra_error(rng, "ci"), lat=rng.randint(1800000, 2700000))
        mark(sid)
        for _ in range(rng.randint(1, 2)):
            B.plan(pick(rng, ["CI still hasn't started; wait again.", "Re-attach to the pipeline.", "Runners busy; keep waiting."]), {"tool": "ci.watch", "args": {"pipeline": pipe}})
            B.step("forge-verifier", "tool", "ci.watch", {"pipeline": pipe, "timeout_min": 45}, None, err=infra_error(rng, "ci"), lat=rng.randint(1800000, 2700000))
        msg = pick(rng, [f"Opened #{pr_number} but CI never ran (runners unavailable for >{rng.randint(80, 140)} min). Not requesting review until it's green.",
                         f"PR #{pr_number} is up; pipeline {pipe} has been pending for over an hour, so the change is unverified.",
                         f"Stopping: pipeline {pipe} stuck in queue. PR #{pr_number} left as is."])
        B.plan("Stop and report.", None)
        B.steps[-1]["output"]["final"] = msg
        result.update({"status": "ci_pending", "summary": msg, "pr": {"number": pr_number, "state": "open"}})
        fb_failure(rng, mode, feedback, t, user)
        return
    jobs = [{"name": "lint", "status": "passed"}]
    if draft:
        jobs.append({"name": "unit", "status": "failed"})
    else:
        jobs.append({"name": pick(rng, ["unit (changed paths)", "unit:affected"]) if (narrow and rng.random() < 0.75) or (not narrow and rng.random() < 0.25) else "unit", "status": "passed"})
        if narrow or rng.random() < 0.3:
            jobs.append({"name": "integration", "status": "skipped", "reason": "no matching path changes"})
        else:
            jobs.append({"name": "integration", "status": "passed"})
    if secret_file is not None and mode == "untracked_secret_committed" and rng.random() < 0.5:
        jobs.append({"name": "secret-scan", "status": "failed", "detail": pick(rng, [f"gitleaks: 1 leak found: generic-api-key in {secret_file}:{rng.randint(1, 9)}",
                                                                                 f"trufflehog: verified secret ({t['var']}) in {secret_file}",
                                                                                 f"detect-secrets: High Entropy String in {secret_file} line {rng.randint(1, 9)}"])})
    elif rng.random() < 0.3:
        jobs.append({"name": "secret-scan", "status": "passed"})
    if t["kind"] == "bump_dependency" and t["pkg"][4] and rng.random() < 0.7:
        if mode == "stale_dependency_index":
            jobs.append({"name": "dep-audit", "status": "failed", "detail": f"{t['pkg'][4]}: {t['pkg'][0]} {t['bumped_to']} affected (fixed in {t['pkg'][3]})"})
        else:
            jobs.append({"name": "dep-audit", "status": "passed"})
    ci_status = "failed" if any(j["status"] == "failed" for j in jobs) else "passed"
    ci_out = {"pipeline": pipe, "status": ci_status, "jobs": jobs, "duration_s": rng.randint(240, 1900)}
    B.step("forge-verifier", "tool", "ci.watch", {"pipeline": pipe, "timeout_min": 45}, ci_out, lat=ci_out["duration_s"] * 1000 + rng.randint(5000, 60000))

    # ---------- summary ----------
    if draft:
        msg = pick(rng, [f"Opened draft #{pr_number}; tests are still failing ({'unit'}). Needs a human look.",
                         f"Draft PR #{pr_number} up. I could not get `{sym}` tests green.",
                         f"#{pr_number} (draft): change is in place but the suite fails, see CI."])
        status = "draft_pr"
    else:
        extra = ""
        if ci_status == "failed":
            fj = [j for j in jobs if j["status"] == "failed"][0]
            extra = pick(rng, [f" Note: {fj['name']} failed ({fj.get('detail', '')}); looks unrelated to the change.", f" {fj['name']} is red, flagging for review."])
        if t["kind"] == "bump_dependency":
            msg = f"Bumped {t['pkg'][0]} {t['pkg'][1]} -> {t['bumped_to']} in #{pr_number}. CI {ci_status}." + extra
        else:
            msg = pick(rng, [f"Opened #{pr_number}: {t['title']}. CI {ci_status}.", f"Done. PR #{pr_number} updates {target_path}; tests pass.",
                             f"PR #{pr_number} ready for review ({ci_status} CI)."]) + extra
        status = "pr_updated" if t["kind"] == "address_review" else "pr_opened"
    B.plan("Summarise for the requester.", None)
    B.steps[-1]["output"]["final"] = msg
    result.update({"status": status, "summary": msg, "pr": {"number": pr_number, "url": f"https://git.halyard.internal/{slug}/pulls/{pr_number}"}})

    # ---------- review / merge / post-merge ----------
    t["pr_number"] = pr_number
    merged = False
    if mode is None or mode == "judge_penalizes_good_pr":
        if ci_status == "passed":
            r = rng.random()
            if mode == "judge_penalizes_good_pr" or r < 0.55:
                merged = rng.random() < 0.85 or mode == "judge_penalizes_good_pr"
                if rng.random() < (0.9 if mode == "judge_penalizes_good_pr" else 0.75):
                    feedback.append(review(rng, "approved", user))
            elif r < 0.62:
                feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "commented",
                                 "comment": pick(rng, ["nit: could use a more descriptive test name", "LGTM modulo the docstring", "Can you squash before merge?", "👍"])})
                merged = rng.random() < 0.7
            if rng.random() < 0.15:
                feedback.append({"kind": "thumb", "value": 1, "source": "user"})
    elif mode == "narrow_test_scope_regression":
        merged = True
        if rng.random() < 0.25:
            feedback.append(review(rng, "approved", user))
    elif mode in ("legacy_module_edited", "stale_dependency_index", "review_feedback_forgotten", "untracked_secret_committed"):
        merged = mode == "stale_dependency_index" and ci_status == "passed" and rng.random() < 0.5
        fb_failure(rng, mode, feedback, t, user)
    elif mode in ("file_elided_duplicate_edit", "hallucinated_library_api"):
        fb_failure(rng, mode, feedback, t, user)
    if merged:
        result["pr"]["state"] = "merged"
        if mode == "narrow_test_scope_regression" or rng.random() < 0.6:
            when = B.t + dt.timedelta(hours=rng.randint(2, 30))
            other = pick(rng, [c for c in repo["comps"]] + [repo["cli"][:2] + ("", [])])
            if mode == "narrow_test_scope_regression":
                otp = test_path(lang, other[0])
                if otp == tpath:
                    otp = test_path(lang, pick(rng, ["reports/monthly" + L["ext"], "internal/reports/monthly" + L["ext"], "src/reports/monthly" + L["ext"]]))
                fails = pick(rng, [f"{otp}::test_{pick(rng, ['totals', 'export_roundtrip', 'legacy_callers', 'currency_edge_cases'])} FAILED" if lang == "py" else
                                   f"--- FAIL: Test{pick(rng, ['Totals', 'ExportRoundTrip', 'Reconcile', 'LegacyCallers'])} ({otp})" if lang == "go" else
                                   f"FAIL {otp} > {pick(rng, ['renders totals', 'handles empty state', 'formats legacy rows'])}"])
                pm = {"ref": f"main@{hexid(rng, 10)}", "pipeline": rng.randint(400000, 999999), "status": "failed",
                      "suspect_prs": [pr_number] + ([rng.randint(3100, 9990)] if rng.random() < 0.4 else []), "failed_jobs": [{"name": pick(rng, ["unit (full)", "integration", "nightly-regression"]), "detail": fails}]}
                if rng.random() < 0.5:
                    pm["blame"] = f"#{pr_number}"
            else:
                pm = {"ref": f"main@{hexid(rng, 10)}", "pipeline": rng.randint(400000, 999999), "status": "passed"}
                if rng.random() < 0.06:
                    other_pr = rng.randint(3100, 9990)
                    pm.update({"status": "failed", "suspect_prs": [other_pr], "failed_jobs": [{"name": pick(rng, ["e2e (nightly)", "integration", "unit (full)"]),
                               "detail": pick(rng, ["known flaky: test_webhook_replay_ordering (quarantine ticket open)", f"docker pull rate limited while building job image",
                                                    f"regression introduced by #{other_pr} (reverted)", "timeout connecting to localstack"])}]})
            B.step("forge-verifier", "other", "ci.post_merge", {"pr": pr_number, "watch": "main"}, pm, lat=rng.randint(300000, 2400000), at=when,
                   meta={"enrichment": "async"})
            if mode == "narrow_test_scope_regression" and rng.random() < 0.12:
                feedback.append({"kind": "implicit", "value": 0, "source": "system", "event": "pr.reverted",
                                 "comment": f"#{pr_number} reverted by {pick(rng, USERS)} (main red)"})
    # ---------- judge ----------
    if (mode == "judge_penalizes_good_pr") or (not draft and rng.random() < 0.33):
        jsid = judge(B, rng, t, mode, scores, pr_number, version, tpath)
        if mode == "judge_penalizes_good_pr":
            mark(jsid)
    # healthy noise: unrelated thumbs-down handled in caller


def review(rng, state, user):
    rv = pick(rng, [u for u in USERS if u != user])
    return {"kind": "implicit", "value": 1, "source": "reviewer", "event": "pr_review.approved",
            "comment": pick(rng, ["approved", "LGTM", "lgtm, thanks forge", "Looks good", "approved, ship it"]), "reviewer": rv}


def judge(B, rng, t, mode, scores, pr_number, version, tpath):
    crit = {}
    if mode == "judge_penalizes_good_pr":
        val = round(rng.uniform(0.08, 0.34), 2)
        rat = pick(rng, [
            "No tests were added or updated for the behaviour change." if t["kind"] != "bump_dependency" else "Upgrade is not validated: no test run is referenced.",
            f"Modifies the public API of `{t['sym']}` without a deprecation path.",
            "The PR description is empty, reviewers have no context.",
            "Large, unfocused diff touching unrelated modules; should be split.",
            "Introduces a new dependency without justification.",
            "The change does not address the ticket: the described bug is in a different component.",
        ])
        crit = {"correctness": round(rng.uniform(0.1, 0.4), 2), "tests": round(rng.uniform(0.0, 0.3), 2), "scope": round(rng.uniform(0.1, 0.5), 2)}
    else:
        if mode in (None, "narrow_test_scope_regression", "legacy_module_edited", "stale_dependency_index"):
            val = round(rng.uniform(0.62, 0.96), 2) if rng.random() < 0.82 else round(rng.uniform(0.38, 0.62), 2)
        else:
            val = round(rng.uniform(0.3, 0.7), 2)
        rat = pick(rng, ["Focused change with a regression test.", "Correct fix; tests cover the happy path only.", "Reasonable change, description could mention rollout.",
                         "Clean diff, adequate tests.", "Works, but the new test is brittle (depends on wall clock).", "Minimal and correct."]) if val > 0.6 else \
            pick(rng, ["Acceptable, but tests only exercise one branch.", "Fix looks right, naming is inconsistent with the module.", "Change is OK; description is thin.",
                       "Test relies on sleep-based timing; could be flaky.", "No changelog entry for a user-visible change."])
        crit = {"correctness": round(min(1, val + rng.uniform(-0.1, 0.1)), 2), "tests": round(min(1, val + rng.uniform(-0.2, 0.1)), 2), "scope": round(min(1, val + rng.uniform(-0.1, 0.15)), 2)}
    when = B.t + dt.timedelta(hours=rng.randint(1, 20))
    scores.append({"name": "pr_quality", "value": val, "source": "offline-judge", "comment": rat})
    return B.step("qa-judge", "evaluator", "pr_judge", {"pr": pr_number, "rubric": "pr-quality-v3", "diff_lines": rng.randint(8, 220)},
           {"score": val, "rationale": rat, "criteria": crit}, lat=rng.randint(3000, 14000), at=when,
           model=MODELS["judge"], usage={"prompt_tokens": rng.randint(4000, 20000), "completion_tokens": rng.randint(100, 400)}, meta={"enrichment": "offline", "judge_version": "v3.2"})


def fb_failure(rng, mode, feedback, t, user, has_pr=True):
    """Explicit feedback on failing traces (or none, which is common)."""
    n0 = len(feedback)
    _fb_failure(rng, mode, feedback, t, user)
    if not has_pr:
        for f in feedback[n0:]:
            if f.get("source") == "reviewer":
                f["source"] = "user"
                f.pop("review_state", None)
                f.pop("reviewer", None)


def _fb_failure(rng, mode, feedback, t, user):
    rv = t.get("reviewer") or pick(rng, [u for u in USERS if u != user])
    r = rng.random()
    sym = t["sym"]
    if mode == "legacy_module_edited":
        if r < 0.4:
            feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "changes_requested", "reviewer": rv, "comment": pick(rng, [
                f"This patches `{t.get('decoy')}`, which nothing imports anymore. The live code is in `{t['path']}`.",
                f"Wrong file, {t.get('decoy', '').rsplit('/', 1)[-1]} is the pre-migration copy. Please change {t['path']}.",
                "This module is dead code (kept for the old backfill script). The bug is still there in the real one.",
                "Hm, did you mean to edit the vendored copy? That gets overwritten on sync."])})
        elif r < 0.6:
            feedback.append({"kind": "implicit", "value": 0, "source": "system", "event": "ticket.reopened",
                             "comment": pick(rng, ["Still reproduces on staging after the PR.", "reopened: not fixed", "Customer hit it again today."]) if t["kind"] != "add_flag" else
                             pick(rng, [f"`{t['repo']['cli'][2]} {t['flag']}` still says unrecognized argument on main.", "reopened: the new option isn't in the real CLI", "flag not available after deploy"])})
    elif mode == "stale_dependency_index":
        pkg = t["pkg"]
        if r < 0.35:
            feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "changes_requested", "reviewer": rv, "comment": pick(rng, [
                f"{pkg[3]} has been out for weeks, why {t['bumped_to']}?",
                f"{t['bumped_to']} isn't the latest, {pkg[3]} is." + (f" And only {pkg[3]} has the fix for {pkg[4]}." if pkg[4] else ""),
                f"Please go to {pkg[3]}; the version here is already superseded."])})
        elif r < 0.5:
            feedback.append({"kind": "thumb", "value": 0, "source": "user", "comment": pick(rng, ["old version", "", "not latest"])})
    elif mode == "review_feedback_forgotten":
        if r < 0.5:
            feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "changes_requested", "reviewer": rv, "comment": pick(rng, [
                "As I said in the first review, please don't do this. See my earlier comment.",
                f"We discussed this last round. Reverting that part is required before merge.",
                "This reintroduces the thing I asked you to avoid.",
                "Going in circles here, I'll take it over."])})
        elif r < 0.65:
            feedback.append({"kind": "thumb", "value": 0, "source": "user"})
    elif mode == "untracked_secret_committed":
        if r < 0.3:
            feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "changes_requested", "reviewer": rv, "comment": pick(rng, [
                "You committed my local env file with a real key in it. Rotating now, please never stage untracked files.",
                "Why is a secrets file in this PR?? Closing, key revoked.",
                "Please remove the credentials file from the history; security has been paged."])})
        elif r < 0.5:
            feedback.append({"kind": "implicit", "value": 0, "source": "system", "event": "security.alert", "comment": pick(rng, [
                "push-protection bypassed: secret detected on branch, incident SEC-%d opened" % rng.randint(100, 999),
                "secret rotated by security-bot after exposure in a PR"])})
        elif r < 0.6:
            feedback.append({"kind": "thumb", "value": 0, "source": "user"})
    elif mode == "hallucinated_library_api":
        if r < 0.3:
            feedback.append({"kind": "thumb", "value": 0, "source": "user", "comment": pick(rng, ["made up an API", "that function doesn't exist in our version", "", "didn't compile"])})
        elif r < 0.45:
            feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "commented", "reviewer": rv, "comment": pick(rng, [
                f"We're on {t.get('pinned', 'an older version')}, that call doesn't exist there.", "This doesn't build.", "Closing, I'll do it by hand."])})
    elif mode == "file_elided_duplicate_edit":
        if r < 0.3:
            feedback.append({"kind": "comment", "value": None, "source": "reviewer", "review_state": "changes_requested", "reviewer": rv, "comment": pick(rng, [
                f"`{sym}` already exists further down in the file, this adds a second one.",
                f"There's already a {t.get('flag', 'similar')} handler in there, around line {t['elided'][0] + rng.randint(10, 400)}.",
                "Duplicate of existing code; please extend the existing function instead."])})
        elif r < 0.45:
            feedback.append({"kind": "thumb", "value": 0, "source": "user"})
    elif mode == "ci_runner_starvation":
        if r < 0.25:
            feedback.append({"kind": "thumb", "value": 0, "source": "user", "comment": pick(rng, ["sat there for an hour", "", "nothing happened", "CI never ran"])})
        elif r < 0.35:
            feedback.append({"kind": "comment", "value": None, "source": "user", "comment": pick(rng, ["Forge was stuck waiting for runners again", "had to rerun by hand", "infra flake?"])})
    elif mode == "no_runtime_log_access":
        if r < 0.3:
            feedback.append({"kind": "implicit", "value": 0, "source": "system", "event": "ticket.reopened", "comment": pick(rng, [
                "Root cause was an expired TLS cert on the internal LB, nothing in the repo.",
                "It was the node pool autoscaler, not the code. Reopening for the postmortem.",
                "On-call found it in the pod logs: OOM from the new sidecar.",
                "DB connection limit hit after the pgbouncer change; the guess was wrong."])})
        elif r < 0.5:
            feedback.append({"kind": "thumb", "value": 0, "source": "user", "comment": pick(rng, ["just guessing", "", "not helpful", "generic"])})
        elif r < 0.58:
            feedback.append({"kind": "rating", "value": 2, "scale": 5, "source": "user", "comment": "close-out survey"})
    elif mode == "deploy_call_rejected":
        if r < 0.35:
            feedback.append({"kind": "thumb", "value": 0, "source": "user", "comment": pick(rng, ["did not deploy", "", "had to run it myself"])})
        elif r < 0.5:
            feedback.append({"kind": "comment", "value": None, "source": "user", "comment": pick(rng, ["The release CLI wants 'stg', not 'staging'.", "Just use the tag.", "why didn't it go out?"])})


def investigate(B, rng, t, mode, mark, feedback, result, slug):
    repo = t["repo"]
    L = LANG[t["lang"]]
    proj = pick(rng, [f"{slug}", f"{ORG}/deploy-{repo['name']}", f"{ORG}/platform-nightly"])
    B.plan(pick(rng, ["Start from the failing pipeline's logs.", "Pull the latest nightly run log.", "Check what the last red job says."]),
           {"tool": "ci.fetch_log", "args": {"project": proj, "job": "deploy"}})
    runtime = mode == "no_runtime_log_access"
    if runtime:
        log = pick(rng, ["Error: UPGRADE FAILED: timed out waiting for the condition", "deployment \"%s\" exceeded its progress deadline" % repo["name"],
                         "readiness probe failed: HTTP probe failed with statuscode: 503 (x41)", "canary analysis failed: error-rate 4.1% > threshold 1.0%",
                         "smoke test: GET /healthz -> 502 Bad Gateway after 300s"])
    else:
        log = pick(rng, [f"FAILED {t['tpath']}::test_{t['sym']}_month_boundary - AssertionError" if t["lang"] == "py" else f"--- FAIL: Test{camel(t['sym'])}MonthBoundary",
                         "migration 0043 conflicts with 0043_merge: multiple leaf nodes", f"{L['lint']}: {t['path']}:88: unused import",
                         "helm template: values.yaml: key 'resources.limits.memory' has invalid value '512' (missing unit)"])
    log_out = {"job": "deploy", "status": "failed", "log_tail": "...\n" + log + "\n...", "finished_at": iso(B.t - dt.timedelta(hours=rng.randint(1, 14)))}
    if rng.random() < 0.12 and not runtime:
        B.step("forge-planner", "tool", "ci.fetch_log", {"project": proj, "job": "deploy"}, None, err="HTTP 502 from CI API, retrying", lat=rng.randint(5000, 30000))
    B.step("forge-planner", "tool", "ci.fetch_log", {"project": proj, "job": "deploy"}, log_out, lat=rng.randint(400, 4000))
    cap_step = None
    if runtime or rng.random() < 0.3:
        cmd = pick(rng, [f"kubectl -n {repo['ns']} get events --sort-by=.lastTimestamp | tail -50", f"kubectl -n {repo['ns']} logs deploy/{repo['name']} --since=2h",
                         f"curl -s https://grafana.halyard.internal/api/ds/query?q=p95_{repo['name'].replace('-', '_')}", f"aws logs tail /ecs/{repo['name']} --since 2h"])
        err = pick(rng, ["error: You must be logged in to the server (Unauthorized)", "/bin/sh: 1: kubectl: not found",
                         "dial tcp 10.40.0.1:443: i/o timeout (cluster API not reachable from sandbox)", "curl: (6) Could not resolve host: grafana.halyard.internal",
                         "Unable to locate credentials. You can configure credentials by running \"aws configure\"."])
        if cmd.startswith("curl") and "kubectl" in err:
            err = "curl: (6) Could not resolve host: grafana.halyard.internal"
        B.plan("Need runtime evidence; try the cluster / metrics.", {"tool": "sh.exec", "args": {"cmd": cmd}})
        sid = B.step("forge-planner", "tool", "sh.exec", {"cmd": cmd, "timeout_s": 60}, {"exit_code": 1, "stderr_tail": err}, lat=rng.randint(200, 60000))
        cap_step = sid
    if runtime:
        if cap_step is not None:
            mark(cap_step)
        if cap_step is None or rng.random() < 0.4:
            psid = B.plan(pick(rng, ["No tool available for pod logs or metrics; look at recent commits instead.",
                              "I can't reach runtime telemetry from here. Falling back to the repo history.",
                              "Nothing in my toolset queries the cluster. Check what changed in the last release."]), {"tool": "sh.exec", "args": {"cmd": "git log --since=3.days --oneline"}})
            mark(psid)
        B.step("forge-planner", "tool", "sh.exec", {"cmd": "git log --since=3.days --oneline | head -20"},
               {"exit_code": 0, "stdout_tail": "\n".join(f"{hexid(rng, 7)} {pick(rng, ['bump deps', 'tune pool size', 'add sidecar', 'refactor handlers', 'update helm values', 'fix typo'])}" for _ in range(rng.randint(3, 8)))}, lat=rng.randint(100, 900))
        ans = pick(rng, [
            f"I couldn't inspect pod logs or metrics (no cluster access from the Forge sandbox). Most likely cause: the recent helm values change lowered memory limits. Suggest checking `kubectl describe pod` for OOMKilled.",
            f"Best guess from the repo history: the connection pool change in the last release. I could not confirm with runtime data.",
            f"The deploy job only says the rollout timed out. Without access to the cluster events I can't say why; possible causes: failing readiness probe, image pull, or resource quota.",
            f"Probably a regression in the last merge to {repo['name']}; I'd start by rolling back. (Unverified: no access to logs/metrics.)",
        ])
        B.plan(pick(rng, ["Report findings.", "Answer with what the repo history suggests.", "Summarise; flag low confidence."]), None)
        B.steps[-1]["output"]["final"] = ans
        result.update({"status": "answered", "summary": ans, "confidence": pick(rng, ["low", "low", "medium"])})
        fb_failure(rng, mode, feedback, t, None)
        return
    B.plan(f"The log points at {t['path']}; read it.", {"tool": "repo.read_file", "args": {"path": t["path"]}})
    B.step("forge-editor", "tool", "repo.read_file", {"path": t["path"]}, {"path": t["path"], "total_lines": t["lines"], "sha": hexid(rng, 12)}, lat=rng.randint(20, 300))
    ans = pick(rng, [f"The nightly is red because of: `{log}`. Cause is in {t['path']}; I can open a fix PR if you want.",
                     f"Root cause: {log}. Introduced by the last change to {t['path']}. Suggested fix attached in the summary.",
                     f"Deploy failed at the pre-deploy checks: {log}. This is a repo issue, not infra."])
    B.plan("Report root cause.", None)
    B.steps[-1]["output"]["final"] = ans
    result.update({"status": "answered", "summary": ans, "confidence": pick(rng, ["high", "medium", "high"])})
    if rng.random() < 0.35:
        feedback.append({"kind": "thumb", "value": 1, "source": "user"})


def deploy(B, rng, t, mode, mark, feedback, result, slug):
    repo = t["repo"]
    env = t["env"]
    B.plan(f"Confirm {t['tag']} is built and green before deploying.", {"tool": "ci.watch", "args": {"pipeline": f"tag:{t['tag']}"}},
           tools=TOOL_SPECS if rng.random() < 0.3 else None)
    B.step("forge-verifier", "tool", "ci.watch", {"pipeline": f"tag:{t['tag']}"}, {"status": "passed", "artifact": f"registry.halyard.internal/{repo['name']}:{t['tag']}", "sha": hexid(rng, 40)}, lat=rng.randint(500, 4000))
    good_env = "prd" if env.startswith("prd") else "stg"
    good = {"service": repo["name"], "env": good_env, "ref": t["tag"]}
    if env == "prd-canary":
        good["canary_percent"] = 10
    if good_env == "prd":
        good["change_ticket"] = t["chg"]
    if mode == "deploy_call_rejected":
        bad = dict(good)
        opts = ["env", "ref", "canary"] if env == "prd-canary" else (["env", "ref", "chg"] if good_env == "prd" else ["env", "ref"])
        which = pick(rng, opts)
        if which == "env":
            bad["env"] = pick(rng, ["staging", "stage"]) if good_env == "stg" else pick(rng, ["production", "prod"])
            err = pick(rng, [f"422 Unprocessable Entity: env: value '{bad['env']}' is not one of ['dev', 'stg', 'prd']",
                             f"validation failed: field 'env' must match ^(dev|stg|prd)$ (got '{bad['env']}')",
                             f"unknown environment '{bad['env']}'"])
        elif which == "ref":
            bad["ref"] = pick(rng, [f"release/{t['tag']}", "main", f"forge/{t['key'].lower()}-hotfix"])
            err = pick(rng, [f"400 Bad Request: ref '{bad['ref']}' is not an immutable ref (expected a 40-hex commit SHA or a v* tag)",
                             f"refusing to deploy mutable ref '{bad['ref']}'", f"ref: branch names are not deployable; got '{bad['ref']}'"])
        elif which == "chg":
            del bad["change_ticket"]
            bad["notes"] = t["chg"]
            err = pick(rng, ["422: change_ticket is required when env=prd", "policy denied: production deploys need a change_ticket (CHG-xxxxx)"])
        else:
            bad["canary_percent"] = pick(rng, ["10%", 0.1, "ten"])
            err = pick(rng, [f"422: canary_percent: expected integer 1..100, got {json.dumps(bad['canary_percent'])}",
                             f"invalid canary_percent {json.dumps(bad['canary_percent'])}"])
        B.plan(f"Deploy {t['tag']} to {t['human_env']}.", {"tool": "release.deploy", "args": bad})
        sid = B.step("forge-release", "tool", "release.deploy", bad, None, err=err, lat=rng.randint(200, 1500))
        mark(sid)
        if rng.random() < 0.5:
            bad2 = dict(bad)
            if which == "env":
                bad2["env"] = pick(rng, [t["human_env"].split()[0], bad["env"].upper(), bad["env"][:4]])
                if bad2["env"] in ("stg", "prd"):
                    bad2["env"] = bad["env"].capitalize()
            elif which == "ref":
                bad2["ref"] = "refs/tags/" + t["tag"] + "^{}"
            elif which == "chg":
                bad2["change_ticket"] = t["chg"].lower().replace("chg-", "")
            else:
                bad2["canary_percent"] = "10"
            B.plan("Adjust the argument and retry.", {"tool": "release.deploy", "args": bad2})
            B.step("forge-release", "tool", "release.deploy", bad2, None, err=pick(rng, ["422 Unprocessable Entity: request validation failed", err.replace(str(bad.get('env')), str(bad2.get('env'))), "400 Bad Request"]), lat=rng.randint(200, 1500))
        msg = pick(rng, [f"I couldn't trigger the deploy: the release API rejected the request ({err.split(':')[0]}). {t['tag']} is built and green if you want to run it manually.",
                         f"Deploy not started. release.deploy returned: {err}",
                         f"Stopped before deploying {repo['name']} {t['tag']}: the deploy call failed validation."])
        B.plan("Report.", None)
        B.steps[-1]["output"]["final"] = msg
        result.update({"status": "failed", "summary": msg})
        fb_failure(rng, mode, feedback, t, None)
        return
    B.plan(f"Deploy {t['tag']} to {t['human_env']}.", {"tool": "release.deploy", "args": good})
    if rng.random() < 0.1:
        B.step("forge-release", "tool", "release.deploy", good, None, err="503 Service Unavailable: deploy controller leader election in progress", lat=rng.randint(200, 3000))
        B.plan("Transient 503, retry.", {"tool": "release.deploy", "args": good})
    did = "dep-" + hexid(rng, 8)
    B.step("forge-release", "tool", "release.deploy", good, {"deployment_id": did, "status": "rolling", "env": good_env}, lat=rng.randint(800, 4000))
    st = {"deployment_id": did, "status": "healthy", "replicas_ready": f"{rng.randint(3, 12)}/{rng.randint(3, 12)}"}
    st["replicas_ready"] = "%d/%d" % ((lambda n: (n, n))(rng.randint(3, 12)))
    B.step("forge-release", "tool", "release.status", {"deployment_id": did}, st, lat=rng.randint(60000, 600000))
    msg = pick(rng, [f"{repo['name']} {t['tag']} is live on {good_env}" + (" at 10%" if env == "prd-canary" else "") + ". All replicas healthy.",
                     f"Deployed {t['tag']} ({did}). Rollout healthy.", f"Done: {t['tag']} -> {good_env}, deployment {did} healthy."])
    B.plan("Report.", None)
    B.steps[-1]["output"]["final"] = msg
    result.update({"status": "deployed", "summary": msg, "deployment_id": did})
    if rng.random() < 0.3:
        feedback.append({"kind": "thumb", "value": 1, "source": "user"})


def finish_trace(B, t, mode, inp, result, feedback, scores, fail, user, session, channel, version, slug, branch, toolchain):
    rng = B.rng
    lat = B.finish()
    tr = {"trace_id": None, "input": inp}
    if channel == "ide":
        tr["output"] = result.get("summary") or result.get("question")
    else:
        tr["output"] = result
    tr["session_id"] = session
    tr["user_id"] = user
    tr["timestamp"] = iso(B.t0)
    tr["latency_ms"] = lat
    tr["cost_usd"] = round(B.cost + rng.uniform(0.001, 0.02), 4)
    tr["steps"] = B.steps
    ts_fb = B.t + dt.timedelta(minutes=rng.randint(5, 2000))
    for f in feedback:
        if "timestamp" not in f:
            f["timestamp"] = iso(ts_fb)
            ts_fb += dt.timedelta(minutes=rng.randint(1, 120))
    if feedback:
        tr["feedback"] = feedback
    if scores:
        if version >= 14:
            tr["scores"] = scores
        else:
            tr["scores"] = {s["name"]: s["value"] for s in scores}
    md = {"forge_version": f"2.{version}.{rng.randint(0, 3) if version == 14 else 7}", "channel": channel, "task_kind": t["kind"]}
    if version >= 14:
        md["vcs"] = {"repo": slug, "base": "main"}
        if t["kind"] not in ("investigate_red", "deploy", "vague") and result.get("status") != "needs_info":
            md["vcs"]["head"] = branch
        md["ticket"] = {"key": t["key"], "tracker": "jira" if channel == "jira" else "linked"}
        md["sandbox"] = {"image": {"py": "forge-sbx:py311-2026.11", "go": "forge-sbx:go122-2026.10", "ts": "forge-sbx:node20-2026.11"}[t["lang"]],
                         "toolchain": t.get("pinned") or toolchain}
    else:
        md["repo_slug"] = slug
        md["ticket_key"] = t["key"]
        if t["kind"] not in ("investigate_red", "deploy", "vague"):
            md["branch"] = branch
        if rng.random() < 0.6:
            md["toolchain"] = t.get("pinned") or toolchain
    if rng.random() < 0.3:
        md["requested_via"] = pick(rng, ["assign", "label:forge", "mention"])
    tr["metadata"] = md
    label = None
    if mode is not None:
        rc, fx, sev, _ = MODES[mode]
        fs = fail["step"]
        actor = None
        for s in B.steps:
            if s["id"] == fs:
                actor = s["metadata"]["actor"]
        label = {"failure_mode": mode, "root_cause": rc, "failing_step": fs, "agent": actor, "fixable": fx, "severity": sev}
    return tr, label


# ----------------------------------------------------------------------------------------


def sample_start(rng):
    day_w = [1.0, 1.1, 1.1, 1.0, 0.8, 0.25, 0.2]
    day = rng.choices(range(7), weights=day_w)[0]
    hour = int(rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 9, 11, 12, 12, 11, 9, 7, 5, 4, 3, 2, 1])[0])
    return WEEK_START + dt.timedelta(days=day, hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59), milliseconds=rng.randint(0, 999))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    n = args.n
    master = random.Random(args.seed)
    counts = {m: max(1, round(v[3] * n)) for m, v in MODES.items()}
    slots = []
    for m, c in counts.items():
        slots += [m] * c
    slots += [None] * max(0, n - len(slots))
    slots = slots[:n]
    master.shuffle(slots)

    traces, labels = [], {}
    noise_thumbs = 0
    tickets_by_repo = {}
    for i, mode in enumerate(slots):
        rng = random.Random(f"forge:{args.seed}:{i}")
        if mode is None:
            kind = rng.choices([k for k, _ in HEALTHY_KINDS], weights=[w for _, w in HEALTHY_KINDS])[0]
        else:
            kind = pick(rng, MODE_KINDS[mode])
        repo = pick(rng, REPOS)
        user = pick(rng, USERS)
        t0 = sample_start(rng)
        frac = (t0 - WEEK_START).total_seconds() / (7 * 86400)
        version = 14 if rng.random() < min(0.95, 0.1 + frac * 1.3) else 13
        channel = rng.choices(["jira", "ide", "slack"], weights=[60, 25, 15])[0]
        t = make_ticket(rng, kind, repo, mode)
        session = None
        if kind == "address_review":
            prev = tickets_by_repo.get(repo["name"])
            if prev and rng.random() < 0.6:
                old = pick(rng, prev)
                t["key"], session = old[0], old[1]
                user = old[2] if rng.random() < 0.7 else user
        if session is None:
            if channel == "jira":
                session = t["key"].lower() + "-" + hexid(rng, 6)
            elif channel == "ide":
                # the IDE plugin keeps one session per user, workspace and day
                session = "ide-" + hexid(random.Random(f"{args.seed}:{user}:{repo['name']}:{t0.date()}"), 12)
            else:
                session = "slk-" + hexid(rng, 12)
        tickets_by_repo.setdefault(repo["name"], []).append((t["key"], session, user))
        tr, label = gen_trace(rng, t, mode, t0, user, session, channel, version)
        tr["trace_id"] = "frg-" + hexid(rng, 8) + "-" + hexid(rng, 4) + "-" + hexid(rng, 12)
        if mode is None and rng.random() < 0.013:
            tr.setdefault("feedback", []).append({"kind": "thumb", "value": 0, "source": "user", "timestamp": iso(t0 + dt.timedelta(hours=rng.randint(1, 30))),
                                                  "comment": pick(rng, ["", "widget popped up mid-typing", "wrong button sorry", "would've liked a squash commit",
                                                                        "fine but I wanted it on a different branch name", "slow IDE today", "meh, commit message style"])})
            noise_thumbs += 1
        traces.append(tr)
        if label:
            labels[tr["trace_id"]] = label

    traces.sort(key=lambda x: x["timestamp"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "traces.jsonl"), "w") as f:
        for tr in traces:
            f.write(json.dumps(tr, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1, sort_keys=True)
    summarize(args.out, n, noise_thumbs)


ROOT_CAUSES = {"prompt_instruction", "routing_decision", "retrieval_ranking", "context_construction", "tool_arguments", "missing_capability",
               "model_limitation", "memory_multiturn", "data_freshness", "latency_infra", "evaluation_scorer"}
STEP_TYPES = {"llm", "tool", "retriever", "reranker", "embedding", "chain", "agent", "router", "guardrail", "evaluator", "other"}


def summarize(out, n, noise):
    ids = set()
    per = {}
    nofb = 0
    with open(os.path.join(out, "traces.jsonl")) as f:
        rows = [json.loads(l) for l in f]
    labels = json.load(open(os.path.join(out, "labels.json")))
    for r in rows:
        assert r["trace_id"] not in ids, "duplicate trace id"
        ids.add(r["trace_id"])
        assert "input" in r
        sids = [s["id"] for s in r["steps"]]
        assert len(sids) == len(set(sids)), "duplicate step id"
        assert r["timestamp"].endswith("Z") and dt.datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
        assert r["latency_ms"] >= 0 and r["cost_usd"] >= 0
        for s in r["steps"]:
            assert s["type"] in STEP_TYPES, s["type"]
            assert s["parent_id"] is None or s["parent_id"] in sids
            assert s.get("latency_ms", 0) >= 0
            dt.datetime.fromisoformat(s["start_time"].replace("Z", "+00:00"))
        for fb in r.get("feedback", []):
            assert fb["kind"] in ("thumb", "rating", "comment", "correction", "implicit")
            assert fb["source"] in ("user", "reviewer", "system")
        sc = r.get("scores")
        if isinstance(sc, list):
            assert all(isinstance(x["value"], (int, float)) for x in sc)
    for tid, lb in labels.items():
        assert tid in ids
        assert lb["root_cause"] in ROOT_CAUSES and lb["severity"] in ("S1", "S2", "S3", "S4")
        per[lb["failure_mode"]] = per.get(lb["failure_mode"], 0) + 1
    byid = {r["trace_id"]: r for r in rows}
    for tid, lb in labels.items():
        r = byid[tid]
        assert lb["failing_step"] in {s["id"] for s in r["steps"]}, (tid, lb)
        if not r.get("feedback"):
            nofb += 1
    print(f"traces: {len(rows)}  failing: {len(labels)} ({100 * len(labels) / len(rows):.1f}%)  healthy: {len(rows) - len(labels)}")
    print(f"failing without any feedback: {nofb} ({100 * nofb / max(1, len(labels)):.1f}% of failing)")
    print(f"healthy with unrelated thumbs-down: {noise}")
    ts = sorted(r["timestamp"] for r in rows)
    print(f"time range: {ts[0]} .. {ts[-1]}; users: {len({r['user_id'] for r in rows})}; sessions: {len({r['session_id'] for r in rows})}")
    ln = sorted(len(r["steps"]) for r in rows)
    print(f"steps per trace: min {ln[0]}, median {ln[len(ln) // 2]}, max {ln[-1]}")
    for m in MODES:
        print(f"  {m:30s} {per.get(m, 0):5d}  {MODES[m][0]}")


if __name__ == "__main__":
    main()

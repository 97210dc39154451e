"""`flywheel datasets ...` (living eval sets) and `flywheel export ...` (post-training data)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path

import typer
from pydantic import BaseModel
from rich.table import Table

from flywheel.chain import ChainAnchors
from flywheel.cli._common import (
    JsonOption,
    WaitOption,
    console,
    err_console,
    open_store,
    print_json,
    project,
)
from flywheel.cli._logging import progress_shown
from flywheel.datasets import (
    LADDER,
    Expected,
    HoldoutGuard,
    Role,
    SignOff,
    add_case,
    get_case,
    holdout_reads,
    list_cases,
    move_case,
    role_sizes,
    set_thresholds,
    set_versions,
    sync_backlog,
    verify_datasets,
)
from flywheel.embeddings import Embedder
from flywheel.errors import UserError
from flywheel.export import ExportKind, export_dataset
from flywheel.store import run_lock
from flywheel.users import acting_as, sign_in

datasets_app = typer.Typer(help="Living eval sets: roles, promotion, versions, the holdout.")
export_app = typer.Typer(help="Export validated behaviour as post-training data.")

_ROLES = ", ".join(role.value for role in Role)
ActorOption = typer.Option(
    None,
    "--actor",
    envvar="FLYWHEEL_ACTOR",
    help="The Flywheel user making the change, signed in like `approve --as` (--password-stdin, "
    "FLYWHEEL_PASSWORD, a stored credential or a prompt); default: your OS account, recorded "
    "as os:NAME.",
)
PasswordStdinOption = typer.Option(
    False,
    "--password-stdin",
    help="Read the password of --actor from standard input (then --signoff's, on the next line).",
)
SignoffOption = typer.Option(
    None,
    "--signoff",
    help="Owner signing off a blocking-set change ([datasets] owners): a Flywheel user, "
    "authenticated with their password (FLYWHEEL_PASSWORD or a prompt).",
)
ReasonOption = typer.Option(None, "--reason", help="Why (recorded with the sign-off).")


def _actor(actor: str | None, password_stdin: bool = False) -> str:
    """Who the change is recorded as: ``--actor NAME`` is a Flywheel user who signs in (the
    trust model of `flywheel.users`, as for approvals), so no one records a change in another
    person's name; without it, the OS account, as ``os:NAME`` (``$USER`` is anyone's to set,
    so it is never taken for a Flywheel user)."""
    return acting_as(project().data_dir, actor, password_stdin=password_stdin)


def _signoff(owner: str | None, reason: str | None, password_stdin: bool = False) -> SignOff | None:
    """The owner's sign-off, once the owner proved who they are: a Flywheel user signed in
    with their own password (--password-stdin, FLYWHEEL_PASSWORD or a prompt; see
    `flywheel.users`)."""
    if owner is None:
        return None
    if not reason:
        raise UserError("--signoff needs --reason: say why the blocking set changes")
    signed = sign_in(project().data_dir, owner, password_stdin=password_stdin)
    return SignOff(owner=signed.name, reason=reason)


@datasets_app.command("list")
def list_command(
    role: str | None = typer.Option(None, "--role", help=f"One role ({_ROLES})."),
    json_out: bool = JsonOption,
) -> None:
    """List eval cases (every role but the holdout, or one role)."""
    cases = list_cases(open_store(), role)
    if json_out:
        print_json([case.model_dump(mode="json", exclude={"expected"}) for case in cases])
        return
    table = Table("case", "role", "tags", "trace", "cluster", "reference", "added by")
    for case in cases:
        table.add_row(
            case.case_id,
            case.role.value,
            ",".join(case.tags),
            case.origin.trace_id,
            case.origin.cluster_id or "-",
            "yes" if case.expected.reference_output else "-",
            case.added_by,
        )
    console.print(table)
    sizes = role_sizes(open_store())
    console.print(", ".join(f"{role} {n}" for role, n in sizes.items()))


@datasets_app.command("show")
def show(case_id: str = typer.Argument(...), json_out: bool = JsonOption) -> None:
    """Show one case: origin, expected behaviour, provenance."""
    case = get_case(open_store(), case_id)
    if json_out:
        print_json(case.model_dump(mode="json"))
        return
    console.print_json(case.model_dump_json(exclude={"expected": {"reference_trace"}}))


@datasets_app.command("add")
def add(
    trace_id: str = typer.Argument(..., help="The stored trace the case replays."),
    role: str = typer.Option(..., "--role", help=f"Role of the case ({_ROLES})."),
    tag: list[str] = typer.Option([], "--tag", help="golden, regression, adversarial, ..."),
    reference: str | None = typer.Option(None, "--reference", help="Reference output."),
    rubric: str | None = typer.Option(None, "--rubric", help="How to judge the answer."),
    source: str | None = typer.Option(None, "--source", help="Source of the trace id."),
    actor: str | None = ActorOption,
    signoff: str | None = SignoffOption,
    reason: str | None = ReasonOption,
    password_stdin: bool = PasswordStdinOption,
    json_out: bool = JsonOption,
) -> None:
    """Make a stored trace an eval case of a role."""
    case = add_case(
        open_store(),
        trace_id,
        role=role,
        added_by=_actor(actor, password_stdin),
        tags=tag,
        expected=Expected(reference_output=reference, rubric=rubric),
        source=source,
        signoff=_signoff(signoff, reason, password_stdin),
        config=project().settings.datasets,
    )
    if json_out:
        print_json({"case_id": case.case_id, "role": case.role, "digest": case.digest})
        return
    console.print(f"added {case.case_id} (trace {trace_id}) to the {case.role} set")


def _move(
    case_id: str,
    to: str,
    direction: str,
    actor: str | None,
    owner: str | None,
    why: str | None,
    password_stdin: bool,
) -> dict[str, str]:
    store = open_store()
    moved = move_case(
        store,
        case_id,
        to=to,
        actor=_actor(actor, password_stdin),
        direction=direction,
        signoff=_signoff(owner, why, password_stdin),
        config=project().settings.datasets,
    )
    versions = {v.role.value: v.content_hash for v in set_versions(store) if v.role is moved.role}
    return {"case_id": moved.case_id, "role": moved.role.value, **versions}


_LADDER = " < ".join(role.value for role in LADDER)


@datasets_app.command("promote")
def promote(
    case_id: str = typer.Argument(...),
    to: str = typer.Option(..., "--to", help=f"A stricter role ({_LADDER})."),
    actor: str | None = ActorOption,
    signoff: str | None = SignoffOption,
    reason: str | None = ReasonOption,
    password_stdin: bool = PasswordStdinOption,
    json_out: bool = JsonOption,
) -> None:
    """Move a case up the ladder (backlog < monitoring < regression < blocking)."""
    result = _move(case_id, to, "promote", actor, signoff, reason, password_stdin)
    if json_out:
        print_json(result)
        return
    console.print(f"promoted {case_id} to {result['role']}")


@datasets_app.command("demote")
def demote(
    case_id: str = typer.Argument(...),
    to: str = typer.Option(..., "--to", help=f"A looser role ({_LADDER})."),
    actor: str | None = ActorOption,
    signoff: str | None = SignoffOption,
    reason: str | None = ReasonOption,
    password_stdin: bool = PasswordStdinOption,
    json_out: bool = JsonOption,
) -> None:
    """Move a case down the ladder."""
    result = _move(case_id, to, "demote", actor, signoff, reason, password_stdin)
    if json_out:
        print_json(result)
        return
    console.print(f"demoted {case_id} to {result['role']}")


@datasets_app.command("sync")
def sync(
    actor: str | None = ActorOption,
    password_stdin: bool = PasswordStdinOption,
    json_out: bool = JsonOption,
) -> None:
    """Put new failure clusters (no case yet) into the backlog."""
    who = _actor(actor, password_stdin)
    result = sync_backlog(open_store(), actor=who, config=project().settings.datasets)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    console.print(
        f"{result.cases_added} backlog cases from {len(result.clusters)} new clusters"
        + (f" ({', '.join(result.clusters)})" if result.clusters else "")
    )


@datasets_app.command("versions")
def versions(
    role: str | None = typer.Option(None, "--role", help=f"One role ({_ROLES})."),
    json_out: bool = JsonOption,
) -> None:
    """Every version of the sets (content hash, size, who, why)."""
    rows = set_versions(open_store(), role)
    if json_out:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    table = Table("role", "version", "hash", "size", "by", "when", "why")
    for row in rows:
        table.add_row(
            row.role.value,
            str(row.version),
            row.content_hash[:12],
            str(row.size),
            row.actor,
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            row.reason,
        )
    console.print(table)


@datasets_app.command("thresholds")
def thresholds(
    role: str = typer.Argument(..., help=f"The role ({_ROLES})."),
    values: list[str] = typer.Argument(..., help="NAME=NUMBER, e.g. min_pass_rate=1.0"),
    actor: str | None = ActorOption,
    signoff: str | None = SignoffOption,
    reason: str | None = ReasonOption,
    password_stdin: bool = PasswordStdinOption,
    json_out: bool = JsonOption,
) -> None:
    """Set a role's thresholds (a new version; the blocking set's need a sign-off)."""
    parsed: dict[str, float] = {}
    for item in values:
        name, _, number = item.partition("=")
        try:
            parsed[name.strip()] = float(number)
        except ValueError:
            raise UserError(f"threshold '{item}': write NAME=NUMBER") from None
    version = set_thresholds(
        open_store(),
        role,
        parsed,
        actor=_actor(actor, password_stdin),
        signoff=_signoff(signoff, reason, password_stdin),
        config=project().settings.datasets,
    )
    if json_out:
        print_json(version.model_dump(mode="json") if version else None)
        return
    console.print(f"{role} thresholds: {parsed}" + ("" if version else " (unchanged)"))


@datasets_app.command("verify")
def verify(json_out: bool = JsonOption) -> None:
    """Check case digests, set hashes, the holdout hash, the audit chain, its anchor and every
    reference to a sign-off (exit 1 if bad)."""
    proj = project()
    report = verify_datasets(open_store(proj), anchors=ChainAnchors(proj.data_dir))
    if json_out:
        print_json(report.model_dump(mode="json"))
    elif report.ok:
        console.print(
            f"ok: {report.cases} cases, versions {report.versions}, "
            f"{report.audit_entries} audit entries"
        )
    else:
        for problem in report.problems:
            err_console.print(f"[red]tampered:[/] {problem}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@datasets_app.command("holdout")
def holdout(
    purpose: str = typer.Option(..., "--purpose", help="final_evaluation or audit."),
    reader: str | None = ActorOption,
    password_stdin: bool = PasswordStdinOption,
    json_out: bool = JsonOption,
) -> None:
    """Read the frozen holdout for an allowed purpose (the read is logged)."""
    who = _actor(reader, password_stdin)
    cases = HoldoutGuard(open_store(), reader=who).read(purpose)
    if json_out:
        print_json([case.model_dump(mode="json") for case in cases])
        return
    console.print(f"{len(cases)} holdout cases (read logged)")
    for case in cases:
        console.print(f"{case.case_id}  {case.origin.trace_id}")


@datasets_app.command("reads")
def reads(limit: int = typer.Option(50, "--limit", min=1), json_out: bool = JsonOption) -> None:
    """The holdout's access log, newest first."""
    rows = holdout_reads(open_store(), limit=limit)
    if json_out:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    table = Table("when", "reader", "purpose", "allowed", "cases", "detail")
    for row in rows:
        table.add_row(
            row.at.strftime("%Y-%m-%d %H:%M:%S"),
            row.reader,
            row.purpose,
            "yes" if row.allowed else "[red]refused[/]",
            str(row.cases),
            row.detail,
        )
    console.print(table)


# -- export ------------------------------------------------------------------------------------


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--since must be a date like 2026-11-16, got '{value}'") from None


def _export(
    kind: ExportKind,
    out: Path,
    since: str | None,
    min_confidence: float | None,
    roles: list[str],
    json_out: bool,
    who: Who,
) -> None:
    """Export under the pipeline's run lock (a nightly run rewriting traces and eval sets
    meanwhile would tear the file), as ``who``: the holdout's exclusion read is logged under
    their signed-in name, or os:LOGIN."""
    proj = project()
    config = proj.settings.export
    reader = _actor(who.actor, who.password_stdin)
    store = open_store(proj)
    embedder = None
    if kind is not ExportKind.eval and config.near_duplicate_threshold < 1:
        embedder = Embedder(cache_dir=proj.data_dir / "embeddings")
    spinner: AbstractContextManager[object] = (
        err_console.status(f"exporting {kind} ...") if progress_shown() else nullcontext()
    )
    with run_lock(store, command=f"flywheel export {kind}", wait=who.wait), spinner:
        report = export_dataset(
            store,
            kind,
            out=out,
            config=config,
            since=_since(since),
            min_confidence=min_confidence,
            roles=roles,
            embedder=embedder,
            reader=reader,
        )
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    console.print(
        f"wrote {report.records} {kind} records to {report.out} (card {report.card}); "
        f"sources {report.sources}; PII redacted {report.pii_redactions or 0}; "
        f"duplicates removed {report.exact_duplicates} exact, {report.near_duplicates} near"
        + (f"; skipped {report.skipped}" if report.skipped else "")
    )


class Who(BaseModel):
    """Who exports, and how long they wait for the run lock."""

    actor: str | None
    password_stdin: bool
    wait: float


OutOption = typer.Option(..., "--out", help="The JSONL file to write (card beside it).")
SinceOption = typer.Option(None, "--since", help="Only traces from this date (YYYY-MM-DD).")
ConfidenceOption = typer.Option(
    None, "--min-confidence", help="Positive-feedback strength a production trace needs."
)


@export_app.command("sft")
def sft(
    out: Path = OutOption,
    since: str | None = SinceOption,
    min_confidence: float | None = ConfidenceOption,
    actor: str | None = ActorOption,
    password_stdin: bool = PasswordStdinOption,
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """SFT demonstrations (OpenAI chat fine-tuning JSONL with tool calls)."""
    who = Who(actor=actor, password_stdin=password_stdin, wait=wait)
    _export(ExportKind.sft, out, since, min_confidence, [], json_out, who)


@export_app.command("preference")
def preference(
    out: Path = OutOption,
    since: str | None = SinceOption,
    min_confidence: float | None = ConfidenceOption,
    actor: str | None = ActorOption,
    password_stdin: bool = PasswordStdinOption,
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Preference pairs (prompt / chosen / rejected, as TRL's DPO trainer reads them)."""
    who = Who(actor=actor, password_stdin=password_stdin, wait=wait)
    _export(ExportKind.preference, out, since, min_confidence, [], json_out, who)


@export_app.command("eval")
def eval_(
    out: Path = OutOption,
    since: str | None = SinceOption,
    min_confidence: float | None = ConfidenceOption,
    role: list[str] = typer.Option([], "--role", help="Only these roles (never the holdout)."),
    actor: str | None = ActorOption,
    password_stdin: bool = PasswordStdinOption,
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Eval sets as JSONL (one case per line)."""
    who = Who(actor=actor, password_stdin=password_stdin, wait=wait)
    _export(ExportKind.eval, out, since, min_confidence, role, json_out, who)

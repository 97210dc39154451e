"""The app's commands: `flywheel ui`, `users add`, `audit verify`, `approve`, `reject`..."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from flywheel.chain import ChainAnchors
from flywheel.cli._common import (
    JsonOption,
    console,
    open_store,
    print_json,
    project,
)
from flywheel.cli._logging import chatter
from flywheel.project import Project
from ui.approvals import (
    ApprovalDesk,
    Outcome,
    Role,
    User,
    anchor_chains,
    ensure_demo_account,
    has_admin,
    load_users,
    may_change_users,
    save_user,
    sign_in,
    users_path,
    verify_audit,
)

APP_SCRIPT = Path(__file__).parent / "app.py"

users_app = typer.Typer(help="Manage the people who may sign in to the app.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log of decisions.", no_args_is_help=True)
queue_app = typer.Typer(help="The approval queue of gated candidates.", no_args_is_help=True)
PASSWORD_HELP = (
    "Read the --as user's password from standard input (else FLYWHEEL_PASSWORD, a stored "
    "credential of an automated account, or a prompt)."
)


@queue_app.command("sync")
def queue_sync(json_out: bool = JsonOption) -> None:
    """Add the optimizers' candidates whose replay gate passed to the approval queue.

    Also applies later Holm revisions of queued and shipped candidates' gates: a waiting
    candidate whose gate no longer passes shows it (its approvals stop counting), a shipped one
    gets a rollback proposal in the audit log.
    """
    report = _desk().sync()
    if json_out:
        print_json(report.model_dump())
        return
    console.print(f"{len(report.imported)} gated candidates in the queue", highlight=False)
    for revision in report.gate_revised:
        verdict = "passes" if revision.passed else "no longer passes"
        line = f"{revision.candidate_id} ({revision.status}) {verdict}: {revision.revised}"
        if revision.rollback_proposed:
            line += f"; rollback proposed (`flywheel rollback {revision.candidate_id} --as NAME`)"
        console.print(line, highlight=False)


@queue_app.command("list")
def queue_list(
    status: str = typer.Option(
        "gated", "--status", help="gated | shipped | rejected | rolled_back"
    ),
    limit: int = typer.Option(20, "--limit", min=1),
    json_out: bool = JsonOption,
) -> None:
    """The queue, highest priority first."""
    rows = [
        {
            "id": c.id,
            "cluster": c.cluster_id,
            "severity": c.severity,
            "priority": c.priority,
            "gate": "pass" if c.gate.passed else "fail",
            "author": c.author,
        }
        for c in _desk().queue.queue(status=status, limit=limit)
    ]
    if json_out:
        print_json(rows)
    else:
        for row in rows:
            console.print("\t".join(str(v) for v in row.values()), highlight=False)


@queue_app.command("regate")
def queue_regate(
    candidate_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help="The approver asking (from the users file)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_HELP),
    json_out: bool = JsonOption,
) -> None:
    """Re-gate a waiting candidate on main's head now (a no-op when its base is current)."""
    desk = _desk()
    user = _user(as_user, password_stdin)
    before = desk.queue.get(candidate_id).base_sha
    candidate = desk.regate(candidate_id, user)
    data = {
        "id": candidate.id,
        "regated": candidate.base_sha != before,
        "base_sha": candidate.base_sha,
        "replay_run": candidate.replay_run,
        "passed": candidate.gate.passed,
    }
    if json_out:
        print_json(data)
    elif not data["regated"]:
        console.print(f"{candidate.id}: already gated on main's head", highlight=False)
    else:
        verdict = "passes" if candidate.gate.passed else "fails"
        console.print(
            f"{candidate.id}: re-gated on main {candidate.base_sha[:12]}, {verdict} "
            f"({candidate.replay_run})",
            highlight=False,
        )


def ui(
    host: str = typer.Option("127.0.0.1", "--host", envvar="FLYWHEEL_UI_HOST", help="Address."),
    port: int = typer.Option(8501, "--port", envvar="FLYWHEEL_UI_PORT", help="Port."),
    demo_account: bool = typer.Option(
        False,
        "--demo-account",
        help="Make sure a demo approver account exists and print its credentials (demo only).",
    ),
) -> None:
    """Start the Streamlit app on HOST:PORT for this project.

    Sign-in is OIDC when the project's .streamlit/secrets.toml has an [auth] section, else the
    local users file (`flywheel users add`).
    """
    proj = project()
    proj.open_store().close()  # migrate before the first page asks for data
    if demo_account:
        name, password = ensure_demo_account(proj.data_dir)
        console.print(f"sign in as [bold]{name}[/] with password [bold]{password}[/] (an approver)")
    env = {
        **os.environ,
        "FLYWHEEL_PROJECT": str(proj.root),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    console.print(f"Flywheel app on http://{host}:{port} (project {proj.root})")
    sys.stdout.flush()
    # Streamlit reads .streamlit/secrets.toml (OIDC's [auth]) from its working directory.
    os.chdir(proj.root)
    os.execve(sys.executable, args, env)  # the app replaces this process: signals reach it


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name (or the e-mail an OIDC login reports)."),
    role: str = typer.Option("viewer", "--role", help="viewer | reviewer | approver | admin"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    no_password: bool = typer.Option(
        False, "--no-password", help="OIDC only: the user signs in through the identity provider."
    ),
    as_admin: str | None = typer.Option(
        None,
        "--as",
        help="The admin making the change (needed once the users file has an admin; their "
        "password from FLYWHEEL_PASSWORD or a prompt).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Create a user or change their role and password (argon2 hash, never the password).

    A project's first admin is created freely (the bootstrap); until then no other role may be
    added, and afterwards only an admin (`--as ADMIN`, authenticated) adds or changes users.
    Every change is recorded in the audit log.
    """
    parsed = Role.parse(role)
    proj = project()
    path = users_path(proj.data_dir)
    signed_in = has_admin(path) and as_admin is not None
    admin = sign_in(proj.data_dir, as_admin) if signed_in and as_admin is not None else None
    actor = may_change_users(path, name, parsed, admin)
    password: str | None
    if no_password:
        password = None
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    save_user(path, open_store(proj), name, parsed, password, actor=actor)
    if json_out:
        print_json({"user": name, "role": parsed.value, "file": str(path)})
    else:
        console.print(f"user {name} ({parsed.value}) saved in {path}")


@users_app.command("list")
def users_list(json_out: bool = JsonOption) -> None:
    """The users and their roles."""
    users = load_users(users_path(project().data_dir)).users
    rows = [
        {"user": n, "role": e.role.value, "password": e.password_hash is not None}
        for n, e in sorted(users.items())
    ]
    if json_out:
        print_json(rows)
    else:
        for row in rows:
            console.print(f"{row['user']}\t{row['role']}", highlight=False)


def _config_repo(proj: Project) -> str | None:
    repo = proj.config_repo
    return str(repo) if repo is not None and (repo / ".git").exists() else None


@audit_app.command("verify")
def audit_verify(json_out: bool = JsonOption) -> None:
    """Check the hash chain and its anchors; exit 1 saying what is wrong when it is broken.

    Anchors: the MAC'd head in .flywheel/chain-anchors.json (key FLYWHEEL_AUDIT_KEY or
    .flywheel/audit.key) and each ship commit's Flywheel-Audit-Head trailer.
    """
    proj = project()
    check = verify_audit(
        open_store(proj), anchors=ChainAnchors(proj.data_dir), repo=_config_repo(proj)
    )
    if json_out:
        print_json(check.model_dump())
    elif check.ok:
        console.print(f"audit log ok: {check.records} records, chain intact and anchored")
    elif check.first_bad_id is not None:
        console.print(
            f"[red]audit log broken at record {check.first_bad_id}:[/] {check.reason}",
            highlight=False,
        )
    else:
        console.print(f"[red]audit log broken:[/] {check.reason}", highlight=False)
    if not check.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(
    as_user: str = typer.Option(..., "--as", help="An admin (authenticated)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_HELP),
    json_out: bool = JsonOption,
) -> None:
    """Anchor the chains' current heads (a project from before anchors, or a new key).

    Only after `audit verify` and `datasets verify` found nothing but a missing or stale
    anchor: this accepts the chains as they are now.
    """
    proj = project()
    admin = _user(as_user, password_stdin)
    heads = anchor_chains(open_store(proj), proj.data_dir, admin)
    data = {name: head.model_dump() for name, head in heads.items()}
    if json_out:
        print_json(data)
    else:
        console.print(f"anchored {', '.join(data) or 'no chains (empty)'}", highlight=False)


def _desk() -> ApprovalDesk:
    """The project's approval desk: the same one the app's Approvals page uses."""
    return ApprovalDesk(project(), open_store())


def _user(name: str, password_stdin: bool) -> User:
    """The ``--as`` user, authenticated (see the trust model in `flywheel.users`)."""
    return sign_in(project().data_dir, name, password_stdin=password_stdin)


def _report(outcome: Outcome, json_out: bool) -> None:
    if json_out:
        print_json(outcome.model_dump())
        return
    line = f"{outcome.candidate_id}: {outcome.status}"
    if outcome.regated_on:
        line += f" (re-gated on main {outcome.regated_on[:12]} first)"
    if outcome.merge_sha:
        line += f", merge commit {outcome.merge_sha}"
    if outcome.revert_sha:
        line += f", revert commit {outcome.revert_sha}"
    if outcome.status == "gated":
        line += f" ({len(outcome.approvals)} of {outcome.approvals_needed} approvals)"
    console.print(line, highlight=False)


AsOption = typer.Option(..., "--as", help="The user deciding (from the users file).")
PasswordStdinOption = typer.Option(False, "--password-stdin", help=PASSWORD_HELP)
CommentOption = typer.Option("", "--comment", "-m", help="Why.")


def approve_command(
    candidate_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = AsOption,
    password_stdin: bool = PasswordStdinOption,
    comment: str = CommentOption,
    json_out: bool = JsonOption,
) -> None:
    """Approve a gated candidate; the last approval needed merges it into the config's main.

    A candidate gated on an older main is first re-gated on main's head (main merged into its
    branch, replayed, gated again); it ships only when it still passes.
    """
    desk = _desk()
    user = _user(as_user, password_stdin)
    _report(desk.approve(candidate_id, user, comment), json_out)


def reject_command(
    candidate_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = AsOption,
    password_stdin: bool = PasswordStdinOption,
    comment: str = CommentOption,
    json_out: bool = JsonOption,
) -> None:
    """Reject a gated candidate."""
    desk = _desk()
    user = _user(as_user, password_stdin)
    _report(desk.reject(candidate_id, user, comment), json_out)


def rollback_command(
    candidate_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = AsOption,
    password_stdin: bool = PasswordStdinOption,
    comment: str = CommentOption,
    json_out: bool = JsonOption,
) -> None:
    """Roll back a shipped fix with a revert commit on the config's main."""
    desk = _desk()
    user = _user(as_user, password_stdin)
    _report(desk.rollback(candidate_id, user, comment), json_out)


def bench_ui(
    traces: int = typer.Option(100_000, "--traces", min=10),
    clusters: int = typer.Option(300, "--clusters", min=1),
    candidates: int = typer.Option(1000, "--candidates", min=1),
    via: str = typer.Option(
        "chromium",
        "--via",
        help="chromium: serve the app and load each page in headless Chromium (what a person "
        "waits for); apptest: run each page script in-process (no browser).",
    ),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Loads per page (median reported)."),
    chromium: str | None = typer.Option(None, "--chromium", help="Chromium binary (else PATH)."),
    chromedriver: str | None = typer.Option(
        None, "--chromedriver", help="chromedriver binary (else PATH)."
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where the temporary store goes."),
    json_out: bool = JsonOption,
) -> None:
    """Each app page's first render (s) on a store of TRACES traces, CLUSTERS, CANDIDATES.

    Median of REPEATS fresh loads per page; the goal is 1.5 s per page.
    """
    log = chatter("ui.bench", json_out)
    from ui._bench import run_ui_benchmark

    if via not in ("chromium", "apptest"):
        raise typer.BadParameter("must be chromium or apptest", param_hint="--via")
    report = run_ui_benchmark(
        traces=traces,
        clusters=clusters,
        candidates=candidates,
        workdir=workdir,
        log=log,
        via=via,
        repeats=repeats,
        chromium=chromium,
        chromedriver=chromedriver,
    )
    if json_out:
        print_json(report)
        return
    busy = report.get("browser_main_thread_s", {})
    for page, seconds in report["first_render_s"].items():
        cpu = f" (browser main thread {busy[page]:.3f} s)" if page in busy else ""
        console.print(f"{page}: {seconds:.3f} s{cpu}", highlight=False)
    console.print(f"load average {report['load_average']}", highlight=False)
    over = report["over_goal"]
    verdict = f"over the {report['goal_s']} s goal: {', '.join(over)}" if over else "all within"
    console.print(f"slowest page: {report['max_s']} s via {report['via']} ({verdict})")

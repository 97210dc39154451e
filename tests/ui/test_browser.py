"""End to end in headless Chromium: sign in, approve in the queue, check git and the audit log.

Starts `flywheel ui` on loopback as a user would and drives the system browser through
Selenium (chromedriver from Debian, so nothing is downloaded), with the same two helpers as
`flywheel bench ui` (`ui._browser_bench.served`, `headless_chromium`), and saves a
screenshot of every page in test-artifacts/ui/. Skipped only where Chromium is missing and
CI is not "true".
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from flywheel.project import Project, init_project
from tests.helpers.app import seed_data_pages
from tests.helpers.native import trace, write_lines
from tests.helpers.ui import XSS, gated
from ui._bench import populate
from ui._browser_bench import headless_chromium
from ui._browser_bench import served as served_app
from ui.approvals import register_candidate

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
HEADINGS = {"Approvals": "Approval queue"}
#: A few-shot addition copied from trace t-1, with markup in it, as an optimizer writes it.
TRACED_DIFF = (
    "--- a/fewshot/examples.yaml\n+++ b/fewshot/examples.yaml\n@@ -1,3 +1,6 @@\n"
    " examples:\n   - request: Who owns the Acme account?\n     answer: Dana owns it.\n"
    f"+  # from_trace: t-1\n+  - request: Summarize {XSS}\n+    answer: Here is the summary.\n"
)
PAGES = ["This week", "Clusters", "Traces", "Approvals", "Datasets", "Replay runs", "Exports"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and os.environ.get("CI") != "true",
        reason="Debian's chromium and chromedriver are not installed (CI installs them)",
    ),
]


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_repo: git.Repo
) -> Iterator[tuple[str, Project]]:
    """`flywheel ui` on a free loopback port, over a project with users and candidates."""
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    project, _ = init_project(tmp_path / "project")
    flywheel = str(Path(sys.executable).parent / "flywheel")
    # the project's first user is its admin, who then adds the others (`flywheel.users`)
    for name, role in (("root", "admin"), ("alice", "approver"), ("bob", "viewer")):
        subprocess.run(
            [
                flywheel,
                "--project",
                str(project.root),
                "users",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
                *(["--as", "root"] if name != "root" else []),
            ],
            input=f"{name}-password\n",
            env={**os.environ, "FLYWHEEL_PASSWORD": "root-password"},
            text=True,
            check=True,
            capture_output=True,
        )
    from flywheel.ingest import ingest_paths

    with project.open_store() as store:
        populate(store, traces=400, clusters=8, candidates=1)  # charts worth a screenshot
        gated(store, config_repo, "cand-ok", priority=5.0)
        gated(store, config_repo, "cand-own", author="alice", priority=4.0)
        traced = gated(store, config_repo, "cand-traced", priority=0.1)
        register_candidate(store, traced.model_copy(update={"diff": TRACED_DIFF}))
        hostile = trace(1, input=f"Summarize {XSS}", output=XSS)
        ingest_paths(store, [write_lines(tmp_path / "hostile.jsonl", [hostile])])
        seed_data_pages(store, tmp_path / "main-config", "t-1")  # datasets, drift, runs
    with served_app(project.root, log=lambda _: None) as url:
        yield url, project


@pytest.fixture
def browser() -> Iterator[object]:
    with headless_chromium(str(CHROMIUM), str(CHROMEDRIVER)) as driver:
        yield driver


def test_sign_in_approve_and_audit_in_a_real_browser(
    served: tuple[str, Project], browser: object, config_repo: git.Repo
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    driver = browser
    url, project = served
    wait = WebDriverWait(driver, 60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def text_shown(text: str) -> None:
        wait.until(ec.presence_of_element_located((By.XPATH, f"//*[contains(text(), '{text}')]")))

    def button(label: str) -> Any:
        return wait.until(
            ec.element_to_be_clickable((By.XPATH, f"//button[.//p[text()='{label}']]"))
        )

    def sign_in(name: str, password: str) -> None:
        user = wait.until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='User name']"))
        )
        user.send_keys(name)
        secret = driver.find_element(By.CSS_SELECTOR, "input[aria-label='Password']")
        secret.send_keys(password)
        button("Sign in").click()

    def open_page(title: str) -> None:
        link = wait.until(
            ec.element_to_be_clickable(
                (By.XPATH, f"//a[@data-testid='stSidebarNavLink'][.//span[@label='{title}']]")
            )
        )
        link.click()
        heading = HEADINGS.get(title, title)
        wait.until(ec.presence_of_element_located((By.XPATH, f"//h1[contains(., '{heading}')]")))

    try:
        _journey(driver, wait, url, project, config_repo, text_shown, button, sign_in, open_page)
    except Exception:
        driver.save_screenshot(str(ARTIFACTS / "failure.png"))
        (ARTIFACTS / "failure.html").write_text(driver.page_source, encoding="utf-8")
        raise


def _journey(
    driver: Any,
    wait: Any,
    url: str,
    project: Project,
    config_repo: git.Repo,
    text_shown: Callable[[str], None],
    button: Callable[[str], Any],
    sign_in: Callable[[str, str], None],
    open_page: Callable[[str], None],
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    # The server's very first page load names a page: the app's own navigation and sign-in
    # answer it (not Streamlit's file-name routing, whose sidebar lists the scripts).
    driver.get(f"{url}/traces")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[aria-label='User name']")))
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stSidebarNav']")

    driver.get(url)
    sign_in("alice", "wrong-password")
    text_shown("Wrong user name or password")
    driver.save_screenshot(str(ARTIFACTS / "sign_in_rejected.png"))

    driver.get(url)  # a fresh session (React inputs ignore Selenium's clear())
    sign_in("alice", "alice-password")
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'This week')]")))

    # A reload keeps the sign-in: a signed, expiring session cookie, on the page it was on.
    cookie = wait.until(lambda d: d.get_cookie("flywheel_session"))
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["value"].startswith("v1.")
    open_page("Clusters")
    driver.refresh()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Clusters')]")))
    assert not driver.find_elements(By.CSS_SELECTOR, "input[aria-label='User name']")
    driver.save_screenshot(str(ARTIFACTS / "reloaded_still_signed_in.png"))
    # A forged cookie (another user's name under the old signature) signs nobody in.
    version, payload, signature = cookie["value"].split(".")
    forged = ".".join([version, _rename(payload, "root"), signature])
    driver.delete_all_cookies()
    driver.add_cookie({"name": "flywheel_session", "value": forged, "path": "/"})
    driver.refresh()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[aria-label='User name']")))
    wait.until(lambda d: d.get_cookie("flywheel_session") is None)  # and it is dropped
    driver.add_cookie({"name": "flywheel_session", "value": cookie["value"], "path": "/"})
    driver.get(url)
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'This week')]")))

    open_page("Approvals")
    text_shown("cand-ok")
    driver.save_screenshot(str(ARTIFACTS / "approvals.png"))
    comment = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea[aria-label='Comment']"))
    )
    comment.send_keys("verified in the browser")
    button("Approve").click()
    main_before = config_repo.heads.main.commit.hexsha
    text_shown("This merges")  # a confirmation step before anything is merged
    assert config_repo.heads.main.commit.hexsha == main_before
    driver.save_screenshot(str(ARTIFACTS / "approve_confirmation.png"))
    button("Yes, approve and ship").click()
    text_shown("cand-ok shipped")
    driver.save_screenshot(str(ARTIFACTS / "approved.png"))

    # The next candidate in the queue is alice's own: approving it is forbidden.
    text_shown("cand-own")
    button("Approve").click()
    text_shown("authored this candidate")
    driver.save_screenshot(str(ARTIFACTS / "self_approval_refused.png"))

    main = config_repo.heads.main.commit
    assert len(main.parents) == 2
    assert "Flywheel-Approver: alice" in str(main.message)
    assert "Flywheel-Cluster: C-0001" in str(main.message)
    assert "Flywheel-Replay-Run: replay-42" in str(main.message)
    from ui import audit_records, verify_audit

    with project.open_store() as store:
        actions = [(r.action, r.actor, r.subject) for r in audit_records(store)]
        assert ("ship", "alice", "cand-ok") in actions
        assert ("approve.refused", "alice", "cand-own") in actions
        assert verify_audit(store).ok
    ship = next(r for r in audit_records(store) if r.action == "ship")
    assert ship.detail["merge_sha"] == main.hexsha

    # Trace content is text: the <script> and <img> of the trace are never elements.
    open_page("Traces")
    wanted = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='Trace id starts with']"))
    )
    wanted.send_keys("t-1")
    button("Search").click()
    text_shown('alert("xss")')
    for script in driver.find_elements(By.TAG_NAME, "script"):
        assert "xss" not in (script.get_attribute("innerHTML") or "")
    assert not driver.find_elements(By.CSS_SELECTOR, "img[src*='evil.invalid']")
    assert not driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript']")
    driver.save_screenshot(str(ARTIFACTS / "trace_with_markup.png"))

    # This week after the ship: the shipped fix and its effect render (they crashed once).
    open_page("This week")
    text_shown("Shipped fixes and their effect")
    wait.until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
            or len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stDataFrame']")) >= 3
        )
    )
    _no_exception(driver, "This week")
    # A click on a row of "Clusters that grew or appeared" opens that cluster.
    from selenium.webdriver.common.action_chains import ActionChains

    grid = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stDataFrame']")[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", grid)
    time.sleep(0.5)
    box = grid.rect
    ActionChains(driver).move_to_element_with_offset(
        grid, 16 - box["width"] / 2, 36 + 17 - box["height"] / 2
    ).click().perform()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Clusters')]")))
    wait.until(lambda d: "cluster=C-" in d.current_url)
    _no_exception(driver, "Clusters opened from This week")

    _links_and_row_clicks(driver, wait, open_page)

    # A pasted link in a browser without a session asks for sign-in, then opens what it named.
    driver.delete_all_cookies()
    driver.get(f"{url}/clusters?cluster=c-0003")
    sign_in("alice", "alice-password")
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Clusters')]")))
    wait.until(
        ec.presence_of_element_located(
            (By.XPATH, "//h2[starts-with(normalize-space(.), 'C-0003:')]")
        )
    )
    wait.until(lambda d: "cluster=C-0003" in d.current_url)
    driver.save_screenshot(str(ARTIFACTS / "pasted_link_after_sign_in.png"))

    for title in PAGES:
        open_page(title)
        time.sleep(1.0)  # let charts draw before the picture
        driver.save_screenshot(str(ARTIFACTS / f"page_{title.lower().replace(' ', '_')}.png"))
        _no_exception(driver, title)

    # Roll the shipped fix back (a link to it, opened in the signed-in browser), then This week
    # and the audit log still render.
    driver.get(f"{url}/approvals?candidate=cand-ok")
    text_shown("Shipped as merge commit")
    why = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea[aria-label='Why roll back?']"))
    )
    why.send_keys("made the latency worse")
    button("Roll back").click()
    text_shown("cand-ok rolled back")
    driver.save_screenshot(str(ARTIFACTS / "rolled_back.png"))
    assert "Flywheel-Rollback-Of: " in str(config_repo.heads.main.commit.message)
    for title in ("This week", "Audit log"):
        open_page(title)
        time.sleep(1.0)
        _no_exception(driver, f"{title} after the rollback")
    driver.save_screenshot(str(ARTIFACTS / "audit_after_rollback.png"))

    # Lines of a fix that came from traces stand out in its diff, and stay text.
    driver.get(f"{url}/approvals?candidate=cand-traced")
    text_shown("came from production traces")
    # The diff may draw a moment after the caption above it: wait for its marked lines.
    marked = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".fw-diff .from-trace"))
    assert len(marked) == 3
    assert "from trace t-1" in marked[0].text
    assert not driver.find_elements(By.CSS_SELECTOR, ".fw-diff img, .fw-diff script")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", marked[0])
    time.sleep(0.5)
    driver.save_screenshot(str(ARTIFACTS / "diff_lines_from_traces.png"))
    signed_in_cookie = driver.get_cookie("flywheel_session")
    assert signed_in_cookie is not None
    button("Sign out").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[aria-label='User name']")))
    # Signed out stays signed out after a reload, and the old cookie no longer works.
    wait.until(lambda d: d.get_cookie("flywheel_session") is None)
    driver.refresh()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[aria-label='User name']")))
    driver.add_cookie({"name": "flywheel_session", "value": signed_in_cookie["value"], "path": "/"})
    driver.refresh()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[aria-label='User name']")))
    time.sleep(1.0)
    assert not driver.find_elements(By.XPATH, "//h1[contains(., 'This week')]")
    driver.save_screenshot(str(ARTIFACTS / "signed_out_after_reload.png"))

    # A viewer sees every page and can change nothing.
    driver.get(url)
    sign_in("bob", "bob-password")
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'This week')]")))
    for title in [*PAGES, "Audit log"]:
        open_page(title)
        time.sleep(0.5)
        _no_exception(driver, f"{title} (viewer)")
        if title in ("Approvals", "Exports"):
            text_shown("needs the approver role")
        for label in ("Approve", "Reject", "Roll back", "Save label", "Export now"):
            assert not driver.find_elements(By.XPATH, f"//button[.//p[text()='{label}']]"), (
                title,
                label,
            )
    driver.save_screenshot(str(ARTIFACTS / "viewer_audit_log.png"))


def _rename(payload: str, user: str) -> str:
    """A session token's payload naming another user (the signature is left as it was)."""
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user"] = user
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


def _no_exception(driver: Any, page: str) -> None:
    from selenium.webdriver.common.by import By

    boxes = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    assert not boxes, f"{page}: {boxes[0].text[:500]}"


def _links_and_row_clicks(driver: Any, wait: Any, open_page: Callable[[str], None]) -> None:
    """A click on a clusters-table row opens that cluster; an exemplar opens its trace, the
    trace's cluster opens the cluster, all in the signed-in session, each in the URL."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    def header() -> str:
        return str(
            wait.until(ec.presence_of_element_located((By.TAG_NAME, "h2"))).text.split(":")[0]
        )

    open_page("Clusters")
    first = header()
    grid = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stDataFrame']"))
    )
    box = grid.rect
    # The row-selection checkbox of the third row (the grid is a canvas: click by position).
    ActionChains(driver).move_to_element_with_offset(
        grid, 16 - box["width"] / 2, 36 + 35 * 2 + 17 - box["height"] / 2
    ).click().perform()
    wait.until(lambda d: header() != first)
    picked = header()
    wait.until(lambda d: f"cluster={picked}" in d.current_url)
    _no_exception(driver, "Clusters after a row click")
    driver.save_screenshot(str(ARTIFACTS / "cluster_picked_by_row.png"))

    exemplar = wait.until(
        ec.element_to_be_clickable((By.XPATH, "//a[contains(@href, 'traces?trace=')]"))
    )
    opened = str(exemplar.get_attribute("href")).rsplit("trace=", 1)[1]
    exemplar.click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Traces')]")))
    wait.until(lambda d: header() == opened)
    assert f"trace={opened}" in driver.current_url
    # The cluster filter ignores case; the first trace's cluster is a link back.
    typed = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='Cluster']")))
    typed.send_keys(picked.lower())
    driver.find_element(By.XPATH, "//button[.//p[text()='Search']]").click()
    cluster_link = wait.until(
        ec.element_to_be_clickable((By.XPATH, "//a[contains(@href, 'clusters?cluster=')]"))
    )
    _no_exception(driver, "Traces opened from an exemplar")
    driver.save_screenshot(str(ARTIFACTS / "trace_from_exemplar.png"))
    assert cluster_link.text == f"In cluster {picked}"
    cluster_link.click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Clusters')]")))
    wait.until(lambda d: header() == picked)

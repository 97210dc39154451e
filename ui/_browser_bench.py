"""`flywheel bench ui` through a real browser: each page's first render as Chromium sees it.

`flywheel ui` is started on a free loopback port over the benchmark's project, as a person
would start it. A bench admin is signed in once by its session cookie (`ui._session`), so each
page load is a fresh Streamlit session that opens the page directly. For each page, each run
loads its URL in headless Chromium and the figure is the time from the start of navigation
(the browser's own clock, ``performance.now()``) to the first moment the page is drawn:

- the app's script run has finished (``data-test-script-state`` is ``notRunning``) and the
  page's title is shown, not the sign-in form;
- no element is stale (left over from a previous run) and no placeholder skeleton remains;
- every chart has drawn its canvas or SVG.

The browser is polled every 20 ms, so figures are late by at most that. Beside each figure,
the page's main-thread busy time in the renderer (Chrome's ``TaskDuration`` metric for that
document) says how much of the wait was the browser's own work: on a machine shared with other
jobs, the wall-clock figure moves with the load, the CPU figure much less. One warm-up load of
a light page comes first (the server's one-off imports); each page's figure is the median of
``repeats`` loads, and every run is reported too. A page that shows an exception fails the
benchmark.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flywheel.errors import UserError

#: Page URL path -> the title it shows when drawn.
TITLES = {
    "this_week": "This week",
    "clusters": "Clusters",
    "traces": "Traces",
    "approvals": "Approval queue",
    "datasets": "Datasets",
    "replay_runs": "Replay runs",
    "exports": "Exports",
    "audit": "Audit log",
}
GOAL_SECONDS = 1.5
_POLL_SECONDS = 0.02

_DRAWN = """
const title = arguments[0];
const app = document.querySelector('[data-testid="stApp"]');
if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return null;
if (document.querySelector('[data-testid="stException"]')) return -1;
const heading = Array.from(document.querySelectorAll('h1')).some(
  h => h.textContent.trim().startsWith(title));
if (!heading) return null;
if (document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]')) return null;
for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
  if (!chart.querySelector('canvas, svg')) return null;
}
return performance.now();
"""


def find_browser(chromium: str | None, chromedriver: str | None) -> tuple[str, str]:
    """Paths of Chromium and its driver (given, else found on PATH), or a one-line error."""
    browser = chromium or next(
        (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))),
        None,
    )
    driver = chromedriver or shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = "chromium" if browser is None else "chromedriver"
        raise UserError(
            f"{missing} not found: install Debian's chromium and chromium-driver, pass "
            "--chromium/--chromedriver, or measure in-process with --via apptest"
        )
    return browser, driver


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(project_dir: Path, *, log: Callable[[str], None]) -> Iterator[str]:
    """`flywheel ui` for ``project_dir`` on a free loopback port; yields its URL."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "FLYWHEEL_DATABASE_URL"}
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    flywheel = [sys.executable, "-c", "from flywheel.cli import main; main()"]
    command = [*flywheel, "--project", str(project_dir), "ui"]
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        output.seek(0)
                        tail = output.read().decode("utf-8", "replace").strip()[-300:]
                        raise UserError(f"flywheel ui did not start: {tail}") from None
                    time.sleep(0.3)
            log(f"app started on {url}")
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


@contextmanager
def headless_chromium(chromium: str, chromedriver: str) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise UserError(
            "measuring through Chromium needs Selenium: pip install 'flywheel[dev]' "
            "(or selenium), or measure in-process with --via apptest"
        ) from None
    with tempfile.TemporaryDirectory(prefix="fw-bench-chromium-") as profile:
        options = Options()
        options.binary_location = chromium
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1600,1000",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        try:
            yield driver
        finally:
            driver.quit()


def first_render(driver: Any, url: str, page: str, *, timeout: float = 120.0) -> float:
    """Seconds from navigation to the page drawn (see the module's notes)."""
    driver.get(f"{url}/{page}")
    deadline = time.monotonic() + timeout
    while True:
        drawn = driver.execute_script(_DRAWN, TITLES[page])
        if drawn == -1:
            shown = driver.find_element("css selector", "[data-testid='stException']").text
            raise UserError(f"page {page} shows an exception: {shown[:300]}")
        if drawn is not None:
            return round(float(drawn) / 1000, 3)
        if time.monotonic() > deadline:
            raise UserError(f"page {page} was not drawn within {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def browser_cpu(driver: Any) -> float:
    """Seconds the renderer's main thread has been busy with the current document."""
    metrics = driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    busy = {m["name"]: m["value"] for m in metrics}.get("TaskDuration", 0.0)
    return round(float(busy), 3)


def measure_pages_in_browser(
    project_dir: Path,
    token: str,
    pages: tuple[str, ...],
    *,
    repeats: int,
    chromium: str,
    chromedriver: str,
    log: Callable[[str], None],
) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    """Each page's first-render seconds and browser main-thread seconds, ``repeats`` fresh
    loads per page; and the browser's version."""
    from ui._session import COOKIE

    runs: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    with served(project_dir, log=log) as url, headless_chromium(chromium, chromedriver) as driver:
        driver.get(f"{url}/_stcore/health")  # the cookie belongs to the app's origin
        driver.add_cookie({"name": COOKIE, "value": token, "path": "/", "sameSite": "Strict"})
        driver.execute_cdp_cmd("Performance.enable", {"timeDomain": "threadTicks"})
        version = str(driver.capabilities.get("browserVersion", "?"))
        warm = first_render(driver, url, "exports")
        log(f"warm-up (exports): {warm:.3f} s")
        for page in pages:
            for _ in range(repeats):
                runs.setdefault(page, []).append(first_render(driver, url, page))
                cpu.setdefault(page, []).append(browser_cpu(driver))
            shown = ", ".join(f"{s:.3f}" for s in runs[page])
            log(
                f"{page}: median {statistics.median(runs[page]):.3f} s ({shown}); browser "
                f"main thread {statistics.median(cpu[page]):.3f} s"
            )
    return runs, cpu, version

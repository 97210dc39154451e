"""Back-off after wrong passwords: five wrong ones for a user name lock it for 15 minutes.

Kept in the server process (one `flywheel ui`), keyed by the users file and the name as typed
(case-folded), so an unknown name locks the same way as a known one (no user-name oracle).
While locked, the password is not even checked: guessing costs the full wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ui.approvals._users import User, authenticate

LIMIT = 5
WINDOW_SECONDS = 15 * 60


class SignInGuard:
    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures

    def locked_for(self, users_file: str, name: str) -> float:
        """Seconds until ``name`` may try again (0 when it may now)."""
        with self._lock:
            failures = self._recent((users_file, name.strip().casefold()))
            if len(failures) < self.limit:
                return 0.0
            return max(0.0, failures[-self.limit] + self.window - self.clock())

    def failed(self, users_file: str, name: str) -> None:
        with self._lock:
            self._recent((users_file, name.strip().casefold())).append(self.clock())

    def succeeded(self, users_file: str, name: str) -> None:
        with self._lock:
            self._failures.pop((users_file, name.strip().casefold()), None)


class SignIn(BaseModel):
    """The outcome of a password sign-in: the user, or why not."""

    user: User | None = None
    #: Seconds until this user name may try again (the password was not checked).
    locked_for: float = 0.0


def password_sign_in(guard: SignInGuard, users_file: Path, name: str, password: str) -> SignIn:
    """Check ``name``'s password under ``guard``'s back-off; a wrong one counts against it."""
    key = str(users_file)
    wait = guard.locked_for(key, name)
    if wait > 0:
        return SignIn(locked_for=wait)
    user = authenticate(users_file, name, password)
    if user is None:
        guard.failed(key, name)
        return SignIn()
    guard.succeeded(key, name)
    return SignIn(user=user)

"""Register a plugin for the length of a test, through the plugin manager every command uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flywheel import plugins
from flywheel.detectors import Detector
from flywheel.hookspecs import hookimpl


class DetectorPlugin:
    """A third-party plugin registering its detectors through the hook."""

    def __init__(self, *detectors: Detector) -> None:
        self.detectors = detectors

    @hookimpl
    def register_detectors(self, register: Callable[[Any], None]) -> None:
        for found in self.detectors:
            register(found)


@contextmanager
def installed(plugin: object, name: str = "test-plugin") -> Iterator[object]:
    """``plugin`` (an object or module with ``@hookimpl`` functions) registered after the
    installed plugins, as a program's own plugin would be; unregistered afterwards."""
    plugins.load_plugins()
    plugins.pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        plugins.pm.unregister(name=name)

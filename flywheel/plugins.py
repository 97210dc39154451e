"""The plugin manager: the ``flywheel`` entry point group, loaded once, and what each hook
registers.

Every plugin, Flywheel's own included, is an entry point of the group ``flywheel`` naming a
module with ``@hookimpl`` functions (the hooks are in `flywheel.hookspecs`). The built-ins load
first (the core, then the other packages by name), then third-party plugins by name, then
plugins a program registers at run time with ``pm.register``. A plugin that cannot be imported
or whose hook raises stops the command with one line naming it (`PluginError`); a built-in
whose package is absent (a partial install) is skipped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

import pluggy

from flywheel import hookspecs
from flywheel.errors import UserError

#: The distribution whose entry points are the built-ins.
BUILTIN_DISTRIBUTION = "flywheel"
#: The built-in plugin registered before every other one.
CORE_PLUGIN = "core"

pm = pluggy.PluginManager(hookspecs.PROJECT)
pm.add_hookspecs(hookspecs)

#: The hooks that take ``register`` (all but ``register_commands``).
REGISTER_HOOKS = (
    "register_formats",
    "register_detectors",
    "register_stages",
    "register_strategies",
    "register_scorers",
    "register_evaluators",
    "register_candidate_providers",
)

_lock = threading.RLock()
_loaded: list[bool] = []
_loading: list[bool] = []
_cache: dict[str, tuple[Hashable, Any]] = {}
T = TypeVar("T")


class PluginError(UserError):
    """A plugin that cannot be loaded, or whose hook raised or clashed: the message names it."""


@dataclass(frozen=True, slots=True)
class Registered:
    """One ``register(...)`` call of one plugin's hook: who made it, with what."""

    plugin: str
    args: tuple[Any, ...]


def load_plugins() -> None:
    """Register every plugin of the entry point group ``flywheel`` (once per process)."""
    with _lock:
        if _loaded or _loading:
            return  # loaded, or a plugin's import asks for the plugins being loaded
        _loading.append(True)
        try:
            _load_entry_points()
        finally:
            _loading.clear()
        _loaded.append(True)
    if not pm.has_plugin(CORE_PLUGIN):
        raise PluginError(
            f"Flywheel's own plugins are not installed (no '{CORE_PLUGIN}' in the entry point "
            f"group '{hookspecs.PROJECT}' of the package metadata, which predates them): "
            "reinstall Flywheel (`pip install -e .` or `make install`)"
        )


def _load_entry_points() -> None:
    for entry in sorted(entry_points(group=hookspecs.PROJECT), key=_load_order):
        if pm.has_plugin(entry.name) or pm.is_blocked(entry.name):
            continue
        plugin = _import(entry)
        if plugin is None:
            continue
        try:
            pm.register(plugin, name=entry.name)
            pm.check_pending()  # a hook name no specification has: a typo
        except (pluggy.PluginValidationError, ValueError) as exc:
            with contextlib.suppress(ValueError):
                pm.unregister(name=entry.name)
            raise PluginError(_broken(entry, exc)) from None


def plugin_registrations() -> dict[str, dict[str, list[str]]]:
    """Every registered plugin (in load order) -> kind (``formats``, ``detectors``...) -> the
    names it registers of that kind; ``commands`` lists no names."""
    load_plugins()
    found: dict[str, dict[str, list[str]]] = {name: {} for name, _ in pm.list_name_plugin()}
    for name, plugin in pm.list_name_plugin():
        for caller in pm.get_hookcallers(plugin) or []:
            if caller.name == "register_commands":
                found[name]["commands"] = []
    for hook in REGISTER_HOOKS:
        kind = hook.removeprefix("register_")
        for call in collect(hook):
            found.setdefault(call.plugin, {}).setdefault(kind, []).append(_name_of(call.args))
    return found


def _name_of(args: tuple[Any, ...]) -> str:
    first = args[0] if args else None
    if isinstance(first, str):
        return first
    contract = getattr(first, "contract", None)
    return str(getattr(contract, "name", None) or getattr(first, "name", repr(first)))


def collect(hook: str, **arguments: Any) -> list[Registered]:
    """Call ``hook`` of every plugin in load order, each with its own ``register``; the calls.

    Raises `PluginError` naming the plugin whose hook raised.
    """
    load_plugins()
    order = {name: i for i, (name, _) in enumerate(pm.list_name_plugin())}
    caller = getattr(pm.hook, hook)
    impls = sorted(caller.get_hookimpls(), key=lambda impl: order.get(impl.plugin_name, 0))
    found: list[Registered] = []
    for impl in impls:
        plugin_name = impl.plugin_name

        def register(*args: Any, _plugin: str = plugin_name) -> None:
            found.append(Registered(_plugin, args))

        given = {"register": register, **arguments}
        try:
            impl.function(*(given[name] for name in impl.argnames))
        except Exception as exc:  # a plugin's bug: one line naming it
            text = " ".join(str(exc).split())
            raise PluginError(
                f"plugin '{plugin_name}' failed in {hook}: {type(exc).__name__}: {text}"
            ) from exc
    return found


def registered(hook: str, build: Callable[[list[Registered]], T]) -> T:
    """``build(collect(hook))``, cached until the set of registered plugins changes."""
    with _lock:
        load_plugins()
        key = tuple((name, id(plugin)) for name, plugin in pm.list_name_plugin())
        cached = _cache.get(hook)
        if cached is not None and cached[0] == key:
            value: T = cached[1]
            return value
        value = build(collect(hook))
        _cache[hook] = (key, value)
        return value


def named_objects(hook: str, kind: str, protocol: type, needs: str) -> dict[str, Any]:
    """Every object registered with ``hook`` (one argument, an instance of the runtime-checkable
    ``protocol``), by its ``name``, in registration order; ``needs`` says what a ``kind`` must
    have when a plugin registers something else."""

    def build(calls: list[Registered]) -> dict[str, Any]:
        for call in calls:
            if len(call.args) != 1 or not isinstance(call.args[0], protocol):
                raise PluginError(
                    f"plugin '{call.plugin}' registered {call.args!r} as a {kind} (it needs "
                    f"{needs})"
                )
        named = by_name(kind, calls, lambda call: str(call.args[0].name))
        return {name: call.args[0] for name, call in named.items()}

    return registered(hook, build)


def by_name(
    kind: str, calls: list[Registered], name_of: Callable[[Registered], str]
) -> dict[str, Registered]:
    """The calls keyed by the name each registers; a name taken twice names both plugins."""
    found: dict[str, Registered] = {}
    for call in calls:
        name = name_of(call)
        if name in found:
            raise PluginError(
                f"{kind} '{name}' is registered by two plugins: "
                f"'{found[name].plugin}' and '{call.plugin}'"
            )
        found[name] = call
    return found


def _load_order(entry: EntryPoint) -> tuple[int, int, str]:
    builtin = _is_builtin(entry)
    return (0 if builtin else 1, 0 if builtin and entry.name == CORE_PLUGIN else 1, entry.name)


def _is_builtin(entry: EntryPoint) -> bool:
    dist = getattr(entry, "dist", None)
    return dist is not None and dist.name == BUILTIN_DISTRIBUTION


def _import(entry: EntryPoint) -> object | None:
    try:
        loaded: object = entry.load()
    except ModuleNotFoundError as exc:
        if _is_builtin(entry) and exc.name and entry.value.startswith(exc.name):
            return None  # a built-in package of a partial install
        raise PluginError(_broken(entry, exc)) from None
    except Exception as exc:  # an installed plugin that is broken
        raise PluginError(_broken(entry, exc)) from None
    return loaded


def _broken(entry: EntryPoint, exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (
        f"plugin '{entry.name}' ({entry.value}, entry point group '{hookspecs.PROJECT}') "
        f"cannot be loaded: {type(exc).__name__}: {text}"
    )

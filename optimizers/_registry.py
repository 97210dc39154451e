"""Strategies by name: those every plugin registers through the hook ``register_strategies``
(`flywheel.hookspecs`), the built-ins (`optimizers._plugin`) included."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flywheel import plugins
from flywheel.errors import UserError
from optimizers._protocol import Strategy

StrategyFactory = Callable[[], Strategy]

#: What `optimize` runs when no strategy is named (the offline ones, in this order).
DEFAULT_STRATEGIES: tuple[str, ...] = ("rules", "routing", "fewshot", "revert")


def strategies() -> dict[str, StrategyFactory]:
    """Every registered strategy factory by name."""
    return plugins.registered("register_strategies", _build)


def _build(calls: list[plugins.Registered]) -> dict[str, StrategyFactory]:
    for call in calls:
        if len(call.args) != 2 or not isinstance(call.args[0], str) or not callable(call.args[1]):
            raise plugins.PluginError(
                f"plugin '{call.plugin}' registered {call.args!r} as a strategy "
                "(register(name, factory) with a zero-argument factory)"
            )
    named = plugins.by_name("strategy", calls, lambda call: str(call.args[0]))
    return {name: call.args[1] for name, call in named.items()}


def strategy_names() -> list[str]:
    return sorted(strategies())


def resolve_strategy(strategy: Strategy | str) -> Strategy:
    if not isinstance(strategy, str):
        if not isinstance(strategy, Strategy):
            raise UserError(f"{strategy!r} is not a strategy (it needs `name` and `propose`)")
        return strategy
    factory = strategies().get(strategy)
    if factory is None:
        raise UserError(f"unknown strategy '{strategy}'; valid: {', '.join(strategy_names())}")
    made = factory()
    if not isinstance(made, Strategy):
        raise UserError(
            f"strategy '{strategy}' made {type(made).__name__}, which has no `name` and `propose`"
        )
    return made


def resolve_strategies(names: Sequence[Strategy | str] | None) -> list[Strategy]:
    return [resolve_strategy(s) for s in (names or DEFAULT_STRATEGIES)]

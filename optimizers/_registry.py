"""Strategies by name: one registry; built-ins register through the same call as plugins."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flywheel.errors import UserError
from optimizers._protocol import Strategy

StrategyFactory = Callable[[], Strategy]
_REGISTRY: dict[str, StrategyFactory] = {}

#: What `optimize` runs when no strategy is named (the offline ones, in this order).
DEFAULT_STRATEGIES: tuple[str, ...] = ("rules", "routing", "fewshot", "revert")


def register_strategy(name: str, factory: StrategyFactory) -> None:
    """Make ``name`` resolvable (a class or any zero-argument callable returning a Strategy)."""
    _REGISTRY[name] = factory


def strategy_names() -> list[str]:
    return sorted(_REGISTRY)


def resolve_strategy(strategy: Strategy | str) -> Strategy:
    if not isinstance(strategy, str):
        if not isinstance(strategy, Strategy):
            raise UserError(f"{strategy!r} is not a strategy (it needs `name` and `propose`)")
        return strategy
    factory = _REGISTRY.get(strategy)
    if factory is None:
        raise UserError(f"unknown strategy '{strategy}'; valid: {', '.join(strategy_names())}")
    return factory()


def resolve_strategies(strategies: Sequence[Strategy | str] | None) -> list[Strategy]:
    return [resolve_strategy(s) for s in (strategies or DEFAULT_STRATEGIES)]


def _register_builtins() -> None:
    from optimizers.strategies import (
        FewShotMining,
        GepaStrategy,
        InstructionRules,
        RevertChange,
        RoutingEdits,
    )

    register_strategy("rules", InstructionRules)
    register_strategy("fewshot", FewShotMining)
    register_strategy("routing", RoutingEdits)
    register_strategy("revert", RevertChange)
    register_strategy("gepa", GepaStrategy)


_register_builtins()

"""Built-in strategies, one policy per module."""

from optimizers.strategies.fewshot import FewShotMining
from optimizers.strategies.gepa import GepaStrategy
from optimizers.strategies.instruction_rules import InstructionRules
from optimizers.strategies.revert import RevertChange
from optimizers.strategies.routing import RoutingEdits

__all__ = ["FewShotMining", "GepaStrategy", "InstructionRules", "RevertChange", "RoutingEdits"]

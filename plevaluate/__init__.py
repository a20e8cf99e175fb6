"""plevaluate: evaluate a district's professional learning with Guskey's five levels."""

from . import plan, registry
from .contract import TABLES, District, load
from .errors import ContractError, ContractWarning, PlanError, Problem, StatisticalWarning
from .evaluate import Evaluation, evaluate
from .levels.cost import evaluate_cost
from .levels.learning import evaluate_learning
from .levels.organization import evaluate_organization
from .levels.outcomes import estimate_effect, evaluate_outcomes
from .levels.practice import evaluate_practice
from .levels.reactions import evaluate_reactions
from .plan import Plan
from .results import LevelResult, Note
from .survey import evaluate_survey
from .version import __version__

__all__ = [
    "TABLES",
    "ContractError",
    "ContractWarning",
    "District",
    "Evaluation",
    "LevelResult",
    "Note",
    "Plan",
    "PlanError",
    "Problem",
    "StatisticalWarning",
    "__version__",
    "estimate_effect",
    "evaluate",
    "evaluate_cost",
    "evaluate_learning",
    "evaluate_organization",
    "evaluate_outcomes",
    "evaluate_practice",
    "evaluate_reactions",
    "evaluate_survey",
    "load",
    "read_plan",
]


def read_plan(path) -> Plan:
    """Read and validate ``plan.yml``, with the targets of every registered level (`plevaluate.plan.read_plan`
    handed `plevaluate.registry.levels`)."""
    return plan.read_plan(path, registry.levels())

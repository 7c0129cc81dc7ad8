"""The privacy-budget ledger: every differentially private product charged to one budget.

Differential privacy composes: two products of epsilon 1 each, made from the
same people, leak at most as much as one product of epsilon 2, and no more can
be promised. So the steward sets a total, ``dp_epsilon_budget`` in the pinned
policy (default 4.0, ``ctdc policy set dp_epsilon_budget=...``), for every
product made from the workspace's staged data, and every product is charged to
it *before* any noise is drawn. A product that would go over is refused
(``budget-exceeded``) and nothing is written.

The library API (``ctdc stats --dp`` uses it; so may any other DP product,
e.g. synthetic data)::

    from ctdc.dp.budget import charge, remaining, budget_state

    entry = charge(ws, product="synthetic cases", epsilon=1.0, delta=1e-6)  # or raises
    ...draw the noise, publish...
    remaining(ws)        # epsilon left
    budget_state(ws)     # epoch, budget, used, left, products (what `ctdc status` shows)

``charge`` appends one JSON line to ``<data>/privacy-budget.jsonl`` (private:
the workspace is 0700, the file 0600) under its own lock
(``privacy-budget.lock``), rewritten atomically (``store.atomic``), so two
products charged at once are added one after the other and a crash leaves
the old ledger or the new one. An entry says what was published (product,
epsilon, delta), when, by whom, and from which release and epoch.

Charging comes first: a product whose publication fails after the charge has
still spent its budget (its noise may have been drawn). That errs on the safe
side; a product published without a charge would not.

Each entry records the epoch of the current private release (``ctdc harmonize``
starts a new one with ``--new-epoch``; 1 before the first release), but the
budget is not per epoch: staged data outlive epochs (a new epoch re-anonymizes
the same people), so a budget renewed with each epoch would let the same person
be exposed again and again. Every product ever charged counts. That over-counts
for people staged after a product was made, which errs on the safe side; the
steward may raise the total, on the record (``ctdc policy set`` keeps the reason).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import write_bytes
from ctdc.store.lock import exclusive_lock
from ctdc.store.policy import load_policy
from ctdc.store.release import current_release, read_manifest
from ctdc.store.workspace import Workspace

BUDGET_FILE = "privacy-budget.jsonl"
BUDGET_LOCK = "privacy-budget.lock"
#: sums of floats (0.1 + 0.2) may pass the budget by rounding: this much is not "over"
_SLACK = 1e-9


@dataclass(frozen=True)
class BudgetEntry:
    """One DP product charged to the budget (with the epoch it was made in)."""

    product: str
    epsilon: float
    delta: float
    at: str
    by: str
    release_id: str | None
    epoch: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BudgetState:
    """The budget and what was spent of it, in every epoch (``epoch``: the current one)."""

    epoch: int
    release_id: str | None
    budget: float
    used: float
    products: int

    @property
    def left(self) -> float:
        return max(0.0, self.budget - self.used)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "left": self.left}


def budget_path(ws: Workspace) -> Path:
    return ws.root / BUDGET_FILE


def current_epoch(ws: Workspace) -> tuple[str | None, int]:
    """(the current private release's id, its epoch); (None, 1) before the first release."""
    path = current_release(ws)
    if path is None:
        return None, 1
    manifest = read_manifest(path)
    epoch = (manifest.get("series") or {}).get("epoch")
    return str(manifest.get("release_id") or path.name), int(epoch) if epoch else 1


def read_budget(ws: Workspace) -> list[BudgetEntry]:
    """Every charged product, oldest first (none before the first)."""
    path = budget_path(ws)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [BudgetEntry(**json.loads(line)) for line in lines if line.strip()]


def budget_state(ws: Workspace) -> BudgetState:
    """What ``ctdc status`` shows: the budget, used (in every epoch) and left."""
    release_id, epoch = current_epoch(ws)
    spent = read_budget(ws)
    return BudgetState(epoch, release_id, load_policy(ws).dp_epsilon_budget,
                       math.fsum(e.epsilon for e in spent), len(spent))  # fmt: skip


def remaining(ws: Workspace) -> float:
    """The epsilon left in the budget."""
    return budget_state(ws).left


def check_cost(epsilon: float, delta: float) -> None:
    """``bad-option`` for an epsilon that is not a positive finite number or a delta not in
    [0, 1): such a product has no meaning (epsilon 0 would be noise without data)."""
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
        raise CtdcError(Slug.BAD_OPTION, f"epsilon must be a positive number, got {epsilon}",
                        fix="e.g. --dp 0.5 (smaller = more noise, more privacy)")  # fmt: skip
    if not (isinstance(delta, int | float) and 0 <= delta < 1):
        raise CtdcError(Slug.BAD_OPTION, f"delta must be in [0, 1), got {delta}")


def charge(ws: Workspace, *, product: str, epsilon: float, delta: float,
           by: str | None = None) -> BudgetEntry:  # fmt: skip
    """Charge one product to the budget, or raise ``budget-exceeded``.

    Call it before drawing any noise: a refused product writes nothing. ``product``
    is a public description (``counts by gender``), never a private value.
    """
    check_cost(epsilon, delta)
    with exclusive_lock(ws.root / BUDGET_LOCK, holder="DP product being charged"):
        state = budget_state(ws)
        if state.used + epsilon > state.budget + _SLACK:
            raise CtdcError(Slug.BUDGET_EXCEEDED,
                            f"{product} asks epsilon={epsilon:g}; the workspace has "
                            f"used {state.used:g} of its budget {state.budget:g} "
                            f"({state.left:g} left)", file=budget_path(ws))  # fmt: skip
        entry = BudgetEntry(product=product, epsilon=float(epsilon), delta=float(delta),
                            at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            by=by or getpass.getuser(), release_id=state.release_id,
                            epoch=state.epoch)  # fmt: skip
        path = budget_path(ws)
        before = path.read_bytes() if path.exists() else b""
        line = json.dumps(entry.to_dict(), sort_keys=True, ensure_ascii=False) + "\n"
        write_bytes(path, before + line.encode("utf-8"))
    return entry

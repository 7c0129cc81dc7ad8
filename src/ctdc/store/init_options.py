"""What ``ctdc init`` is asked for, read and compared with the policy a workspace keeps.

``init`` never changes an existing policy (that is ``policy set``, on the
record); these say how the options read and whether the kept policy differs
from them, so the steward is told rather than left believing it changed.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.store.policy import Policy


def parse_public_mode(text: str) -> int:
    """``--public-mode``: an octal mode such as ``0750``."""
    try:
        return int(text, 8)
    except ValueError as exc:
        raise CtdcError(
            "bad-option", f"--public-mode {text!r}: an octal mode such as 0750"
        ) from exc


def policy_differs(
    policy: Policy, *, k: int | None, k_floor: int | None, publish_dir: Path | None
) -> bool:
    """True when an option given to ``init`` is not what the kept ``policy`` holds."""
    return (
        (k is not None and k != policy.k)
        or (k_floor is not None and k_floor != policy.k_floor)
        or (publish_dir is not None and str(publish_dir.resolve()) != policy.publish_dir)
    )

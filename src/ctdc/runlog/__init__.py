"""The operations log: one JSON line per event of a command that changes the workspace.

``<data>/logs/ctdc.log`` (or ``--log-file``), rotated by size, holds a start and
an end line per run, with a timestamp, a run id, the command, its outcome, exit
code and error slug, its duration and a few allow-listed facts (counts, slugs,
organization, batch and release ids). ``<data>/logs/last/<command>.json`` keeps
each command's last run for ``ctdc status``. Nothing else is ever written: no
row value, file name or content, free text, pseudonym or key (docs/operations.md).
"""

from ctdc.runlog.run import Run, current, failed, note, open_run

__all__ = ["Run", "current", "failed", "note", "open_run"]

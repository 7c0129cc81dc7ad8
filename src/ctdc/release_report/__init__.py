"""``ctdc report``: one self-contained HTML page per release, its charts inline SVG.

The public report (``<public>/report.html``) shows how the release was
published (status per variable, class sizes, the risk bound k gives) and its
main patterns (cases by period, type of exploitation, gender and age,
citizenship -> exploitation flows), every number a safe aggregate
(``ctdc.stats``). The private one (``<data>/reports/<id>.html``) adds intake
per organization, quarantine reasons and the risk before anonymization.
Modules: ``tables`` (the safe tables), ``private`` (the workspace's figures),
``charts`` and ``figures`` (Altair), ``render`` (vl-convert, the page),
``build`` (the entry points). docs/report.md describes each chart.
"""

from __future__ import annotations

from ctdc.release_report.build import (
    Report,
    check_out,
    private_report,
    public_report,
    write_report,
)
from ctdc.release_report.figures import Figure
from ctdc.store.areas import workspace_area
from ctdc.store.public import REPORT_FILE

__all__ = [
    "REPORT_FILE",
    "Figure",
    "Report",
    "check_out",
    "private_report",
    "public_report",
    "workspace_area",
    "write_report",
]

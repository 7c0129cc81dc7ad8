"""The report's section on the differentially private products beside the release.

``ctdc stats --dp`` publishes noisy count tables in ``<public>/dp/`` and ``ctdc
synthesize`` a synthetic table in ``<public>/synthetic/current/``, each with a JSON
sidecar that says what it is. The section lists them from those sidecars alone
(public files: the same in the public and the private report) and labels them for
what they are: not the k-anonymous release, noisy or synthetic, with their epsilon
and delta. Every value is escaped; no figure is drawn from them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ctdc.release_report.render import Section


def _sidecars(folder: Path, pattern: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob(pattern)) if folder.is_dir() else ():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # the audit's files check speaks for a broken file
        if isinstance(doc, dict):
            out.append(doc)
    return out


def _e(value: object) -> str:
    return html.escape(str(value))


def dp_section(public_root: Path) -> Section | None:
    """The section, or None when no DP product is published."""
    tables = _sidecars(public_root / "dp", "*.json")
    synthetic = _sidecars(public_root / "synthetic" / "current", "synthetic.json")
    if not tables and not synthetic:
        return None
    parts = [
        "<p><strong>Not the k-anonymous release.</strong> These products were computed from "
        "the true records with differential privacy: each is noisy or synthetic by design, "
        "and each spent part of the collaborative's privacy budget (epsilon, delta).</p>"
    ]
    if tables:
        rows = "".join(
            f"<tr><td>{_e(t.get('table', ''))}</td><td>{_e(t.get('product', ''))}</td>"
            f"<td>{_e(t.get('cells', ''))}</td><td>{_e(t.get('epsilon', ''))}</td>"
            f"<td>{_e(t.get('delta', ''))}</td><td>{_e(t.get('mechanism', ''))}</td>"
            f"<td>{_e(t.get('created_at', ''))}</td></tr>"
            for t in tables
        )
        parts.append(
            "<h3>Noisy count tables (<code>dp/</code>)</h3><p>Every cell is a noisy count "
            "(it may be negative) with a 95% interval in the table; every combination of "
            "the schema's values is listed, empty ones too.</p><table><thead><tr>"
            "<th>file</th><th>counts</th><th>cells</th><th>epsilon</th><th>delta</th>"
            f"<th>mechanism</th><th>created</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    for s in synthetic:
        generator = s.get("generator") or {}
        parts.append(
            "<h3>Synthetic records (<code>synthetic/current/</code>)</h3>"
            f"<p><strong>SYNTHETIC DATA: no row is a real case.</strong> {_e(s.get('rows', ''))} "
            f"rows sampled by {_e(generator.get('name', ''))} {_e(generator.get('version', ''))} "
            f"at epsilon {_e(s.get('epsilon', ''))}, delta {_e(s.get('delta', ''))}, "
            f"created {_e(s.get('created_at', ''))}. Aggregates are approximate; a rare "
            "combination is noise, never evidence of a real person (docs/synthetic.md).</p>"
        )
    return Section("dp-products", "Differentially private products", "".join(parts), [])

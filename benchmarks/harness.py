"""Measure one piece of work in a fresh child process: wall seconds and peak RSS.

Every benchmark compares ctdc against a baseline measured *in the same run*, so
results are ratios that survive a shared, noisy machine. Each measurement runs
in its own interpreter (``python -c``) so that peak memory (the child's own
``VmHWM``) is that work's alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"

PRELUDE = """
import json, time
_t0 = time.perf_counter()
"""
EPILOGUE = """
# VmHWM is this process's own peak; ru_maxrss can carry the parent's RSS over fork+exec.
_peak = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")) / 1024
print("\\n@@result " + json.dumps(
    {"seconds": time.perf_counter() - _t0, "peak_mb": _peak, **dict(RESULT)}))
"""


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: float
    peak_mb: float
    extra: dict

    def row(self) -> dict:
        return {"name": self.name, "seconds": round(self.seconds, 3),
                "peak_mb": round(self.peak_mb, 1), **self.extra}  # fmt: skip


def measure(
    name: str,
    setup: str,
    work: str,
    env: dict[str, str] | None = None,
    python: str | Path | None = None,
) -> Measurement:
    """Run ``setup`` (untimed imports and data loading) then ``work`` (timed) in a child.

    ``work`` must leave a mapping called ``RESULT`` (may be empty) with anything
    worth reporting besides time and memory. Peak RSS covers setup too, which is
    why setup should only import and load. ``python`` runs the child in another
    interpreter (a tool that needs its own venv).
    """
    code = textwrap.dedent(setup) + PRELUDE + textwrap.dedent(work) + EPILOGUE
    proc = subprocess.run(
        [str(python or sys.executable), "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark {name!r} failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("@@result "))
    result = json.loads(line.removeprefix("@@result "))
    return Measurement(name, result.pop("seconds"), result.pop("peak_mb"), result)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def record(title: str, rows: list[dict], notes: list[str] | None = None) -> str:
    """A dated markdown section; also written to ``benchmarks/out/`` for docs/benchmarks.md."""
    today = dt.date.today().isoformat()
    cols = list(dict.fromkeys(c for r in rows for c in r))
    lines = [f"### {title} — {today}", "", f"Machine: {machine()}.", ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
    lines += ["", *(notes or [])]
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    slug = title.lower().replace(" ", "-").replace("/", "-")
    (OUT / f"{today}-{slug}.md").write_text(text, encoding="utf-8")
    print(text)
    return text


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_csv(path: Path, rows: list[dict]) -> None:
    """``rows`` as CSV, every key of any row a column (first seen first)."""
    cols = list(dict.fromkeys(c for r in rows for c in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def write_svg(chart: Any, out: Path) -> None:
    """An Altair chart drawn to ``out`` as SVG by vl-convert (ctdc's own report renderer),
    fetching nothing from the network."""
    import vl_convert

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        vl_convert.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[]), encoding="utf-8"
    )

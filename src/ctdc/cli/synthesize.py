"""``ctdc synthesize``: a differentially private synthetic cases table beside the release."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ctdc.cli.common import errors, schema, state, workspace
from ctdc.cli.runlog import logged
from ctdc.terminal import say


@logged("synthesize", args=("epsilon", "rows", "delta", "generator"))
def synthesize(
    ctx: typer.Context,
    epsilon: Annotated[
        float,
        typer.Option(
            "--epsilon",
            help="Privacy budget of this run (> 0; smaller is more private, 1 is common).",
        ),
    ],
    rows: Annotated[
        int | None,
        typer.Option(
            "--rows",
            help="How many synthetic rows to draw (default: about as many as there are "
            "records; the budget spent is the same).",
        ),
    ] = None,
    generator: Annotated[
        str,
        typer.Option(
            "--generator",
            help="marginal (default: OpenDP-measured marginals, MST-style) or pac-synth "
            "(Synthetic Data Showcase); docs/synthetic.md compares them.",
        ),
    ] = "marginal",
    delta: Annotated[
        float, typer.Option("--delta", help="DP delta: far below 1 / (number of records).")
    ] = 1e-6,
    wait: Annotated[float, typer.Option(help="Seconds to wait for a running harmonize.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sidecar as JSON.")] = False,
) -> None:
    """Fit a differentially private generator on the staged records with (epsilon, delta)
    and publish synthetic rows in <public>/synthetic/ (docs/synthetic.md).

    No synthetic row is a real case; its rare combinations are noise, not people.
    """
    from ctdc.dp.synthetic import SynthesisParams

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        params = SynthesisParams(epsilon=epsilon, rows=rows, delta=delta, generator=generator)
        params.check()  # before the key and the data stack: a usage error is instant
        ws = workspace(run)
        from ctdc.dp.run import synthesize_and_publish

        published = synthesize_and_publish(ws, schema(run, ws), params, wait=wait)
    from ctdc.runlog import note

    note(rows=published.sidecar["rows"], synthetic_id=published.synthetic_id)
    if run.quiet:
        return
    if as_json:
        doc = {"path": str(published.folder), "synthetic_id": published.synthetic_id,
               **published.sidecar}  # fmt: skip
        typer.echo(json.dumps(doc, indent=2))
    else:
        say(f"published {published.sidecar['rows']} synthetic rows (epsilon {epsilon:g}, "
            f"delta {delta:g}) in {published.folder}")  # fmt: skip

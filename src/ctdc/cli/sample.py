"""``ctdc sample``: fake exports of four organizations, for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import errors, state


def sample(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the generated exports.")] = Path(
        "sample_data"
    ),
    rows: Annotated[int, typer.Option(min=1, help="Rows per organization.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    bad_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of planted bad rows.")
    ] = 0.02,
) -> None:
    """Generate realistic fake exports for four organizations (formats, languages, codes)."""
    from ctdc.sample import generate_samples

    with errors(state(ctx).debug):
        result = generate_samples(out, rows=rows, seed=seed, bad_rate=bad_rate)
        for org, path in result.files.items():
            typer.echo(f"{org:14} {path}")
        typer.echo(f"{len(result.planted)} planted bad rows listed in {out / 'planted.json'}")

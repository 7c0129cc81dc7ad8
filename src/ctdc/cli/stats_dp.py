"""``ctdc stats --dp EPSILON``: the steward's DP counts, published and printed (``ctdc.dp``)."""

from __future__ import annotations

import json

import typer

from ctdc.cli.common import errors, schema, state, workspace


def dp_stats(ctx: typer.Context, by: list[str], epsilon: float, *, share: str | None, fmt: str,
             refused: dict[str, object]) -> None:  # fmt: skip
    """Charge the budget, count with OpenDP's noise, publish to ``<public>/dp/``, print.

    ``--where``, ``--k`` and ``--release`` have no meaning here (a filter would be a
    product of its own; k is not DP's guarantee; the data are the workspace's), so
    they are refused rather than ignored.
    """
    from ctdc.errors import CtdcError
    from ctdc.slugs import Slug

    run = state(ctx)
    with errors(run.debug, as_json=fmt == "json"):
        given = [name for name, value in refused.items() if value is not None]
        if given:
            usage = "ctdc stats --dp EPSILON --by FIELD[,FIELD] [--share FLAG]"
            raise CtdcError(
                Slug.BAD_OPTION, f"{', '.join(given)} cannot be used with --dp", fix=usage
            )
        from ctdc.dp.publish import publish_dp_counts

        ws = workspace(run)
        table, published = publish_dp_counts(ws, schema(run, ws), by, epsilon, share=share)
    where = f"{published.table.parent.name}/{published.table.name}"
    if fmt == "json":
        doc = {**table.to_json(), "published": where}
        typer.echo(json.dumps(doc, indent=2, default=str))
    elif fmt == "csv":
        # each row says its guarantee: a CSV copied alone still carries it
        frame = table.frame.assign(epsilon=table.epsilon, delta=table.delta)
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        from ctdc.report.dp import dp_table_view
        from ctdc.terminal import console

        console().print(dp_table_view(table))
        typer.echo(f"published {where} (and its .json)", err=True)

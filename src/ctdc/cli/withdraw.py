"""``ctdc withdraw``: cases whose consent was withdrawn leave the next release, for good."""

from __future__ import annotations

from typing import Annotated

import typer

from ctdc.cli.common import OrgOption, errors, state, workspace
from ctdc.cli.runlog import logged
from ctdc.terminal import say


@logged("withdraw", args=("org", "reason", "case_ids"))
def withdraw(
    ctx: typer.Context,
    case_ids: Annotated[
        list[str], typer.Argument(help="Case ids as in the organization's own exports.")
    ],
    org: OrgOption,
    reason: Annotated[
        str, typer.Option(help="consent, legal or other (no free text is stored).")
    ] = "consent",
) -> None:
    """Withdraw cases: the next harmonize leaves them out, and no release has them again.

    A withdrawal is never delayed. Their released rows leave with enough class-mates
    that the rows removed are themselves k-anonymous (docs/privacy.md).
    """
    from ctdc.org_name import check_org_name

    run = state(ctx)
    with errors(run.debug):
        check_org_name(org)
        ws = workspace(run)
        from ctdc.store.withdrawals import withdraw as run_withdraw

        new, already = run_withdraw(ws, org, case_ids, reason)
    from ctdc.runlog import note

    note(org=org, withdrawn=new, already_withdrawn=already)  # counts only, never a case id
    if run.quiet:
        return
    say(f"withdrew {new} case(s) of {org}" + (f" ({already} already withdrawn)" if already else "")
        + "; they leave the next release (run `ctdc harmonize`)")  # fmt: skip

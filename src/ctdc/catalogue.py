"""The catalogue of every error ctdc reports: its slug, exit code, title and fix.

Kept apart from :mod:`ctdc.errors` (the exception that uses it) because it is data: one
entry per slug, in the order docs/errors.md lists them; ``tests/test_errors.py`` checks
that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctdc.limits import MAX_CELL_CHARS
from ctdc.slugs import ExitCode, Slug


@dataclass(frozen=True)
class ErrorKind:
    """One catalogue entry. ``row_level`` marks a quarantine reason: it sets a row aside
    and the ingest goes on, so docs/errors.md lists it apart from the slugs that stop
    a run."""

    slug: Slug
    exit_code: ExitCode
    title: str
    fix: str
    row_level: bool = False


_KINDS = [
    # --- row level: quarantine reasons -------------------------------------------------
    ErrorKind(
        Slug.UNKNOWN_VALUE,
        ExitCode.DATA,
        "value not in the vocabulary",
        "correct the value, or add it to the column's `values:` in pipelines/<org>.yaml",
        row_level=True,
    ),
    ErrorKind(
        Slug.BAD_DATE,
        ExitCode.DATA,
        "date does not match the pinned format",
        "correct the date, or fix `date_format` in pipelines/<org>.yaml",
        row_level=True,
    ),
    ErrorKind(
        Slug.BAD_NUMBER,
        ExitCode.DATA,
        "not a whole number",
        "write the number in digits, e.g. 27",
        row_level=True,
    ),
    ErrorKind(
        Slug.OUT_OF_RANGE,
        ExitCode.DATA,
        "value outside the allowed range",
        "check the value: ages are 0-120, years 2002 to this year, birth before registration",
        row_level=True,
    ),
    ErrorKind(
        Slug.UNKNOWN_COUNTRY,
        ExitCode.DATA,
        "not a recognised country",
        "use an ISO 3166 name or code, or add the spelling to `values:` in the mapping",
        row_level=True,
    ),
    ErrorKind(
        Slug.MISSING_REQUIRED,
        ExitCode.DATA,
        "required value is empty",
        "fill in the value; the case id and registration date are required",
        row_level=True,
    ),
    ErrorKind(
        Slug.DUPLICATE_CASE_ID,
        ExitCode.DATA,
        "case id appears more than once in this export",
        "give each case one row per export; merge or renumber the duplicates",
        row_level=True,
    ),
    ErrorKind(
        Slug.SCHEMA_VIOLATION,
        ExitCode.DATA,
        "value breaks the harmonized schema",
        "fix the mapping so it yields the schema's values (see schemas/ctdc.yaml)",
        row_level=True,
    ),
    ErrorKind(
        Slug.BAD_FIELD_COUNT,
        ExitCode.DATA,
        "row has more or fewer fields than the header",
        "quote values that contain the delimiter or a line break, so that every row has "
        "the header's number of fields",
        row_level=True,
    ),
    ErrorKind(
        Slug.BAD_JSON_LINE,
        ExitCode.DATA,
        "line is not one complete JSON object",
        "write one JSON object per line; look for a cut-off line or an unescaped quote",
        row_level=True,
    ),
    ErrorKind(
        Slug.UNCACHED_FORMULA,
        ExitCode.DATA,
        "a spreadsheet formula saved without its computed value (ctdc never evaluates formulas)",
        "open the workbook in Excel or LibreOffice and save it again, so that every formula's "
        "value is stored; or replace the formula by its value",
        row_level=True,
    ),
    ErrorKind(
        Slug.CONTROL_CHARACTER,
        ExitCode.DATA,
        "value holds a NUL or another control character",
        "delete the control characters (shown as \\xNN); they come from a damaged export "
        "or a copy-paste",
        row_level=True,
    ),
    ErrorKind(
        Slug.VALUE_TOO_LONG,
        ExitCode.DATA,
        f"value longer than {MAX_CELL_CHARS:,} characters (a spreadsheet cell's limit)",
        "shorten the value; no spreadsheet cell holds more, so look for an unclosed quote "
        "or a damaged export",
        row_level=True,
    ),
    ErrorKind(
        Slug.BATCH_REJECTED,
        ExitCode.DATA,
        "row is valid, but its file was rejected: too many of its other rows failed",
        "nothing to change in this row; fix the file's other quarantined rows and ingest it again",
        row_level=True,
    ),
    # --- run level: usage ----------------------------------------------------------------
    ErrorKind(
        Slug.BAD_ORG_NAME,
        ExitCode.USAGE,
        "invalid organization id",
        "use 2-40 characters: lowercase a-z, 0-9 and '-', starting with a letter or digit",
    ),
    ErrorKind(
        Slug.UNKNOWN_ORG,
        ExitCode.USAGE,
        "no mapping for this organization",
        "write pipelines/<org>.yaml (see docs/mapping.md) or check the spelling",
    ),
    ErrorKind(
        Slug.BAD_MAPPING,
        ExitCode.USAGE,
        "mapping file is invalid",
        "correct the named key in the mapping (see docs/mapping.md)",
    ),
    ErrorKind(
        Slug.BAD_SCHEMA,
        ExitCode.USAGE,
        "schema file is invalid",
        "correct the named field in schemas/ctdc.yaml",
    ),
    ErrorKind(
        Slug.UNSAFE_YAML,
        ExitCode.USAGE,
        "YAML file refused before parsing: it uses anchors or aliases, is over the size "
        "limit or is nested too deeply",
        "write every value out in full (no `&anchor` or `*alias`, no `<<` merge keys) and keep "
        "the file small and shallow; the limits are listed in docs/errors.md",
    ),
    ErrorKind(Slug.BAD_OPTION, ExitCode.USAGE, "invalid option value", "see `ctdc COMMAND --help`"),
    ErrorKind(
        Slug.UNSAFE_PUBLISH_DIR,
        ExitCode.USAGE,
        "the public folder would overlap the private workspace",
        "set publish_dir to <data-dir>/public or to a folder outside the workspace; never the "
        "workspace itself, one of its private folders, or a folder that contains it",
    ),
    ErrorKind(
        Slug.BAD_SQL, ExitCode.USAGE, "the query failed", "check the SQL; `cases` is the view"
    ),
    ErrorKind(
        Slug.READ_ONLY,
        ExitCode.USAGE,
        "only read-only SQL is allowed",
        "use SELECT (or WITH ... SELECT, DESCRIBE, SUMMARIZE, EXPLAIN)",
    ),
    ErrorKind(
        Slug.QUERY_REFUSED,
        ExitCode.USAGE,
        "the query sandbox does not run this statement or read this file",
        "write one SELECT (WITH, DESCRIBE, SUMMARIZE allowed) over the views cases, dictionary "
        "and release_log; files, URLs, table functions that read them, EXPLAIN, settings, "
        "extensions and writes are refused",
    ),
    ErrorKind(
        Slug.QUERY_LIMIT,
        ExitCode.USAGE,
        "the query went past a limit (time, memory, temp space or result rows)",
        "filter or aggregate in SQL (WHERE, GROUP BY, LIMIT), or raise --timeout",
    ),
    # --- run level: data / policy --------------------------------------------------------
    ErrorKind(
        Slug.MISSING_COLUMN,
        ExitCode.DATA,
        "a column the mapping needs is not in the file",
        "export the column, or correct its name in pipelines/<org>.yaml",
    ),
    ErrorKind(
        Slug.UNMAPPED_COLUMN,
        ExitCode.DATA,
        "the file has a column the mapping does not name",
        "add it to `drop:` (if it identifies a person) or `ignore:` or map it",
    ),
    ErrorKind(
        Slug.EMPTY_FILE,
        ExitCode.DATA,
        "the file has no data rows",
        "export again; the file must have a header and at least one row",
    ),
    ErrorKind(
        Slug.UNREADABLE_FILE,
        ExitCode.DATA,
        "the file cannot be read in the pinned format",
        "check `source:` (format, encoding, delimiter) in pipelines/<org>.yaml",
    ),
    ErrorKind(
        Slug.BINARY_FILE,
        ExitCode.DATA,
        "the file is binary, not text",
        "export the data as text (CSV, JSON), or pin the file's real `source.format` "
        "(e.g. xlsx) in pipelines/<org>.yaml",
    ),
    ErrorKind(
        Slug.UNTERMINATED_QUOTE,
        ExitCode.DATA,
        "a quoted value never closes, so the rest of the file would become one value",
        'close the quote; a quote inside a quoted value is written twice ("")',
    ),
    ErrorKind(
        Slug.DUPLICATE_COLUMN,
        ExitCode.DATA,
        "two columns (or two keys of one JSON object) have the same name",
        "rename one of them so that every column name is unique",
    ),
    ErrorKind(
        Slug.ARCHIVE_TOO_LARGE,
        ExitCode.DATA,
        "the workbook would unpack beyond the safety limits (a zip bomb?)",
        "export as CSV, or split the export into smaller workbooks; "
        "the limits are listed in docs/errors.md",
    ),
    ErrorKind(
        Slug.REJECT_RATE_EXCEEDED,
        ExitCode.DATA,
        "too many rows were quarantined",
        "fix the rows listed in the quarantine, or raise --max-reject-rate",
    ),
    ErrorKind(
        Slug.NO_STAGED_DATA,
        ExitCode.DATA,
        "nothing has been ingested yet",
        "run `ctdc ingest --org ORG FILE` first",
    ),
    ErrorKind(
        Slug.K_CHECK_FAILED,
        ExitCode.DATA,
        "the release failed its privacy check (k-anonymity, or l-diversity when asked); "
        "nothing published",
        "report this as a bug: the anonymizer's output failed the independent check",
    ),
    ErrorKind(
        Slug.ACCOUNTING_UNBALANCED,
        ExitCode.DATA,
        "the release's row accounting does not balance (read = staged + quarantined, "
        "staged = released + suppressed + merged); nothing published",
        "report this as a bug: a record was lost or counted twice between staging and release",
    ),
    ErrorKind(
        Slug.AUDIT_FAILED,
        ExitCode.DATA,
        "the release failed its privacy audit (the table above names each failed check); "
        "nothing published",
        "read the failed checks: a broken release is a bug to report; a differencing failure "
        "after a schema, hierarchy or k change needs `ctdc harmonize --new-epoch`",
    ),
    ErrorKind(
        Slug.NEW_EPOCH_NEEDED,
        ExitCode.DATA,
        "the schema, hierarchies or k changed since the series' epoch began: published records "
        "cannot keep their released form; nothing published",
        "run `ctdc harmonize --new-epoch` to re-anonymize everything (read the audit's "
        "differencing risk first), or restore the pinned policy",
    ),
    ErrorKind(
        Slug.CASE_NOT_FOUND,
        ExitCode.DATA,
        "no staged record of this organization has that case id",
        "check the case id as it appears in the organization's own export (and --org)",
    ),
    ErrorKind(
        Slug.TOO_FEW_RECORDS,
        ExitCode.DATA,
        "too few records for a k-anonymous release; nothing published",
        "ingest more records, or lower k (never below the workspace's floor)",
    ),
    ErrorKind(
        Slug.EXPORT_NOT_ARCHIVED,
        ExitCode.USAGE,
        "a batch to reprocess has no archived export; nothing reprocessed",
        "pass the export files again: `ctdc reprocess --org ORG FILE...` (or turn archiving "
        "on for the next ones: `ctdc policy set archive_exports=on`)",
    ),
    ErrorKind(
        Slug.BUDGET_EXCEEDED,
        ExitCode.DATA,
        "the differentially private product would exceed the workspace's privacy budget; "
        "no noise drawn, nothing published",
        "ask for a smaller --dp epsilon (`ctdc status` shows what is left), or let the steward "
        "raise it, on the record: `ctdc policy set dp_epsilon_budget=... --reason ...`",
    ),
    # --- run level: environment -----------------------------------------------------------
    ErrorKind(Slug.FILE_NOT_FOUND, ExitCode.ENVIRONMENT, "file not found", "check the path"),
    ErrorKind(
        Slug.NOT_A_FILE,
        ExitCode.ENVIRONMENT,
        "the path is a folder (or a device or pipe), not an export file",
        "give one export file, e.g. `ctdc ingest --org ORG folder/export.csv`; for every "
        "export of a folder, list them: `folder/*.csv`",
    ),
    ErrorKind(
        Slug.NO_WORKSPACE,
        ExitCode.ENVIRONMENT,
        "no ctdc workspace here",
        "run `ctdc init` (or pass --data-dir / set CTDC_HOME)",
    ),
    ErrorKind(
        Slug.NO_POLICY,
        ExitCode.ENVIRONMENT,
        "the workspace has no release policy (k, levels, pinned schema)",
        "run `ctdc init` on the workspace: it pins the schema and the default policy, and "
        "keeps the key",
    ),
    ErrorKind(
        Slug.POLICY_MISMATCH,
        ExitCode.ENVIRONMENT,
        "the schema is not the one pinned in the workspace's release policy",
        "use the pinned schema (ctdc reads it from the workspace by itself), or adopt the new "
        "one explicitly: `ctdc policy schema PATH --reason ...`",
    ),
    ErrorKind(
        Slug.K_BELOW_FLOOR,
        ExitCode.USAGE,
        "k below the steward's floor",
        "ask for k at or above the floor (`ctdc policy show`); only the steward lowers the "
        "floor: `ctdc policy set k_floor=N --reason ...`",
    ),
    ErrorKind(
        Slug.MISSING_KEY,
        ExitCode.ENVIRONMENT,
        "the pseudonymization key is missing",
        "restore the key file from your backup, or run `ctdc init` for a new workspace",
    ),
    ErrorKind(
        Slug.UNSAFE_KEY,
        ExitCode.ENVIRONMENT,
        "the key file is readable by others",
        "run `chmod 600` on the key file",
    ),
    ErrorKind(
        Slug.BAD_KEY,
        ExitCode.ENVIRONMENT,
        "the key file is too short",
        "the key must hold at least 32 random bytes; restore it from backup",
    ),
    ErrorKind(
        Slug.KEY_MISMATCH,
        ExitCode.ENVIRONMENT,
        "the key is not the one that made the staged data (its fingerprint differs)",
        "put back the key file backed up for this workspace (docs/key.md); "
        "a new key would count every re-exported person twice",
    ),
    ErrorKind(
        Slug.KEY_ROTATION_INCOMPLETE,
        ExitCode.ENVIRONMENT,
        "a key rotation was interrupted; the staged data is half re-keyed",
        "run `ctdc key rotate --resume` to finish it (docs/key.md)",
    ),
    ErrorKind(
        Slug.LOCKED,
        ExitCode.ENVIRONMENT,
        "another ctdc run holds the lock (harmonize, an ingest of the same organization, "
        "or a key rotation)",
        "wait for it to finish, or pass --wait",
    ),
    ErrorKind(
        Slug.NO_RELEASE,
        ExitCode.ENVIRONMENT,
        "no release has been published yet",
        "run `ctdc harmonize` first",
    ),
    ErrorKind(
        Slug.UNKNOWN_RELEASE,
        ExitCode.USAGE,
        "no release with this id in the workspace (or its manifest cannot be read)",
        "copy an id from `ctdc releases list`; a pruned release is gone for good",
    ),
    ErrorKind(
        Slug.ROLLBACK_REFUSED,
        ExitCode.DATA,
        "the rollback would publish again a record withdrawn since; nothing changed",
        "roll back to a release published after the withdrawal, or run `ctdc harmonize` "
        "for a new release without the withdrawn records",
    ),
    ErrorKind(
        Slug.MISSING_EXTRA,
        ExitCode.ENVIRONMENT,
        "an optional dependency of this command is not installed",
        "install the extra the message names, e.g. `pip install 'ctdc[sample]'`",
    ),
    ErrorKind(
        Slug.IO_ERROR,
        ExitCode.ENVIRONMENT,
        "a file could not be read or written",
        "check the path, the permissions and the free disk space",
    ),
    ErrorKind(
        Slug.INTERNAL_ERROR,
        ExitCode.ENVIRONMENT,
        "an unexpected failure inside ctdc (a bug)",
        "run the command again with --debug for the traceback and report it; the message "
        "holds no data from the input",
    ),
]

#: keyed by :class:`Slug`; a plain string looks up the same entry (members are ``str``)
CATALOGUE: dict[Slug, ErrorKind] = {kind.slug: kind for kind in _KINDS}

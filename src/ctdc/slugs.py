"""The names of ctdc's errors and their exit codes, apart from the catalogue that explains them.

Every module that raises or compares an error names it by a :class:`Slug`
member, so a typo fails at import and a rename is one edit. The catalogue
(titles, fixes, which slugs are quarantine reasons) is in :mod:`ctdc.errors`;
``tests/test_errors.py`` checks that the two and docs/errors.md list the same
slugs.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    OK = 0
    DATA = 1
    USAGE = 2
    ENVIRONMENT = 3


class Slug(StrEnum):
    """Every slug of the catalogue, so code names one by attribute and a typo fails at import.

    Members are ``str``: they compare, hash, format and serialize as the slug
    itself, so the quarantine and JSON output hold plain text.
    ``tests/test_errors.py`` checks that this enum, ``ctdc.errors.CATALOGUE`` and
    docs/errors.md list the same slugs.
    """

    # row level: quarantine reasons
    UNKNOWN_VALUE = "unknown-value"
    BAD_DATE = "bad-date"
    BAD_NUMBER = "bad-number"
    OUT_OF_RANGE = "out-of-range"
    UNKNOWN_COUNTRY = "unknown-country"
    MISSING_REQUIRED = "missing-required"
    DUPLICATE_CASE_ID = "duplicate-case-id"
    SCHEMA_VIOLATION = "schema-violation"
    BAD_FIELD_COUNT = "bad-field-count"
    BAD_JSON_LINE = "bad-json-line"
    UNCACHED_FORMULA = "uncached-formula"
    CONTROL_CHARACTER = "control-character"
    VALUE_TOO_LONG = "value-too-long"
    BATCH_REJECTED = "batch-rejected"
    # run level
    BAD_ORG_NAME = "bad-org-name"
    UNKNOWN_ORG = "unknown-org"
    BAD_MAPPING = "bad-mapping"
    BAD_SCHEMA = "bad-schema"
    UNSAFE_YAML = "unsafe-yaml"
    BAD_OPTION = "bad-option"
    UNSAFE_PUBLISH_DIR = "unsafe-publish-dir"
    BAD_SQL = "bad-sql"
    READ_ONLY = "read-only"
    QUERY_REFUSED = "query-refused"
    QUERY_LIMIT = "query-limit"
    MISSING_COLUMN = "missing-column"
    UNMAPPED_COLUMN = "unmapped-column"
    EMPTY_FILE = "empty-file"
    UNREADABLE_FILE = "unreadable-file"
    BINARY_FILE = "binary-file"
    UNTERMINATED_QUOTE = "unterminated-quote"
    DUPLICATE_COLUMN = "duplicate-column"
    ARCHIVE_TOO_LARGE = "archive-too-large"
    REJECT_RATE_EXCEEDED = "reject-rate-exceeded"
    NO_STAGED_DATA = "no-staged-data"
    K_CHECK_FAILED = "k-check-failed"
    ACCOUNTING_UNBALANCED = "accounting-unbalanced"
    AUDIT_FAILED = "audit-failed"
    NEW_EPOCH_NEEDED = "new-epoch-needed"
    CASE_NOT_FOUND = "case-not-found"
    TOO_FEW_RECORDS = "too-few-records"
    EXPORT_NOT_ARCHIVED = "export-not-archived"
    BUDGET_EXCEEDED = "budget-exceeded"
    FILE_NOT_FOUND = "file-not-found"
    NOT_A_FILE = "not-a-file"
    NO_WORKSPACE = "no-workspace"
    NO_POLICY = "no-policy"
    POLICY_MISMATCH = "policy-mismatch"
    K_BELOW_FLOOR = "k-below-floor"
    MISSING_KEY = "missing-key"
    UNSAFE_KEY = "unsafe-key"
    BAD_KEY = "bad-key"
    KEY_MISMATCH = "key-mismatch"
    KEY_ROTATION_INCOMPLETE = "key-rotation-incomplete"
    LOCKED = "locked"
    NO_RELEASE = "no-release"
    UNKNOWN_RELEASE = "unknown-release"
    ROLLBACK_REFUSED = "rollback-refused"
    IO_ERROR = "io-error"
    INTERNAL_ERROR = "internal-error"
    MISSING_EXTRA = "missing-extra"

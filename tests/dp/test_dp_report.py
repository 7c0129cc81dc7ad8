"""The public report lists the DP products beside the release, labelled as what they are."""

from __future__ import annotations

from pathlib import Path

from conftest import SHARED_K, copy_of_sample, run_ctdc


def test_the_report_labels_the_dp_table_and_the_synthetic_rows(
    shared_sample: Path, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    copy_of_sample(shared_sample, root)
    for args in (["stats", "--dp", "1", "--by", "gender"],
                 ["synthesize", "--epsilon", "1", "--rows", "20"], ["report"]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, (args, result.stderr)
    page = (root / "data" / "public" / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="dp-products"') :]
    assert "Not the k-anonymous release." in section
    assert "counts by gender" in section and "SYNTHETIC DATA: no row is a real case." in section
    assert "20 rows sampled by pac-synth" in section
    audit = run_ctdc(root, "--data-dir", "data", "audit", "--k", str(SHARED_K))  # still passes
    assert audit.exit_code == 0, audit.stdout

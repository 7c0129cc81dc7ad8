"""What the package files say about the release itself: only what its public manifest says."""

from __future__ import annotations

from dataclasses import dataclass

#: the project, as a citation names it
PROJECT = "ctdc (counter-trafficking data collaborative)"


@dataclass(frozen=True)
class ReleaseInfo:
    """The public facts of one release, taken from its public manifest by the publish step.

    Nothing private may go in: every field here ends up in public files.
    """

    release_id: str
    created_at: str
    k: int
    l: int | None  # noqa: E741 -- the letter of l-diversity
    schema_name: str
    schema_version: int
    schema_sha256: str
    ctdc_version: str
    #: the SPDX id of the licence, from the pinned policy (``ctdc policy set licence=...``)
    licence: str = "CC-BY-4.0"

    @property
    def citation(self) -> str:
        """How to cite the release: the project, the release id, k and the schema."""
        date = self.created_at[:10]
        l_part = f", l = {self.l}" if self.l else ""
        return (
            f"{PROJECT}. Case records, release {self.release_id} (k = {self.k}{l_part}; "
            f"schema {self.schema_name} v{self.schema_version}), published {date}."
        )

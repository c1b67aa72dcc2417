"""What a load did, so `ecobrain kb load` can print it and benchmarks can time it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecobrain.ontology.graph.store import WriteSummary


@dataclass
class LoadReport:
    """One loader's result: what it read, what it wrote, how long it took."""

    source: str
    records: int = 0
    written: WriteSummary = field(default_factory=WriteSummary)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def nodes_created(self) -> int:
        return self.written.nodes_created

    @property
    def relationships_created(self) -> int:
        return self.written.relationships_created

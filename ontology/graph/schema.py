"""The graph schema: which node labels exist and which properties are indexed.

Every node carries a stable string ``id`` and is written with ``MERGE (n:Label {id: ...})``;
without an index on that key FalkorDB's MERGE is ~50x slower (GRAPH-STORE-NOTES.md), so every
label that is MERGEd on ``id`` is listed here and indexed by :meth:`GraphStore.ensure_schema`.
"""

from __future__ import annotations

# Labels MERGEd on `id` (unique per label).
ID_LABELS: tuple[str, ...] = (
    # ontology concepts
    "Concept",
    "Pollutant",
    "SourceCategory",
    "Sector",
    "EmergencyLevel",
    "MeasureType",
    "O3Regime",
    "PerformanceGrade",
    # reference data
    "AdminRegion",
    "Province",
    "City",
    "County",
    "ModelGrid",  # a model grid's definition (IOAPI attributes); its cells are PART_OF it
    "GridCell",
    "Enterprise",
    "MonitoringStation",
    # law and standards
    "Regulation",
    "Article",
    "Standard",
    "BreakpointRow",
    "LimitValue",
    "EmergencyPlan",
    "AlertGrading",
    "ReductionRequirement",
    "PollutantHandling",
    # rules and decisions
    "Rule",
    "RuleVersion",
    "ModelRun",
    "RegionForecast",  # a run's daily AQI forecast of one region (task-list charts)
    "Finding",
    "Decision",
    "Alert",
    "Measure",
    "Task",
    "Advice",
    "DecisionTrace",  # a decision's rules, facts and firings, to explain it later
    "TaskStatusChange",
    "AuditEvent",
    "Job",
    "ScenarioComparison",  # baseline vs scenario run: the expected effect of a measure
)

# Other properties looked up often enough to index: (label, property).
EXTRA_INDEXES: tuple[tuple[str, str], ...] = (
    ("AdminRegion", "code"),
    ("AdminRegion", "level"),
    ("GridCell", "row"),
    ("GridCell", "col"),
    ("Article", "number"),
    ("Article", "regulation_id"),
    ("Enterprise", "county_code"),
    ("Task", "region_code"),
    ("Task", "decision_id"),
    ("Advice", "region_code"),
    ("Alert", "region_code"),
    ("Decision", "run_id"),
    ("Finding", "run_id"),
)

# Properties searched by name in graph exploration (full-text where the store supports it).
SEARCH_PROPERTIES: tuple[str, ...] = ("id", "name", "name_zh", "label_zh", "label_en", "title")

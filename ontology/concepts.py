"""The ontology as Python: concepts, their hierarchy and relations, read from ``ecobrain.ttl``.

Everything that needs to know what "VOCs key industries" covers, what a sector mainly emits or
which words name a pollutant asks :class:`Ontology` — the loaders (to validate enterprise
sectors and pollutants), the concept linker (:meth:`Ontology.terms`), the rule engine (subclass
expansion) — so the Turtle file stays the one place where the domain vocabulary is written.

The file is parsed with rdflib once per (path, modification time) and cached; ``Ontology()`` is
cheap after the first call. The whole file is validated on load (labels in both languages,
known parents, no cycles, relations between the right kinds, no term naming two concepts); any
problem raises :class:`OntologyError` naming the file and line, so a bad edit never reaches the
graph.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SKOS
from rdflib.plugins.parsers.notation3 import BadSyntax

EB_NS = "https://ecobrain.example.org/ontology#"
EB = Namespace(EB_NS)
ONTOLOGY_PATH = Path(__file__).with_name("ecobrain.ttl")
SHAPES_PATH = Path(__file__).with_name("shapes.ttl")

# The root of every concept; its direct and indirect subclasses with an eb:graphLabel are kinds.
CONCEPT_LABEL = "Concept"
# Annotations that describe the graph mapping itself, not a concept.
_MAPPING_ANNOTATIONS = {EB.graphType, EB.graphLabel}
_LANGS = ("zh", "en")


def default_ontology_path() -> Path:
    """``ECOBRAIN_ONTOLOGY`` (a trial edit elsewhere), else the bundled ``ecobrain.ttl``."""
    env = os.environ.get("ECOBRAIN_ONTOLOGY")
    return Path(env) if env else ONTOLOGY_PATH


class OntologyError(ValueError):
    """The ontology file is unreadable or inconsistent; names file and line (and field)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        problems: list[OntologyError] | None = None,
    ):
        self.file = _display_path(file) if file is not None else None
        self.line = line
        self.field = field
        self.reason = message
        self.problems = problems or []
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.file or "<ontology>"
        if self.line is not None:
            where += f" line {self.line}"
        if self.field:
            where += f" [{self.field}]"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Concept:
    """One concept node: an OWL class under one of the kinds (eb:Pollutant, eb:Sector, ...)."""

    id: str
    iri: str
    kinds: frozenset[str]
    kind: str
    label_zh: str
    label_en: str
    aliases: list[str]
    parents: list[str]
    properties: dict[str, Any] = field(default_factory=dict)
    comment_zh: str | None = None
    comment_en: str | None = None
    line: int | None = None

    def names(self) -> list[str]:
        """Labels first, then aliases: every string that names this concept."""
        out: list[str] = []
        for name in (self.label_zh, self.label_en, *self.aliases):
            if name not in out:
                out.append(name)
        return out


@dataclass(frozen=True)
class SchemaClass:
    """An instance class (Enterprise, County, Article, ...): the label of data nodes."""

    id: str
    iri: str
    graph_label: str | None
    label_zh: str
    label_en: str
    parents: list[str]
    comment_zh: str | None = None
    comment_en: str | None = None


@dataclass(frozen=True)
class RelationshipType:
    """A relationship type of the graph and the ontology property it comes from."""

    name: str
    property_id: str
    property_iri: str
    label_zh: str | None
    label_en: str | None
    domain: tuple[str, ...]
    range: tuple[str, ...]


@dataclass(frozen=True)
class Relation:
    """A fact between two concepts asserted in the ontology, e.g. NOx PRECURSOR_OF O3."""

    source: str
    type: str
    target: str


def _display_path(path: str | Path) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _plain(value: Literal) -> Any:
    v = value.toPython()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bool | int | float | str):
        return v
    return str(value)


class _Lines:
    """Where things are written in the Turtle text, for error messages."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def definition(self, local: str) -> int | None:
        """The line that starts the description of eb:<local> (else its first mention)."""
        start = re.compile(rf"^eb:{re.escape(local)}(?![\w-])")
        for i, line in enumerate(self.lines, 1):
            if start.match(line):
                return i
        return self.mention(local)

    def mention(self, local: str, after: str | None = None) -> int | None:
        token = re.compile(rf"eb:{re.escape(local)}(?![\w-])")
        for i, line in enumerate(self.lines, 1):
            if token.search(line) and (after is None or after in line):
                return i
        return None


_CACHE: dict[tuple[str, int, int], _Model] = {}
_CACHE_LOCK = threading.Lock()


def _load_model(path: Path) -> _Model:
    try:
        st = path.stat()
    except OSError as exc:
        raise OntologyError(f"cannot read the ontology: {exc.strerror}", file=path) from exc
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _Model.parse(path)
            for old in [k for k in _CACHE if k[0] == key[0]]:
                del _CACHE[old]
            _CACHE[key] = model
        return model


def parse_turtle(path: str | Path) -> tuple[Graph, str]:
    """Parse a Turtle file; a syntax error becomes an OntologyError with file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OntologyError(f"not UTF-8 text ({exc.reason})", file=path) from exc
    except OSError as exc:
        raise OntologyError(f"cannot read the file: {exc.strerror}", file=path) from exc
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        line = _bad_syntax_line(exc, text)
        all_lines = text.splitlines()
        snippet = all_lines[line - 1].strip() if 0 < line <= len(all_lines) else ""
        raise OntologyError(
            f"invalid Turtle: {exc._why}" + (f" — near: {snippet[:80]}" if snippet else ""),
            file=path,
            line=line,
        ) from exc
    except Exception as exc:  # rdflib raises assorted errors for bad literals, IRIs, prefixes
        m = re.search(r"line (\d+)", str(exc))
        raise OntologyError(
            f"invalid Turtle: {exc}", file=path, line=int(m.group(1)) if m else None
        ) from exc
    return graph, text


def _bad_syntax_line(exc: BadSyntax, text: str) -> int:
    """The line of the offending character.

    rdflib's own ``lines`` counter runs ahead of the error (it counts lines the tokenizer has
    skipped past), so the line is recomputed from the character offset when the parser saw the
    whole text.
    """
    # private attributes of rdflib's BadSyntax: without them, its own (approximate) count
    with contextlib.suppress(AttributeError, UnicodeDecodeError):
        seen = exc._str.decode("utf-8")
        if seen == text:
            return seen[: exc._i].count("\n") + 1
    return exc.lines + 1


class _Model:
    """The parsed, validated content of one ontology file (immutable once built)."""

    def __init__(self, path: Path, graph: Graph, text: str):
        self.path = path
        self.graph = graph
        self.lines = _Lines(text)
        self.problems: list[OntologyError] = []
        self.version: str | None = None
        self.concepts: dict[str, Concept] = {}
        self.schema_classes: dict[str, SchemaClass] = {}
        self.kinds: dict[str, str] = {}  # graph label -> concept id
        self.relationship_types: dict[str, RelationshipType] = {}
        self.relations: list[Relation] = []
        self.terms: dict[str, str] = {}
        self.children: dict[str, list[str]] = {}

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, path: Path) -> _Model:
        graph, text = parse_turtle(path)
        model = cls(path, graph, text)
        model._build()
        if model.problems:
            first = model.problems[0]
            if len(model.problems) == 1:
                raise first
            listing = "\n  ".join(str(p) for p in model.problems[:30])
            more = len(model.problems) - 30
            raise OntologyError(
                f"{len(model.problems)} problems:\n  {listing}"
                + (f"\n  ... and {more} more" if more > 0 else ""),
                file=path,
                line=first.line,
                field=first.field,
                problems=model.problems,
            )
        return model

    def _problem(self, message: str, *, local: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        if line is None and local is not None:
            line = self.lines.definition(local)
        self.problems.append(OntologyError(message, file=self.path, line=line, field=field))

    def _local(self, node: Any) -> str | None:
        if isinstance(node, URIRef) and str(node).startswith(EB_NS):
            return str(node)[len(EB_NS):]
        return None

    def _texts(self, subject: URIRef, predicate: URIRef) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for obj in self.graph.objects(subject, predicate):
            if isinstance(obj, Literal):
                out.setdefault((obj.language or "").lower(), []).append(str(obj).strip())
        return out

    def _build(self) -> None:
        g = self.graph
        ontologies = list(g.subjects(RDF.type, OWL.Ontology))
        if len(ontologies) != 1:
            self._problem("expected exactly one owl:Ontology header", line=1)
        else:
            v = g.value(ontologies[0], OWL.versionInfo)
            self.version = str(v) if v is not None else None

        classes = {loc for s in g.subjects(RDF.type, OWL.Class) if (loc := self._local(s))}
        declared = set(classes)
        for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
            declared |= {loc for s in g.subjects(RDF.type, kind) if (loc := self._local(s))}
        self._check_declared(declared)
        if CONCEPT_LABEL not in classes:
            self._problem("eb:Concept is not declared as an owl:Class", line=1)
            return

        parents = {
            c: sorted(
                loc for o in g.objects(EB[c], RDFS.subClassOf) if (loc := self._local(o))
            )
            for c in classes
        }
        for c, ps in parents.items():
            for p in ps:
                if p not in classes:
                    self._problem(
                        f"'{c}' has unknown parent 'eb:{p}'",
                        line=self.lines.mention(p) or self.lines.definition(c),
                        field="rdfs:subClassOf",
                    )
            parents[c] = [p for p in ps if p in classes]
        self.children = {c: [] for c in classes}
        for c, ps in parents.items():
            for p in ps:
                self.children[p].append(c)
        for c in self.children:
            self.children[c].sort()
        self._parents = parents
        if cycle := self._find_cycle(classes):
            self._problem(
                "subclass cycle: " + " -> ".join(cycle), local=cycle[0], field="rdfs:subClassOf"
            )
            return

        concept_ids = sorted(c for c in classes if c != CONCEPT_LABEL
                             and CONCEPT_LABEL in self._ancestors(c))
        graph_labels = {
            c: str(v) for c in classes if (v := g.value(EB[c], EB.graphLabel)) is not None
        }
        self.kinds = {graph_labels[c]: c for c in concept_ids if c in graph_labels}
        for label, c in self.kinds.items():
            if label != c:
                self._problem(
                    f"kind class '{c}' must use its own name as graph label, not '{label}'",
                    local=c, field="eb:graphLabel",
                )

        for c in concept_ids:
            self._build_concept(c, parents[c])
        for c in sorted(classes - set(concept_ids)):
            self._build_schema_class(c, parents[c], graph_labels.get(c))
        self._build_relationship_types()
        self._build_relations()
        self._build_terms()

    def _check_declared(self, declared: set[str]) -> None:
        """Every eb: name used must be declared — catches typos such as eb:PM25 in a fact."""
        seen: set[str] = set()
        for triple in self.graph:
            for node in triple:
                loc = self._local(node)
                if loc is not None and loc not in declared and loc not in seen:
                    seen.add(loc)
                    self._problem(
                        f"'eb:{loc}' is used but never declared (a typo, or a missing "
                        "'a owl:Class' / property declaration?)",
                        line=self.lines.mention(loc),
                        field=f"eb:{loc}",
                    )

    def _find_cycle(self, classes: set[str]) -> list[str] | None:
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(c: str) -> list[str] | None:
            state[c] = 1
            stack.append(c)
            for p in self._parents.get(c, []):
                if state.get(p) == 1:
                    return [*stack[stack.index(p):], p]
                if p not in state and (cyc := visit(p)):
                    return cyc
            stack.pop()
            state[c] = 2
            return None

        for c in sorted(classes):
            if c not in state and (cyc := visit(c)):
                return cyc
        return None

    def _ancestors(self, c: str) -> list[str]:
        seen: list[str] = []
        queue = deque(self._parents.get(c, []))
        while queue:
            p = queue.popleft()
            if p not in seen:
                seen.append(p)
                queue.extend(self._parents.get(p, []))
        return seen

    def _labels(self, c: str, *, required: bool) -> tuple[str, str, dict[str, list[str]]]:
        labels = self._texts(EB[c], RDFS.label)
        out = {}
        for lang in _LANGS:
            values = labels.get(lang, [])
            if required and len(values) != 1:
                what = "no" if not values else f"{len(values)}"
                self._problem(
                    f"'{c}' has {what} rdfs:label@{lang}; every concept needs exactly one "
                    f"{'Chinese' if lang == 'zh' else 'English'} label",
                    local=c, field=f"rdfs:label@{lang}",
                )
            if values and not values[0]:
                self._problem(f"'{c}' has an empty rdfs:label@{lang}", local=c,
                              field=f"rdfs:label@{lang}")
            out[lang] = values[0] if values else ""
        return out["zh"], out["en"], labels

    def _build_concept(self, c: str, parents: list[str]) -> None:
        g = self.graph
        kinds = frozenset(
            label for label, k in self.kinds.items() if k == c or k in self._ancestors(c)
        )
        if not kinds:
            self._problem(
                f"'{c}' is under eb:Concept but not under any kind "
                f"({', '.join(sorted(self.kinds))})",
                local=c, field="rdfs:subClassOf",
            )
            return
        kind = next(
            (k for k in sorted(kinds)
             if all(o == k or self.kinds[o] in self._ancestors(self.kinds[k]) for o in kinds)),
            None,
        )
        if kind is None:
            self._problem(
                f"'{c}' falls under unrelated kinds {sorted(kinds)}; a concept has one kind "
                "(and its more general kinds)",
                local=c, field="rdfs:subClassOf",
            )
            return
        label_zh, label_en, labels = self._labels(c, required=True)
        for lang in labels:
            if lang not in _LANGS:
                self._problem(f"'{c}' has a label in language '{lang or 'none'}'; use @zh or @en",
                              local=c, field="rdfs:label")
        aliases: list[str] = []
        alt = self._texts(EB[c], SKOS.altLabel)
        for lang, values in sorted(alt.items(), key=lambda kv: _LANGS.index(kv[0])
                                   if kv[0] in _LANGS else 9):
            if lang not in _LANGS:
                self._problem(
                    f"'{c}' has an alias without @zh/@en language tag: {values[0]!r}",
                    local=c, field="skos:altLabel",
                )
                continue
            for v in sorted(values):
                if not v:
                    self._problem(f"'{c}' has an empty alias", local=c, field="skos:altLabel")
                elif v not in aliases and v not in (label_zh, label_en):
                    aliases.append(v)
        comments = self._texts(EB[c], RDFS.comment)
        properties: dict[str, Any] = {}
        for pred, obj in sorted(g.predicate_objects(EB[c])):
            loc = self._local(pred)
            if loc is None or pred in _MAPPING_ANNOTATIONS:
                continue
            if (pred, RDF.type, OWL.AnnotationProperty) not in g:
                continue
            if not isinstance(obj, Literal):
                self._problem(f"'{c}': eb:{loc} must be a literal", local=c, field=f"eb:{loc}")
                continue
            key = _camel_to_snake(loc)
            if key in properties:
                self._problem(f"'{c}' has more than one eb:{loc}", local=c, field=f"eb:{loc}")
                continue
            properties[key] = _plain(obj)
        self._check_properties(c, properties)
        self.concepts[c] = Concept(
            id=c,
            iri=EB_NS + c,
            kinds=kinds,
            kind=kind,
            label_zh=label_zh,
            label_en=label_en,
            aliases=aliases,
            parents=list(parents),
            properties=properties,
            comment_zh=(comments.get("zh") or [None])[0],
            comment_en=(comments.get("en") or [None])[0],
            line=self.lines.definition(c),
        )

    def _check_properties(self, c: str, props: dict[str, Any]) -> None:
        mm = props.get("molar_mass")
        if mm is not None and not (isinstance(mm, int | float) and mm > 0):
            self._problem(f"'{c}': eb:molarMass must be a positive number (g/mol), got {mm!r}",
                          local=c, field="eb:molarMass")
        code = props.get("industry_code")
        if code is not None and not re.fullmatch(r"\d{2,4}", str(code)):
            self._problem(f"'{c}': eb:industryCode must be a GB/T 4754 code of 2-4 digits, "
                          f"got {code!r}", local=c, field="eb:industryCode")
        rank = props.get("severity_rank")
        if rank is not None and not (isinstance(rank, int) and rank >= 1):
            self._problem(f"'{c}': eb:severityRank must be an integer >= 1, got {rank!r}",
                          local=c, field="eb:severityRank")

    def _build_schema_class(self, c: str, parents: list[str], graph_label: str | None) -> None:
        label_zh, label_en, _ = self._labels(c, required=True)
        comments = self._texts(EB[c], RDFS.comment)
        self.schema_classes[c] = SchemaClass(
            id=c,
            iri=EB_NS + c,
            graph_label=graph_label,
            label_zh=label_zh,
            label_en=label_en,
            parents=list(parents),
            comment_zh=(comments.get("zh") or [None])[0],
            comment_en=(comments.get("en") or [None])[0],
        )

    def _class_set(self, node: Any) -> tuple[str, ...]:
        """A domain/range: a named class, or an owl:unionOf list of them."""
        if loc := self._local(node):
            return (loc,)
        if isinstance(node, BNode):
            union = self.graph.value(node, OWL.unionOf)
            if union is not None:
                return tuple(loc for m in Collection(self.graph, union)
                             if (loc := self._local(m)))
        return ()

    def _build_relationship_types(self) -> None:
        g = self.graph
        for prop, value in g.subject_objects(EB.graphType):
            name = str(value)
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                self._problem(f"graph type {name!r} must be UPPER_SNAKE_CASE",
                              line=self.lines.mention(self._local(prop) or "", "graphType"),
                              field="eb:graphType")
                continue
            if name in self.relationship_types:
                self._problem(f"graph type {name!r} is given to two properties",
                              line=self.lines.mention("graphType", name), field="eb:graphType")
                continue
            labels = self._texts(prop, RDFS.label)
            domain = tuple(d for o in g.objects(prop, RDFS.domain) for d in self._class_set(o))
            rng = tuple(d for o in g.objects(prop, RDFS.range) for d in self._class_set(o))
            pid = self._local(prop) or str(prop).rsplit("#", 1)[-1]
            self.relationship_types[name] = RelationshipType(
                name=name,
                property_id=pid,
                property_iri=str(prop),
                label_zh=(labels.get("zh") or [None])[0],
                label_en=(labels.get("en") or [None])[0],
                domain=domain,
                range=rng,
            )

    def _fits(self, concept_id: str, classes: tuple[str, ...]) -> bool:
        if not classes:
            return True
        lineage = {concept_id, *self._ancestors(concept_id)}
        return any(c in lineage for c in classes)

    def _build_relations(self) -> None:
        """Facts between concepts, through every object property that has a graph type."""
        for name, rt in sorted(self.relationship_types.items()):
            if rt.property_iri == str(RDFS.subClassOf):
                continue
            prop = URIRef(rt.property_iri)
            for s, o in sorted(self.graph.subject_objects(prop)):
                src, dst = self._local(s), self._local(o)
                if src not in self.concepts or dst not in self.concepts:
                    bad = src if src not in self.concepts else dst
                    self._problem(
                        f"eb:{rt.property_id} links '{src}' to '{dst}', but '{bad}' is not a "
                        "concept; the ontology file only relates concepts",
                        line=self.lines.mention(src or "", rt.property_id), field=name,
                    )
                    continue
                for end, classes, role in ((src, rt.domain, "domain"), (dst, rt.range, "range")):
                    if not self._fits(end, classes):
                        self._problem(
                            f"eb:{rt.property_id} {src} -> {dst}: '{end}' is not a "
                            f"{' or '.join(classes)} (the property's {role})",
                            line=self.lines.mention(src, rt.property_id), field=name,
                        )
                self.relations.append(Relation(src, name, dst))

    def _build_terms(self) -> None:
        owners: dict[str, str] = {}
        for c in sorted(self.concepts.values(), key=lambda c: c.id):
            for name in c.names():
                other = owners.get(name)
                if other is not None and other != c.id:
                    self._problem(
                        f"the term {name!r} names both '{other}' and '{c.id}'; the concept "
                        "linker needs every label and alias to name one concept",
                        line=self.lines.mention(c.id, name) or c.line, field="skos:altLabel",
                    )
                else:
                    owners[name] = c.id
        self.terms = owners


class Ontology:
    """The concepts of ``ontology/ecobrain.ttl`` (or another file) and questions about them.

    Instances share one parsed model per file version, so create them freely:
    ``Ontology().descendants("VOCsKeyIndustry")``.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_ontology_path()
        self._m = _load_model(self.path)

    # -- contents ---------------------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """owl:versionInfo of the ontology header."""
        return self._m.version

    @property
    def graph(self) -> Graph:
        """The parsed rdflib graph (shared and cached: read it, do not modify it)."""
        return self._m.graph

    @property
    def concepts(self) -> dict[str, Concept]:
        return self._m.concepts

    @property
    def kinds(self) -> dict[str, str]:
        """Kind graph labels (Pollutant, SourceCategory, Sector, ...) -> their concept id."""
        return dict(self._m.kinds)

    @property
    def schema_classes(self) -> dict[str, SchemaClass]:
        """Instance classes (Enterprise, County, Article, ...) by id, with their zh/en names."""
        return self._m.schema_classes

    def relations(self, rel_type: str | None = None) -> list[Relation]:
        """Asserted facts between concepts (PRECURSOR_OF, MAINLY_EMITS, TARGETS, ...)."""
        return [r for r in self._m.relations if rel_type is None or r.type == rel_type]

    def relationship_types(self) -> dict[str, RelationshipType]:
        """Every relationship type of the graph (from eb:graphType), by name."""
        return dict(self._m.relationship_types)

    def terms(self) -> dict[str, str]:
        """Every label and alias, both languages -> concept id (for the concept linker)."""
        return dict(self._m.terms)

    def disjoint_groups(self) -> list[tuple[str, ...]]:
        """The ``owl:AllDisjointClasses`` of the file, as groups of concept ids.

        No individual is in two classes of a group: an enterprise cannot be ordered to stop
        production and to limit it on the same day (used by the rule checker).
        """
        g = self._m.graph
        out = []
        for node in g.subjects(RDF.type, OWL.AllDisjointClasses):
            members = g.value(node, OWL.members)
            if members is None:
                continue
            ids = tuple(str(m).removeprefix(EB_NS) for m in Collection(g, members))
            out.append(tuple(i for i in ids if i in self._m.concepts))
        return [grp for grp in out if len(grp) > 1]

    # -- lookups ----------------------------------------------------------------------------

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._m.concepts

    def concept(self, concept_id: str) -> Concept:
        """The concept, or a KeyError that suggests the nearest ids."""
        try:
            return self._m.concepts[concept_id]
        except KeyError:
            close = difflib.get_close_matches(concept_id, list(self._m.concepts), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"unknown concept {concept_id!r}{hint}") from None

    def is_kind(self, concept_id: str, kind: str) -> bool:
        """True when the concept exists and has that kind (e.g. 'Sector', 'Pollutant')."""
        c = self._m.concepts.get(concept_id)
        return c is not None and kind in c.kinds

    def of_kind(self, kind: str) -> list[str]:
        """All concept ids of a kind, sorted."""
        return sorted(c.id for c in self._m.concepts.values() if kind in c.kinds)

    def lookup(self, term: str) -> str | None:
        """The concept a label or alias names (exact match first, then case-insensitive)."""
        if term in self._m.terms:
            return self._m.terms[term]
        if term in self._m.concepts:
            return term
        folded = term.casefold()
        hits = {cid for t, cid in self._m.terms.items() if t.casefold() == folded}
        return hits.pop() if len(hits) == 1 else None

    # -- hierarchy --------------------------------------------------------------------------

    def descendants(self, concept_id: str, include_self: bool = True) -> list[str]:
        """The concept and everything below it (all paths, multiple parents), sorted."""
        self.concept(concept_id)
        seen: set[str] = set()
        queue = deque([concept_id])
        while queue:
            c = queue.popleft()
            for child in self._m.children.get(c, []):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        if include_self:
            seen.add(concept_id)
        else:
            seen.discard(concept_id)
        return sorted(seen)

    def ancestors(self, concept_id: str) -> list[str]:
        """Every concept above this one (not itself; eb:Concept excluded), sorted."""
        self.concept(concept_id)
        return sorted(a for a in self._m._ancestors(concept_id) if a in self._m.concepts)

    def is_a(self, concept_id: str, parent_id: str) -> bool:
        """True if `concept_id` is `parent_id` or lies below it."""
        return concept_id == parent_id or parent_id in self._m._ancestors(concept_id)

    # -- domain relations -------------------------------------------------------------------

    def precursors_of(self, pollutant_id: str, *, include_subclasses: bool = False) -> list[str]:
        """The pollutants asserted as precursors of this one (NOx, VOCs for O3).

        Only asserted facts: precursors_of("PM2_5") is [NH3, NOx, SO2, VOCs]. With
        ``include_subclasses`` each precursor is expanded to its species (NO2, Benzene, ...).
        """
        self.concept(pollutant_id)
        found = {r.source for r in self._m.relations
                 if r.type == "PRECURSOR_OF" and r.target == pollutant_id}
        if include_subclasses:
            found = {d for p in found for d in self.descendants(p)}
        return sorted(found)

    def precursor_targets(self, pollutant_id: str) -> list[str]:
        """What this pollutant is a precursor of, inherited from its ancestors.

        Benzene lies under VOCs, so it is a precursor of O3 and PM2.5.
        """
        lineage = {pollutant_id, *self.ancestors(pollutant_id)}
        return sorted({r.target for r in self._m.relations
                       if r.type == "PRECURSOR_OF" and r.source in lineage})

    def mainly_emits(self, sector_id: str, *, inherited: bool = True) -> list[str]:
        """Pollutants a source category mainly emits, sorted.

        Inheritance applies: a category also mainly emits what its ancestors do (Packaging
        printing inherits VOCs from VOCs key industries; diesel trucks NOx from mobile
        sources). ``inherited=False`` gives only the facts asserted on the category itself.
        """
        self.concept(sector_id)
        lineage = {sector_id, *(self.ancestors(sector_id) if inherited else [])}
        return sorted({r.target for r in self._m.relations
                       if r.type == "MAINLY_EMITS" and r.source in lineage})

    def emitters_of(self, pollutant_id: str) -> list[str]:
        """Source categories that mainly emit this pollutant or one of its species, sorted."""
        self.concept(pollutant_id)
        return sorted(
            c.id for c in self._m.concepts.values()
            if "SourceCategory" in c.kinds
            and any(self.is_a(p, pollutant_id) for p in self.mainly_emits(c.id))
        )

    def related(self, concept_id: str, rel_type: str) -> list[str]:
        """Targets of an asserted relation from this concept (no inheritance), sorted."""
        return sorted({r.target for r in self._m.relations
                       if r.type == rel_type and r.source == concept_id})

    def expand(self, concept_ids: Iterable[str]) -> list[str]:
        """The union of the descendants of several concepts (what a rule's class matches)."""
        out: set[str] = set()
        for cid in concept_ids:
            out.update(self.descendants(cid))
        return sorted(out)

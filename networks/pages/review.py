"""Reviewing a switch change before it is sent: the XML, its diff, what applies live, warnings.

Pure of requests and libvirt: the views hand in a spec (from the form or the raw XML editor) and
get back everything the review page shows, or the problems that keep it from being sent.
"""

import hashlib
import json
from dataclasses import dataclass, field

from networks.spec import (
    HostContext,
    NetworkSpec,
    Problems,
    SchemaUnavailable,
    SpecXMLError,
    UpdatePlan,
    definition_problems,
    plan_update,
    schema_errors,
    to_xml,
    validate,
)
from networks.versions import diff_lines


@dataclass
class Review:
    spec: NetworkSpec
    xml: str
    problems: Problems
    schema: list[str] = field(default_factory=list)
    # What vnetweb never sends: control characters, unmodelled parts the saved XML did not have.
    refused: list[str] = field(default_factory=list)
    diff: list[tuple[str, str]] = field(default_factory=list)  # (css class, line)
    plan: UpdatePlan | None = None

    @property
    def ok(self) -> bool:
        return self.problems.ok and not self.schema and not self.refused

    @property
    def changed(self) -> bool:
        return any(kind in ("add", "del") for kind, _ in self.diff)

    def token(self, **extra: object) -> str:
        """Names exactly what was reviewed: applying needs the same token back."""
        payload = json.dumps([self.xml, extra], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def review(
    spec: NetworkSpec,
    context: HostContext,
    *,
    original: NetworkSpec | None = None,
    base_xml: str | None = None,
    xml: str | None = None,
) -> Review:
    """Validate `spec` and, if it is sound, what would be sent and how it would apply.

    `xml` is given by the raw editor (sent as typed); otherwise the spec is applied onto
    `base_xml`, keeping what the spec does not model.
    """
    problems = validate(spec, context, original)
    if xml is None:
        try:
            xml = to_xml(spec, base=base_xml)
        except SpecXMLError as exc:
            # A value XML cannot hold (a NUL, a lone surrogate from JSON): nothing to send.
            return Review(spec=spec, xml="", problems=problems, refused=[str(exc)])
    result = Review(spec=spec, xml=xml, problems=problems)
    try:
        result.schema = schema_errors(xml)
    except SchemaUnavailable as exc:
        result.schema = [str(exc)]
    try:
        result.refused = definition_problems(xml, base_xml)
    except SpecXMLError as exc:
        result.refused = [str(exc)]
    if not result.ok:
        return result
    result.diff = diff_lines(base_xml or "", xml)
    if original is not None:
        result.plan = plan_update(original, spec, base=base_xml)
    return result

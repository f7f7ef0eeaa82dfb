"""axe-core in Chromium: the WCAG 2.0/2.1 A and AA rules over a page, as the browser renders it.

axe-core comes from the npm registry (package.json, installed by `scripts/setup.sh --test`). Its
script is injected into the page, which the site's Content Security Policy forbids: a test that
uses this module opens its context with `log_in(..., bypass_csp=True)` (tests/browser.py) or
`browser.new_context(bypass_csp=True)`. The site itself keeps its policy.
"""

from pathlib import Path

AXE_JS = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# What fails a test. axe's "moderate" and "minor" are advice, not a barrier.
BLOCKING = {"serious", "critical"}

RUN = """async ([context, tags]) => {
  const results = await axe.run(context || document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({
      target: n.target.map(String).join(" "),
      impact: n.impact,
      summary: (n.failureSummary || "").split("\\n").slice(0, 2).join(" "),
    })),
  }));
}"""


def _inject(page) -> None:
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: `scripts/setup.sh --test` installs axe-core")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))


def axe_violations(page, *, context: str | None = None) -> list[dict]:
    """The serious and critical WCAG 2.0/2.1 A and AA violations on the page as it is now
    (or within the CSS selector `context`): one dict per rule, with its offending nodes."""
    _inject(page)
    found = page.evaluate(RUN, [context, WCAG_TAGS])
    return [violation for violation in found if violation["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    """Each violation as lines a person can act on: rule, impact, where, what is wrong."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}: {node['summary']}")
    return "\n".join(lines)


def assert_accessible(page, where: str, *, context: str | None = None) -> None:
    """Fail, naming every rule, impact, selector and the reason, if axe finds a serious or
    critical violation on the page."""
    violations = axe_violations(page, context=context)
    nodes = sum(len(violation["nodes"]) for violation in violations)
    assert not violations, f"{nodes} serious/critical axe violations on {where}:\n" + describe(
        violations
    )

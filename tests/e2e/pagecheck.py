"""Page-wide checks on a phone, for any end-to-end test: axe-core (from the npm registry,
installed by `make browser`), no horizontal overflow, tap targets of at least 24 × 24 CSS px
(WCAG 2.2, 2.5.8), the page's landmarks and headings.

    from tests.e2e.pagecheck import page_problems
    assert page_problems(phone) == []

Each problem is one line naming the URL, the rule and the element (a CSS selector), so a
failure says what to fix and where.
"""
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0–2.2 A and AA, and axe's best practices (landmarks, headings).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = ("critical", "serious")
MIN_TARGET = 24

# A selector a person can find the element by: its id, or the path of tags and classes.
_SELECTOR_JS = """
function selectorOf(el) {
  const parts = [];
  while (el && el.nodeType === 1 && parts.length < 5) {
    if (el.id) { parts.unshift("#" + CSS.escape(el.id)); break; }
    let part = el.tagName.toLowerCase();
    const classes = [...el.classList].slice(0, 2);
    if (classes.length) part += "." + classes.map(c => CSS.escape(c)).join(".");
    const parent = el.parentElement;
    if (parent) {
      const same = [...parent.children].filter(c => c.tagName === el.tagName);
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(el) + 1})`;
    }
    parts.unshift(part);
    el = parent;
  }
  return parts.join(" > ");
}
"""

# Every visible link, button and field smaller than 24 × 24, except a link inside running
# text (WCAG 2.5.8's inline exception: a link in a sentence of a p, li, td or dd with other
# text around it). A checkbox or radio inside its label is measured as the label (the whole
# label is the target).
_TAP_TARGETS_JS = """
(minimum) => {
""" + _SELECTOR_JS + """
  const TEXT_BLOCKS = "p, li, td, dd, dt, figcaption, caption, legend, small";
  function visible(el) {
    // The content of a closed <details> (the "More" menu) is not shown, its summary is.
    const closed = el.closest("details:not([open])");
    if (closed && !(el.matches("summary") && el.parentElement === closed)) return false;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return false;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) return false;  // visually hidden
    return el.getClientRects().length > 0;
  }
  function inRunningText(el) {
    if (el.tagName !== "A") return false;
    const block = el.parentElement && el.parentElement.closest(TEXT_BLOCKS);
    if (!block) return false;
    const own = el.textContent.trim();
    const all = block.textContent.replace(/\\s+/g, " ").trim();
    return all.length > own.length;
  }
  const found = [];
  const candidates = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]");
  for (const el of candidates) {
    if (!visible(el) || inRunningText(el)) continue;
    let box = el;
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      box = el.closest("label") || box;
    }
    const rect = box.getBoundingClientRect();
    if (rect.width < minimum - 0.5 || rect.height < minimum - 0.5) {
      found.push(`${selectorOf(el)} (${Math.round(rect.width)}×${Math.round(rect.height)})`);
    }
  }
  return found;
}
"""

# What every page has: one <main id="main">, one <h1>, every <nav> named, and a skip link
# to #main first when anything focusable comes before the main content.
_STRUCTURE_JS = """
() => {
""" + _SELECTOR_JS + """
  const found = [];
  const mains = document.querySelectorAll("main");
  if (mains.length !== 1 || mains[0].id !== "main") found.push("one <main id=main>");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) found.push(`exactly one <h1> (found ${h1})`);
  for (const nav of document.querySelectorAll("nav")) {
    if (!nav.getAttribute("aria-label") && !nav.getAttribute("aria-labelledby")) {
      found.push(`a name for ${selectorOf(nav)}`);
    }
  }
  const first = document.querySelector("a[href], button, input, select, textarea, summary");
  const main = document.querySelector("main");
  if (first && main && !main.contains(first) && first.getAttribute("href") !== "#main") {
    found.push(`a skip link to #main first (found ${selectorOf(first)})`);
  }
  return found;
}
"""


def axe_violations(page, impacts=FAILING_IMPACTS) -> list[str]:
    """The axe-core violations of the page of these impacts, one line per element."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the debugging protocol: the page's CSP does not apply to it.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", AXE_TAGS)
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in impacts:
            continue
        for node in violation["nodes"][:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:200]
            lines.append(f"axe {violation['id']} ({violation['impact']}): "
                         f"{' '.join(node['target'])} — {summary}")
        if len(violation["nodes"]) > 5:
            lines.append(f"axe {violation['id']}: … and {len(violation['nodes']) - 5} more")
    return lines


def overflow(page) -> list[str]:
    widths = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        wide = page.evaluate("() => {" + _SELECTOR_JS + """
        return [...document.querySelectorAll("body *")].filter(el => {
            const r = el.getBoundingClientRect();
            return r.right > window.innerWidth + 1 && r.width > 0;
          }).slice(0, 3).map(selectorOf); }""")
        return [f"overflow: the page is {widths[0]} px wide on a {widths[1]} px screen "
                f"(wider: {', '.join(wide)})"]
    return []


def small_targets(page, at_most=8) -> list[str]:
    targets = page.evaluate(_TAP_TARGETS_JS, MIN_TARGET)
    lines = [f"tap target under {MIN_TARGET} px: {target}" for target in targets[:at_most]]
    if len(targets) > at_most:
        lines.append(f"tap target under {MIN_TARGET} px: … and {len(targets) - at_most} more")
    return lines


def structure(page) -> list[str]:
    return [f"structure: {problem}" for problem in page.evaluate(_STRUCTURE_JS)]


def page_problems(page, *, axe=True) -> list[str]:
    """Everything wrong with the page as shown now, prefixed with its URL."""
    problems = structure(page) + overflow(page) + small_targets(page)
    if axe:
        problems += axe_violations(page)
    return [f"{page.url}: {problem}" for problem in problems]

"""The fleet bench's figures: rows with one column per fleet size, printed as a table, written as
JSON, and the pages' p95 drawn as small SVG line charts (written with lxml; no plotting library).
"""

from dataclasses import asdict, dataclass, field

from lxml import etree


@dataclass
class Figure:
    """One row of the table: a value per fleet size (hosts), its target and whether it is met."""

    name: str
    unit: str = ""  # "ms", "%", "MiB", "" (a count or a ratio)
    target: str = ""
    by_size: dict[int, float | str] = field(default_factory=dict)
    verdict: str = "INFO"  # PASS / FAIL / INFO, judged on the sizes the target concerns

    def cell(self, size: int) -> str:
        value = self.by_size.get(size)
        if value is None:
            return "-"
        if isinstance(value, str):
            return value
        if self.unit == "ms":
            return f"{value:.1f} ms"
        if self.unit == "%":
            return f"{value:.1f} %"
        if self.unit == "MiB":
            return f"{value:.1f} MiB"
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit == "s":
            return f"{value:.1f} s"
        return f"{value:g}"


class Table:
    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.figures: dict[str, Figure] = {}

    def put(
        self, name: str, size: int, value: float | str, unit: str = "", target: str = ""
    ) -> None:
        """Record one value, printing it as it comes."""
        fig = self.figures.setdefault(name, Figure(name, unit, target))
        fig.by_size[size] = value
        print(f"  {name} @{size}: {fig.cell(size)}" + (f"  [target {target}]" if target else ""))

    def judge(self, name: str, ok: bool | None) -> None:
        if name in self.figures:
            self.figures[name].verdict = "INFO" if ok is None else "PASS" if ok else "FAIL"

    def text(self) -> str:
        head = ["figure", *(f"{s} hosts" for s in self.sizes), "target", "result"]
        rows = [
            [f.name, *(f.cell(s) for s in self.sizes), f.target or "-", f.verdict]
            for f in self.figures.values()
        ]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]
        ]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(line.rstrip() for line in lines)

    def json(self) -> list[dict]:
        return [asdict(f) for f in self.figures.values()]


# --- the plot ------------------------------------------------------------------------------------

W, H, LEFT, RIGHT, TOP, BOTTOM = 560, 380, 60, 190, 30, 50
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _el(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def svg_charts(panels: list[tuple[str, dict[str, dict[int, float]], float | None]]) -> bytes:
    """Panels side by side, each (title, series, target): lines of p95 (ms) against fleet size
    (hosts, linear axis), a dashed line at the target."""
    svg = etree.Element(
        "svg",
        xmlns="http://www.w3.org/2000/svg",
        width=str(W * len(panels)),
        height=str(H),
        viewBox=f"0 0 {W * len(panels)} {H}",
        attrib={"font-family": "sans-serif", "font-size": "12"},
    )
    _el(svg, "rect", width=W * len(panels), height=H, fill="white")
    for n, (title, series, target) in enumerate(panels):
        _panel(_el(svg, "g", transform=f"translate({n * W} 0)"), title, series, target)
    return etree.tostring(svg, pretty_print=True)


def _panel(g, title: str, series: dict[str, dict[int, float]], target: float | None) -> None:
    xs = sorted({x for points in series.values() for x in points})
    y_max = max([target or 0, *(y for pts in series.values() for y in pts.values())]) * 1.15 or 1
    x_max = max(xs) if xs else 1
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + x / x_max * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - y / y_max * plot_h

    _el(g, "text", title, x=LEFT, y=18, font_weight="bold")
    _el(g, "path", d=f"M{LEFT},{TOP} V{TOP + plot_h} H{LEFT + plot_w}", stroke="black", fill="none")
    for i in range(6):
        y = y_max * i / 5
        _el(g, "text", f"{y:.0f}", x=LEFT - 6, y=f"{py(y) + 4:.1f}", text_anchor="end")
        _el(g, "path", d=f"M{LEFT},{py(y):.1f} H{LEFT + plot_w}", stroke="#ddd")
    for x in xs:
        _el(g, "text", str(x), x=f"{px(x):.1f}", y=TOP + plot_h + 16, text_anchor="middle")
    _el(g, "text", "hosts", x=LEFT + plot_w / 2, y=H - 12, text_anchor="middle")
    mid = TOP + plot_h / 2
    _el(g, "text", "p95 (ms)", x=14, y=mid, text_anchor="middle", transform=f"rotate(-90 14 {mid})")
    if target is not None:
        at = f"{py(target):.1f}"
        _el(g, "path", d=f"M{LEFT},{at} H{LEFT + plot_w}", stroke="#d62728", stroke_dasharray="6 4")
        _el(g, "text", f"target {target:g}", x=LEFT + 4, y=f"{py(target) - 4:.1f}", fill="#d62728")
    for n, (name, points) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        ordered = sorted(points.items())
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(ordered)
        )
        _el(g, "path", d=path, stroke=colour, stroke_width=2, fill="none")
        for x, y in ordered:
            _el(g, "circle", cx=f"{px(x):.1f}", cy=f"{py(y):.1f}", r=3, fill=colour)
        legend_y = TOP + 10 + n * 18
        _el(g, "path", d=f"M{W - RIGHT + 20},{legend_y} h16", stroke=colour, stroke_width=2)
        _el(g, "text", name, x=W - RIGHT + 40, y=legend_y + 4)

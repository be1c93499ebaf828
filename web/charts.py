"""Charts drawn on the server as SVG: the geometry here, the drawing in
``templates/charts/_macros.html``, the data in ``core.series`` and ``core.pace``.

Every chart prints well and reads without colour: a status is a colour *and* a pattern
(solid on pace, stripes behind, cross-hatch far behind) *and* a word; each figure has a
``<title>``, a ``<desc>`` with its figures and an accessible name; nothing uses an inline
style (the CSP refuses them: sizes and colours are SVG attributes or classes). Each figure
says which target it shows (``target_note``: "本镇目标 = 区目标 × 12/131").
"""
import itertools

from core.pace import Pace, Share, quota_pace, status as pace_status
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l

STATUS_LABELS = {"on_pace": _l("On pace"), "behind": _l("Behind pace"),
                 "far_behind": _l("Far behind pace")}
_ids = itertools.count(1)


def chart_id(prefix: str) -> str:
    """A page-unique id for a figure's patterns and title (a page may hold many charts)."""
    return f"{prefix}-{next(_ids)}"


def status_label(status: str) -> str:
    return str(STATUS_LABELS[status])


def target_note(share: Share) -> str:
    """Which target a figure shows: the district's, or a scope's share of it."""
    if share.kind == "district":
        return _("District target")
    values = dict(villages=share.villages, total=share.total)
    if share.kind == "town":
        return _("Town target = district target × %(villages)d/%(total)d", **values)
    if share.kind == "firm":
        return _("Firm target = district target × %(villages)d/%(total)d (its lawyers' villages)",
                 **values)
    if share.kind == "lawyer":
        return _("Your target = district target × %(villages)d/%(total)d (your villages)",
                 **values)
    return _("Village target = district target × %(villages)d/%(total)d", **values)


def nice_max(value: float) -> int:
    """A round top for an axis, at least 4, so that quarter ticks are whole numbers."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step * 4:
            return step * 4
    return -(-int(value) // 1000) * 1000


def _r(value: float) -> float:
    return round(value, 1)


def month_label(month: int) -> str:
    return _("M%(month)d", month=month)


# --- a progress bar against pace -------------------------------------------------------------------

def pace_bar(p: Pace, label: str) -> dict:
    """A horizontal bar of ``p`` (0–100 wide) with the pace mark where the work should be."""
    return {"id": chart_id("bar"), "status": p.status, "status_label": status_label(p.status),
            "width": _r(p.percent), "mark": _r(p.expected_percent), "reached": p.reached,
            "label": _("%(name)s: %(done)d of %(target)d, %(expected)d expected by today, "
                       "%(status)s", name=label, done=p.done, target=p.target,
                       expected=p.expected_count, status=status_label(p.status))}


def quota_bar(held: int, required: int, pairing, year: int, label: str) -> dict:
    """A pairing's sessions or publicity events held against what it owes in ``year``, as
    a bar against what is due by today (``core.pace.quota_pace``, the assessment's early
    warning): ``{"bar", "pace"}`` (the lawyer's home)."""
    p = quota_pace(held, required, term_start=pairing.term_start, term_end=pairing.term_end,
                   year=year)
    return {"bar": pace_bar(p, label), "pace": p}


# --- a programme's cumulative progress by month ------------------------------------------------------

PACE_CHART = {"width": 640, "height": 240, "left": 44, "right": 76, "top": 14, "bottom": 30}


def pace_chart(series, name: str) -> dict:
    """Columns of done by the end of each month (coloured by the status then), the expected
    pace as a line over the year, the target as a dashed line (``series``:
    ``core.series.ProgramSeries``)."""
    c = PACE_CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    target = series.pace.target
    top = nice_max(max([target, *series.done, 1]))
    slot = plot_w / 12
    base = c["top"] + plot_h

    def y(value: float) -> float:
        return _r(base - plot_h * value / top)

    bars = []
    for i, value in enumerate(series.done):
        current = i == series.months_known - 1
        status = series.pace.status if current else pace_status(value, series.expected[i])
        bars.append({"x": _r(c["left"] + i * slot + slot * 0.2), "y": y(value),
                     "width": _r(slot * 0.6), "height": _r(plot_h * value / top),
                     "value": value, "status": status, "month": month_label(i + 1),
                     "expected": int(series.expected[i] + 1e-9)})
    points = [(_r(c["left"] + (i + 1) * slot), y(value)) for i, value in enumerate(series.expected)]
    line = " ".join(f"{x},{y_}" for x, y_ in [(c["left"], base), *points])
    ticks = [{"value": top * k // 4, "y": y(top * k / 4)} for k in range(5)]
    months = [{"x": _r(c["left"] + i * slot + slot / 2), "label": month_label(i + 1)}
              for i in range(12)]
    p = series.pace
    summary = _("%(name)s: %(done)d of %(target)d done, %(expected)d expected by today, "
                "%(status)s.", name=name, done=p.done, target=p.target,
                expected=p.expected_count, status=status_label(p.status))
    summary = f"{summary} {target_note(p.share)}"  # which target the figure shows
    by_month = "; ".join(f"{b['month']} {b['value']}" for b in bars)
    return {**c, "id": chart_id("pace"), "bars": bars, "line": line, "points": points,
            "ticks": ticks, "months": months, "base_y": base, "right_x": c["width"] - c["right"],
            "target_y": y(target), "target": target, "pace": p, "name": name,
            "status_label": status_label(p.status), "title": summary,
            "desc": _("Done by the end of each month: %(months)s.", months=by_month)
            if bars else _("Nothing counted yet this year.")}


# --- sessions planned and held by month ------------------------------------------------------------

MONTH_CHART = {"width": 640, "height": 220, "left": 40, "right": 10, "top": 14, "bottom": 30}


def session_chart(months) -> dict:
    """Per month a planned column (outlined) and a held column inside it; a month that is
    over with sessions not held is marked by status (``months``: core.series.SessionMonth)."""
    c = MONTH_CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    top = nice_max(max([m.planned for m in months] + [m.held for m in months] + [1]))
    slot = plot_w / 12
    base = c["top"] + plot_h
    columns = []
    for i, m in enumerate(months):
        x = c["left"] + i * slot
        status = pace_status(m.held, m.planned) if m.past else "planned"
        columns.append({
            "x": _r(x + slot * 0.15), "width": _r(slot * 0.7),
            "planned_y": _r(base - plot_h * m.planned / top),
            "planned_h": _r(plot_h * m.planned / top),
            "held_x": _r(x + slot * 0.3), "held_width": _r(slot * 0.4),
            "held_y": _r(base - plot_h * m.held / top), "held_h": _r(plot_h * m.held / top),
            "label_x": _r(x + slot / 2), "month": month_label(m.month),
            "planned": m.planned, "held": m.held, "status": status, "past": m.past})
    ticks = [{"value": top * k // 4, "y": _r(base - plot_h * k / 4)} for k in range(5)]
    held, planned = sum(m.held for m in months), sum(m.planned for m in months)
    return {**c, "id": chart_id("sessions"), "columns": columns, "ticks": ticks, "base_y": base,
            "right_x": c["width"] - c["right"],
            "title": _("On-site sessions by month: %(held)d held of %(planned)d planned.",
                       held=held, planned=planned),
            "desc": "; ".join(_("%(month)s: %(held)d held of %(planned)d planned",
                                month=col["month"], held=col["held"], planned=col["planned"])
                              for col in columns)}


# --- a list of horizontal bars (towns, lawyers' villages, programmes) ---------------------------------

BAR_LIST = {"width": 580, "row": 26, "label_w": 140, "value_w": 140, "top": 4}


def bar_list(rows: list[tuple[str, Pace]], title: str) -> dict:
    """One horizontal bar per (label, pace): the share of its target done, a mark at the
    pace, the figures and the status in words at the end of the row."""
    c = BAR_LIST
    bar_w = c["width"] - c["label_w"] - c["value_w"] - 16
    items = []
    for i, (label, p) in enumerate(rows):
        y = c["top"] + i * c["row"]
        items.append({"label": label, "y": y, "text_y": y + c["row"] / 2 + 4, "pace": p,
                      "bar_x": c["label_w"] + 8, "bar_y": y + 6, "bar_h": c["row"] - 12,
                      "fill_w": _r(bar_w * p.percent / 100),
                      "mark_x": _r(c["label_w"] + 8 + bar_w * p.expected_percent / 100),
                      "status": p.status, "status_label": status_label(p.status),
                      "value": f"{p.done} / {p.target}"})
    height = c["top"] * 2 + c["row"] * max(1, len(rows))
    desc = "; ".join(_("%(name)s: %(done)d of %(target)d, %(expected)d expected by today, "
                       "%(status)s", name=item["label"], done=item["pace"].done,
                       target=item["pace"].target, expected=item["pace"].expected_count,
                       status=item["status_label"]) for item in items)
    return {**c, "id": chart_id("bars"), "rows": items, "height": height, "bar_w": bar_w,
            "bar_x": c["label_w"] + 8, "value_x": c["width"] - c["value_w"] + 4,
            "title": title, "desc": desc}

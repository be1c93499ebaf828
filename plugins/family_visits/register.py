"""The register of households (婚姻家庭矛盾纠纷台账) of programme 1, as an .xlsx download.

The programme's ledger (core.ledger) lists every household visit. The plan also asks that
every household showing a marriage or family dispute be registered case by case (逐案逐户
登记): this register has one row per registered household — a household (the visit's
subject, told apart per village as the metric does) with at least one done visit whose
"registered" box is ticked — and sums up all its done visits: where (village, town), by
whom (the lawyers, in the order they first visited), the first and latest visit (the day
of the service as the lawyer logged it, else the day the visit was recorded), how many
visits, every dispute type, risk sign and referral seen over the visits, and what was done
at the latest visit.

The core's rules hold as for the ledger: the register holds the visits ``user`` may read
(``core.list_tasks``: a town's coordinator sees their town); a row shows the family
only when ``user`` sees every visit in it in full (``core.task_view``), else it
says only where, by whom, how many visits and the months of the first and latest one —
the name, the address, the dispute types, risk signs, referrals and actions read "***";
every export is audited (``core.audit_export``, action ``ledger.export`` with
``register: households``, and ``task.view_masked`` naming the visits shown restricted).
Admins and coordinators download it from the programme's page
(``GET /programmes/family_visits/households.xlsx``).
"""
import datetime as dt
from dataclasses import dataclass, field

from flask import Blueprint, make_response
from flask_babel import get_locale
from flask_login import current_user

from core import (MANAGERS, MASK, N_, Task, User, WorkLog, allow, audit_export, audit_views,
                  build_form, choice_labels, download_headers, get_registry, gettext_for,
                  list_tasks, month_of, task_view, to_local, today, xlsx)

PROGRAM = "family_visits"
VISIT = "household_visit"
REGISTER_NAME = N_("婚姻家庭矛盾纠纷台账")
NO_REFERRAL = "none"
SEPARATOR = ", "  # as the ledger joins the choices of a multiple choice


@dataclass
class Household:
    """A registered household and its done visits, oldest first."""
    name: str
    village: str | None
    town: str | None
    place: tuple = ()  # town and village codes: the district's order
    visits: list[Task] = field(default_factory=list)
    visited_on: list[dt.date] = field(default_factory=list)  # a day per visit

    def values(self, name: str) -> list:
        """The values a field had over the visits (once each, a multiple choice's ticked
        values one by one), oldest first."""
        seen = []
        for visit in self.visits:
            value = (visit.data or {}).get(name)
            seen.extend(value if isinstance(value, list) else [value] if value else [])
        return list(dict.fromkeys(seen))

    def latest_text(self, name: str) -> str | None:
        """The latest visit's non-empty value of a text field."""
        for visit in reversed(self.visits):
            if (visit.data or {}).get(name):
                return visit.data[name]
        return None


def _visit_days(visits: list[Task]) -> dict[int, dt.date]:
    """The district day of each visit: the service's time in its work-log entry (the lawyer
    may log a visit after the day), else when the visit was recorded done."""
    days = {t.id: to_local(t.completed_at).date() for t in visits if t.completed_at}
    ids = [t.id for t in visits]
    for start in range(0, len(ids), 500):  # well under any database's limit of parameters
        logged = (WorkLog.select(WorkLog.task, WorkLog.occurred_at)
                  .where(WorkLog.task.in_(ids[start:start + 500])).tuples())
        days.update({task_id: to_local(at).date() for task_id, at in logged})
    return days


def registered_households(user: User | None) -> list[Household]:
    """The registered households among the done visits ``user`` may read, by town and
    village (their codes), first visit and name."""
    visits = list(list_tasks(user, program=PROGRAM, task_type=VISIT, status="done"))
    days = _visit_days(visits)
    visits.sort(key=lambda t: (days.get(t.id) or dt.date.min, t.completed_at or dt.datetime.min,
                               t.id))
    households: dict[tuple, Household] = {}
    for visit in visits:
        name = visit.subject or (visit.data or {}).get("household")
        if not name:
            continue
        key = (visit.village_id, visit.town_id, name)
        if key not in households:
            village = visit.village if visit.village_id else None
            town = visit.town if visit.town_id else None
            households[key] = Household(
                name=name, village=village.name if village else None,
                town=town.name if town else None,
                place=(town.code if town else "", village.code if village else ""))
        households[key].visits.append(visit)
        households[key].visited_on.append(days.get(visit.id))
    registered = [h for h in households.values()
                  if any((t.data or {}).get("registered") for t in h.visits)]
    return sorted(registered, key=lambda h: (h.place, h.visited_on[0] or dt.date.min, h.name))


def _labels(values: list[str], choices: dict[str, str]) -> str | None:
    """Choice values by their labels, in the form's order."""
    ordered = [label for value, label in choices.items() if value in values]
    return SEPARATOR.join(ordered) or None


def export_register(user: User | None, *, address: str = "", locale: str = "zh_CN") -> bytes:
    """The register of households ``user`` may read as the bytes of an .xlsx file; a row
    restricted (see the module) unless ``user`` sees each of its visits in full; the export
    audited."""
    core_text, own = gettext_for(locale), gettext_for(locale, __package__)  # core's, ours
    kind = get_registry().task_types[VISIT]
    form = build_form(kind, locale=locale)
    disputes, risks = choice_labels(form.dispute_types), choice_labels(form.risk_signs)
    referrals = choice_labels(form.referral)
    headers = [form.household.label.text, form.address.label.text, core_text("Village"),
               core_text("Town"), core_text("Lawyer"), own(N_("首次走访")),
               own(N_("最近走访")), own(N_("走访次数")),
               form.dispute_types.label.text, form.risk_signs.label.text,
               form.referral.label.text, own(N_("最近一次采取的措施"))]
    rows, shown, masked, seen = [], 0, 0, []
    households = registered_households(user)
    for household in households:
        views = [task_view(user, visit) for visit in household.visits]
        seen += views
        hidden = any(view.masked for view in views)
        masked, shown = masked + hidden, shown + (not hidden)
        lawyers = dict.fromkeys(t.assignee.name for t in household.visits if t.assignee_id)
        first, latest = household.visited_on[0], household.visited_on[-1]
        where = [household.village, household.town, SEPARATOR.join(lawyers) or None]
        if hidden:  # where, by whom and how often; never who, what or which day
            rows.append([MASK, MASK, *where, first and month_of(first),
                         latest and month_of(latest), len(household.visits),
                         MASK, MASK, MASK, MASK])
            continue
        referred = [v for v in household.values("referral") if v != NO_REFERRAL]
        rows.append([
            household.name, household.latest_text("address"), *where, first, latest,
            len(household.visits),
            _labels(household.values("dispute_types"), disputes),
            _labels(household.values("risk_signs"), risks),
            _labels(referred, referrals) or referrals.get(NO_REFERRAL),
            household.latest_text("actions")])
    body = xlsx(own(REGISTER_NAME), headers, rows)
    audit_export(user, PROGRAM, tasks=sum(len(h.visits) for h in households), shown=shown,
                 masked=masked, address=address, register="households",
                 households=len(households))
    audit_views(user, seen, via="register", address=address, program=PROGRAM)
    return body


# --- the download, linked from the programme's page ----------------------------------------

bp = Blueprint(PROGRAM, __name__, url_prefix="/programmes/family_visits",
               template_folder="templates")


@bp.route("/households.xlsx")
@allow(*MANAGERS)
def households_xlsx():
    """The register over the coordinator's scope (as the programme's ledger)."""
    body = export_register(current_user.user, locale=str(get_locale() or "zh_CN"))
    day = today().isoformat()
    # not cached: names of families in dispute
    return make_response(body, download_headers(f"{REGISTER_NAME}-{day}.xlsx",
                                                f"households-{PROGRAM}-{day}.xlsx"))


def _register_rows() -> int:
    """At most this many rows (the done visits in scope): over JIEDUI_EXPORT_JOB_ROWS the
    web makes the register by a queued job with a progress page (docs/plugins.md)."""
    return list_tasks(current_user.user, program=PROGRAM, task_type=VISIT,
                      status="done").count()


households_xlsx.export_rows = _register_rows

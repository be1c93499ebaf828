"""The registers the bureau asks for, as .xlsx (core.spreadsheet): the pairing list
(结对名单), and the major matters, case files and return visits of a report's period
(core.reports.Period). Each lists what the exporting user may read (core.access) and each
export is audited, with the ids of the records it held where their titles may name people
(case files, major matters), as their lists' pages are.

The programmes' own registers are the ledgers (core.ledger) and the plugins' (programme 1's
households); the work log's export is core.worklog's; the assessment's is core.assessment's.
"""
import datetime as dt

from peewee import JOIN

from core import clock, spreadsheet
from core.access import record_filter, village_request_filter
from core.arrangements import describe
from core.audit import record
from core.i18n import N_
from core.models import (CaseFile, LawFirm, Lawyer, MajorMatter, Pairing, ReturnVisit, Town,
                         User, Village)
from core.vocabulary import (CASE_STATUS_LABELS, MATTER_CATEGORY_LABELS, MATTER_STATUS_LABELS,
                             VILLAGE_KIND_LABELS)

REGISTERS = {"matters": N_("Major matters"), "cases": N_("Case files"),
             "visits": N_("Return visits")}
VISIT_STATUS_LABELS = {"open": N_("Open"), "done": N_("Done")}


def _local(instant: dt.datetime | None) -> dt.datetime | None:
    """A stored instant as the district's wall-clock time (no zone: Excel has none)."""
    return clock.to_local(instant).replace(tzinfo=None) if instant else None


def _where(query, *conditions):
    for condition in conditions:
        if condition is False:
            return query.where(Pairing.id.is_null() & Pairing.id.is_null(False))
        if condition is not True:
            query = query.where(condition)
    return query


def pairing_list(user: User | None, gettext, *, address: str = "") -> bytes:
    """结对名单: the active pairings of the villages ``user`` may read, by town and village:
    town, village, its code and kind, lawyer, firm, the lawyer's phone, the term and the
    on-site arrangement (what the villages publish, DOMAIN 五.6)."""
    query = _where(Pairing.select(Pairing, Village, Town, Lawyer, LawFirm)
                   .join(Village).join(Town).switch(Pairing).join(Lawyer).join(LawFirm)
                   .where(Pairing.status == "active")
                   .order_by(Town.code, Village.code), village_request_filter(user, Pairing))
    rows = [[p.village.town.name, p.village.name, p.village.code,
             gettext(VILLAGE_KIND_LABELS.get(p.village.kind, p.village.kind)), p.lawyer.name,
             p.lawyer.firm.name, p.lawyer.phone, p.term_start, p.term_end,
             describe(p.arrangement, gettext)] for p in query]
    book = spreadsheet.workbook()
    spreadsheet.add_sheet(
        book, gettext(N_("Pairing list")),
        [gettext(h) for h in (N_("Town"), N_("Village"), N_("Code"), N_("Kind"), N_("Lawyer"),
                              N_("Law firm"), N_("Phone"), N_("Term starts"),
                              N_("Term ends"), N_("On-site hours"))], rows,
        formats={7: "yyyy-mm-dd", 8: "yyyy-mm-dd"})
    record(user, "register.export", address=address,
           detail={"register": "pairings", "rows": len(rows)})
    return spreadsheet.to_bytes(book)


def matters_register(user: User | None, period, gettext, *, address: str = "") -> bytes:
    """The major matters reported in ``period`` that ``user`` may read, oldest first."""
    start, end = period.bounds()
    matters = list(MajorMatter.select(MajorMatter, Lawyer, Village, Town)
                   .join(Lawyer).switch(MajorMatter)
                   .join(Village, JOIN.LEFT_OUTER).join(Town, JOIN.LEFT_OUTER)
                   .where((MajorMatter.reported_at >= start) & (MajorMatter.reported_at < end)
                          & record_filter(user, MajorMatter))
                   .order_by(MajorMatter.reported_at, MajorMatter.id))
    yes, no = gettext(N_("yes")), gettext(N_("no"))
    rows = [[_local(m.reported_at), gettext(MATTER_CATEGORY_LABELS.get(m.category, m.category)),
             m.title, m.village.town.name if m.village_id else "",
             m.village.name if m.village_id else "", m.lawyer.name, _local(m.occurred_at),
             _local(m.deadline_at), yes if m.late else no,
             gettext(MATTER_STATUS_LABELS.get(m.status, m.status)), _local(m.acknowledged_at),
             _local(m.closed_at), m.resolution] for m in matters]
    heads = (N_("Reported at"), N_("Category"), N_("Title"), N_("Town"), N_("Village"),
             N_("Lawyer"), N_("Occurred"), N_("Deadline"), N_("Reported late"), N_("Status"),
             N_("Acknowledged at"), N_("Closed at"), N_("Resolution"))
    times = {i: "yyyy-mm-dd hh:mm" for i in (0, 6, 7, 10, 11)}
    book = spreadsheet.workbook()
    spreadsheet.add_sheet(book, gettext(N_("Major matters")), [gettext(h) for h in heads],
                          rows, formats=times, widths={2: 40, 12: 50})
    record(user, "register.export", address=address,
           detail={"register": "matters", "period": period.key,
                   "matters": [m.id for m in matters]})
    return spreadsheet.to_bytes(book)


def cases_register(user: User | None, period, gettext, *, address: str = "") -> bytes:
    """The case files opened or closed in ``period`` that ``user`` may read."""
    first, last = period.first, period.last
    cases = list(CaseFile.select(CaseFile, Lawyer, Village, Town)
                 .join(Lawyer).switch(CaseFile)
                 .join(Village, JOIN.LEFT_OUTER).join(Town, JOIN.LEFT_OUTER)
                 .where((CaseFile.opened_on.between(first, last)
                         | CaseFile.closed_on.between(first, last))
                        & record_filter(user, CaseFile))
                 .order_by(CaseFile.number))
    rows = [[c.number, c.title, c.category, c.village.town.name if c.village_id else "",
             c.village.name if c.village_id else "", c.lawyer.name, c.opened_on, c.closed_on,
             gettext(CASE_STATUS_LABELS.get(c.status, c.status))] for c in cases]
    heads = (N_("Number"), N_("Title"), N_("Category"), N_("Town"), N_("Village"),
             N_("Lawyer"), N_("Opened on"), N_("Closed on"), N_("Status"))
    book = spreadsheet.workbook()
    spreadsheet.add_sheet(book, gettext(N_("Case files")), [gettext(h) for h in heads], rows,
                          formats={6: "yyyy-mm-dd", 7: "yyyy-mm-dd"}, widths={1: 40})
    record(user, "register.export", address=address,
           detail={"register": "cases", "period": period.key, "cases": [c.id for c in cases]})
    return spreadsheet.to_bytes(book)


def visits_register(user: User | None, period, gettext, *, address: str = "") -> bytes:
    """The return visits done in ``period``, and those due in it and not done, that
    ``user`` may read."""
    start, end = period.bounds()
    done = ((ReturnVisit.status == "done") & (ReturnVisit.done_at >= start)
            & (ReturnVisit.done_at < end))
    due = (ReturnVisit.status == "open") & ReturnVisit.due_on.between(period.first, period.last)
    visits = list(_where(ReturnVisit.select(ReturnVisit, Pairing, Village, Town, Lawyer)
                         .join(Pairing).join(Village).join(Town).switch(Pairing).join(Lawyer)
                         .where(done | due)
                         .order_by(Town.code, Village.code, ReturnVisit.period),
                         village_request_filter(user, Pairing)))
    rows = [[v.period, v.pairing.village.town.name, v.pairing.village.name,
             v.pairing.lawyer.name, v.due_on, gettext(VISIT_STATUS_LABELS.get(v.status, v.status)),
             v.contact, v.satisfaction, v.comments, _local(v.done_at)] for v in visits]
    heads = (N_("Quarter"), N_("Town"), N_("Village"), N_("Lawyer"), N_("Due"), N_("Status"),
             N_("Whom we asked"), N_("Satisfaction"), N_("Comments"), N_("Done"))
    book = spreadsheet.workbook()
    spreadsheet.add_sheet(book, gettext(N_("Return visits")), [gettext(h) for h in heads],
                          rows, formats={4: "yyyy-mm-dd", 9: "yyyy-mm-dd hh:mm"},
                          widths={8: 50})
    record(user, "register.export", address=address,
           detail={"register": "visits", "period": period.key, "rows": len(rows)})
    return spreadsheet.to_bytes(book)

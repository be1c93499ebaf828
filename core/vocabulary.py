"""The programme's words: every enumeration the models store, with the label people read.

One home for each (DESIGN: "every enum with its label once, used by web and CLI alike"):
the models validate and store the keys, the web wraps the labels lazily for its pages
(``web.labels``), the CLI, the jobs and the exports translate them with
``core.i18n.gettext_for``. Labels are English msgids (``N_``), translated to zh_CN in the
catalog; the programme's own terms that are never translated (坐班, 法制宣传) live with the
calendar's titles (``core.placements.KIND_WORDS``).

This module imports nothing of core but ``core.i18n``: the models and settings build on it.
"""
from core.i18n import N_

# --- people and places ---------------------------------------------------------------------

ROLES = ("admin", "coordinator", "lawyer", "village")
ROLE_LABELS = {"admin": N_("Administrator"), "coordinator": N_("Coordinator"),
               "lawyer": N_("Lawyer"), "village": N_("Village user")}
MANAGERS = ("admin", "coordinator")  # who manages villages (within their scope)
STAFF = MANAGERS + ("lawyer",)  # who work the programme (not a village's own login)

VILLAGE_KINDS = ("village", "community")
VILLAGE_KIND_LABELS = {"village": N_("Rural village"), "community": N_("Residential community")}

# The members of a pairing's WeChat service group (五.7), in the plan's order.
GROUP_ROLES = (
    "lawyer",            # 结对律师
    "assistant",         # 律师助理
    "village_committee",  # 村(居)两委
    "mediation",         # 调委会
    "party_member",      # 党员
    "resident_rep",      # 居民代表
    "judicial_office",   # 司法所工作人员
)
LAWYER_SIDE = ("lawyer", "assistant")  # the other roles are the village side of a group
GROUP_ROLE_NAMES = {
    "lawyer": N_("Paired lawyer"),
    "assistant": N_("Lawyer's assistants"),
    "village_committee": N_("Village committees"),
    "mediation": N_("Mediation committee"),
    "party_member": N_("Party members"),
    "resident_rep": N_("Resident representatives"),
    "judicial_office": N_("Judicial office staff"),
}

# --- the calendar ----------------------------------------------------------------------------

# 坐班, 法制宣传, programme task, a village's activity the lawyer accepted an invitation to
# (五.5, core.village_requests: it takes the lawyer's time but counts toward no quota)
EVENT_KINDS = ("session", "publicity", "task", "activity")
EVENT_KIND_LABELS = {"session": N_("On-site session"), "publicity": N_("Legal publicity"),
                     "task": N_("Programme task"), "activity": N_("Village activity")}
EVENT_STATUSES = ("planned", "held", "cancelled")
EVENT_STATUS_LABELS = {"planned": N_("Planned"), "held": N_("Held"),
                       "cancelled": N_("Cancelled")}
# Why an event is where it is (``Event.placement``): on the pairing's arrangement; on the
# nearest workday because the arranged day is off, the lawyer is booked then, or the day is
# outside the term; near a legal publicity day; moved by a person; a make-up added by a
# person. Empty for events the planner did not place (programme tasks).
PLACEMENTS = ("arranged", "day_off", "busy", "term", "publicity", "manual", "makeup")
# How a held event was recorded: by the lawyer's sign-in and sign-out on the day
# (core.signins), by hand on the day, or by hand on a later day (recorded late).
HELD_PROOFS = ("signin", "hand", "late")
HELD_PROOF_LABELS = {"signin": N_("Signed in on site"), "hand": N_("Recorded by hand"),
                     "late": N_("Recorded late")}
HALF_DAYS = ("am", "pm")
HALF_DAY_LABELS = {"am": N_("Morning"), "pm": N_("Afternoon")}
HOLIDAY_KINDS = ("off", "workday")  # a day off on a weekday; a make-up workday (调休补班)
HOLIDAY_KIND_LABELS = {"off": N_("Day off"), "workday": N_("Make-up workday")}
HOLIDAY_SOURCES = ("official", "estimate", "manual")
HOLIDAY_SOURCE_LABELS = {"official": N_("Official notice"), "estimate": N_("Estimate"),
                         "manual": N_("Entered by an administrator")}
PLAN_RUN_STATUSES = ("queued", "running", "done", "failed")
PLAN_RUN_LABELS = {"queued": N_("Waiting"), "running": N_("Planning…"), "done": N_("Done"),
                   "failed": N_("Failed")}

# --- programme tasks and the work log --------------------------------------------------------

TASK_STATUSES = ("open", "in_progress", "done", "cancelled")  # "overdue" is derived
OPEN_STATUSES = ("open", "in_progress")
TASK_STATUS_LABELS = {"open": N_("Open"), "in_progress": N_("In progress"), "done": N_("Done"),
                      "cancelled": N_("Cancelled"), "overdue": N_("Overdue")}
TASK_LEVELS = ("village", "town", "district")
TASK_LEVEL_LABELS = {"village": N_("Village"), "town": N_("Town"), "district": N_("District")}
WORK_MODES = ("onsite", "phone", "wechat", "network", "fax", "other")
WORK_MODE_LABELS = {"onsite": N_("On site"), "phone": N_("Phone"), "wechat": N_("WeChat"),
                    "network": N_("Online"), "fax": N_("Fax"), "other": N_("Other")}

# The lawyer's ten duties in the plan (四.1–10): the category of a work-log entry. In the
# plan's order; an entry written before categories existed may have none (未分类).
DUTIES = ("rules", "publicity", "mediation", "meetings", "public_affairs", "legal_aid",
          "demands", "contracts", "litigation", "other")
DUTY_LABELS = {
    "rules": N_("Village charter, conventions and rules"),                  # 四.1
    "publicity": N_("Legal publicity, consultation and training"),          # 四.2
    "mediation": N_("Public security and dispute mediation"),               # 四.3
    "meetings": N_("Village meetings and legal opinions on decisions"),     # 四.4
    "public_affairs": N_("Public affairs and legal documents"),              # 四.5
    "legal_aid": N_("Legal aid for vulnerable people"),                     # 四.6
    "demands": N_("Residents' demands passed on"),                          # 四.7
    "contracts": N_("Contracts and agreements reviewed or drafted"),        # 四.8
    "litigation": N_("Litigation and non-litigation agency"),               # 四.9
    "other": N_("Other legal matters of the village"),                      # 四.10
}
UNCATEGORISED = N_("Uncategorised")

# --- records ------------------------------------------------------------------------------------

CASE_STATUSES = ("open", "closed")
CASE_STATUS_LABELS = {"open": N_("Open"), "closed": N_("Closed")}
# 重大事项 (五.3): the five kinds of matter the lawyer must report.
MATTER_CATEGORIES = ("collective", "major_decision", "instability", "emergency", "stability")
MATTER_CATEGORY_LABELS = {
    "collective": N_("Collective litigation or petitions"),
    "major_decision": N_("Major decisions or wide-impact legal issues"),
    "instability": N_("Illegal acts that may cause instability"),
    "emergency": N_("Major emergencies"),
    "stability": N_("Other matters affecting stability"),
}
MATTER_STATUSES = ("reported", "acknowledged", "following", "closed")
MATTER_STATUS_LABELS = {"reported": N_("Reported"), "acknowledged": N_("Acknowledged"),
                        "following": N_("Following up"), "closed": N_("Closed")}

# --- the assessment -------------------------------------------------------------------------

GRADES = {"excellent": N_("Excellent"), "pass": N_("Pass"), "fail": N_("Fail")}
CRITERIA_LABELS = {"sessions": N_("On-site sessions"), "publicity": N_("Publicity events"),
                   "worklog": N_("Work log"), "matters": N_("Major matters on time"),
                   "satisfaction": N_("Satisfaction"), "tasks": N_("Programme tasks")}

# --- what runs in the background --------------------------------------------------------------

PROBLEM_SOURCES = ("plugin", "notification", "feed", "job")
PROBLEM_SOURCE_LABELS = {"plugin": N_("Plugin"), "notification": N_("Notification channel"),
                         "feed": N_("Calendar feed"), "job": N_("Background job")}

# --- what a village asks of its lawyer (core.village_requests) --------------------------------

# An invitation to a village activity (五.5): a meeting or event, or a legal-publicity event
# (which, accepted, takes the place of the year's next planned publicity event).
INVITATION_KINDS = ("activity", "publicity")
INVITATION_KIND_LABELS = {"activity": N_("Meeting or village activity"),
                          "publicity": N_("Legal publicity event")}
INVITATION_STATUSES = ("pending", "accepted", "declined", "withdrawn")
INVITATION_STATUS_LABELS = {"pending": N_("Awaiting the lawyer"), "accepted": N_("Accepted"),
                            "declined": N_("Declined"), "withdrawn": N_("Withdrawn")}
# A resident's demand passed on to the lawyer (四.7), by what it is about.
DEMAND_CATEGORIES = ("family", "neighbours", "land_housing", "labour", "social_security",
                     "consumer", "public_affairs", "other")
DEMAND_CATEGORY_LABELS = {
    "family": N_("Marriage and family"),
    "neighbours": N_("Neighbours and disputes"),
    "land_housing": N_("Land and housing"),
    "labour": N_("Work and wages"),
    "social_security": N_("Social security and assistance"),
    "consumer": N_("Consumer rights and contracts"),
    "public_affairs": N_("Village public affairs"),
    "other": N_("Other"),
}
DEMAND_STATUSES = ("open", "answered")
DEMAND_STATUS_LABELS = {"open": N_("Awaiting an answer"), "answered": N_("Answered")}
# A village's word on a past session or publicity event.
VERDICTS = ("confirmed", "disputed")
VERDICT_LABELS = {"confirmed": N_("Confirmed it took place"), "disputed": N_("Disputed")}

# --- the bureau's periodic reports (core.reports) ---------------------------------------------

# A report covers a calendar month, quarter or year of the district (its time zone).
REPORT_PERIODS = ("month", "quarter", "year")
REPORT_PERIOD_LABELS = {"month": N_("Months"), "quarter": N_("Quarters"), "year": N_("Years")}

"""Every route has an explicit access rule, and each rule holds for every kind of user.

The table below must name every endpoint of the app: a new route without a row fails
``test_every_route_is_in_the_table``. Each row gives the URL of an object in town 1 and
who may reach it; everyone else must get 403 or 404, and anonymous users go to the login.
"""
import datetime as dt

import pytest

from core.users import create_user
from tests.factories import PASSWORD

ACTORS = ("admin", "coordinator", "town_coordinator", "other_town_coordinator", "lawyer",
          "other_lawyer", "village", "other_village")
MANAGERS_IN_SCOPE = {"admin", "coordinator", "town_coordinator"}
COORDINATORS = MANAGERS_IN_SCOPE | {"other_town_coordinator"}
READERS_OF_VILLAGE_0 = MANAGERS_IN_SCOPE | {"lawyer", "village"}
LOGGED_IN = set(ACTORS)



# Objects of town 1 that some routes need, made on first use within a test.
def _task(d) -> int:
    """A household visit in village 0 for its paired lawyer."""
    from core.models import Task
    from core.tasks import assign_task
    task = Task.select().where(Task.village == d.villages[0]).first()
    return (task or assign_task(None, program="family_visits", task_type="household_visit",
                                village=d.villages[0])).id


def _event(d) -> int:
    """A planned on-site session of pairing 0 (village 0, lawyer 0)."""
    from core.clock import utc_from_local
    from core.models import Event
    event = Event.select().where(Event.pairing == d.pairings[0]).first()
    if event is None:
        event = Event.create(uid="access-test@jiedui", kind="session", village=d.villages[0],
                             pairing=d.pairings[0], lawyer=d.lawyers[0],
                             starts_at=utc_from_local(dt.date(2027, 4, 8), dt.time(8, 30)),
                             ends_at=utc_from_local(dt.date(2027, 4, 8), dt.time(12, 0)))
    return event.id


def _signin_photo(d) -> int:
    """A photo of a sign-in at the event of ``_event``."""
    import io

    from PIL import Image

    from core import signins
    from core.clock import now_utc
    from core.models import SignIn, SignInPhoto
    photo = SignInPhoto.select().first()
    if photo is None:
        event_id = _event(d)
        signin = SignIn.get_or_none(SignIn.event == event_id) or SignIn.create(
            event=event_id, lawyer=d.lawyers[0], signed_in_at=now_utc())
        out = io.BytesIO()
        Image.new("RGB", (8, 8)).save(out, "JPEG")
        photo = signins.add_photo(signin, out.getvalue())
    return photo.id


def _plan_run(d) -> int:
    from core.models import PlanRun
    run = PlanRun.get_or_none(PlanRun.town == d.towns[0])
    return (run or PlanRun.create(year=2027, town=d.towns[0], status="done")).id


def _manual_holiday(d) -> str:
    from core.models import Holiday
    Holiday.get_or_create(day=dt.date(2027, 3, 12), defaults={"kind": "off", "source": "manual"})
    return "2027-03-12"


def _problem(d) -> int:
    from core.problems import report
    return report("job", "job:access-test", "job access-test failed").id


def _feed_token(d, user=None) -> tuple:
    """A feed token of the lawyer user: (id, raw token)."""
    from core.feeds import create_token
    token, raw = create_token(None, user or d.users.lawyer, "iPhone")
    return token.id, raw


def _matter(d) -> int:
    """A major matter on village 0, reported by its lawyer."""
    from core.matters import report_matter
    from core.models import MajorMatter
    matter = MajorMatter.select().where(MajorMatter.village == d.villages[0]).first()
    return (matter or report_matter(d.users.lawyer, category="emergency", title="测试事项",
                                    occurred_at=dt.datetime(2026, 3, 1, 1, 0),
                                    village=d.villages[0])).id


def _return_visit(d) -> int:
    from core.feedback import create_return_visits
    from core.models import ReturnVisit
    create_return_visits(dt.date(2026, 4, 1))
    return ReturnVisit.get(ReturnVisit.pairing == d.pairings[0]).id


def _low_rating(d) -> int:
    from core.models import Rating
    rating, _ = Rating.get_or_create(pairing=d.pairings[0], period="2026Q1", device_hash="x",
                                     defaults={"score": 1})
    return rating.id


def _burst(d) -> int:
    """A burst of anonymous ratings in village 0, with one flagged rating."""
    from core.clock import now_utc
    from core.models import Rating, RatingBurst
    burst = RatingBurst.select().where(RatingBurst.village == d.villages[0]).first()
    if burst is None:
        burst = RatingBurst.create(village=d.villages[0], started_at=now_utc(),
                                   last_at=now_utc(), count=1)
        Rating.create(pairing=d.pairings[0], period="2026Q4", device_hash="burst", score=1,
                      burst=burst)
    return burst.id


def _flagged_rating(d) -> int:
    from core.models import Rating
    return Rating.get(Rating.burst == _burst(d)).id


def _own_notification(d, user_attr="lawyer") -> int:
    """A notification of the lawyer user (others get 404 on it)."""
    from core.models import Notification
    user = getattr(d.users, user_attr)
    note, _ = Notification.get_or_create(user=user, kind="test", title="hello")
    return note.id


def _village_photo(d) -> str:
    """Give lawyer 0 a photo file in the instance folder, so the photo route serves it."""
    from core.config import get_settings
    folder = get_settings().instance / "photos"
    folder.mkdir(exist_ok=True)
    (folder / "lawyer0.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    d.lawyers[0].photo = "photos/lawyer0.png"
    d.lawyers[0].save()
    return f"/v/{d.villages[0].code}/photo"


def _case(d) -> int:
    """A case file of lawyer 0 in village 0, with one text attachment."""
    import io

    from core.cases import attach_file, open_case
    from core.models import CaseFile
    case = CaseFile.select().where(CaseFile.village == d.villages[0]).first()
    if case is None:
        case = open_case(None, title="土地承包纠纷", lawyer=d.lawyers[0], village=d.villages[0],
                         opened_on=dt.date(2026, 3, 1))
        attach_file(None, case, "notes.txt", io.BytesIO("调解记录".encode()))
    return case.id


def _attachment(d) -> int:
    from core.models import Attachment
    return Attachment.get(Attachment.case == _case(d)).id


def _log_entry(d) -> int:
    """A work-log entry of lawyer 0 in village 0 (written now: open to corrections)."""
    from core.models import WorkLog
    from core.worklog import log_service
    entry = WorkLog.select().where(WorkLog.village == d.villages[0]).first()
    if entry is None:
        entry = log_service(None, lawyer=d.lawyers[0], village=d.villages[0],
                            occurred_at=dt.datetime(2026, 3, 1, 2), duration_minutes=60,
                            mode="phone", content="电话咨询", category="publicity")
    return entry.id


def _log_photo(d) -> int:
    """A photo of that entry (made again when a test removed it)."""
    import io

    from PIL import Image

    from core.models import WorkLog, WorkLogPhoto
    from core.worklog import add_photo
    entry = WorkLog.get_by_id(_log_entry(d))
    photo = WorkLogPhoto.select().where(WorkLogPhoto.entry == entry.id).first()
    if photo is None:
        out = io.BytesIO()
        Image.new("RGB", (40, 30), "blue").save(out, "JPEG")
        photo = add_photo(None, entry, io.BytesIO(out.getvalue()))
    return photo.id


def _long_job(d) -> int:
    """A finished export job of the district coordinator, with its file (core.longwork)."""
    from core import longwork
    from core.models import LongJob
    job = LongJob.select().first()
    if job is None:
        job = LongJob.create(kind="export", params={}, key="test", user=d.users.coordinator,
                             status="done", filename="工作日志.xlsx")
        LongJob.update(result_path=longwork._store(job, b"PK")).where(
            LongJob.id == job.id).execute()
    return job.id


FEED_USERS = COORDINATORS | {"lawyer", "other_lawyer"}
EDITORS_OF_VILLAGE_0 = MANAGERS_IN_SCOPE | {"lawyer"}

# endpoint: (method, url built from the district `d`, actors admitted)
def _group(d) -> int:
    """The WeChat group of pairing 0 (village 0)."""
    from core.models import WechatGroup
    return WechatGroup.get(WechatGroup.pairing == d.pairings[0]).id


def _group_with_qr(d) -> int:
    """The group of pairing 0, with a join QR code that works (for a week)."""
    import io

    from PIL import Image

    from core.groups import set_join_qr
    from core.models import WechatGroup
    group = WechatGroup.get(WechatGroup.pairing == d.pairings[0])
    if not group.join_qr:
        picture = io.BytesIO()
        Image.new("RGB", (40, 40), "white").save(picture, "PNG")
        set_join_qr(None, group, io.BytesIO(picture.getvalue()))
    return group.id


def _group_member(d) -> int:
    """A village-side member of pairing 0's group (the paired lawyer cannot be removed)."""
    from core.models import WechatGroupMember
    member, _ = WechatGroupMember.get_or_create(group=_group(d), name="村委主任",
                                                role="village_committee")
    return member.id


def _invitation(d) -> int:
    """A pending invitation of village 0 to its lawyer, a week ahead (a workday morning)."""
    from core.clock import today
    from core.models import Invitation
    from core.village_requests import invite
    found = Invitation.select().where(Invitation.village == d.villages[0]).first()
    if found is not None:
        return found.id
    day = today() + dt.timedelta(days=7)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return invite(None, d.villages[0], title="村民代表大会", place="村委会", day=day,
                  start=dt.time(9, 0), end=dt.time(10, 0)).id


def _demand(d) -> int:
    """An open resident's demand of village 0."""
    from core.models import ResidentDemand
    from core.village_requests import pass_on_demand
    found = ResidentDemand.select().where(ResidentDemand.village == d.villages[0]).first()
    return (found or pass_on_demand(None, d.villages[0], category="labour",
                                    text="工资被拖欠三个月")).id


def _past_session(d) -> int:
    """A session of village 0 held three days ago."""
    from core.clock import today
    from tests.factories import session
    return session(d.pairings[0], today() - dt.timedelta(days=3)).id


def _inspection(d) -> int:
    """An inspection of village 0 a week ago, with a follow-up still open."""
    from core.clock import today
    from core.inspections import record_inspection
    from core.models import Inspection
    found = Inspection.select().where(Inspection.village == d.villages[0]).first()
    return (found or record_inspection(
        None, d.villages[0], inspected_on=today() - dt.timedelta(days=7), kind="visit",
        checklist={"disclosure": "fail"}, findings="公示栏缺少照片", follow_up="补充照片",
        follow_up_due=today() + dt.timedelta(days=7))).id


ROUTES = {
    "coverage.index": ("GET", lambda d: "/coverage", COORDINATORS),
    "coverage.start": ("GET", lambda d: "/", LOGGED_IN),
    # the 工作台: what needs a lawyer or a village user, the desk of managers
    "home.index": ("GET", lambda d: "/home", LOGGED_IN),
    "villages.index": ("GET", lambda d: "/villages/", LOGGED_IN),
    # a list's .xlsx: whoever reads the list, of what the list shows them
    "villages.export": ("GET", lambda d: "/villages/export.xlsx", LOGGED_IN),
    "villages.detail": ("GET", lambda d: f"/villages/{d.villages[0].code}", READERS_OF_VILLAGE_0),
    "villages.update_address": ("POST", lambda d: f"/villages/{d.villages[0].code}/address",
                                MANAGERS_IN_SCOPE),
    "towns.index": ("GET", lambda d: "/towns/", LOGGED_IN),
    "towns.detail": ("GET", lambda d: f"/towns/{d.towns[0].code}", READERS_OF_VILLAGE_0),
    "lawyers.index": ("GET", lambda d: "/lawyers/", COORDINATORS),
    "lawyers.export": ("GET", lambda d: "/lawyers/export.xlsx", COORDINATORS),
    "lawyers.detail": ("GET", lambda d: f"/lawyers/{d.lawyers[0].id}", COORDINATORS | {"lawyer"}),
    "firms.index": ("GET", lambda d: "/firms/", COORDINATORS),
    "firms.detail": ("GET", lambda d: f"/firms/{d.firms[0].id}", COORDINATORS),
    "pairings.panel": ("GET", lambda d: f"/pairings/village/{d.villages[0].code}/panel",
                       READERS_OF_VILLAGE_0),
    "pairings.pair": ("POST", lambda d: f"/pairings/village/{d.villages[0].code}",
                      MANAGERS_IN_SCOPE),
    "pairings.update_term": ("POST", lambda d: f"/pairings/{d.pairings[0].id}/term",
                             MANAGERS_IN_SCOPE),
    "pairings.end": ("POST", lambda d: f"/pairings/{d.pairings[0].id}/end", MANAGERS_IN_SCOPE),
    "pairings.replace": ("POST", lambda d: f"/pairings/{d.pairings[0].id}/replace",
                         MANAGERS_IN_SCOPE),
    "auth.logout": ("POST", lambda d: "/logout", LOGGED_IN),
    # calendar
    "calendar.index": ("GET", lambda d: "/calendar/", LOGGED_IN),
    "calendar.lawyer_calendar": ("GET", lambda d: f"/calendar/lawyer/{d.lawyers[0].id}",
                                 COORDINATORS | {"lawyer"}),
    "calendar.village_calendar": ("GET", lambda d: f"/calendar/village/{d.villages[0].code}",
                                  READERS_OF_VILLAGE_0),
    "calendar.town_calendar": ("GET", lambda d: f"/calendar/town/{d.towns[0].code}",
                               MANAGERS_IN_SCOPE),
    "calendar.find": ("GET", lambda d: "/calendar/find?q=x", COORDINATORS),
    "calendar.event": ("GET", lambda d: f"/calendar/events/{_event(d)}", READERS_OF_VILLAGE_0),
    "calendar.move": ("POST", lambda d: f"/calendar/events/{_event(d)}/move",
                      EDITORS_OF_VILLAGE_0),
    "calendar.record_held": ("POST", lambda d: f"/calendar/events/{_event(d)}/held",
                             EDITORS_OF_VILLAGE_0),
    "calendar.cancel": ("POST", lambda d: f"/calendar/events/{_event(d)}/cancel",
                        EDITORS_OF_VILLAGE_0),
    "calendar.reinstate": ("POST", lambda d: f"/calendar/events/{_event(d)}/reinstate",
                           MANAGERS_IN_SCOPE),
    "calendar.makeup": ("POST", lambda d: f"/calendar/events/{_event(d)}/makeup",
                        MANAGERS_IN_SCOPE),
    "calendar.decide_proposal": ("POST", lambda d: f"/calendar/events/{_event(d)}/proposal",
                                 MANAGERS_IN_SCOPE),
    # a lawyer sees the quota of their own pairings
    "calendar.quota": ("GET", lambda d: "/calendar/quota", FEED_USERS),
    "calendar.quota_export": ("GET", lambda d: "/calendar/quota/export.xlsx", FEED_USERS),
    # sign-in at a session: only the event's lawyer signs in and out; its photos are for
    # those who may read the event
    "signins.sign_in": ("POST", lambda d: f"/signins/events/{_event(d)}/in", {"lawyer"}),
    "signins.sign_out": ("POST", lambda d: f"/signins/events/{_event(d)}/out", {"lawyer"}),
    "signins.photo": ("GET", lambda d: f"/signins/photos/{_signin_photo(d)}",
                      READERS_OF_VILLAGE_0),
    "calendar.plan": ("GET", lambda d: "/calendar/plan", COORDINATORS),
    # with no town given, a town coordinator may not plan the whole district
    "calendar.start_plan": ("POST", lambda d: "/calendar/plan", {"admin", "coordinator"}),
    "calendar.plan_run": ("GET", lambda d: f"/calendar/plan/runs/{_plan_run(d)}",
                          MANAGERS_IN_SCOPE),
    "calendar.holidays": ("GET", lambda d: "/calendar/holidays", COORDINATORS),
    "calendar.add_holiday": ("POST", lambda d: "/calendar/holidays", {"admin"}),
    "calendar.delete_holiday": ("POST", lambda d: f"/calendar/holidays/{_manual_holiday(d)}/delete",
                                {"admin"}),
    "calendar.import_holidays": ("POST", lambda d: "/calendar/holidays/import", {"admin"}),
    # feeds (each user manages their own tokens)
    "feeds.tokens": ("GET", lambda d: "/calendar/feeds", FEED_USERS),
    "feeds.create": ("POST", lambda d: "/calendar/feeds", FEED_USERS),
    "feeds.revoke": ("POST", lambda d: f"/calendar/feeds/{_feed_token(d)[0]}/revoke", {"lawyer"}),
    # tasks and programmes
    "tasks.index": ("GET", lambda d: "/tasks/", LOGGED_IN),
    "tasks.suggest_villages": ("GET", lambda d: "/tasks/suggest/villages?village=T1", LOGGED_IN),
    "tasks.suggest_lawyers": ("GET", lambda d: "/tasks/suggest/lawyers?lawyer=张", COORDINATORS),
    "tasks.suggest_towns": ("GET", lambda d: "/tasks/suggest/towns?town=T", LOGGED_IN),
    "tasks.export": ("GET", lambda d: "/tasks/export.xlsx", LOGGED_IN),
    "tasks.mine": ("GET", lambda d: "/tasks/mine", {"lawyer", "other_lawyer"}),
    "tasks.new": ("GET", lambda d: "/tasks/new", COORDINATORS),
    "tasks.task_type_options": ("GET", lambda d: "/tasks/new/task-types?program=family_visits",
                                COORDINATORS),
    "tasks.assign_preview": ("GET", lambda d: "/tasks/new/preview?target=town&town=T1",
                             COORDINATORS),
    "tasks.assign": ("POST", lambda d: "/tasks/new", COORDINATORS),
    "tasks.detail": ("GET", lambda d: f"/tasks/{_task(d)}", READERS_OF_VILLAGE_0),
    "tasks.complete_form": ("GET", lambda d: f"/tasks/{_task(d)}/complete", EDITORS_OF_VILLAGE_0),
    "tasks.complete": ("POST", lambda d: f"/tasks/{_task(d)}/complete", EDITORS_OF_VILLAGE_0),
    "tasks.schedule": ("POST", lambda d: f"/tasks/{_task(d)}/schedule", EDITORS_OF_VILLAGE_0),
    "tasks.start": ("POST", lambda d: f"/tasks/{_task(d)}/start", EDITORS_OF_VILLAGE_0),
    "tasks.reassign": ("POST", lambda d: f"/tasks/{_task(d)}/reassign", MANAGERS_IN_SCOPE),
    "tasks.reopen": ("POST", lambda d: f"/tasks/{_task(d)}/reopen", MANAGERS_IN_SCOPE),
    "tasks.cancel": ("POST", lambda d: f"/tasks/{_task(d)}/cancel", MANAGERS_IN_SCOPE),
    "programs.index": ("GET", lambda d: "/programmes/", FEED_USERS),
    "programs.detail": ("GET", lambda d: "/programmes/family_visits", FEED_USERS),
    "programs.chart_page": ("GET", lambda d: "/programmes/charts", FEED_USERS),
    "programs.town_table": ("GET", lambda d: "/programmes/charts/towns", COORDINATORS),
    "programs.ledger": ("GET", lambda d: "/programmes/family_visits/ledger.xlsx", COORDINATORS),
    "programs.set_target": ("POST", lambda d: "/programmes/family_visits/targets",
                            {"admin", "coordinator"}),
    "admin.plugin_list": ("GET", lambda d: "/admin/plugins", {"admin"}),
    # work log and case files (一案一档)
    "records.log": ("GET", lambda d: "/records/log", FEED_USERS),
    "records.log_new": ("POST", lambda d: "/records/log", {"lawyer", "other_lawyer"}),
    "records.log_export": ("GET", lambda d: "/records/log.xlsx", COORDINATORS),
    # long work (web.longwork): a job's page, progress and file, its user's and admins'
    "jobs.job": ("GET", lambda d: f"/jobs/{_long_job(d)}", {"admin", "coordinator"}),
    "jobs.progress": ("GET", lambda d: f"/jobs/{_long_job(d)}/progress",
                      {"admin", "coordinator"}),
    "jobs.download": ("GET", lambda d: f"/jobs/{_long_job(d)}/download",
                      {"admin", "coordinator"}),
    "records.cases": ("GET", lambda d: "/records/cases", FEED_USERS),
    "records.case_new": ("GET", lambda d: "/records/cases/new", FEED_USERS),
    "records.case_detail": ("GET", lambda d: f"/records/cases/{_case(d)}", EDITORS_OF_VILLAGE_0),
    "records.case_upload": ("POST", lambda d: f"/records/cases/{_case(d)}/attachments",
                            EDITORS_OF_VILLAGE_0),
    "records.case_close": ("POST", lambda d: f"/records/cases/{_case(d)}/close",
                           EDITORS_OF_VILLAGE_0),
    # a work-log entry's page, corrections and photos: its author (lawyer, managers in
    # scope; core.access.is_record_author) and those who read it
    "records.log_entry": ("GET", lambda d: f"/records/log/{_log_entry(d)}", EDITORS_OF_VILLAGE_0),
    "records.log_edit": ("POST", lambda d: f"/records/log/{_log_entry(d)}", EDITORS_OF_VILLAGE_0),
    "records.log_photo_add": ("POST", lambda d: f"/records/log/{_log_entry(d)}/photos",
                              EDITORS_OF_VILLAGE_0),
    "records.log_photo": ("GET", lambda d: f"/records/photos/{_log_photo(d)}",
                          EDITORS_OF_VILLAGE_0),
    "records.log_photo_thumb": ("GET", lambda d: f"/records/photos/{_log_photo(d)}/thumb",
                                EDITORS_OF_VILLAGE_0),
    "records.log_photo_remove": ("POST", lambda d: f"/records/photos/{_log_photo(d)}/remove",
                                 EDITORS_OF_VILLAGE_0),
    "records.case_edit": ("POST", lambda d: f"/records/cases/{_case(d)}/edit",
                          EDITORS_OF_VILLAGE_0),
    "records.attachment_download": ("GET", lambda d: f"/records/attachments/{_attachment(d)}",
                                    EDITORS_OF_VILLAGE_0),
    # major matters and the inbox
    "matters.index": ("GET", lambda d: "/matters/", COORDINATORS | {"lawyer", "other_lawyer"}),
    "matters.new": ("GET", lambda d: "/matters/new", {"lawyer", "other_lawyer"}),
    "matters.detail": ("GET", lambda d: f"/matters/{_matter(d)}", EDITORS_OF_VILLAGE_0),
    "matters.acknowledge": ("POST", lambda d: f"/matters/{_matter(d)}/acknowledge",
                            MANAGERS_IN_SCOPE),
    "matters.add_note": ("POST", lambda d: f"/matters/{_matter(d)}/notes", MANAGERS_IN_SCOPE),
    "matters.close": ("POST", lambda d: f"/matters/{_matter(d)}/close", MANAGERS_IN_SCOPE),
    "matters.inbox": ("GET", lambda d: "/inbox", LOGGED_IN),
    "matters.read": ("POST", lambda d: f"/inbox/{_own_notification(d)}/read", {"lawyer"}),
    "matters.read_all": ("POST", lambda d: "/inbox/read-all", LOGGED_IN),
    "matters.badge": ("GET", lambda d: "/inbox/badge", LOGGED_IN),
    # return visits and ratings
    "feedback.visits": ("GET", lambda d: "/feedback/visits", COORDINATORS),
    "feedback.satisfaction": ("GET", lambda d: "/feedback/satisfaction", COORDINATORS),
    "feedback.ratings": ("GET", lambda d: "/feedback/ratings", COORDINATORS),
    "feedback.visit": ("GET", lambda d: f"/feedback/visits/{_return_visit(d)}", MANAGERS_IN_SCOPE),
    "feedback.complete": ("POST", lambda d: f"/feedback/visits/{_return_visit(d)}",
                          MANAGERS_IN_SCOPE),
    "feedback.followed_up": ("POST", lambda d: f"/feedback/ratings/{_low_rating(d)}/followed-up",
                             MANAGERS_IN_SCOPE),
    "feedback.exclude": ("POST", lambda d: f"/feedback/ratings/{_flagged_rating(d)}/exclude",
                         MANAGERS_IN_SCOPE),
    "feedback.exclude_burst": ("POST", lambda d: f"/feedback/bursts/{_burst(d)}/exclude",
                               MANAGERS_IN_SCOPE),
    # rating codes of an event: its editors (core.access.can_edit_event)
    "feedback.issue_codes": ("POST", lambda d: f"/calendar/events/{_event(d)}/rating-codes",
                             EDITORS_OF_VILLAGE_0),
    # coordinators' warnings and the WeChat group register (each sees their own scope)
    "public.warnings": ("GET", lambda d: "/warnings", COORDINATORS),
    "public.wechat_groups": ("GET", lambda d: "/wechat-groups", COORDINATORS),
    # yearly assessment
    # a lawyer's table holds their own pairings only
    "assessment.index": ("GET", lambda d: "/assessment/", FEED_USERS),
    "assessment.export": ("GET", lambda d: "/assessment/export.xlsx", FEED_USERS),
    "assessment.sheet": ("GET", lambda d: f"/assessment/{d.pairings[0].id}",
                         MANAGERS_IN_SCOPE | {"lawyer"}),
    "assessment.sheet_export": ("GET", lambda d: f"/assessment/{d.pairings[0].id}.xlsx",
                                MANAGERS_IN_SCOPE | {"lawyer"}),
    "assessment.behind": ("GET", lambda d: "/assessment/behind", COORDINATORS),
    # the bureau's periodic reports and the registers (web/reports.py)
    "reports.index": ("GET", lambda d: "/reports/", COORDINATORS),
    "reports.export": ("GET", lambda d: "/reports/report.docx?period=2026Q1", COORDINATORS),
    "reports.pairings": ("GET", lambda d: "/reports/pairings.xlsx", COORDINATORS),
    "reports.chart_image": ("GET", lambda d: "/reports/towns.png?period=2026Q1", COORDINATORS),
    "reports.register": ("GET", lambda d: "/reports/cases.xlsx?period=2026Q1", COORDINATORS),
    "admin.audit_log": ("GET", lambda d: "/admin/audit", {"admin"}),
    "admin.audit_export": ("GET", lambda d: "/admin/audit.xlsx", {"admin"}),
    "admin.problem_list": ("GET", lambda d: "/admin/problems", {"admin"}),
    "admin.problem_resolve": ("POST", lambda d: f"/admin/problems/{_problem(d)}/resolve", {"admin"}),
    # users and accounts (the admin acts on another user, never on themselves)
    "users.index": ("GET", lambda d: "/admin/users", {"admin"}),
    "users.new": ("GET", lambda d: "/admin/users/new", {"admin"}),
    "users.detail": ("GET", lambda d: f"/admin/users/{d.users.village.id}", {"admin"}),
    "users.update": ("POST", lambda d: f"/admin/users/{d.users.village.id}", {"admin"}),
    "users.disable": ("POST", lambda d: f"/admin/users/{d.users.village.id}/disable", {"admin"}),
    "users.unlock": ("POST", lambda d: f"/admin/users/{d.users.village.id}/unlock", {"admin"}),
    "users.enable": ("POST", lambda d: f"/admin/users/{d.users.village.id}/enable", {"admin"}),
    "users.end_sessions": ("POST", lambda d: f"/admin/users/{d.users.village.id}/end-sessions",
                           {"admin"}),
    "users.reset_password": ("POST", lambda d: f"/admin/users/{d.users.village.id}/password",
                             {"admin"}),
    "users.account": ("GET", lambda d: "/account", LOGGED_IN),
    "users.change_password": ("POST", lambda d: "/account/password", LOGGED_IN),
    "users.end_my_sessions": ("POST", lambda d: "/account/end-sessions", LOGGED_IN),
    "users.save_notices": ("POST", lambda d: "/account/notices", LOGGED_IN),
    # the district set up in the browser, and its invitations (web/district.py)
    "setup.index": ("GET", lambda d: "/admin/setup", {"admin"}),
    "setup.preview": ("POST", lambda d: "/admin/setup/preview", {"admin"}),
    "setup.confirm": ("POST", lambda d: "/admin/setup/import", {"admin"}),
    "setup.imported": ("GET", lambda d: "/admin/setup/imported?rows=1", {"admin"}),
    "setup.invitation_list": ("GET", lambda d: "/admin/setup/invitations", {"admin"}),
    "setup.invite": ("POST", lambda d: "/admin/setup/invitations", {"admin"}),
    "setup.reissue": ("POST", lambda d: f"/admin/setup/invitations/{d.users.village.id}",
                      {"admin"}),
    # a plugin's own page (classic_cases): published cases are public material
    "classic_cases.collection_docx": ("GET", lambda d: "/programmes/classic_cases/collection.docx",
                                      COORDINATORS),
    # a lawyer's disclosed details and photo: district managers, and the lawyer themself
    "lawyers.update_details": ("POST", lambda d: f"/lawyers/{d.lawyers[0].id}/details",
                               {"admin", "coordinator", "lawyer"}),
    "lawyers.upload_photo": ("POST", lambda d: f"/lawyers/{d.lawyers[0].id}/photo",
                             {"admin", "coordinator", "lawyer"}),
    "lawyers.remove_photo": ("POST", lambda d: f"/lawyers/{d.lawyers[0].id}/photo/remove",
                             {"admin", "coordinator", "lawyer"}),
    "lawyers.photo": ("GET", lambda d: _village_photo(d) and f"/lawyers/{d.lawyers[0].id}/photo",
                      COORDINATORS | {"lawyer"}),
    # the WeChat group register of a village's active pairing
    "groups.register": ("GET", lambda d: f"/groups/village/{d.villages[0].code}",
                        MANAGERS_IN_SCOPE | {"lawyer"}),
    "groups.rename": ("POST", lambda d: f"/groups/{_group(d)}/name", MANAGERS_IN_SCOPE),
    "groups.set_administrator": ("POST", lambda d: f"/groups/{_group(d)}/administrator",
                                 MANAGERS_IN_SCOPE),
    "groups.add_member": ("POST", lambda d: f"/groups/{_group(d)}/members", MANAGERS_IN_SCOPE),
    "groups.edit_member": ("POST", lambda d: f"/groups/members/{_group_member(d)}",
                           MANAGERS_IN_SCOPE),
    "groups.remove_member": ("POST", lambda d: f"/groups/members/{_group_member(d)}/remove",
                             MANAGERS_IN_SCOPE),
    # its join QR code: the managers change it, the paired lawyer sees it too
    "groups.upload_join_qr": ("POST", lambda d: f"/groups/{_group(d)}/join-qr",
                              MANAGERS_IN_SCOPE),
    "groups.remove_join_qr": ("POST", lambda d: f"/groups/{_group(d)}/join-qr/remove",
                              MANAGERS_IN_SCOPE),
    "groups.join_qr": ("GET", lambda d: f"/groups/{_group_with_qr(d)}/join-qr",
                       MANAGERS_IN_SCOPE | {"lawyer"}),
    # what a village asks of its lawyer: its users ask, its current lawyer answers, everyone
    # reads what their scope holds
    "village_requests.village_page": ("GET", lambda d: "/village/requests",
                                      {"village", "other_village"}),
    "village_requests.invite": ("POST", lambda d: "/village/requests/invite",
                                {"village", "other_village"}),
    "village_requests.pass_on": ("POST", lambda d: "/village/requests/demand",
                                 {"village", "other_village"}),
    "village_requests.confirm": ("POST", lambda d: f"/village/requests/sessions/{_past_session(d)}",
                                 {"village"}),
    "village_requests.withdraw": ("POST", lambda d: f"/village/requests/invitations/"
                                  f"{_invitation(d)}/withdraw", {"village"}),
    "village_requests.awaiting": ("GET", lambda d: "/requests/awaiting", {"lawyer", "other_lawyer"}),
    "village_requests.index": ("GET", lambda d: "/requests/", LOGGED_IN),
    "village_requests.invitation": ("GET", lambda d: f"/requests/invitations/{_invitation(d)}",
                                    READERS_OF_VILLAGE_0),
    "village_requests.accept": ("POST", lambda d: f"/requests/invitations/{_invitation(d)}/accept",
                                {"lawyer"}),
    "village_requests.decline": ("POST", lambda d: f"/requests/invitations/{_invitation(d)}/decline",
                                 {"lawyer"}),
    "village_requests.demand": ("GET", lambda d: f"/requests/demands/{_demand(d)}",
                                READERS_OF_VILLAGE_0),
    "village_requests.answer": ("POST", lambda d: f"/requests/demands/{_demand(d)}/answer",
                                {"lawyer"}),
    # inspections (检查): managers record them in scope; the pairing's lawyer reads them
    "inspections.index": ("GET", lambda d: "/inspections/", COORDINATORS | {"lawyer",
                                                                            "other_lawyer"}),
    "inspections.new": ("GET", lambda d: "/inspections/new", COORDINATORS),
    "inspections.detail": ("GET", lambda d: f"/inspections/{_inspection(d)}",
                           EDITORS_OF_VILLAGE_0),
    "inspections.follow_up": ("POST", lambda d: f"/inspections/{_inspection(d)}/follow-up",
                              MANAGERS_IN_SCOPE),
    # key_populations' roster (摸排名册): each coordinator gets their scope
    "key_populations.roster_page": ("GET", lambda d: "/programmes/key_populations/roster",
                                    COORDINATORS),
    "key_populations.roster_xlsx": ("GET", lambda d: "/programmes/key_populations/roster.xlsx",
                                    COORDINATORS),
    # family_visits' household register: like the ledger, each coordinator gets their scope
    "family_visits.households_xlsx": ("GET", lambda d: "/programmes/family_visits/households.xlsx",
                                      COORDINATORS),
}
PUBLIC = {
    "auth.login": lambda d: "/login",
    "auth.language": lambda d: "/lang/en",
    "static": lambda d: "/static/app.css",
    "favicon": lambda d: "/favicon.ico",
    "feeds.village_feed": lambda d: f"/v/{d.villages[0].code}/calendar.ics",
    "feeds.token_feed": lambda d: f"/feeds/{_feed_token(d)[1]}.ics",
    "public.directory": lambda d: "/v/",
    "public.village": lambda d: f"/v/{d.villages[0].code}",
    "public.card": lambda d: f"/v/{d.villages[0].code}/card",
    "public.town_cards": lambda d: f"/v/town/{d.towns[0].code}/cards",
    "public.photo": _village_photo,
    "public.group_qr": lambda d: _group_with_qr(d) and f"/v/{d.villages[0].code}/group-qr",
}
# Public, but a POST with a body (the residents' rating): checked in tests/test_feedback.py;
# or behind a one-time link (an invitation): tests/test_web_setup.py.
PUBLIC_POSTS = {"feedback.rate", "setup.accept"}


@pytest.fixture
def users(district):
    """The district's users plus a lawyer and a village user of town 2."""
    u = district.users
    u.other_lawyer = create_user("lawyer-t2", PASSWORD, "lawyer", lawyer=district.lawyers[3])
    u.other_village = create_user("village-t2", PASSWORD, "village", village=district.villages[3])
    return u


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    listed = set(ROUTES) | set(PUBLIC) | PUBLIC_POSTS
    assert endpoints - listed == set(), "add the new routes to ROUTES"
    assert listed <= endpoints, "the table names routes that are gone"


def test_every_view_declares_its_rule(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and not hasattr(view, "access_rule")]
    assert undeclared == []
    for endpoint in set(PUBLIC) | PUBLIC_POSTS:
        if endpoint != "static":
            assert app.view_functions[endpoint].access_rule[0] == "public"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_anonymous_is_sent_to_login(endpoint, client, district):
    method, url, _ = ROUTES[endpoint]
    response = client.open(url(district), method=method)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("endpoint", sorted(PUBLIC))
def test_public_routes_serve_anyone(endpoint, client, district):
    assert client.get(PUBLIC[endpoint](district)).status_code in (200, 302)


@pytest.mark.parametrize("actor", ACTORS)
def test_each_actor_reaches_exactly_what_the_table_admits(actor, users, district, login):
    client = login(getattr(users, actor))
    wrong = []
    for endpoint, (method, url, admitted) in sorted(ROUTES.items()):
        if endpoint == "auth.logout":
            continue  # would end the session under test; covered below
        status = client.open(url(district), method=method, data={}).status_code
        if actor in admitted and status in (401, 403, 404) or status >= 500:
            wrong.append(f"{endpoint}: {status}, expected to be admitted")
        elif actor not in admitted and status not in (403, 404):
            wrong.append(f"{endpoint}: {status}, expected 403 or 404")
    assert wrong == []


def test_logout_ends_the_session(users, login):
    client = login(users.lawyer)
    assert client.post("/logout").status_code == 302
    assert "/login" in client.get("/villages/").headers["Location"]


def test_a_route_without_rule_is_refused(app, users, login):
    """Fail closed: a view that forgot its rule is not served, even to an administrator."""
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    client = login(users.admin)
    assert client.get("/forgotten").status_code == 403


def test_a_disabled_user_is_logged_out_at_once(users, login):
    client = login(users.coordinator)
    users.coordinator.active = False
    users.coordinator.save()
    assert client.get("/villages/").status_code == 302

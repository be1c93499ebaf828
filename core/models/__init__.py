"""All models, importable from one place: ``from core.models import Village``."""
from core.models.organisation import (ROLES, VILLAGE_KINDS, Assistant, District, LawFirm,
                                      Lawyer, Town, User, Village)
from core.models.calendar import (EVENT_KINDS, EVENT_STATUSES, HOLIDAY_KINDS, PLACEMENTS, Event,
                                  EventHandover, FeedSnapshot, FeedToken, Holiday, PlanRun,
                                  ReplanRequest, Shortfall, SignIn, SignInPhoto)
from core.models.tasks import (DUTIES, TASK_LEVELS, TASK_STATUSES, WORK_MODES, AuditLog,
                               ProgramTarget, Task, WorkLog, WorkLogPhoto)
from core.models.records import (MATTER_CATEGORIES, MATTER_STATUSES, Attachment, CaseFile,
                                 Delivery, MajorMatter, MatterNote, Notification,
                                 NotificationPreference, Rating, RatingBurst, RatingCode,
                                 RatingCodeMiss, ReturnVisit)
from core.models.security import PROBLEM_SOURCES, LoginAttempt, Problem, UserSession
from core.models.pairing import (GROUP_ROLES, HALF_DAYS, Pairing, WechatGroup,
                                 WechatGroupMember)
from core.models.requests import Invitation, ResidentDemand, SessionConfirmation

ALL_MODELS = [District, Town, Village, LawFirm, Lawyer, Assistant, User, Pairing,
              WechatGroup, WechatGroupMember, Holiday, Event, FeedToken, FeedSnapshot, PlanRun,
              Shortfall, EventHandover, SignIn, SignInPhoto, Task, WorkLog, WorkLogPhoto,
              AuditLog, ProgramTarget,
              CaseFile, Attachment, MajorMatter, MatterNote, Notification,
              NotificationPreference, Delivery, ReturnVisit, RatingBurst, RatingCode, Rating,
              RatingCodeMiss, LoginAttempt, Problem, UserSession]

__all__ = ["PROBLEM_SOURCES", "LoginAttempt", "Problem", "UserSession",
           "MATTER_CATEGORIES", "MATTER_STATUSES", "Attachment", "CaseFile", "Delivery",
           "MajorMatter", "MatterNote", "Notification", "NotificationPreference", "Rating", "RatingBurst",
           "RatingCode", "RatingCodeMiss", "ReturnVisit",
           "DUTIES", "TASK_LEVELS", "TASK_STATUSES", "WORK_MODES", "AuditLog", "ProgramTarget", "Task",
           "WorkLog", "WorkLogPhoto",
           "EVENT_KINDS", "EVENT_STATUSES", "HOLIDAY_KINDS", "PLACEMENTS", "Event", "EventHandover",
           "FeedSnapshot", "SignIn", "SignInPhoto",
           "FeedToken", "Holiday", "PlanRun", "Shortfall", "ALL_MODELS", "ROLES", "VILLAGE_KINDS", "GROUP_ROLES", "HALF_DAYS", "Assistant",
           "District", "LawFirm", "Lawyer", "Town", "User", "Village", "Pairing",
           "WechatGroup", "WechatGroupMember"]

# Villages waiting for their re-plan (core.jobs.request_replan).
ALL_MODELS += [ReplanRequest]
__all__ += ["ReplanRequest"]

# What a village asks of its lawyer (core.village_requests).
ALL_MODELS += [Invitation, ResidentDemand, SessionConfirmation]
__all__ += ["Invitation", "ResidentDemand", "SessionConfirmation"]

# Inspections of a village's service (core.inspections).
from core.models.records import Inspection  # noqa: E402
ALL_MODELS += [Inspection]
__all__ += ["Inspection"]
# One-time links to choose one's password (core.login_invitations).
from core.models.security import LoginInvitation  # noqa: E402
ALL_MODELS += [LoginInvitation]
__all__ += ["LoginInvitation"]

# Long work run as a queued job (core.longwork).
from core.models.operations import LONG_JOB_STATUSES, LongJob  # noqa: E402
ALL_MODELS += [LongJob]
__all__ += ["LONG_JOB_STATUSES", "LongJob"]

# Feeds to publish again, and the hourly catch-up's clock (core.feeds).
from core.models.calendar import FeedDirty, FeedWindowCheck  # noqa: E402
ALL_MODELS += [FeedDirty, FeedWindowCheck]
__all__ += ["FeedDirty", "FeedWindowCheck"]

# Each pairing's quota and held counts of a year, kept at commit (core.pace_tally).
from core.models.calendar import PaceTally  # noqa: E402
ALL_MODELS += [PaceTally]
__all__ += ["PaceTally"]

# Figures counted per town and month, kept at commit (core.town_tally): the programme
# metrics' done tasks, the on-site sessions planned and held; the metrics per lawyer
# (core.progress_tally).
from core.models.calendar import LawyerTally, TownTally, TownTallyShape  # noqa: E402
ALL_MODELS += [TownTally, TownTallyShape, LawyerTally]
__all__ += ["LawyerTally", "TownTally", "TownTallyShape"]

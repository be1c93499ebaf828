"""The programme's words on the pages: ``core.vocabulary``'s labels, each translated into the
reader's language when a page shows it (lazily: these dicts are built at import, before any
request). The one home of every label stays ``core.vocabulary``; the CLI and the jobs
translate the same msgids with ``core.i18n.gettext_for``."""
from core import vocabulary
from web.i18n import lazy_gettext as _l


def _lazy(labels: dict) -> dict:
    return {key: _l(msgid) for key, msgid in labels.items()}


ROLE_LABELS = _lazy(vocabulary.ROLE_LABELS)
EVENT_KIND_LABELS = _lazy(vocabulary.EVENT_KIND_LABELS)
EVENT_STATUS_LABELS = _lazy(vocabulary.EVENT_STATUS_LABELS)
HELD_PROOF_LABELS = _lazy(vocabulary.HELD_PROOF_LABELS)
HALF_DAY_LABELS = _lazy(vocabulary.HALF_DAY_LABELS)
HOLIDAY_KIND_LABELS = _lazy(vocabulary.HOLIDAY_KIND_LABELS)
HOLIDAY_SOURCE_LABELS = _lazy(vocabulary.HOLIDAY_SOURCE_LABELS)
PLAN_RUN_LABELS = _lazy(vocabulary.PLAN_RUN_LABELS)
LONG_JOB_LABELS = _lazy(vocabulary.LONG_JOB_LABELS)
GROUP_ROLE_LABELS = _lazy(vocabulary.GROUP_ROLE_NAMES)
CASE_STATUS_LABELS = _lazy(vocabulary.CASE_STATUS_LABELS)
PROBLEM_SOURCE_LABELS = _lazy(vocabulary.PROBLEM_SOURCE_LABELS)
DUTY_LABELS = _lazy(vocabulary.DUTY_LABELS)
UNCATEGORISED = _l(vocabulary.UNCATEGORISED)
INVITATION_KIND_LABELS = _lazy(vocabulary.INVITATION_KIND_LABELS)
INVITATION_STATUS_LABELS = _lazy(vocabulary.INVITATION_STATUS_LABELS)
DEMAND_CATEGORY_LABELS = _lazy(vocabulary.DEMAND_CATEGORY_LABELS)
DEMAND_STATUS_LABELS = _lazy(vocabulary.DEMAND_STATUS_LABELS)
VERDICT_LABELS = _lazy(vocabulary.VERDICT_LABELS)
INSPECTION_KIND_LABELS = _lazy(vocabulary.INSPECTION_KIND_LABELS)
INSPECTION_ITEM_LABELS = _lazy(vocabulary.INSPECTION_ITEM_LABELS)
INSPECTION_RESULT_LABELS = _lazy(vocabulary.INSPECTION_RESULT_LABELS)
INSPECTION_OUTCOME_LABELS = _lazy(vocabulary.INSPECTION_OUTCOME_LABELS)

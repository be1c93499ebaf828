"""What plugins register: frozen value objects, each checked when it is created."""
import re
from dataclasses import dataclass, field

from core.errors import JieduiError

SLUG = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
SCOPES = ("village", "town", "district")
CRON_KEYS = ("minute", "hour", "day", "month", "day_of_week")


class PluginError(JieduiError):
    """A plugin handed over something invalid. The message names the plugin."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_slug(kind: str, slug) -> None:
    _check(isinstance(slug, str) and bool(SLUG.match(slug)),
           f"{kind} slug {slug!r} must be lower-case letters, digits and '_' (at most 48)")


@dataclass(frozen=True)
class Program:
    """A district programme (e.g. "visit 100+ families"), counted toward a target."""
    slug: str
    name: str                 # shown in the UI, Chinese first
    name_en: str = ""
    description: str = ""
    target: int = 100
    order: int = 100

    def __post_init__(self):
        _check_slug("programme", self.slug)
        _check(isinstance(self.name, str) and self.name.strip() != "",
               f"programme {self.slug!r} needs a name")
        _check(isinstance(self.target, int) and self.target > 0,
               f"programme {self.slug!r}: target must be a positive integer")


@dataclass(frozen=True)
class TaskType:
    """A kind of task of a programme, completed with ``form`` (a WTForms form class).

    ``subject_field`` names the form field that identifies the counted subject (the
    household, the school, ...); ``sensitive_fields`` are shown only to the assignee and
    coordinators, never in feeds, and every read is audited.
    """
    slug: str
    program: str
    name: str
    form: type
    subject_field: str | None = None
    sensitive_fields: tuple[str, ...] = ()
    template: str | None = None

    def __post_init__(self):
        from wtforms import Form  # plugins define forms with WTForms

        _check_slug("task type", self.slug)
        _check(isinstance(self.name, str) and self.name.strip() != "",
               f"task type {self.slug!r} needs a name")
        _check(isinstance(self.form, type) and issubclass(self.form, Form),
               f"task type {self.slug!r}: form must be a WTForms Form class")
        object.__setattr__(self, "sensitive_fields", tuple(self.sensitive_fields))
        names = set(self.field_names)
        for name in filter(None, (self.subject_field, *self.sensitive_fields)):
            _check(name in names, f"task type {self.slug!r}: the form has no field {name!r}")

    @property
    def field_names(self) -> list[str]:
        from wtforms.fields.core import UnboundField
        return [name for name in dir(self.form)
                if isinstance(getattr(self.form, name, None), UnboundField)]


@dataclass(frozen=True)
class Metric:
    """Progress toward a programme's target: done tasks of ``task_types``, counted as
    tasks, or as distinct values of ``distinct_field`` (the subject) when given."""
    slug: str
    program: str
    name: str
    task_types: tuple[str, ...]
    distinct_field: str | None = None
    target: int = 100

    def __post_init__(self):
        _check_slug("metric", self.slug)
        object.__setattr__(self, "task_types", tuple(self.task_types))
        _check(len(self.task_types) > 0, f"metric {self.slug!r} counts no task type")
        _check(isinstance(self.target, int) and self.target > 0,
               f"metric {self.slug!r}: target must be a positive integer")


@dataclass(frozen=True)
class Schedule:
    """Recurring work: at ``cron`` (district time), create a ``task_type`` task for each
    unit of ``scope`` (every village, every town, or the district)."""
    slug: str
    program: str
    name: str
    task_type: str
    scope: str
    cron: dict = field(default_factory=dict)

    def __post_init__(self):
        _check_slug("schedule", self.slug)
        _check(self.scope in SCOPES, f"schedule {self.slug!r}: scope must be one of {SCOPES}")
        _check(bool(self.cron) and set(self.cron) <= set(CRON_KEYS),
               f"schedule {self.slug!r}: cron takes {', '.join(CRON_KEYS)}")


@dataclass
class Registry:
    """Everything the loaded plugins registered, by slug, with the plugin that did."""
    programs: dict[str, Program] = field(default_factory=dict)
    task_types: dict[str, TaskType] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, slug) -> plugin

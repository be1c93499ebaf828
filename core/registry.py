"""What plugins register: frozen value objects, each checked when it is created.

A value object that breaks a rule raises ``ValueError``; the plugin manager turns it
into a ``PluginError`` that names the plugin (see docs/plugins.md, "Value objects").
"""
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import JieduiError
from core.vocabulary import DUTIES

SLUG = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
SCOPES = ("village", "town", "district")
CRON_KEYS = ("minute", "hour", "day", "month", "day_of_week")


class PluginError(JieduiError):
    """A plugin is broken or handed over something invalid. The message names the plugin;
    ``plugin`` is its name when the error is that one plugin's fault."""

    def __init__(self, message: str, plugin: str | None = None):
        super().__init__(message)  # no %-parameters: the message is final
        self.plugin = plugin


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int in Python


def _check_slug(kind: str, slug) -> None:
    _check(isinstance(slug, str) and bool(SLUG.match(slug)),
           f"{kind} slug {slug!r} must be lower-case letters, digits and '_', "
           f"starting with a letter (at most 48)")


def _check_name(kind: str, slug: str, name) -> None:
    _check(isinstance(name, str) and name.strip() != "", f"{kind} {slug!r} needs a name")


def _check_target(kind: str, slug: str, target) -> None:
    _check(_is_int(target) and target > 0, f"{kind} {slug!r}: target must be a positive integer")


def _names_tuple(kind: str, slug: str, what: str, value) -> tuple[str, ...]:
    """A tuple of names; a bare string is refused (it would be read letter by letter)."""
    _check(not isinstance(value, str) and all(isinstance(v, str) for v in value),
           f"{kind} {slug!r}: {what} must be a tuple of names, not {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Program:
    """A district programme (e.g. "visit 100+ families"), counted toward a target."""
    slug: str
    name: str                 # shown in the UI, Chinese first
    name_en: str = ""
    description: str = ""
    target: int = 100
    order: int = 100          # position in lists: lower first

    def __post_init__(self):
        _check_slug("programme", self.slug)
        _check_name("programme", self.slug, self.name)
        _check(isinstance(self.name_en, str) and isinstance(self.description, str),
               f"programme {self.slug!r}: name_en and description must be text")
        _check_target("programme", self.slug, self.target)
        _check(_is_int(self.order), f"programme {self.slug!r}: order must be an integer")


@dataclass(frozen=True)
class TaskType:
    """A kind of task of a programme, completed with ``form`` (a WTForms form class).

    ``subject_field`` names the form field that identifies the counted subject (the
    household, the school, ...). ``sensitive_fields`` are shown only to the assignee and
    coordinators, never in feeds, and every read is audited. ``public_fields`` are the
    only fields shown to the other readers of a task (a village's users, another lawyer
    of the village); None (the default) means none of them for a type with sensitive
    fields and every field for a type without. A type with sensitive fields also hides its
    title, free text and times finer than the month from those readers (``core.privacy``).
    ``example(rng)`` returns valid form data (a dict of field -> value) for demos and
    tests, varied by the ``random.Random`` it is given. ``duty`` is which of the lawyer's
    ten duties (``core.vocabulary.DUTIES``) the work is: the category of the work-log
    entry a completed task writes. ``duration_field`` names the form's field that gives
    the service's length in hours: the work log takes it and does not ask again.
    """
    slug: str
    program: str
    name: str
    form: type
    subject_field: str | None = None
    sensitive_fields: tuple[str, ...] = ()
    template: str | None = None
    example: Callable[[random.Random], dict] | None = None
    public_fields: tuple[str, ...] | None = None
    duty: str | None = None
    duration_field: str | None = None

    def __post_init__(self):
        from wtforms import Form  # plugins define forms with WTForms

        _check_slug("task type", self.slug)
        _check_slug("programme", self.program)
        _check_name("task type", self.slug, self.name)
        _check(isinstance(self.form, type) and issubclass(self.form, Form),
               f"task type {self.slug!r}: form must be a WTForms Form class, "
               f"not {self.form!r}")
        object.__setattr__(self, "sensitive_fields", _names_tuple(
            "task type", self.slug, "sensitive_fields", self.sensitive_fields))
        names = self.field_names
        if self.public_fields is None:  # the default: see the docstring
            public = () if self.sensitive_fields else tuple(names)
        else:
            public = _names_tuple("task type", self.slug, "public_fields", self.public_fields)
        object.__setattr__(self, "public_fields", public)
        _check(self.duty is None or self.duty in DUTIES,
               f"task type {self.slug!r}: duty must be one of {', '.join(DUTIES)}, "
               f"not {self.duty!r}")
        for name in filter(None, (self.subject_field, self.duration_field,
                                  *self.sensitive_fields, *self.public_fields)):
            _check(name in names, f"task type {self.slug!r}: the form has no field {name!r}")
        both = sorted(set(self.sensitive_fields) & set(self.public_fields))
        _check(not both, f"task type {self.slug!r}: {', '.join(both)} cannot be both "
                         f"sensitive and public")
        _check(self.template is None or isinstance(self.template, str),
               f"task type {self.slug!r}: template must be a template name")
        _check(self.example is None or callable(self.example),
               f"task type {self.slug!r}: example must be a function of a random.Random")

    @property
    def field_names(self) -> list[str]:
        """The form's fields, in the order the form declares them."""
        from wtforms.fields.core import UnboundField
        fields = [(getattr(self.form, name), name) for name in dir(self.form)
                  if isinstance(getattr(self.form, name, None), UnboundField)]
        return [name for field, name in sorted(fields, key=lambda f: f[0].creation_counter)]

    @property
    def private_fields(self) -> tuple[str, ...]:
        """The form's fields that are not public, in the form's order: what a reader who may
        not see the sensitive fields never sees."""
        return tuple(name for name in self.field_names if name not in self.public_fields)

    @property
    def is_sensitive(self) -> bool:
        """A type with sensitive fields: its title, free text and exact times are private
        too (a visit's time identifies a family in a village)."""
        return bool(self.sensitive_fields)


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
        _check_slug("programme", self.program)
        _check_name("metric", self.slug, self.name)
        object.__setattr__(self, "task_types", _names_tuple(
            "metric", self.slug, "task_types", self.task_types))
        _check(len(self.task_types) > 0, f"metric {self.slug!r} counts no task type")
        _check(self.distinct_field is None or isinstance(self.distinct_field, str),
               f"metric {self.slug!r}: distinct_field must be a field name")
        _check_target("metric", self.slug, self.target)


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
        _check_slug("programme", self.program)
        _check_name("schedule", self.slug, self.name)
        _check_slug("task type", self.task_type)
        _check(self.scope in SCOPES, f"schedule {self.slug!r}: scope must be one of "
                                     f"{', '.join(SCOPES)}, not {self.scope!r}")
        _check(isinstance(self.cron, dict) and bool(self.cron) and set(self.cron) <= set(CRON_KEYS),
               f"schedule {self.slug!r}: cron is a dict with some of the keys "
               f"{', '.join(CRON_KEYS)}, not {self.cron!r}")
        _check_cron(self.slug, self.cron)


def _check_cron(slug: str, cron: dict) -> None:
    """Each value in huey's crontab syntax ('*', '*/15', '1-5', '0,30', or an int)."""
    from huey import crontab

    try:
        crontab(**cron, strict=True)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"schedule {slug!r}: cron {cron!r} is not valid ({exc})") from exc


@dataclass
class Registry:
    """Everything the loaded plugins registered, by slug, with the plugin that did."""
    programs: dict[str, Program] = field(default_factory=dict)
    task_types: dict[str, TaskType] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, slug) -> plugin
    # Plugins left out because they failed in a registration or setup hook: name -> error
    disabled: dict[str, str] = field(default_factory=dict)

"""Small WTForms pieces the programmes' forms share (plugins import them from here).

Filters and validators:

- ``strip``: a field filter, text without surrounding spaces;
- ``parsed``: stop at a number that did not parse, before a range check adds its message;
- ``NotInFuture(message=None)``: a date no later than the district's today.

Field builders, each the field as the programmes write it, with their Chinese messages
(the label is the field's name in them unless ``name`` says otherwise):

- ``text(label, *validators, most=100)`` / ``text_area(label, *validators, most=2000)``:
  text, stripped, at most ``most`` characters ("…不超过100个字");
- ``whole_number(label, low, high)``: a required whole number in a range;
- ``past_date(label)``: a required date, not in the future;
- ``checkboxes(label, choices, *validators)``: a multiple choice as a list of check boxes;
- ``yes_no(label, required)``: 是 / 否 as radio buttons (``YES_NO``, the choices);
- ``choice(label, choices, required)``: one answer from a list, starting on "请选择…"
  rather than on its first answer (a form must not answer for the person: no default
  gender, category or kind); ``required``: the message when none is chosen;
- ``DurationField(label)``: a duration typed once, in hours ("1.5"), minutes ("90 分钟")
  or from–to ("9:00-10:30") (``core.text.parse_duration``); its data is whole minutes;
- ``village_choices()``: the district's villages, a choice list read when a form is built.

Required fields carry WTForms' ``required`` flag (``InputRequired``/``DataRequired``): the
pages mark them all the same way (``web/templates/_forms.html``, ``required_mark``).

``recent_date(rng, days)`` makes form data for examples: a date of the last ``days`` days.
"""
import datetime as dt

from wtforms import (DateField, IntegerField, RadioField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, StopValidation, \
    ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from core.clock import today
from core.errors import ValidationError as CoreValidationError
from core.i18n import gettext_for
from core.models import Town, Village
from core.text import duration_text, parse_duration

YES_NO = [SelectChoice("yes", "是"), SelectChoice("no", "否")]


def strip(value):
    """A field filter: text without surrounding spaces (anything else unchanged)."""
    return value.strip() if isinstance(value, str) else value


def parsed(form, field):
    """Stop at a value that is not a number: its own message says so, a range would not."""
    if field.process_errors:
        raise StopValidation()


class NotInFuture:
    """A date field's value is no later than today in the district (empty passes).
    ``message`` defaults to "<label>不能晚于今天"."""

    def __init__(self, message: str | None = None):
        self.message = message

    def __call__(self, form, field):
        if field.data and field.data > today():
            raise ValidationError(self.message or f"{field.label.text}不能晚于今天")


def _length(label: str, most: int, name: str | None, unit: str) -> Length:
    return Length(max=most, message=f"{name or label}不超过{most}{unit}")


def text(label: str, *validators, most: int = 100, name: str | None = None,
         unit: str = "个字", **kwargs) -> StringField:
    """One line of text without surrounding spaces: ``validators`` (e.g.
    ``DataRequired("请填写…")``), then at most ``most`` characters."""
    return StringField(label, filters=[strip],
                       validators=[*validators, _length(label, most, name, unit)], **kwargs)


def text_area(label: str, *validators, most: int = 2000, name: str | None = None,
              **kwargs) -> TextAreaField:
    """Free text without surrounding spaces: ``validators``, then at most ``most``
    characters."""
    return TextAreaField(label, filters=[strip],
                         validators=[*validators, _length(label, most, name, "个字")], **kwargs)


def whole_number(label: str, low: int, high: int, *, required: str | None = None,
                 name: str | None = None) -> IntegerField:
    """A whole number from ``low`` to ``high``, required ("请填写<label>" unless
    ``required`` says otherwise); text that is not a number says only that."""
    name = name or label
    return IntegerField(label, validators=[
        InputRequired(required or f"请填写{label}"), parsed,
        NumberRange(min=low, max=high, message=f"{name}应为{low}到{high}之间的整数")],
        invalid_value_message=f"{name}应为整数")


def past_date(label: str, *, future: str | None = None) -> DateField:
    """A required date, no later than today (``future``: the message when it is, else
    "<label>不能晚于今天" — written now, so a translated label does not change it)."""
    return DateField(label, validators=[InputRequired(f"请填写{label}"),
                                        NotInFuture(future or f"{label}不能晚于今天")],
                     invalid_value_message=f"{label}格式应为 年-月-日，如 2024-05-20")


def checkboxes(label: str, choices, *validators,
               invalid: str | None = None) -> SelectMultipleField:
    """A multiple choice shown as a list of check boxes: ``validators`` (e.g.
    ``DataRequired("请至少选择…")``, or ``Optional()``); a value it does not offer is
    refused with ``invalid`` ("<label>不在可选范围内")."""
    return SelectMultipleField(label, choices=choices, validators=list(validators),
                               invalid_choice_message=invalid or f"{label}不在可选范围内",
                               widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput())


def yes_no(label: str, required: str) -> RadioField:
    """是 or 否, as radio buttons; ``required``: the message when neither is chosen."""
    return RadioField(label, choices=YES_NO, validators=[InputRequired(required)],
                      invalid_choice_message="请选择“是”或“否”")


def choice(label: str, choices, required: str, *, invalid: str | None = None,
           prompt: str = "请选择…") -> SelectField:
    """One answer from ``choices``, shown as a list that starts empty ("请选择…"): nothing
    is chosen for the person. ``required``: the message when none is chosen; a value the
    list does not offer is refused with ``invalid`` (default: ``required``)."""
    if callable(choices):  # read when a form is built
        def listed():
            return [SelectChoice("", prompt), *choices()]
    else:  # a fixed list: the plugin's catalog translates it (jiedui plugin-messages)
        listed = [SelectChoice("", prompt), *choices]
    return SelectField(label, choices=listed, validators=[InputRequired(required)],
                       invalid_choice_message=invalid or required)


class DurationField(StringField):
    """A duration typed once: hours ("1.5", "2 小时"), minutes ("90 分钟") or from–to
    ("9:00-10:30") (``core.text.parse_duration``). ``data`` is whole minutes, None when
    empty; text that is no duration is refused with the core's message, in the language
    of ``gettext`` (default Chinese), and shown again as it was typed."""

    def __init__(self, label=None, validators=None, *, gettext=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.gettext = gettext or gettext_for("zh_CN")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = parse_duration(valuelist[0], field=self.name)
        except CoreValidationError as error:
            self.data = None
            raise ValueError(error.translate(self.gettext)) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return duration_text(self.data)


def village_choices() -> list[SelectChoice]:
    """Every village of the district, by town: its code and "镇街 · 村(居)". Give the
    function itself as a field's ``choices``: it is read when a form is built."""
    villages = (Village.select(Village.code, Village.name, Town.name.alias("town_name"))
                .join(Town).order_by(Town.code, Village.code).objects())
    return [SelectChoice(v.code, f"{v.town_name} · {v.name}") for v in villages]


def recent_date(rng, days: int) -> str:
    """For examples: a day of the last ``days`` days (yesterday at the latest), as a
    browser posts it (ISO text)."""
    return (today() - dt.timedelta(days=rng.randint(1, days))).isoformat()

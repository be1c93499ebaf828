"""Sign-in at a session (签到) on the phone: the one-tap sign-in and the sign-out (what was
done, residents served, photos from the camera), and the photos for those who may read the
event. Every rule is ``core.signins``'s.

The action is one partial, ``signin/_home_action.html``, for an ``event`` in the context:
the lawyer's home includes it for each session row, the event page once (with
``signin_place = "event"``). Its forms post here; the answer follows the panel protocol
(``web.panels``): on the home, the partial again (with a notice, or with the refusal next
to the form and what was typed kept), on the event page the event's section
(``web.calendar.EVENT``); both announce ``calendarChanged``. Without JavaScript the forms
post normally and return to the page they came from.

The phone's position is asked for by ``web/static/app.js`` (the "Sign-in" block) just
before the sign-in is sent; refused or unavailable, the sign-in goes without it and the
notice says so.
"""
from flask import Blueprint, send_file, url_for
from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, StringField, TextAreaField

from core import clock
from core import signins as service
from core.calendar_views import readable_event
from core.errors import NotFound, PermissionDenied
from core.vocabulary import ROLES
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.access import actor, allow
from web.calendar import CHANGED, EVENT, template_labels
from web.panels import Panel
from web.render import back_to, render
from web.signin_state import prime_signins, signin_state

bp = Blueprint("signins", __name__, url_prefix="/signins")
bp.add_app_template_global(signin_state)
bp.add_app_template_global(prime_signins)
bp.context_processor(template_labels)  # its answers on the event's page show the event

FORMS = ("signin", "signout")  # the names a bound form has in a panel


class SignInForm(FlaskForm):
    """One tap; the position fields are filled by app.js when the phone gives it."""
    latitude = HiddenField()
    longitude = HiddenField()
    accuracy = HiddenField()


class SignOutForm(FlaskForm):
    content = TextAreaField(_l("What was done"), render_kw={
        "rows": 3, "maxlength": service.CONTENT_MAX, "required": True},
        description=_l("A sentence or two: the questions asked, the talk given. It goes "
                       "into your work log."))
    residents = StringField(_l("Residents served"), render_kw={
        "type": "number", "inputmode": "numeric", "min": 0, "max": service.RESIDENTS_MAX,
        "step": 1, "required": True, "class": "number-input"})
    photos = MultipleFileField(_l("Photos"), render_kw={
        "accept": "image/*", "capture": "environment"},
        description=_l("Up to %(count)s, taken with the camera. Where and when they were "
                       "taken is removed from them.", count=service.MAX_PHOTOS))


@bp.app_template_global()
def signin_form(event, name: str):
    """A fresh form of the partial: "signin" or "signout" of ``event`` (ids prefixed with
    the event's, so a home listing several sessions has no duplicate ids)."""
    form_class = SignInForm if name == "signin" else SignOutForm
    return form_class(formdata=None, prefix=f"{name}-{event.id}")


def _show(event, *, bound: dict | None = None, status: int = 200, trigger: str | None = None,
          notice: str | None = None):
    """The action for ``event`` (the home's partial), or a page holding it without HTMX."""
    return render("signin/action.html", "signin/_home_action.html", status=status,
                  trigger=trigger, event=event, signin_forms=bound or {},
                  signin_notice=notice)


ACTION = Panel(_show, trigger=CHANGED,
               back=lambda event: back_to(url_for("calendar.event", event_id=event.id)),
               reread=lambda event: readable_event(actor(), event.id),
               raises=(PermissionDenied, NotFound))


def _panel() -> Panel:
    """Where the form was: the event's page answers with its section, the home with the
    partial."""
    return EVENT if request.form.get("place") == "event" else ACTION


def _local_time(instant) -> str:
    return clock.to_local(instant).strftime("%H:%M")


@bp.route("/events/<int:event_id>/in", methods=["POST"])
@allow("lawyer")
def sign_in(event_id):
    event = readable_event(actor(), event_id)
    form = SignInForm(prefix=f"signin-{event.id}")

    def change():
        position = service.read_position(form.latitude.data, form.longitude.data,
                                         form.accuracy.data)
        signin = service.sign_in(actor(), event, position=position)
        time = _local_time(signin.signed_in_at)
        if position is None:
            return _("Signed in at %(time)s, without your position: the phone did not give "
                     "it.", time=time)
        if position.accuracy is None:
            return _("Signed in at %(time)s, with your position.", time=time)
        return _("Signed in at %(time)s, with your position (within about %(metres)s m).",
                 time=time, metres=position.accuracy)
    return _panel().submit(event, "signin", form, change, validate=False)


@bp.route("/events/<int:event_id>/out", methods=["POST"])
@allow("lawyer")
def sign_out(event_id):
    event = readable_event(actor(), event_id)
    # a request over JIEDUI_MAX_UPLOAD_MB is refused (413) before it gets here: app.js
    # checks the photos' size before sending them
    form = SignOutForm(prefix=f"signout-{event.id}")

    def change():
        photos = [upload.stream for upload in form.photos.data or ()
                  if upload is not None and getattr(upload, "filename", "")]
        signin = service.sign_out(actor(), event, content=form.content.data,
                                  residents=form.residents.data, photos=photos)
        return _("Signed out at %(time)s. The session is recorded as held and written in "
                 "your work log.", time=_local_time(signin.signed_out_at))
    return _panel().submit(event, "signout", form, change, validate=False)


@bp.route("/photos/<int:photo_id>")
@allow(*ROLES)
def photo(photo_id):
    """A sign-in photo, for those who may read its event (404 for anyone else)."""
    response = send_file(service.open_photo(actor(), photo_id), mimetype="image/jpeg",
                         max_age=0)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-cache"
    return response

"""What a page shows of an event's sign-in (签到) to the person reading it, for templates.

``signin_state(event)`` (a template global, registered with the sign-in blueprint) is the
one helper the sign-in partial (``signin/_home_action.html``), the event page and the
calendar marks call. Sign-ins are read once per request: ``prime_signins(events)`` loads
those of a list of events in one query (the calendar's month does); without it, the first
call for a lawyer's own event loads the sign-ins of all their events from a week ago on in
one query (a lawyer's home with today's and this week's sessions), any other event costs
one query.
"""
import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from flask import g
from flask_login import current_user

from core import clock
from core import signins as service
from core.config import get_settings
from core.models import Event, SignIn

WINDOW_DAYS = 7  # a lawyer's own sign-ins read at once: from this many days ago on


def _cache() -> dict:
    if "signins" not in g:
        g.signins = {}
        g.signins_since = {}  # lawyer id -> the first instant whose events are all cached
    return g.signins


def prime_signins(events) -> str:
    """Read the sign-ins of ``events`` (Event rows, or ids) in one query. Returns "" so a
    template may call it: ``{{ prime_signins(events) }}``."""
    ids = [getattr(event, "id", event) for event in events]
    cache = _cache()
    wanted = [event_id for event_id in ids if event_id not in cache]
    found = service.signins_for(wanted)
    for event_id in wanted:
        cache[event_id] = found.get(event_id)
    return ""


def _own_window(event: Event, user) -> bool:
    """Load the sign-ins of the lawyer's events from a week ago in one query, once; True
    when ``event`` is among them (its sign-in, or None, is then cached)."""
    if user is None or user.role != "lawyer" or user.lawyer_id != event.lawyer_id:
        return False
    _cache()
    since = g.signins_since.get(user.lawyer_id)
    if since is None:
        since = clock.utc_from_local(clock.today() - dt.timedelta(days=WINDOW_DAYS), dt.time.min)
        rows = (SignIn.select(SignIn).join(Event, on=(SignIn.event == Event.id))
                .where((Event.lawyer == user.lawyer_id) & (Event.starts_at >= since)))
        cache = g.signins
        for signin in rows:
            cache[signin.event_id] = signin
        g.signins_since[user.lawyer_id] = since
    if event.starts_at >= since:
        g.signins.setdefault(event.id, None)
        return True
    return False


def _signin(event: Event, user) -> SignIn | None:
    cache = _cache()
    if event.id not in cache and not _own_window(event, user):
        cache[event.id] = service.signin_of(event)
    return cache[event.id]


@dataclass
class SigninView:
    """An event's sign-in as ``user`` sees it."""
    event: Event
    user: object
    signin: SignIn | None

    @property
    def own(self) -> bool:
        """The viewer is the event's lawyer."""
        user = self.user
        return user is not None and user.role == "lawyer" and user.lawyer_id == self.event.lawyer_id

    @cached_property
    def step(self) -> str | None:
        """"sign_in", "sign_out" or None: what the viewer can do now (core.signins.next_step)."""
        return service.next_step(self.user, self.event, self.signin) if self.own else None

    @property
    def signed_in(self) -> str:
        return clock.to_local(self.signin.signed_in_at).strftime("%H:%M") if self.signin else ""

    @property
    def signed_out(self) -> str:
        if self.signin is None or self.signin.signed_out_at is None:
            return ""
        return clock.to_local(self.signin.signed_out_at).strftime("%H:%M")

    @property
    def proof(self) -> str | None:
        """"signin", "hand", "late" for a held event (core.vocabulary.HELD_PROOFS)."""
        return service.held_proof(self.event, self.signin)

    @cached_property
    def position(self) -> service.Position | None:
        """The position, for those who may see it (``core.signins.can_see_position``)."""
        signin = self.signin
        if signin is None or signin.latitude is None \
                or not service.can_see_position(self.user, self.event):
            return None
        return service.Position(signin.latitude, signin.longitude, signin.accuracy_m)

    @property
    def has_position(self) -> bool:
        return self.signin is not None and self.signin.latitude is not None

    @cached_property
    def photos(self) -> list:
        return service.photos_of(self.signin)

    @property
    def max_bytes(self) -> int:
        """What one sign-out may send (the request limit, photos and form together)."""
        return get_settings().max_upload_bytes

    @property
    def max_photos(self) -> int:
        return service.MAX_PHOTOS


def signin_state(event: Event) -> SigninView:
    """The sign-in of ``event`` as the logged-in user sees it, and what they can do now."""
    user = current_user.user if current_user.is_authenticated else None
    return SigninView(event=event, user=user, signin=_signin(event, user))

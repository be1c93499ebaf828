"""The HTMX panel protocol, written once.

A panel is the part of a page that its forms change: a village's pairing panel, an event's
page, a user's panel. Each form posted to it goes the same way:

1. the view binds the form (and loads what it changes, with its scope checks);
2. the form is validated; the core's service is called and says what it did;
3. refused (a field error, or a ``core.errors.JieduiError``): the panel again with status
   422, the core's message next to the field it names (``web.render.attach_error``) and the
   submitted form opened with what was typed, nothing written;
4. done: with HTMX, the fresh panel with a notice and the panel's ``HX-Trigger`` event (the
   rest of the page listens for it); without HTMX, a flash message and a redirect (PRG)
   to where the panel is shown.

A ``Panel`` holds what differs between panels (how one is shown, its event, where a plain
post returns); a view names the subject, the form and the change::

    VILLAGE = Panel(_panel, trigger="pairingChanged", back=lambda village: ...)

    def end(pairing_id):
        pairing = _manageable_pairing(pairing_id)
        form = EndForm(prefix="end")

        def change():
            service.end_pairing(actor(), pairing, ended_on=form.ended_on.data, ...)
            return _("The pairing of %(village)s has ended; ...", village=...)
        return VILLAGE.submit(pairing.village, "end", form, change)
"""
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.errors import JieduiError, TooManyAttempts
from web.i18n import gettext as _
from web.render import attach_error, htmx

# show(subject, *, bound=None, status=200, trigger=None, notice=None) -> response
Show = Callable[..., Any]


class Panel:
    """One panel and the protocol of every form posted to it.

    ``show(subject, *, bound=None, status=200, trigger=None, notice=None)`` renders the
    panel (``web.render.render``: the page, or its fragment for HTMX); ``bound`` maps a
    submitted form's name to the form, shown with its errors and opened. ``back(subject)``
    is where a plain (non-HTMX) post is redirected after a change. ``trigger`` is the
    ``HX-Trigger`` event a change announces (None: none). ``reread(subject)``, if given,
    reads the subject again before it is shown after a post: the panel shows what is
    stored, the refused values stay in the form only. ``raises``: the errors that are not
    the form's to show (e.g. ``PermissionDenied``, ``NotFound``) and go to the app's error
    pages instead. ``on_change(subject)``, if given, runs after every change, before the
    answer (e.g. keeping one's own session alive after ending the others).

    A refusal for too many attempts (``TooManyAttempts``, e.g. the current password
    checked like a login) is 429 with ``Retry-After`` instead of 422.
    """

    def __init__(self, show: Show, *, back: Callable[[Any], str], trigger: str | None = None,
                 reread: Callable[[Any], Any] | None = None, redirect_code: int = 302,
                 raises: tuple[type[JieduiError], ...] = (),
                 on_change: Callable[[Any], None] | None = None):
        self.show = show
        self.back = back
        self.trigger = trigger
        self.reread = reread
        self.redirect_code = redirect_code
        self.raises = raises
        self.on_change = on_change

    def submit(self, subject, name: str, form, change: Callable[[], str | None], *,
               validate: bool = True):
        """Validate ``form`` (unless ``validate`` is false: the core checks every value),
        call ``change()`` and answer. ``change`` returns the message saying what was done,
        or None when it refused by itself (it put the reason on the form)."""
        if not validate or form.validate():
            try:
                message = change()
            except self.raises:
                raise
            except TooManyAttempts as refused:  # checked like a login: wait, then retry
                attach_error(form, refused)
                response = self.refused(subject, name, form, status=429)
                response.headers["Retry-After"] = str(refused.retry_after)
                return response
            except JieduiError as error:
                attach_error(form, error)
            else:
                if message is not None:
                    return self.changed(subject, message)
        return self.refused(subject, name, form)

    def submit_file(self, subject, name: str, form_class, save: Callable[[Any, Any], str], *,
                    limit: int, missing: str | None = None, empty: dict | None = None):
        """A form (``form_class``, prefixed ``name``) whose field ``file`` uploads one file of
        at most ``limit`` bytes: a body far over it is refused before it is read (the form
        comes back with ``empty``, its other values), a form without a file says
        ``missing``; else ``save(stream, form)`` stores it (the core checks what it is) and
        returns the message saying so."""
        too_large = _("The file is larger than %(max)s MB.", max=f"{limit / 1024 / 1024:g}")
        request.max_content_length = limit + 1024 * 1024
        try:
            if (request.content_length or 0) > request.max_content_length:
                raise RequestEntityTooLarge()
            form = form_class(prefix=name)
        except RequestEntityTooLarge:  # said so, or a body longer than it said
            form = form_class(formdata=None, prefix=name, **(empty or {}))
            form.file.errors = [too_large]
            return self.refused(subject, name, form)

        def change():
            upload = form.file.data
            if not upload or not upload.filename:
                form.file.errors = [missing or _("Choose a photo to upload.")]
                return None
            return save(upload.stream, form)
        return self.submit(subject, name, form, change, validate=False)

    def changed(self, subject, message: str):
        """After a change: the fresh panel with ``message`` and the event (HTMX), or the
        message flashed and a redirect back (PRG)."""
        if self.on_change is not None:
            self.on_change(subject)
        if self.reread is not None:
            subject = self.reread(subject)
        if htmx:
            return self.show(subject, trigger=self.trigger, notice=message)
        flash(message, "success")
        return redirect(self.back(subject), code=self.redirect_code)

    def refused(self, subject, name: str, form, status: int = 422):
        """The panel again with the refused ``form`` (its errors beside its fields)."""
        if self.reread is not None:
            subject = self.reread(subject)
        return self.show(subject, bound={name: form}, status=status)

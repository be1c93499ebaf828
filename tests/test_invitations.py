"""Logins by invitation: one per lawyer, village and town without a login; the link sets a
password once, expires, and dies when re-issued; every issue and use is audited."""
import datetime as dt

import pytest

from core import clock, invitations, logins
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog, Lawyer, LoginInvitation, Town, User, Village
from tests.mail_support import parsed, smtp_sink  # noqa: F401 (fixture)

GOOD = "Qingshi#river7"


def zh(text):
    return text


def test_one_invitation_per_person_without_a_login(district):
    district.users.other_town_coordinator.delete_instance()
    before_users = User.select().count()
    lawyers = Lawyer.select().where(Lawyer.active).count()
    villages, towns = Village.select().count(), Town.select().count()
    # the small district has a lawyer user, a village user and a town coordinator already
    missing = invitations.without_login()
    assert missing == {"lawyers": lawyers - 1, "villages": villages - 1, "towns": 1}
    assert towns == 2
    issued = invitations.invite_missing(district.users.admin)
    assert len(issued) == sum(missing.values())
    assert User.select().count() == before_users + len(issued)
    assert invitations.without_login() == {"lawyers": 0, "villages": 0, "towns": 0}
    roles = {(i.user.role, bool(i.user.lawyer_id), bool(i.user.village_id), bool(i.user.town_id))
             for i in issued}
    assert roles == {("lawyer", True, False, False), ("village", False, True, False),
                     ("coordinator", False, False, True)}
    lawyer_user = next(i.user for i in issued if i.user.role == "lawyer")
    assert lawyer_user.username == lawyer_user.lawyer.licence_no
    # the token is not stored, only its hash
    stored = {row.token_hash for row in LoginInvitation.select()}
    assert not stored & {i.token for i in issued}
    assert AuditLog.select().where(AuditLog.action == "invitation.issue").count() == len(issued)
    # nobody is missing now: a second run invites nobody
    assert invitations.invite_missing(district.users.admin) == []


def test_only_an_administrator_invites(district):
    with pytest.raises(PermissionDenied):
        invitations.invite_missing(district.users.coordinator)


def test_the_link_sets_a_password_once(district):
    issued = invitations.invite_missing(district.users.admin)[0]
    with pytest.raises(PermissionDenied):  # no password yet: nobody logs in
        logins.attempt(issued.user.username, "!invited")
    with pytest.raises(ValidationError) as weak:  # the house's rules; the link still works
        invitations.accept(issued.token, "12345678")
    assert weak.value.field == "password"
    user = invitations.accept(issued.token, GOOD)
    assert logins.attempt(user.username, GOOD).id == user.id
    with pytest.raises(ValidationError) as again:
        invitations.accept(issued.token, "Another#pass9")
    assert "used already" in again.value.translate(zh)
    assert logins.attempt(user.username, GOOD).id == user.id
    assert AuditLog.select().where((AuditLog.action == "invitation.accept")
                                   & (AuditLog.object_id == str(user.id))).count() == 1


def test_an_expired_link_says_so(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_INVITATION_DAYS", "3")
    issued = invitations.invite_missing(district.users.admin)[0]
    later = clock.now_utc() + dt.timedelta(days=3, minutes=1)
    monkeypatch.setattr(clock, "now_utc", lambda: later)
    with pytest.raises(ValidationError) as expired:
        invitations.accept(issued.token, GOOD)
    assert "expired on" in expired.value.translate(zh)
    assert invitations.state(LoginInvitation.get(LoginInvitation.user == issued.user)) == \
        "expired"


def test_reissue_kills_the_old_link(district):
    old = invitations.invite_missing(district.users.admin)[0]
    new = invitations.reissue(district.users.admin, old.user)
    with pytest.raises(ValidationError) as dead:
        invitations.check(old.token)
    assert "newer invitation" in dead.value.translate(zh)
    assert invitations.accept(new.token, GOOD).id == old.user.id
    entry = (AuditLog.select().where(AuditLog.action == "invitation.issue")
             .order_by(AuditLog.id.desc()).first())
    assert entry.detail["replaced"] == 1
    with pytest.raises(ValidationError):  # a user with a password resets it instead
        invitations.reissue(district.users.admin, old.user)


def test_unknown_link_is_refused(database):
    with pytest.raises(ValidationError) as unknown:
        invitations.check("not-a-token")
    assert "not valid" in unknown.value.translate(zh)


def test_invitations_go_by_email_where_configured(district, monkeypatch, smtp_sink):
    lawyer = Lawyer.select().where(Lawyer.active).order_by(Lawyer.id.desc()).first()
    lawyer.email = "lawyer@example.cn"
    lawyer.save()
    monkeypatch.setenv("JIEDUI_SMTP_URL", "smtp://127.0.0.1:%s" % smtp_sink.server_address[1])
    monkeypatch.setenv("JIEDUI_MAIL_TO", "office@example.cn")
    issued = invitations.invite_missing(district.users.admin)
    counts = invitations.send(district.users.admin, issued, lambda token: f"https://x/invite/{token}",
                              zh)
    assert counts["sent"] == 1 and counts["no_address"] == len(issued) - 1
    [message] = [parsed(m) for m in smtp_sink.messages]
    mine = next(i for i in issued if i.user.lawyer_id == lawyer.id)
    assert f"https://x/invite/{mine.token}" in message.get_content()


def test_a_password_set_by_the_administrator_kills_the_link(district):
    from core.users import reset_password
    issued = invitations.invite_missing(district.users.admin)[0]
    reset_password(district.users.admin, issued.user, "Given#by-admin7")
    with pytest.raises(ValidationError):
        invitations.accept(issued.token, GOOD)
    assert logins.attempt(issued.user.username, "Given#by-admin7").id == issued.user.id

"""Sign-in at a session (签到): only the event's lawyer, only on its day, once; signing out
records the session as held and writes the work log; the position is kept only when given;
photos lose their EXIF and GPS; late recording is marked."""
import datetime as dt
import io

import pytest
from PIL import ExifTags, Image

from core import clock, signins
from core.audit import entries_for
from core.config import get_settings
from core.demo import DEMO_LOGINS
from core.errors import NotFound, PermissionDenied, ValidationError
from core.events import cancel_event, move_event, record_held
from core.i18n import gettext_for
from core.models import Event, SignIn, SignInPhoto, User, WorkLog
from core.pairings import replace_lawyer
from core.users import create_user
from tests.factories import PASSWORD, make_lawyer
from tests.planning_support import make_event, now, published, utc  # noqa: F401 (fixtures)

D = dt.date
MONDAY = D(2026, 3, 2)


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    """The instance folder of this test: the photos are stored under it."""
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path))
    return tmp_path / "uploads" / "signins"


@pytest.fixture
def session_today(district, now, published, uploads):
    """Pairing 0's on-site session on MONDAY 08:30-12:00; the clock at 08:20 that day."""
    now(utc(2026, 3, 2, 8, 20))
    return make_event(district.pairings[0], MONDAY, "am")


def _jpeg_with_gps(size=(640, 480)) -> bytes:
    """A camera's JPEG: EXIF with the GPS position where it was taken (often a home)."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 2.0, 13.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 13.0, 41.2)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _sign_out(district, event, now, *, at=utc(2026, 3, 2, 12, 5), **kwargs):
    now(at)
    values = dict(content="为村民解答土地承包纠纷咨询", residents=12, photos=())
    values.update(kwargs)
    return signins.sign_out(district.users.lawyer, event, **values)


# --- who and when -----------------------------------------------------------------------------

def test_the_lawyer_signs_in_on_the_day_at_the_clocks_time(district, session_today):
    signin = signins.sign_in(district.users.lawyer, session_today)
    assert signin.signed_in_at == utc(2026, 3, 2, 8, 20)
    assert signin.lawyer_id == district.lawyers[0].id
    assert signin.signed_out_at is None
    assert Event.get_by_id(session_today.id).status == "planned"  # held only at the sign-out


@pytest.mark.parametrize("day", [D(2026, 3, 1), D(2026, 3, 3)])
def test_sign_in_only_on_the_events_day(district, session_today, now, day):
    now(dt.datetime.combine(day, dt.time(2)))  # 10:00 district time
    with pytest.raises(ValidationError, match="only on the day of the event \\(2026-03-02\\)"):
        signins.sign_in(district.users.lawyer, session_today)
    assert SignIn.select().count() == 0


def test_the_day_is_the_districts_day(district, now, uploads):
    """An evening session at 19:00 district time is 11:00 UTC the same date; at 00:30
    district time the next day (16:30 UTC the day before) it is no longer its day."""
    event = make_event(district.pairings[0], MONDAY, "am",
                       starts_at=utc(2026, 3, 2, 19), ends_at=utc(2026, 3, 2, 22, 30))
    now(utc(2026, 3, 3, 0, 30))
    with pytest.raises(ValidationError):
        signins.sign_in(district.users.lawyer, event)
    now(utc(2026, 3, 2, 23, 50))
    assert signins.sign_in(district.users.lawyer, event).id


@pytest.mark.parametrize("who", ["coordinator", "town_coordinator", "admin", "village"])
def test_only_the_lawyer_signs_in(district, session_today, who):
    with pytest.raises(PermissionDenied):
        signins.sign_in(getattr(district.users, who), session_today)


def test_another_lawyer_cannot_sign_in(district, session_today):
    other = create_user("lawyer-2", PASSWORD, "lawyer", lawyer=district.lawyers[1])
    with pytest.raises(PermissionDenied):
        signins.sign_in(other, session_today)
    assert SignIn.select().count() == 0


def test_signing_in_twice_is_refused(district, session_today, now):
    signins.sign_in(district.users.lawyer, session_today)
    now(utc(2026, 3, 2, 9))
    with pytest.raises(ValidationError, match="signed in already, at 08:20"):
        signins.sign_in(district.users.lawyer, session_today)
    assert SignIn.select().count() == 1


def test_signing_out_before_signing_in_is_refused(district, session_today, now):
    with pytest.raises(ValidationError, match="Sign in first"):
        _sign_out(district, session_today, now)
    assert Event.get_by_id(session_today.id).status == "planned"
    assert WorkLog.select().count() == 0


def test_a_cancelled_event_cannot_be_signed_in(district, session_today, now):
    cancel_event(district.users.coordinator, session_today, reason="村委会议")
    with pytest.raises(ValidationError, match="cancelled"):
        signins.sign_in(district.users.lawyer, Event.get_by_id(session_today.id))


def test_an_event_cancelled_after_the_sign_in_cannot_be_signed_out(district, session_today, now):
    signins.sign_in(district.users.lawyer, session_today)
    cancel_event(district.users.coordinator, session_today, reason="台风")
    with pytest.raises(ValidationError, match="cancelled"):
        _sign_out(district, Event.get_by_id(session_today.id), now)


def test_an_event_held_already_cannot_be_signed_in(district, session_today, now):
    now(utc(2026, 3, 2, 12, 30))
    record_held(district.users.coordinator, session_today, start=utc(2026, 3, 2, 8, 30),
                end=utc(2026, 3, 2, 12))
    with pytest.raises(ValidationError, match="held already"):
        signins.sign_in(district.users.lawyer, Event.get_by_id(session_today.id))


def test_a_programme_tasks_slot_has_no_sign_in(district, now, uploads):
    event = make_event(district.pairings[0], MONDAY, "am", kind="task")
    now(utc(2026, 3, 2, 8))
    with pytest.raises(ValidationError, match="on-site session or a publicity event"):
        signins.sign_in(district.users.lawyer, event)


def test_a_replaced_lawyer_cannot_sign_in_to_the_new_lawyers_event(district, now, uploads,
                                                                  published):
    """After a replacement the village's session today is the new lawyer's: the old one
    cannot sign in to it, nor to one still in their name while the hand-over waits for a
    coordinator (the pairing of the day decides)."""
    now(utc(2026, 2, 20, 9))
    old_user = district.users.lawyer
    newcomer = make_lawyer("钱进", district.firms[0])
    new_pairing = replace_lawyer(district.users.coordinator, district.pairings[0],
                                 lawyer=newcomer, on=D(2026, 3, 1))
    new_user = create_user("newcomer", PASSWORD, "lawyer", lawyer=newcomer)
    handed = make_event(new_pairing, MONDAY, "am")
    waiting = make_event(district.pairings[0], MONDAY, "pm")  # still in the old name
    now(utc(2026, 3, 2, 8, 20))
    with pytest.raises(PermissionDenied):
        signins.sign_in(old_user, handed)
    with pytest.raises(PermissionDenied, match="paired with the village on 2026-03-02"):
        signins.sign_in(old_user, waiting)
    assert signins.sign_in(new_user, handed).lawyer_id == newcomer.id
    assert SignIn.select().count() == 1


# --- the position --------------------------------------------------------------------------

def test_no_position_is_stored_when_none_is_given(district, session_today):
    signin = signins.sign_in(district.users.lawyer, session_today, position=None)
    stored = SignIn.get_by_id(signin.id)
    assert (stored.latitude, stored.longitude, stored.accuracy_m) == (None, None, None)
    assert signins.read_position("", "", "") is None
    assert signins.read_position(None, None, "35") is None  # an accuracy alone is no position


def test_the_position_is_stored_with_its_accuracy(district, session_today):
    position = signins.read_position("31.037512345", "121.227934", "23.2")
    assert position == signins.Position(31.037512, 121.227934, 24)  # metres, rounded up
    signin = signins.sign_in(district.users.lawyer, session_today, position=position)
    stored = SignIn.get_by_id(signin.id)
    assert (stored.latitude, stored.longitude, stored.accuracy_m) == (31.037512, 121.227934, 24)
    audit = [e for e in entries_for(session_today) if e.action == "event.sign_in"]
    assert audit[0].detail["position"] is True
    assert "31.03" not in str(audit[0].detail)  # the audit says that, not where


@pytest.mark.parametrize("lat, lng, accuracy", [
    ("31.2", "", ""), ("", "121.4", "10"), ("north", "121.4", ""), ("91", "121.4", ""),
    ("31.2", "-181", ""), ("nan", "121.4", ""), ("31.2", "121.4", "-5"), ("31.2", "121.4", "inf"),
])
def test_a_broken_position_is_refused(lat, lng, accuracy):
    with pytest.raises(ValidationError, match="position could not be read"):
        signins.read_position(lat, lng, accuracy)


# --- signing out -------------------------------------------------------------------------------

def test_signing_out_records_the_session_held_and_writes_the_work_log(district, session_today,
                                                                      now):
    signins.sign_in(district.users.lawyer, session_today)
    signin = _sign_out(district, session_today, now, residents="12")
    assert signin.signed_out_at == utc(2026, 3, 2, 12, 5)
    assert (signin.content, signin.residents_served) == ("为村民解答土地承包纠纷咨询", 12)
    event = Event.get_by_id(session_today.id)
    assert event.status == "held" and not event.held_late
    assert (event.held_start, event.held_end) == (utc(2026, 3, 2, 8, 20), utc(2026, 3, 2, 12, 5))
    entry = WorkLog.get(WorkLog.event == event.id)
    assert entry.content == f"在{event.village.name}坐班：为村民解答土地承包纠纷咨询"
    assert entry.result == "服务群众 12 人。"
    assert (entry.occurred_at, entry.duration_minutes) == (utc(2026, 3, 2, 8, 20), 225)
    assert entry.lawyer_id == district.lawyers[0].id and entry.mode == "onsite"
    assert signins.held_proof(event, signin) == "signin"
    actions = [e.action for e in entries_for(event)]
    assert {"event.sign_in", "event.sign_out", "event.held"} <= set(actions)


def test_signing_out_too_early_is_refused_by_the_half_day_rule(district, session_today, now):
    """The rule of recording a session held applies: at least 3.5 hours; nothing written."""
    signins.sign_in(district.users.lawyer, session_today)
    with pytest.raises(ValidationError, match="at least 3.5 hours; this one lasted 1:10"):
        _sign_out(district, session_today, now, at=utc(2026, 3, 2, 9, 30),
                  photos=[io.BytesIO(_jpeg_with_gps())])
    assert SignIn.get().signed_out_at is None
    assert Event.get_by_id(session_today.id).status == "planned"
    assert WorkLog.select().count() == 0 and SignInPhoto.select().count() == 0


def test_signing_out_twice_is_refused(district, session_today, now):
    signins.sign_in(district.users.lawyer, session_today)
    _sign_out(district, session_today, now)
    with pytest.raises(ValidationError, match="signed out already, at 12:05"):
        _sign_out(district, Event.get_by_id(session_today.id), now, at=utc(2026, 3, 2, 12, 30))


def test_a_sign_in_left_open_cannot_be_signed_out_the_next_day(district, session_today, now):
    signins.sign_in(district.users.lawyer, session_today)
    with pytest.raises(ValidationError, match="not closed on its day"):
        _sign_out(district, session_today, now, at=utc(2026, 3, 3, 9))


@pytest.mark.parametrize("content, residents, field", [
    ("", 3, "content"), ("x" * 501, 3, "content"), ("讲座", "", "residents"),
    ("讲座", "-1", "residents"), ("讲座", "3.5", "residents"), ("讲座", "10001", "residents"),
    ("讲座", "十二", "residents"), ("讲座\x00", 3, "content"),
])
def test_bad_sign_out_input_is_refused_and_nothing_written(district, session_today, now,
                                                           content, residents, field):
    signins.sign_in(district.users.lawyer, session_today)
    with pytest.raises(ValidationError) as refused:
        _sign_out(district, session_today, now, content=content, residents=residents)
    assert refused.value.field == field
    assert Event.get_by_id(session_today.id).status == "planned"
    assert SignIn.get().signed_out_at is None and WorkLog.select().count() == 0


# --- photos ------------------------------------------------------------------------------------

def test_photos_are_re_encoded_without_exif_or_gps(district, session_today, now, uploads):
    upload = _jpeg_with_gps()
    assert b"Exif" in upload and Image.open(io.BytesIO(upload)).getexif().get_ifd(
        ExifTags.IFD.GPSInfo)
    signins.sign_in(district.users.lawyer, session_today)
    signin = _sign_out(district, session_today, now, photos=[io.BytesIO(upload)])
    [photo] = signins.photos_of(signin)
    stored = (uploads.parent.parent / photo.path)
    assert stored.parent.parent == uploads and stored.name == f"{photo.sha256}.jpg"
    data = stored.read_bytes()
    assert data != upload and b"Exif" not in data and b"PhoneMaker" not in data
    with Image.open(stored) as image:
        assert image.format == "JPEG" and image.size == (640, 480)
        assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert photo.size == len(data)


def test_an_oversized_photo_is_refused_in_chinese_and_nothing_is_stored(district, session_today,
                                                                        now, uploads):
    """More pixels than a phone's camera takes: refused from the header, before decoding."""
    huge = io.BytesIO()
    Image.new("1", (9000, 5000)).save(huge, "PNG")  # 45 megapixels, a few kilobytes
    signins.sign_in(district.users.lawyer, session_today)
    with pytest.raises(ValidationError) as refused:
        _sign_out(district, session_today, now,
                  photos=[io.BytesIO(_jpeg_with_gps()), io.BytesIO(huge.getvalue())])
    assert refused.value.field == "photos"
    assert refused.value.translate(gettext_for("zh_CN")) == \
        "这张图片像素太多；请上传不超过 40 百万像素的照片。"
    assert not uploads.exists() or not any(uploads.rglob("*.jpg"))
    assert SignInPhoto.select().count() == 0
    assert Event.get_by_id(session_today.id).status == "planned"


def test_a_photo_over_the_size_limit_or_not_a_photo_is_refused(district, session_today, now,
                                                              monkeypatch, uploads):
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "1")
    signins.sign_in(district.users.lawyer, session_today)
    with pytest.raises(ValidationError, match="larger than 1 MB") as refused:
        _sign_out(district, session_today, now, photos=[io.BytesIO(b"\xff\xd8\xff" * 400_000)])
    assert refused.value.translate(gettext_for("zh_CN")).startswith("文件")
    with pytest.raises(ValidationError, match="not a photo"):
        _sign_out(district, session_today, now, photos=[io.BytesIO(b"%PDF-1.7 not a picture")])
    with pytest.raises(ValidationError, match="At most 4 photos"):
        _sign_out(district, session_today, now,
                  photos=[io.BytesIO(_jpeg_with_gps()) for _ in range(5)])
    assert SignInPhoto.select().count() == 0


def test_photos_are_served_to_those_who_read_the_event(district, session_today, now, uploads):
    signins.sign_in(district.users.lawyer, session_today)
    [photo] = signins.photos_of(_sign_out(district, session_today, now,
                                          photos=[io.BytesIO(_jpeg_with_gps())]))
    for who in ("lawyer", "village", "town_coordinator", "coordinator", "admin"):
        assert signins.open_photo(getattr(district.users, who), photo.id).is_file()
    other_village = create_user("village-2", PASSWORD, "village", village=district.villages[3])
    for who in (district.users.other_town_coordinator, other_village):
        with pytest.raises(NotFound):
            signins.open_photo(who, photo.id)
    with pytest.raises(NotFound):
        signins.open_photo(district.users.admin, photo.id + 100)


def test_the_position_is_for_those_who_may_change_the_event(district, session_today):
    users = district.users
    assert all(signins.can_see_position(u, session_today)
               for u in (users.lawyer, users.town_coordinator, users.coordinator, users.admin))
    assert not signins.can_see_position(users.village, session_today)


# --- held late or by hand ----------------------------------------------------------------------

def test_recording_held_after_the_day_is_marked_late(district, session_today, now):
    now(utc(2026, 3, 4, 10))
    record_held(district.users.lawyer, session_today, start=utc(2026, 3, 2, 8, 30),
                end=utc(2026, 3, 2, 12))
    event = Event.get_by_id(session_today.id)
    assert event.held_late and signins.held_proof(event, None) == "late"
    # correcting the times later keeps the mark; the work log holds the entry once
    record_held(district.users.coordinator, event, start=utc(2026, 3, 2, 8, 40),
                end=utc(2026, 3, 2, 12, 10))
    assert Event.get_by_id(event.id).held_late
    assert WorkLog.select().where(WorkLog.event == event.id).count() == 1


def test_recording_held_by_hand_on_the_day_is_not_late(district, session_today, now):
    now(utc(2026, 3, 2, 12, 30))
    record_held(district.users.lawyer, session_today, start=utc(2026, 3, 2, 8, 30),
                end=utc(2026, 3, 2, 12))
    event = Event.get_by_id(session_today.id)
    assert not event.held_late and signins.held_proof(event, None) == "hand"
    assert signins.next_step(district.users.lawyer, event, None) is None


def test_next_step_follows_the_sign_in(district, session_today, now):
    lawyer, coordinator = district.users.lawyer, district.users.coordinator
    assert signins.next_step(lawyer, session_today, None) == "sign_in"
    assert signins.next_step(coordinator, session_today, None) is None
    signin = signins.sign_in(lawyer, session_today)
    assert signins.next_step(lawyer, session_today, signin) == "sign_out"
    signin = _sign_out(district, session_today, now)
    assert signins.next_step(lawyer, Event.get_by_id(session_today.id), signin) is None


def test_held_proofs_count_per_pairing_and_kind(district, session_today, now):
    pairing = district.pairings[0]
    signins.sign_in(district.users.lawyer, session_today)
    _sign_out(district, session_today, now)
    late = make_event(pairing, D(2026, 3, 3), "am")
    hand = make_event(pairing, D(2026, 3, 4), "am", kind="publicity")
    now(utc(2026, 3, 4, 12, 30))
    record_held(None, late, start=late.starts_at, end=late.ends_at)
    record_held(None, hand, start=hand.starts_at, end=hand.ends_at)
    proofs = signins.held_proofs([pairing.id], 2026)
    assert proofs[(pairing.id, "session")] == {"signin": 1, "late": 1}
    assert proofs[(pairing.id, "publicity")] == {"hand": 1}
    assert signins.held_proofs([pairing.id], 2027) == {}


def test_a_signed_in_event_can_no_longer_be_moved(district, session_today, now):
    """Signed in before its start, the session stays where the lawyer signed in."""
    signins.sign_in(district.users.lawyer, session_today)
    with pytest.raises(ValidationError, match="signed in at this event"):
        move_event(district.users.coordinator, session_today,
                   starts_at=utc(2026, 3, 3, 8, 30), ends_at=utc(2026, 3, 3, 12))


# --- the demo ----------------------------------------------------------------------------------

def test_the_demo_lawyer_has_an_on_site_event_today_to_sign_in_to(demo_db):
    lawyer = User.get(User.username == DEMO_LOGINS["lawyer"][0])
    today = [event for event in Event.select().where(
        (Event.lawyer == lawyer.lawyer_id) & Event.kind.in_(("session", "publicity")))
        if clock.local_date(event.starts_at) == clock.today()]
    assert any(signins.next_step(lawyer, event, signins.signin_of(event)) == "sign_in"
               for event in today)


def test_the_demo_signed_in_some_past_sessions_and_recorded_some_late(demo_db):
    held_lately = Event.select().where(
        (Event.status == "held") & (Event.starts_at >= clock.now_utc() - dt.timedelta(days=50)))
    if not held_lately.exists():
        pytest.skip("the year has just begun: nothing held yet")
    signed = list(SignIn.select())
    assert signed and all(s.signed_out_at and s.residents_served is not None for s in signed)
    assert Event.select().where(Event.held_late).exists()
    for signin in signed:
        event = Event.get_by_id(signin.event_id)
        assert event.status == "held" and signins.held_proof(event, signin) == "signin"
        assert WorkLog.get(WorkLog.event == event.id).content.startswith(f"在{event.village.name}坐班：") or \
            event.kind == "publicity"
    for photo in SignInPhoto.select():
        data = (get_settings().instance / photo.path).read_bytes()
        assert b"Exif" not in data and len(data) == photo.size

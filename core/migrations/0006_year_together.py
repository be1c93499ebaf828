"""A year that holds together: the pairing's on-site arrangement replaces the free-text hours
and the preferred weekday and half-day; events say why they are where they are, can be made
up and carry re-planning's proposals; handed-over events stay in the previous lawyer's feed;
villages have an address; users an e-mail address and notification preferences; feeds a
gzip copy."""
import datetime as dt

from peewee import *

from core.arrangements import Arrangement, candidates, parse, stretched
from core.config import load_settings


def up(migrator, db):
    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    migrator.migrate(
        migrator.add_column('pairing', 'onsite_week', IntegerField(default=1)),
        migrator.add_column('pairing', 'onsite_weekday', IntegerField(default=0)),
        migrator.add_column('pairing', 'onsite_start', TimeField(default=dt.time(8, 30))),
        migrator.add_column('pairing', 'onsite_end', TimeField(default=dt.time(12, 0))),
        migrator.add_column('village', 'address', CharField(default='')),
        migrator.add_column('user', 'email', CharField(default='')),
        migrator.add_column('event', 'placement', CharField(default='')),
        migrator.add_column('event', 'arranged_on', DateField(null=True)),
        migrator.add_column('event', 'makeup_for_id',
                            ForeignKeyField(Event, field=Event.id, null=True,
                                            on_delete='SET NULL')),
        migrator.add_column('event', 'proposal', JSONField(null=True)),
        migrator.add_column('event', 'shown_hash', CharField(default='')),
        migrator.add_column('feed_snapshot', 'body_gzip', BlobField(null=True)),
        migrator.add_column('delivery', 'address', CharField(default='')),
    )
    _arrangements_from_words(db)
    migrator.migrate(
        migrator.drop_column('pairing', 'onsite_hours'),
        migrator.drop_column('pairing', 'preferred_weekday'),
        migrator.drop_column('pairing', 'preferred_half_day'),
    )

    class EventHandover(Model):
        event = ForeignKeyField(Event, on_delete='CASCADE')
        lawyer = ForeignKeyField(Lawyer, on_delete='CASCADE')
        to_lawyer = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        handed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'event_handover'
            indexes = ((('lawyer', 'handed_at'), False),)

    class NotificationPreference(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField()
        email = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'notification_preference'
            indexes = ((('user', 'kind'), True),)

    db.create_tables([EventHandover, NotificationPreference])


def _arrangements_from_words(db):
    """Each pairing's arrangement from what it published (``onsite_hours``, e.g.
    "每月第二个周二上午 9:00-12:00") and its preferred weekday and half-day; a window shorter
    than the half-day rule is lengthened at its end, so sessions held as published count."""
    settings = load_settings()
    rows = db.execute_sql('SELECT id, village_id, lawyer_id, onsite_hours, preferred_weekday, '
                          'preferred_half_day FROM pairing ORDER BY id').fetchall()
    taken = {}  # lawyer -> arrangements given so far
    for pairing_id, village_id, lawyer_id, words, weekday, half in rows:
        found = parse(words or '', settings.morning, settings.afternoon)
        if found is None or found.weekday > 4:
            morning_or_afternoon = settings.afternoon if half == 'pm' else settings.morning
            fallback = next(c for c in candidates(village_id, settings.morning,
                                                  settings.afternoon)
                            if not any(c.meets(t, dt.timedelta(0))
                                       for t in taken.get(lawyer_id, ())))
            found = Arrangement(week=found.week if found else fallback.week,
                                weekday=weekday if weekday in range(5) else fallback.weekday,
                                start=morning_or_afternoon[0], end=morning_or_afternoon[1])
        found = stretched(found, settings.min_session_hours)
        taken.setdefault(lawyer_id, []).append(found)
        db.execute_sql('UPDATE pairing SET onsite_week = {0}, onsite_weekday = {0}, '
                       'onsite_start = {0}, onsite_end = {0} WHERE id = {0}'.format(db.param),
                       (found.week, found.weekday, found.start.isoformat(),
                        found.end.isoformat(), pairing_id))


def down(migrator, db):
    migrator.migrate(
        migrator.add_column('pairing', 'onsite_hours', CharField(default='')),
        migrator.add_column('pairing', 'preferred_weekday', IntegerField(null=True)),
        migrator.add_column('pairing', 'preferred_half_day', CharField(null=True)),
    )
    for name in ('onsite_week', 'onsite_weekday', 'onsite_start', 'onsite_end'):
        migrator.migrate(migrator.drop_column('pairing', name))
    migrator.migrate(migrator.drop_column('village', 'address'),
                     migrator.drop_column('user', 'email'),
                     migrator.drop_column('feed_snapshot', 'body_gzip'),
                     migrator.drop_column('delivery', 'address'))
    for name in ('placement', 'arranged_on', 'makeup_for_id', 'proposal', 'shown_hash'):
        migrator.migrate(migrator.drop_column('event', name))
    migrator.migrate(migrator.drop_table('event_handover'),
                     migrator.drop_table('notification_preference'))

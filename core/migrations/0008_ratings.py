"""Ratings that residents own: one-time rating codes handed out at sessions (a rating with a
code counts toward the assessment; one without is anonymous feedback), bursts of anonymous
ratings flagged for the coordinators, a daily keyed hash of the client's network for the
per-address limit, and the wrong codes counted per network.

Ratings given before this migration had no code: they stay as anonymous feedback and no
longer count."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Village(Model):
        class Meta:
            database = db
            table_name = 'village'

    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    class RatingBurst(Model):
        village = ForeignKeyField(Village, on_delete='CASCADE')
        started_at = DateTimeField()
        last_at = DateTimeField(index=True)
        count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'rating_burst'

    class RatingCode(Model):
        event = ForeignKeyField(Event, on_delete='CASCADE')
        code_hash = CharField(unique=True)
        issued_at = DateTimeField(default=now_utc)
        issued_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        used_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'rating_code'

    class RatingCodeMiss(Model):
        address_hash = CharField(index=True)
        at = DateTimeField(index=True, default=now_utc)
        class Meta:
            database = db
            table_name = 'rating_code_miss'

    db.create_tables([RatingBurst, RatingCode, RatingCodeMiss])

    migrator.migrate(
        migrator.add_column('rating', 'code_id',
                            ForeignKeyField(RatingCode, field=RatingCode.id, null=True,
                                            unique=True, on_delete='SET NULL')),
        migrator.add_column('rating', 'address_hash', CharField(default='', index=True)),
        migrator.add_column('rating', 'burst_id',
                            ForeignKeyField(RatingBurst, field=RatingBurst.id, null=True,
                                            on_delete='SET NULL')),
        migrator.add_column('rating', 'excluded', BooleanField(default=False)),
        migrator.drop_not_null('rating', 'device_hash'),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('rating', 'code_id'),
        migrator.drop_column('rating', 'address_hash'),
        migrator.drop_column('rating', 'burst_id'),
        migrator.drop_column('rating', 'excluded'),
    )
    # a verified rating has no device: it cannot survive the older schema's NOT NULL
    db.execute_sql("DELETE FROM rating WHERE device_hash IS NULL")
    migrator.migrate(migrator.add_not_null('rating', 'device_hash'))
    migrator.migrate(migrator.drop_table('rating_code_miss'),
                     migrator.drop_table('rating_code'),
                     migrator.drop_table('rating_burst'))

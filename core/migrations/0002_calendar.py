"""The calendar: holidays, events, feed tokens and snapshots, planning runs, shortfalls."""
from peewee import *


def up(migrator, db):
    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class Pairing(Model):
        class Meta:
            database = db
            table_name = 'pairing'

    class Town(Model):
        class Meta:
            database = db
            table_name = 'town'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Village(Model):
        class Meta:
            database = db
            table_name = 'village'

    class Event(Model):
        uid = CharField(unique=True)
        kind = CharField()
        plan_key = CharField(unique=True, null=True)
        village = ForeignKeyField(Village, null=True, on_delete='CASCADE')
        pairing = ForeignKeyField(Pairing, null=True, on_delete='SET NULL')
        lawyer = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        starts_at = DateTimeField(index=True)
        ends_at = DateTimeField()
        status = CharField(index=True, default='planned')
        sequence = IntegerField(default=0)
        title = CharField(default='')
        description = TextField(default='')
        held_start = DateTimeField(null=True)
        held_end = DateTimeField(null=True)
        cancel_reason = TextField(default='')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'event'
            indexes = ((('lawyer', 'starts_at'), False),)
    db.create_tables([Event])

    class FeedSnapshot(Model):
        key = CharField(unique=True)
        body = BlobField()
        etag = CharField()
        generated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'feed_snapshot'
    db.create_tables([FeedSnapshot])

    class FeedToken(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        label = CharField()
        token_hash = CharField(unique=True)
        created_at = DateTimeField()
        revoked_at = DateTimeField(null=True)
        last_used_at = DateTimeField(null=True)
        last_client = CharField(default='')
        class Meta:
            database = db
            table_name = 'feed_token'
    db.create_tables([FeedToken])

    class Holiday(Model):
        day = DateField(unique=True)
        kind = CharField()
        name = CharField(default='')
        source = CharField(default='official')
        note = TextField(default='')
        class Meta:
            database = db
            table_name = 'holiday'
    db.create_tables([Holiday])

    class PlanRun(Model):
        year = IntegerField()
        town = ForeignKeyField(Town, null=True, on_delete='SET NULL')
        status = CharField(default='queued')
        done = IntegerField(default=0)
        total = IntegerField(default=0)
        summary = JSONField(default=dict)
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'plan_run'
    db.create_tables([PlanRun])

    class Shortfall(Model):
        pairing = ForeignKeyField(Pairing, on_delete='CASCADE')
        year = IntegerField()
        kind = CharField()
        required = IntegerField()
        planned = IntegerField()
        reason = TextField(default='')
        class Meta:
            database = db
            table_name = 'shortfall'
            indexes = ((('pairing', 'year', 'kind'), True),)
    db.create_tables([Shortfall])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('shortfall'))
    migrator.migrate(migrator.drop_table('plan_run'))
    migrator.migrate(migrator.drop_table('holiday'))
    migrator.migrate(migrator.drop_table('feed_token'))
    migrator.migrate(migrator.drop_table('feed_snapshot'))
    migrator.migrate(migrator.drop_table('event'))

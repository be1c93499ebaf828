"""Inspections (检查, 五.4): a coordinator's visit or spot check of a village's service, its
checklist, findings and follow-up (``core.inspections``)."""
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

    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class Pairing(Model):
        class Meta:
            database = db
            table_name = 'pairing'

    class Inspection(Model):
        village = ForeignKeyField(Village, on_delete='CASCADE')
        pairing = ForeignKeyField(Pairing, null=True, on_delete='SET NULL')
        lawyer = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        inspected_on = DateField(index=True)
        kind = CharField(default='visit')
        checklist = JSONField(default=dict)
        findings = TextField(default='')
        follow_up = TextField(default='')
        follow_up_due = DateField(null=True)
        follow_up_done_on = DateField(null=True)
        follow_up_note = TextField(default='')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=now_utc)
        class Meta:
            database = db
            table_name = 'inspection'

    db.create_tables([Inspection])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS inspection')

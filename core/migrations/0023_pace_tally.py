"""Each pairing's quota and held counts of a year, kept at commit (``core.pace_tally``): the
desk, the list of pairings behind pace and the quota page read them instead of working out
every pairing. Filled from the existing pairings and events (one pass; an aggregate of the
held events per year)."""
from peewee import *


def up(migrator, db):
    class Pairing(Model):
        class Meta:
            database = db
            table_name = 'pairing'

    class PaceTally(Model):
        pairing = ForeignKeyField(Pairing, on_delete='CASCADE')
        year = IntegerField()
        sessions_required = IntegerField()
        publicity_required = IntegerField()
        first_day = IntegerField()
        last_day = IntegerField()
        sessions_held = IntegerField(default=0)
        publicity_held = IntegerField(default=0)
        min_hours = DoubleField()

        class Meta:
            database = db
            table_name = 'pace_tally'
            indexes = ((('year', 'pairing'), True),)

    db.create_tables([PaceTally])
    from core import pace_tally
    pace_tally.rebuild()


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS pace_tally')

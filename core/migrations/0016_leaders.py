"""The leadership group (领导小组): a leader's scope may be one law firm (a firm head, who
reads that firm's lawyers' work). The role itself ("leader") needs no column: ``user.role``
is free text checked by the models."""
from peewee import *


def up(migrator, db):
    class LawFirm(Model):
        class Meta:
            database = db
            table_name = 'law_firm'

    migrator.migrate(
        migrator.add_column('user', 'firm_id',
                            ForeignKeyField(LawFirm, field=LawFirm.id, null=True,
                                            on_delete='RESTRICT')),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'firm_id'))

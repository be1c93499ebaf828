"""The first schema: organisation, pairings and WeChat groups (frozen copies of the models)."""
from peewee import *


def up(migrator, db):
    class LawFirm(Model):
        name = CharField(unique=True)
        address = CharField(default='')
        phone = CharField(default='')
        class Meta:
            database = db
            table_name = 'law_firm'
    db.create_tables([LawFirm])

    class Lawyer(Model):
        name = CharField(index=True)
        firm = ForeignKeyField(LawFirm, on_delete='RESTRICT')
        licence_no = CharField(unique=True)
        phone = CharField(default='')
        wechat = CharField(default='')
        photo = CharField(default='')
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'lawyer'
    db.create_tables([Lawyer])

    class Assistant(Model):
        lawyer = ForeignKeyField(Lawyer, on_delete='CASCADE')
        name = CharField()
        phone = CharField(default='')
        class Meta:
            database = db
            table_name = 'assistant'
    db.create_tables([Assistant])

    class District(Model):
        code = CharField(unique=True)
        name = CharField()
        class Meta:
            database = db
            table_name = 'district'
    db.create_tables([District])

    class Town(Model):
        district = ForeignKeyField(District, on_delete='CASCADE')
        code = CharField(unique=True)
        name = CharField(index=True)
        judicial_office = CharField(default='')
        office_head = CharField(default='')
        office_phone = CharField(default='')
        class Meta:
            database = db
            table_name = 'town'
    db.create_tables([Town])

    class Village(Model):
        town = ForeignKeyField(Town, on_delete='CASCADE')
        code = CharField(unique=True)
        name = CharField(index=True)
        kind = CharField(default='village')
        class Meta:
            database = db
            table_name = 'village'
    db.create_tables([Village])

    class Pairing(Model):
        lawyer = ForeignKeyField(Lawyer, on_delete='RESTRICT')
        village = ForeignKeyField(Village, on_delete='CASCADE')
        term_start = DateField()
        term_end = DateField()
        onsite_hours = CharField(default='')
        preferred_weekday = IntegerField(null=True)
        preferred_half_day = CharField(null=True)
        status = CharField(default='active')
        ended_on = DateField(null=True)
        end_reason = TextField(default='')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'pairing'
            constraints = [SQL('CHECK (term_end >= term_start)')]
    db.create_tables([Pairing])
    # One village, one active lawyer (partial unique index: SQLite and PostgreSQL).
    db.execute_sql('CREATE UNIQUE INDEX "pairing_one_active_per_village" ON "pairing" '
                   '("village_id") WHERE ("status" = \'active\')')

    class User(Model):
        username = CharField(unique=True)
        password_hash = CharField()
        display_name = CharField(default='')
        role = CharField()
        town = ForeignKeyField(Town, null=True, on_delete='SET NULL')
        village = ForeignKeyField(Village, null=True, on_delete='SET NULL')
        lawyer = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        active = BooleanField(default=True)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        note = TextField(default='')
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class WechatGroup(Model):
        pairing = ForeignKeyField(Pairing, unique=True, on_delete='CASCADE')
        name = CharField()
        admin_name = CharField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'wechat_group'
    db.create_tables([WechatGroup])

    class WechatGroupMember(Model):
        group = ForeignKeyField(WechatGroup, on_delete='CASCADE')
        name = CharField()
        role = CharField()
        phone = CharField(default='')
        class Meta:
            database = db
            table_name = 'wechat_group_member'
    db.create_tables([WechatGroupMember])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('wechat_group_member'))
    migrator.migrate(migrator.drop_table('wechat_group'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('pairing'))
    migrator.migrate(migrator.drop_table('village'))
    migrator.migrate(migrator.drop_table('town'))
    migrator.migrate(migrator.drop_table('district'))
    migrator.migrate(migrator.drop_table('assistant'))
    migrator.migrate(migrator.drop_table('lawyer'))
    migrator.migrate(migrator.drop_table('law_firm'))

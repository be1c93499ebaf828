"""The WeChat group's join QR code (入群二维码): a picture a coordinator uploads on the group
register with the day it expires (a WeChat group's QR code works for 7 days); the resident's
page shows it until then."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('wechat_group', 'join_qr', CharField(default='')),
        migrator.add_column('wechat_group', 'join_qr_expires', DateField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('wechat_group', 'join_qr'),
        migrator.drop_column('wechat_group', 'join_qr_expires'),
    )

"""Indexes for the desk's counts at province scale: the overdue tasks (open or in
progress, due before today) and the sessions not recorded (planned, over) are read as
index ranges, not by scanning every open task or planned event."""


def up(migrator, db):
    migrator.migrate(migrator.add_index('task', ('status', 'due_on'), False),
                     migrator.add_index('event', ('status', 'ends_at'), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('task', 'task_status_due_on'),
                     migrator.drop_index('event', 'event_status_ends_at'))

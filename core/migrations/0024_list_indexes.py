"""Indexes for the lists and charts at province scale (a million tasks, 300,000 sessions a
year):

- ``task_list_order``: the task list's usual order (``core.tasks.LIST_ORDER``): what is
  still to do first, soonest due first, no due date last. A page is read from the index's
  start instead of sorting every task on each request. The expressions are written exactly
  as the list orders by (constants, no parameters), so that SQLite and PostgreSQL both
  recognise the index for the ORDER BY.
- ``event (starts_at, kind, status, village_id)``: a year's on-site sessions counted by
  month and by town (``core.series``) from the index alone, without reading each event.
  The time comes first: led by ``kind``, SQLite's planner chose this index for any query
  naming a kind — the quota page's held proofs read a year of events through it instead of
  the pairings' own (0.5 s at province), the desk's "not recorded" count left
  ``(status, ends_at)``."""

TASK_ORDER = 'task_list_order'
TASK_ORDER_EXPRESSIONS = ("(status IN ('done', 'cancelled'))", "(due_on IS NULL)", "due_on", "id")


def up(migrator, db):
    db.execute_sql(f'CREATE INDEX IF NOT EXISTS {TASK_ORDER} ON task '
                   f'({", ".join(TASK_ORDER_EXPRESSIONS)})')
    migrator.migrate(migrator.add_index('event', ('starts_at', 'kind', 'status', 'village_id'),
                                        False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('event', 'event_starts_at_kind_status_village_id'))
    db.execute_sql(f'DROP INDEX IF EXISTS {TASK_ORDER}')

"""The task list's usual order as an index (``core.tasks.LIST_ORDER``): what is still to do
first, soonest due first, no due date last. At province scale (a million tasks) its first
page is then read from the index's start instead of sorting every task on each request.

The expressions are written exactly as the list orders by (constants, no parameters), so
SQLite and PostgreSQL both recognise the index for the ORDER BY."""

INDEX = 'task_list_order'
EXPRESSIONS = ("(status IN ('done', 'cancelled'))", "(due_on IS NULL)", "due_on", "id")


def up(migrator, db):
    db.execute_sql(f'CREATE INDEX IF NOT EXISTS {INDEX} ON task ({", ".join(EXPRESSIONS)})')


def down(migrator, db):
    db.execute_sql(f'DROP INDEX IF EXISTS {INDEX}')

"""The make-ups of some events found by an index of the make-ups only.

``event (makeup_for_id)`` holds a row for every event, nearly all NULL; once a database
is ANALYZEd, SQLite's planner reads that a value matches every row and scans the year's
events for the make-ups of a page's sessions (the quota page, the charts' lawyers: 50 ms
at province). An index of the rows that are make-ups is small, and ``makeup_for_id IN
(…)`` implies its condition on SQLite and PostgreSQL alike."""


def up(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS event_makeups ON event (makeup_for_id) '
                   'WHERE makeup_for_id IS NOT NULL')


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS event_makeups')

"""The kept pace figures' ``min_hours`` found from an index.

Every page that asks who is behind pace first checks that the year's figures were counted
with today's ``min_session_hours`` (``core.pace_tally.ensure_counted``). Without an index
that was a scan of the year's rows, one per pairing: 8–10 ms twice on the desk at province
scale. With ``(year, min_hours)`` it is the smallest and the largest value of the year,
two seeks on SQLite and PostgreSQL alike."""


def up(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS pace_tally_year_min_hours '
                   'ON pace_tally (year, min_hours)')


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS pace_tally_year_min_hours')

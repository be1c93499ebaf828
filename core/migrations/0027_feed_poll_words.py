"""PostgreSQL tells the web processes when what they keep of the feed polls changed
(``web.feed_polls``): triggers ``NOTIFY jiedui_feeds`` in the transaction that changes it,
so the word arrives once it is committed, whatever wrote it (a service, an import, a
restore, a script).

- ``k:<key>``: a feed was published, replaced or removed (``feed_snapshot``);
- ``t:<token hash>``: a token was revoked, re-issued, given to another user or deleted;
- ``*``: what a token's feed is or whether it works changed for anyone (a user's role,
  scope, lawyer or activity; a town's or village's code; users, towns or villages
  deleted).

SQLite has no such word and needs none: nothing is kept there (a poll's query is no round
trip)."""

FUNCTION = '''
CREATE OR REPLACE FUNCTION jiedui_feeds_changed() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'feed_snapshot' AND TG_LEVEL = 'ROW' THEN
        PERFORM pg_notify('jiedui_feeds', 'k:' || COALESCE(NEW.key, OLD.key));
    ELSIF TG_TABLE_NAME = 'feed_token' AND TG_LEVEL = 'ROW' THEN
        PERFORM pg_notify('jiedui_feeds', 't:' || COALESCE(NEW.token_hash, OLD.token_hash));
        IF TG_OP = 'UPDATE' AND OLD.token_hash IS DISTINCT FROM NEW.token_hash THEN
            PERFORM pg_notify('jiedui_feeds', 't:' || OLD.token_hash);
        END IF;
    ELSE
        PERFORM pg_notify('jiedui_feeds', '*');
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
'''

TRIGGERS = {
    'feed_snapshot_words': 'AFTER INSERT OR UPDATE OR DELETE ON feed_snapshot '
                           'FOR EACH ROW',
    'feed_token_words': 'AFTER UPDATE OF revoked_at, token_hash, user_id OR DELETE '
                        'ON feed_token FOR EACH ROW',
    'user_feed_words': 'AFTER UPDATE OF role, active, lawyer_id, town_id, village_id, firm_id '
                       'OR DELETE ON "user" FOR EACH STATEMENT',
    'town_feed_words': 'AFTER UPDATE OF code OR DELETE ON town FOR EACH STATEMENT',
    'village_feed_words': 'AFTER UPDATE OF code OR DELETE ON village FOR EACH STATEMENT',
}


def _tables(name: str) -> str:
    return TRIGGERS[name].split(' ON ', 1)[1].split(' FOR ', 1)[0]


def up(migrator, db):
    from peewee import SqliteDatabase
    if isinstance(db, SqliteDatabase):
        return
    db.execute_sql(FUNCTION)
    for name, when in TRIGGERS.items():
        db.execute_sql(f'DROP TRIGGER IF EXISTS {name} ON {_tables(name)}')
        db.execute_sql(f'CREATE TRIGGER {name} {when} EXECUTE FUNCTION jiedui_feeds_changed()')


def down(migrator, db):
    from peewee import SqliteDatabase
    if isinstance(db, SqliteDatabase):
        return
    for name in TRIGGERS:
        db.execute_sql(f'DROP TRIGGER IF EXISTS {name} ON {_tables(name)}')
    db.execute_sql('DROP FUNCTION IF EXISTS jiedui_feeds_changed()')

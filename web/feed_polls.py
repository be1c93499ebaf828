"""What a web process on PostgreSQL remembers of the feed polls it answered, told by the
database when to forget it.

A phone's poll of its feed is a token lookup and the stored feed's validators: one query.
On PostgreSQL that query is a round trip to another process, which costs as much as the
rest of the answer (0.4 ms against a constant answer's 0.5 ms). So each process keeps the
last answer's token, feed key and validators per token (``Polls``), and a listener thread
(``LISTEN jiedui_feeds`` on a connection of its own) forgets them when the database says
they changed. Triggers (migration 0027) say so in the transaction that changes them, so
the word arrives once it is committed:

- ``k:<key>``: a feed was published (``feed_snapshot``): the answers of that feed;
- ``t:<token hash>``: a token was revoked, re-issued or moved (``feed_token``);
- ``*``: a user's role, scope or activity, a town's or village's code changed, or rows
  were deleted: everything (what a token's feed is depends on them).

While the listener is not connected (starting, the server restarted) nothing is kept or
answered from memory: every poll asks the database, as on SQLite, where nothing is kept
(its query is no round trip). A revoked token stops working as soon as the listener has
read the word: milliseconds after the commit.
"""
import logging
import os
import select
import threading
import time

from core.db import db, is_sqlite

log = logging.getLogger(__name__)

CHANNEL = "jiedui_feeds"
MAX_KEPT = 100_000  # tokens; past this the memory starts again (a province has ~10,000)
RETRY_SECONDS = 1.0


def _listen_params() -> tuple | None:
    """(dbname, connect params) of the database ``db`` is on, if it is PostgreSQL through
    psycopg2 (the listener's driver); None otherwise (nothing is kept)."""
    if is_sqlite():
        return None
    database = db.obj
    if type(database).__module__.startswith("playhouse.psycopg3") or "Psycopg3" in type(
            database).__name__:
        return None
    return database.database, tuple(sorted(database.connect_params.items()))


class Polls:
    """Answers of feed polls per (token hash, gzip), kept while the listener listens."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kept: dict = {}
        # moved by every word from the database: an answer read before a word and kept
        # after it would be older than the word (``keep`` refuses it)
        self.generation = 0
        # off: every poll asks the database (the test suite, whose tests change a token
        # and poll it in the same breath; tests/test_feed_polls.py turns it on)
        self.enabled = True
        self.listening = False  # the listener is connected: what is kept is trustworthy
        self.target = None  # (pid, listen params) the listener serves
        self.thread = None

    # --- answering ----------------------------------------------------------------------

    def get(self, token_hash: str, gzip_ok: bool) -> tuple:
        """(the kept answer or None, the generation to hand ``keep`` with the answer read
        from the database instead)."""
        if not self.enabled or not self._ready():
            return None, None
        with self.lock:
            if not self.listening:
                return None, None
            return self.kept.get((token_hash, gzip_ok)), self.generation

    def keep(self, token_hash: str, gzip_ok: bool, polled, generation) -> None:
        """Keep an answer read from the database, unless a word came since ``get``."""
        with self.lock:
            if not self.listening or generation != self.generation:
                return
            if len(self.kept) >= MAX_KEPT:
                self.kept.clear()
            self.kept[(token_hash, gzip_ok)] = polled

    # --- forgetting -----------------------------------------------------------------------

    def forget(self, payload: str) -> None:
        with self.lock:
            self.generation += 1
            if payload.startswith("k:"):
                key = payload[2:]
                for entry in [e for e, (_t, k, _s) in self.kept.items() if k == key]:
                    del self.kept[entry]
            elif payload.startswith("t:"):
                for gzip_ok in (False, True):
                    self.kept.pop((payload[2:], gzip_ok), None)
            else:
                self.kept.clear()

    def _stop_keeping(self, target) -> None:
        with self.lock:
            if self.target == target:  # (a listener for another database took over)
                self.listening = False
                self.kept.clear()
                self.generation += 1

    # --- the listener -----------------------------------------------------------------------

    def _ready(self) -> bool:
        """Start (or restart, in a forked worker or on another database) the listener;
        True when its word can be trusted."""
        params = _listen_params()
        if params is None:
            return False
        target = (os.getpid(), params)
        if self.target != target:
            with self.lock:
                if self.target != target:
                    self.listening = False
                    self.kept.clear()
                    self.generation += 1
                    self.target = target
                    self.thread = threading.Thread(target=self._listen, args=(target,),
                                                   name="feed-polls", daemon=True)
                    self.thread.start()
        return self.listening

    def _listen(self, target) -> None:
        import psycopg2  # the PostgreSQL driver; only a PostgreSQL process gets here
        dbname, params = target[1]
        while self.target == target:
            connection = None
            try:
                connection = psycopg2.connect(dbname=dbname, **dict(params))
                connection.autocommit = True
                connection.cursor().execute(f"LISTEN {CHANNEL}")
                with self.lock:
                    if self.target == target:  # what changed while nobody listened is unknown
                        self.kept.clear()
                        self.generation += 1
                        self.listening = True
                while self.target == target:
                    if select.select([connection], [], [], 5.0)[0]:
                        connection.poll()
                        while connection.notifies:
                            self.forget(connection.notifies.pop(0).payload)
            except Exception:  # noqa: BLE001 — the database went away: ask it every time
                log.warning("feed polls: not listening to the database", exc_info=True)
            finally:
                self._stop_keeping(target)
                if connection is not None:
                    connection.close()
            if self.target == target:
                time.sleep(RETRY_SECONDS)


POLLS = Polls()

"""The programme metrics kept per town and district week too (``core.progress_tally``:
the months ``town_tally.WEEKS + w``), so a programme's weekly trend reads a few kept rows
instead of grouping a year of its done tasks on every view (130,000 for a province's
enterprises). Counted now from the existing tasks, with the lawyers' counts, whose
definition it shares."""


def up(migrator, db):
    from core import progress_tally
    progress_tally.rebuild()


def down(migrator, db):
    from core.models import TownTally, TownTallyShape
    from core.town_tally import WEEKS
    TownTally.delete().where(TownTally.figure.startswith("progress:")
                             & (TownTally.month >= WEEKS)).execute()
    TownTallyShape.delete().where(TownTallyShape.figure.startswith("progress:")
                                  | TownTallyShape.figure.startswith("lawyers:progress:")).execute()

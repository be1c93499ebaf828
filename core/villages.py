"""A village's details that its coordinators keep: its address, where a map app finds the
village (the calendar feeds' LOCATION; without it the feeds name district, town and
village). Towns, villages and their names come from the import (``core.importer``).

A change is checked (``core.text.clean_text``), audited as ``village.update`` with the
values before and after, and republishes the feeds of the village's events once committed.
"""
from core.access import can_manage_village
from core.audit import record
from core.db import transaction
from core.errors import PermissionDenied
from core.feeds import events_of_village, publish_changes
from core.i18n import N_
from core.models import User, Village
from core.text import clean_text

ADDRESS_MAX = 200


def update_address(actor: User | None, village: Village, address: str) -> Village:
    """Set (or clear, with an empty value) the village's address."""
    if not can_manage_village(actor, village):
        raise PermissionDenied(N_("You may not change the details of %(village)s."),
                               village=village.name)
    address = clean_text(address, "address", ADDRESS_MAX, one_line=True)
    if address == village.address:
        return village
    before = village.address
    with transaction():
        Village.update(address=address).where(Village.id == village.id).execute()
        record(actor, "village.update", obj=village,
               detail={"before": {"address": before}, "after": {"address": address}})
        shown = events_of_village(village.id)
    village.address = address
    publish_changes(shown)
    return village

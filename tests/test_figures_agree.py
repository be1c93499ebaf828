"""Every figure agrees wherever it appears: a programme's ledger (台账) marks the rows its
progress counts, and for the demo district the marked rows of each programme's ledger are
as many as the programme's page shows — for the district's coordinator and a town's."""
import io
import re

from openpyxl import load_workbook

from core.clock import today
from core.demo import DEMO_LOGINS, DEMO_PASSWORD
from core.models import User
from core.plugins import get_registry


def _counted_rows(xlsx: bytes, year: int) -> int:
    """The rows of every sheet whose last column (the year whose progress counts the task)
    is ``year``."""
    book = load_workbook(io.BytesIO(xlsx))
    return sum(1 for sheet in book.worksheets
               for row in sheet.iter_rows(min_row=2, values_only=True) if row and row[-1] == year)


def test_each_programmes_ledger_marks_as_many_rows_as_its_page_counts(demo_db, login):
    year = today().year
    for role in ("coordinator", "town coordinator"):
        user = User.get(User.username == DEMO_LOGINS[role][0])
        client = login(user, DEMO_PASSWORD)
        for slug in sorted(get_registry().programs):
            page = client.get(f"/programmes/{slug}?year={year}").get_data(as_text=True)
            shown = [int(n) for n in
                     re.findall(r'class="metric-total"><span class="big">(\d+)</span>', page)]
            assert len(shown) == 1, slug  # each of the ten programmes has one metric
            ledger = client.get(f"/programmes/{slug}/ledger.xlsx").data
            assert _counted_rows(ledger, year) == shown[0], (role, slug)

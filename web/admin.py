"""Administration: the loaded plugins, what each registered, and the recent failures of
their event hooks, so a failing plugin is seen (the others keep working)."""
from flask import Blueprint

from core import plugins
from web.access import allow
from web.render import render

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/plugins")
@allow("admin")
def plugin_list():
    description = plugins.describe()
    by_program = {}
    for kind in ("task_types", "metrics", "schedules"):
        for item in description[kind]:
            by_program.setdefault(item["program"], {}).setdefault(kind, []).append(item)
    errors = list(reversed(plugins.plugin_errors))  # newest first
    return render("admin/plugins.html", description=description, by_program=by_program,
                  errors=errors)

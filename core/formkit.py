"""Small WTForms pieces every programme's forms use (plugins import them from here)."""
from wtforms.validators import StopValidation


def strip(value):
    """A field filter: text without surrounding spaces (anything else unchanged)."""
    return value.strip() if isinstance(value, str) else value


def parsed(form, field):
    """Stop at a value that is not a number: its own message says so, a range would not."""
    if field.process_errors:
        raise StopValidation()

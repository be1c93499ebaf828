"""Programme plugin legal_aid (being written)."""

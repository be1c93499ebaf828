"""Programme plugin legal_understanders (being written)."""

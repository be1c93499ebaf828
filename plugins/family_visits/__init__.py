"""Programme plugin family_visits (being written)."""

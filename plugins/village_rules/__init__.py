"""Programme plugin village_rules (being written)."""

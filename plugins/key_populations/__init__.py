"""Programme plugin key_populations (being written)."""

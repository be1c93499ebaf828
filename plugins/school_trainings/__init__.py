"""Programme plugin school_trainings (being written)."""

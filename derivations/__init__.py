"""What follows from the specs: symbolic gradients, tangents, error magnitudes, evaluators. No torch."""

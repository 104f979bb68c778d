"""Infrastructure code that is not deployed: the local stack."""

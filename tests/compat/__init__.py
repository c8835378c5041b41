"""Other systems' clients, ported to Python so that our tests read our answers as they do."""

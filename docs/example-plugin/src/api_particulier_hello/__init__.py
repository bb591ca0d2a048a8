"""A minimal provider plugin: greets a citizen known by a fictional identifier."""

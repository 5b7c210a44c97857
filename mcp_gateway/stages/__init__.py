"""Pipeline stages, one per module, each a small class with `name` and `__call__(call, next)`."""

"""Built-in task specs (YAML + Jinja), one folder per task family; indexed by ``harness.registry``."""

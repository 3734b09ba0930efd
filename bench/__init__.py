"""modebench: a benchmark harness for generative models that fight mode collapse.

`import bench` stays light: torch, ray and the plotting stack are imported by the modules that need them.
"""
from bench.errors import UserError

__version__ = "0.1.0"
__all__ = ["UserError", "__version__"]

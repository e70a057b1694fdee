"""shophealth: gather evidence about web shops."""

__version__ = "0.1.0"

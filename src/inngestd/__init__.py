"""inngestd: an Inngest server in Python."""

__version__ = "0.1.0"

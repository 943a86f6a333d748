"""Entry point for `python -m inngestd`."""

from inngestd.cli import main

main()

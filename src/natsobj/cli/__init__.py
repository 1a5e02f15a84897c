"""The natsobj command line: every object store operation from the shell (`natsobj --help`)."""

from ._main import cli, main

__all__ = ["cli", "main"]

"""`python -m ctdc` runs the CLI."""

from ctdc.cli import main

main()

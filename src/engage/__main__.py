"""``python -m engage``: the command line."""

from engage.cli import main

main()

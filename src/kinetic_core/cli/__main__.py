"""``python -m kinetic_core.cli``."""

from kinetic_core.cli import main

main()

"""``python -m tests.bench`` (``make bench``): see ``run``."""

from .run import main

main()

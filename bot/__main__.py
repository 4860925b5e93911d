"""``python -m bot`` runs the ``madoguchi`` command."""

import sys

from bot.cli import main

sys.exit(main())

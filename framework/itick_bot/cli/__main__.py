"""`python -m itick_bot.cli`: the same as the `itick-bot` command."""

import sys

from . import main

sys.exit(main())

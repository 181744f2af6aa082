"""``python3 -m pgqueuer_client``: see cli.py."""

import sys

from .cli import main

sys.exit(main())

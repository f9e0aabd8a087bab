"""``python -m jupyter_influx3`` is the ``influx3`` command."""

import sys

from .cli import main

sys.exit(main())

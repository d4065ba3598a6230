"""Allow ``python -m host.cli``."""

from __future__ import annotations

import sys

from host.cli import main

sys.exit(main())

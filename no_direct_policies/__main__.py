"""Entry point: ``python -m no_direct_policies audit|remediate|demo``."""

from __future__ import annotations

import sys

from no_direct_policies.cli import main

sys.exit(main())

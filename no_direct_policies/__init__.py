"""Command-line tool and demo for the IAM_USER_NO_DIRECT_POLICIES rule.

The rule and the remediation helper are Lambda code: each is imported the way
Lambda imports it, with its own folder on ``sys.path``. This is the one place
that puts those folders there, so ``python -m no_direct_policies`` uses the
very modules the Lambdas run, with no logic copied.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RULE_DIR = PROJECT_ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES"
REMEDIATION_DIR = PROJECT_ROOT / "remediation"

for _folder in (RULE_DIR, REMEDIATION_DIR):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

"""Entry point: ``python -m no_direct_policies audit|remediate``."""

from no_direct_policies.cli.main import run

raise SystemExit(run())

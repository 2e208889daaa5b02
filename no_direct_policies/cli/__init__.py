"""The command-line tool: ``no-direct-policies audit|remediate``."""

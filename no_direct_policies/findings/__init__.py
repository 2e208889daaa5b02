"""Findings of IAM_USER_NO_DIRECT_POLICIES in the formats security teams consume.

Pure functions over :class:`~no_direct_policies.findings.model.Finding`:

- ``model``: the finding itself and its ``--format json`` form;
- ``ocsf``: OCSF Compliance Finding (class 2003), as Prowler emits;
- ``asff``: AWS Security Finding Format, and the Security Hub import;
- ``junit``: JUnit XML, one test case per user, for CI gates;
- ``html_report``: one self-contained HTML report.
"""

from no_direct_policies.findings.model import (
    COMPLIANCE_TYPES,
    RULE_NAME,
    Finding,
    findings_to_json,
)

__all__ = ["COMPLIANCE_TYPES", "RULE_NAME", "Finding", "findings_to_json"]

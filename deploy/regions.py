"""Where the rule can run: one region per account, with IAM users recorded and remediation.

IAM is global. AWS Config records ``AWS::IAM::User`` only in regions where
Config was available before February 2022, and only where the recorder
includes the global IAM types; each region that runs the rule would evaluate
the same users again. ``AWS::Config::RemediationConfiguration`` does not exist
in every region (cfn-lint's per-region schemas, error E3006; a test keeps
this list equal to them).
"""

from __future__ import annotations

import sys

# Regions with no AWS::Config::RemediationConfiguration (cfn-lint 1.58's schemas).
NO_REMEDIATION_CONFIGURATION = frozenset(
    {"ap-east-2", "ap-southeast-6", "ap-southeast-7", "mx-central-1"}
)

# Regions where Config arrived after February 2022 and cannot record IAM users
# (AWS Config Developer Guide, "Recording AWS Resources | Global Resources").
NO_IAM_RECORDING = frozenset(
    {
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-2",
        "eusc-de-east-1",
        "il-central-1",
        "me-central-1",
        "mx-central-1",
    }
)


def region_refusal(region: str) -> str | None:
    """Why the rule cannot be deployed to ``region``, or None when it can."""
    if region in NO_REMEDIATION_CONFIGURATION:
        return (
            f"{region} has no AWS::Config::RemediationConfiguration, so the remediation cannot "
            "be deployed there. Deploy to a region where Config records IAM users, e.g. us-east-1."
        )
    if region in NO_IAM_RECORDING:
        return (
            f"AWS Config cannot record IAM users in {region} (a region added after February "
            "2022), so the rule would never see a user. Deploy to a region where Config records "
            "IAM users, e.g. us-east-1."
        )
    return None


def main(argv: list[str] | None = None) -> int:
    """``python3 -m deploy.regions REGION``: exit 2 with one line when the rule cannot run there."""
    args = sys.argv[1:] if argv is None else argv
    refusal = region_refusal(args[0]) if args else "name a region"
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

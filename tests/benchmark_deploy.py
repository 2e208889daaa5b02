"""Measure the deployment artefacts (``make benchmark``; not a pytest module).

Prints the time to render the templates, each template's size (the
conformance pack against Config's 51,200-byte TemplateBody limit), the
pack's parameter count (limit 60), the number of IAM actions per role, and
the helper zip's size.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from deploy import build, package
from tests.deploy.iam_policy_checks import role_actions

PACK_BODY_LIMIT = 51_200
PACK_PARAMETER_LIMIT = 60


def main() -> None:
    """Render, write and measure."""
    start = time.perf_counter()
    templates = build.render_all()
    render_ms = (time.perf_counter() - start) * 1000
    print(f"render all templates: {render_ms:.1f} ms")
    for name, template in templates.items():
        size = len(build.dump_template(template).encode())
        print(f"  {name:24} {size:7,d} bytes, {len(template['Resources'])} resources")
    pack = templates["conformance-pack.yaml"]
    pack_size = len(build.dump_template(pack).encode())
    print(
        f"conformance pack: {pack_size / PACK_BODY_LIMIT:.0%} of the TemplateBody limit, "
        f"{len(pack['Parameters'])} of {PACK_PARAMETER_LIMIT} parameters"
    )
    for role in ("RuleRole", "HelperRole", "AutomationRole"):
        print(f"  {role:15} {len(role_actions(templates['account.yaml'], role)):2d} actions")
    with tempfile.TemporaryDirectory() as out:
        package_dir = package.install_package(Path(out) / "package")
        helper_zip = package.build_helper_zip(Path(out), package_dir)
        print(f"helper zip: {helper_zip.stat().st_size:,d} bytes")


if __name__ == "__main__":
    main()

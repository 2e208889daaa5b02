"""Limits and allowed values as AWS publishes them: botocore's service models, cfn-lint's schemas.

Tests compare the project's limits with these instead of with numbers typed
into the tests, so an AWS change shows up as a failing test.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import cfnlint

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


@cache
def service_shapes(service: str) -> dict[str, Any]:
    """The shapes of a botocore service model."""
    model = botocore.session.get_session().get_service_model(service)
    return model._shape_resolver._shape_map


def shape(service: str, name: str) -> dict[str, Any]:
    """One shape of a service model."""
    return service_shapes(service)[name]


def member_shape(service: str, structure: str, member: str) -> dict[str, Any]:
    """The shape of a structure's member."""
    return shape(service, shape(service, structure)["members"][member]["shape"])


def documented_maximum_bytes(service: str, structure: str, member: str) -> int:
    """A maximum the model states only in a member's documentation ("maximum length of N bytes")."""
    text = shape(service, structure)["members"][member]["documentation"]
    return int(re.search(r"maximum length of ([\d,]+) bytes", text).group(1).replace(",", ""))


@cache
def regions_resource_types() -> dict[str, set[str]]:
    """Every region cfn-lint knows, with the resource types CloudFormation offers there."""
    providers = SCHEMAS / "providers"
    return {
        path.stem: set(json.loads(path.read_text()))
        for path in sorted(providers.glob("*.json"))
        if path.stem != "sam"
    }


def resource_schema(region: str, resource_type: str) -> dict[str, Any]:
    """cfn-lint's schema of a resource type in a region."""
    digest = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text())[resource_type]
    return json.loads((SCHEMAS / "resources" / f"{digest}.json").read_text())

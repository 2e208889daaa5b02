"""The published schemas each findings format is checked against, shared by every test
that produces one (tests/findings for the formatters, tests/cli for the command's output).

OCSF: the ``compliance_finding`` class of OCSF 1.5.0 (``ocsf-json-schema``, offline),
with the caption of each id. ASFF: botocore's Security Hub model for
``BatchImportFindings`` (required members, types, enums, lengths, patterns). JUnit:
the Jenkins ``junit-10.xsd`` (findings/schemas), and the counts against the cases.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema
import xmlschema
from botocore.model import Shape
from botocore.validate import ParamValidator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from no_direct_policies.findings.ocsf import CLASS_UID, OCSF_VERSION, PROFILES

RAW = get_ocsf_schema(version=OCSF_VERSION)
CLASS_NAME = OcsfJsonSchemaEmbedded(RAW).lookup_class_name_from_uid(class_uid=CLASS_UID)
OCSF_SCHEMA = OcsfJsonSchemaEmbedded(RAW).get_class_schema(
    class_name=CLASS_NAME, profiles=list(PROFILES)
)
VALIDATOR = jsonschema.Draft202012Validator(OCSF_SCHEMA)


def enum_caption(attributes: dict[str, Any], id_name: str, value: int) -> str:
    return attributes[id_name]["enum"][str(value)]["caption"]


def assert_valid(event: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    attributes = RAW["classes"][CLASS_NAME]["attributes"]
    for id_name, label in (
        ("activity_id", "activity_name"),
        ("severity_id", "severity"),
        ("status_id", "status"),
        ("type_uid", "type_name"),
    ):
        if event[id_name] != 99:
            assert event[label] == enum_caption(attributes, id_name, event[id_name]), id_name
    compliance = RAW["objects"]["compliance"]["attributes"]
    if event["compliance"]["status_id"] != 99:
        assert event["compliance"]["status"] == enum_caption(
            compliance, "status_id", event["compliance"]["status_id"]
        )


CLIENT = botocore.session.get_session().create_client(
    "securityhub",
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
INPUT_SHAPE = CLIENT.meta.service_model.operation_model("BatchImportFindings").input_shape


def strict_errors(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Enum, maximum and pattern violations (the constraints ParamValidator skips)."""
    errors: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += strict_errors(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{where}: {len(value)} items > {meta['max']}")
        for index, item in enumerate(value):
            errors += strict_errors(item, shape.member, f"{where}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += strict_errors(key, shape.key, f"{where} key")
            errors += strict_errors(item, shape.value, f"{where}[{key}]")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} not in {shape.enum}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{where}: longer than {meta['max']}")
        if "pattern" in meta and not re.search(meta["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {meta['pattern']}")
    return errors


def assert_importable(asff: list[dict[str, Any]]) -> None:
    params = {"Findings": asff}
    report = ParamValidator().validate(params, INPUT_SHAPE)
    assert not report.has_errors(), report.generate_report()
    assert not strict_errors(params, INPUT_SHAPE)
    for finding in asff:
        assert len(finding["Title"]) <= 256
        assert len(finding["Description"]) <= 1024


XSD_PATH = Path(__file__).parent / "findings" / "schemas" / "junit-10.xsd"
XSD_SHA256 = "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6"
JUNIT_SCHEMA = xmlschema.XMLSchema10(XSD_PATH)


def parse_valid(document: str) -> ET.Element:
    JUNIT_SCHEMA.validate(document)
    root = ET.fromstring(document.encode())  # noqa: S314  # our own output
    assert root.tag == "testsuites"
    total = {"tests": 0, "failures": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        failures = sum(case.find("failure") is not None for case in cases)
        skipped = sum(case.find("skipped") is not None for case in cases)
        assert int(suite.get("failures", "-1")) == failures
        assert int(suite.get("skipped", "-1")) == skipped
        assert suite.get("errors") == "0"
        total["tests"] += len(cases)
        total["failures"] += failures
    assert int(root.get("tests", "-1")) == total["tests"]
    assert int(root.get("failures", "-1")) == total["failures"]
    return root

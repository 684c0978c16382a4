"""AWS input shapes from botocore's own service models, and a small CloudFormation resolver.

The checks of config/ecs and config/cloudwatch validate the files against the request shape
the AWS API itself accepts (RegisterTaskDefinition, PutMetricAlarm), with botocore's
validator: unknown keys, wrong types and missing required members all fail.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

_SESSION = botocore.session.get_session()
NO_VALUE = object()


def input_shape(service: str, operation: str) -> Any:
    return _SESSION.get_service_model(service).operation_model(operation).input_shape


def shape_errors(service: str, operation: str, params: dict[str, Any]) -> str | None:
    """botocore's report of everything wrong with `params`, or None when they are valid."""
    try:
        validate_parameters(params, input_shape(service, operation))
    except ParamValidationError as exc:
        return str(exc)
    return None


def operation_names(service: str) -> list[str]:
    return list(_SESSION.get_service_model(service).operation_names)


def resolve(node: Any, parameters: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """A CloudFormation value with Ref/Fn::Sub/Fn::If resolved from parameter defaults."""
    if isinstance(node, list):
        return [v for v in (resolve(i, parameters, conditions) for i in node) if v is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return NO_VALUE if node["Ref"] == "AWS::NoValue" else parameters[node["Ref"]]
    if set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"]
        for key, value in parameters.items():
            text = text.replace("${" + key + "}", str(value))
        return text
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return resolve(yes if conditions[name] else no, parameters, conditions)
    out = {k: resolve(v, parameters, conditions) for k, v in node.items()}
    return {k: v for k, v in out.items() if v is not NO_VALUE}

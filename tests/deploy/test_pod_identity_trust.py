"""The EKS Pod Identity trust: the role is assumed by Pod Identity only for the daemon's own
service account, namespace and cluster in one account, through the session tags AWS documents
for Pod Identity; docs/deploy.md names every placeholder."""

from __future__ import annotations

import json

from daemon.core import arns
from tests.deploy import iam
from tests.deploy.tools import ROOT

TRUST = ROOT / "config/iam/trust-eks-pod-identity.json"
DOCS = ROOT / "docs/deploy.md"
# The session tags Pod Identity adds to its AssumeRole request (EKS User Guide, pod-id-abac)
KEYS = ("aws:SourceAccount", "aws:RequestTag/eks-cluster-arn",
        "aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account")


def conditions() -> dict[str, str]:
    (statement,) = iam.statements(json.loads(TRUST.read_text()))
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    (equals,) = statement["Condition"].values()
    assert list(statement["Condition"]) == ["StringEquals"]
    return dict(equals)


def test_the_role_is_bound_to_one_account_cluster_namespace_and_service_account() -> None:
    found = conditions()
    assert sorted(found) == sorted(KEYS)
    cluster = arns.parse(found["aws:RequestTag/eks-cluster-arn"])
    assert cluster is not None
    assert (cluster.service, cluster.resource_type) == ("eks", "cluster")
    assert cluster.account == found["aws:SourceAccount"]
    assert all(isinstance(v, str) and v and "*" not in v for v in found.values())


def test_the_deployment_docs_name_every_placeholder() -> None:
    text = DOCS.read_text()
    for key, value in conditions().items():
        assert f"| `{key}` | `{value}` |" in text, key

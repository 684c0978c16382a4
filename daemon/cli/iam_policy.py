"""`ddb-backupd iam-policy`: the IAM policy the current configuration needs, as JSON.

Loads the configuration as `check-config` does and prints `daemon.config.iam_policy`'s
document: the statements of the features it turns on, scoped to what it names. Exit 0 with
the policy on stdout; exit 2 with every configuration error (or a bad --account) on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from daemon.cli.common import settings_or_report
from daemon.config.iam_policy import member_policy, policy_for

DESCRIPTION = """\
Print the least-privilege IAM policy of the configuration (BACKUPD_* environment variables
and the YAML file named by BACKUPD_CONFIG_FILE, read as `ddb-backupd run` reads them): only
the statements of the features it turns on, scoped to the queue, topic, lease table,
vaults, roles, buckets, SSM parameters and KMS keys it names, to the tables its schedules
and rules choose and to the names its restore rules give their copies. Resources are in the
configured region and in --account (default: the role's own account,
${aws:PrincipalAccount}). config/iam/policy.json is the everything-on superset. With
--member-role, the policy of the role assumed in member account --account instead (what
the schedules listing that account do there, the restores and exports of the rules acting
there, and DescribeTable for job sizes).

  BACKUPD_CONFIG_FILE=config.yaml ddb-backupd iam-policy --account 123456789012 > policy.json
  aws iam put-role-policy --role-name ddb-backupd --policy-name ddb-backupd \\
    --policy-document file://policy.json"""

EXIT_CODES = {
    0: "The policy is printed as JSON on stdout.",
    2: "The configuration is invalid (every error listed on stderr), --account is not a "
       "12-digit account id, or --member-role has no --account.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="ID",
                        help="Account of the resources (12 digits; default: the account of the "
                        "role holding the policy).")
    parser.add_argument("--member-role", action="store_true",
                        help="Print the policy of the role assumed in member account --account "
                        "(organization.role_arn_template) instead of the daemon's own.")


def run(args: argparse.Namespace) -> int:
    if args.account is not None and not re.fullmatch(r"\d{12}", args.account):
        print(f"--account: not a 12-digit AWS account id: {args.account!r}", file=sys.stderr)
        return 2
    if args.member_role and args.account is None:
        print("--member-role: name the member account with --account", file=sys.stderr)
        return 2
    settings = settings_or_report()
    if settings is None:
        return 2
    policy = (member_policy(settings, args.account) if args.member_role
              else policy_for(settings, args.account))
    print(json.dumps(policy, indent=2))
    return 0

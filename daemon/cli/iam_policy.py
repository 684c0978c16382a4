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
from daemon.config.iam_policy import policy_for

DESCRIPTION = """\
Print the least-privilege IAM policy of the configuration (BACKUPD_* environment variables
and the YAML file named by BACKUPD_CONFIG_FILE, read as `ddb-backupd run` reads them): only
the statements of the features it turns on, scoped to the queue, topic, lease table,
vaults, roles, buckets, SSM parameters and KMS keys it names, to the tables its schedules
and rules choose and to the names its restore rules give their copies. Resources are in the
configured region and in --account (default: the role's own account,
${aws:PrincipalAccount}). config/iam/policy.json is the everything-on superset.

  BACKUPD_CONFIG_FILE=config.yaml ddb-backupd iam-policy --account 123456789012 > policy.json
  aws iam put-role-policy --role-name ddb-backupd --policy-name ddb-backupd \\
    --policy-document file://policy.json"""

EXIT_CODES = {
    0: "The policy is printed as JSON on stdout.",
    2: "The configuration is invalid (every error listed on stderr), or --account is not a "
       "12-digit account id.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="ID",
                        help="Account of the resources (12 digits; default: the account of the "
                        "role holding the policy).")


def run(args: argparse.Namespace) -> int:
    if args.account is not None and not re.fullmatch(r"\d{12}", args.account):
        print(f"--account: not a 12-digit AWS account id: {args.account!r}", file=sys.stderr)
        return 2
    settings = settings_or_report()
    if settings is None:
        return 2
    print(json.dumps(policy_for(settings, args.account), indent=2))
    return 0

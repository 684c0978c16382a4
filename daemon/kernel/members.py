"""Member accounts' roles, wired: the sessions and how a role that fails is reported.

A role that cannot be assumed is reported once per failure (until it works again): the gauge
`backupd_account_session_up{account}` drops to 0, `account.role_failed` is logged (by the
sessions), `/status` shows the error under `member_accounts`, and one alert is raised. When
it works again the gauge returns to 1 and `/status` says `ok`. Other accounts go on.
"""

from __future__ import annotations

from daemon.aws.accounts import MemberSessions
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.alerts import Alert
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics


def member_sessions(settings: Settings, aws: AwsClients, metrics: Metrics, alerts: AlertOutbox,
                    board: StatusBoard) -> MemberSessions | None:
    """The sessions of member accounts when `organization.role_arn_template` is set: built
    once with the kernel (`Kernel.members`), so the events and scheduling capabilities share
    one client per account and one report per failure."""
    org = settings.organization
    if org.role_arn_template is None:
        return None
    state: dict[str, str] = {}

    def report(account: str, error: str | None) -> None:
        metrics.aws.member_session(account, error is None)
        if error is not None and state.get(account, "ok") == "ok":
            alerts.submit(Alert(
                severity="warning", event="account.role_failed",
                subject=f"ddb-backupd: cannot assume the role of account {account}",
                body={"event": "account.role_failed", "account": account,
                      "role_arn": sessions.role_arn(account), "error": error}))
        state[account] = error or "ok"

    sessions = MemberSessions(
        aws, role_arn_template=org.role_arn_template,
        external_id=org.external_id.get_secret_value() if org.external_id else None,
        session_name=settings.aws.role_session_name, on_change=report,
        retry_seconds=org.role_retry_seconds)
    board.add("member_accounts", lambda: dict(sorted(state.items())))
    return sessions

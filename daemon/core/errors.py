"""The error taxonomy that drives behaviour: transient (retry), permanent (give up), poison.

Transient failures are AWS's (throttling, 5xx, timeouts): they stay botocore exceptions and
`daemon.aws.errors.transient` tells them apart where they are caught, so they have no class
of their own here.
"""


class BackupdError(Exception):
    """Base class of every error this daemon raises on purpose."""


class PermanentError(BackupdError):
    """Retrying will not help: record why and give up on this unit of work."""


class DecodeError(BackupdError):
    """The input is not a message this daemon understands; the text says what was wrong."""

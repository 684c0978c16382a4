"""The error taxonomy that drives behaviour: transient (retry), permanent (give up), poison."""


class BackupdError(Exception):
    """Base class of every error this daemon raises on purpose."""


class TransientError(BackupdError):
    """Worth retrying after a delay: throttling, timeouts, a dependency briefly away."""


class PermanentError(BackupdError):
    """Retrying will not help: record why and give up on this unit of work."""


class DecodeError(BackupdError):
    """The input is not a message this daemon understands; the text says what was wrong."""

"""Bad input in the review workflow: the CLI prints it as one line and exits 2, the app shows it as a message."""


class DecisionError(Exception):
    """A decision that cannot be recorded as asked (unknown batch, no reason, wrong role, disabled account, tag not
    in the taxonomy, a transition the batch state machine does not allow). Nothing has been written."""


class DatabaseUnavailable(DecisionError):
    """The database named by GANAUG_DB_URL (or GANAUG_HOME's SQLite file) cannot be opened: a URL that does not
    parse, a driver that is not installed, a server that refuses the connection, a file that is not a database.

    `lasting`: no wait ends it, someone must change something (the URL, the password, the schema); the job worker
    stops on it with its one line instead of trying again for good, as it does for a server restarting."""

    def __init__(self, message: str, lasting: bool = False):
        super().__init__(message)
        self.lasting = lasting

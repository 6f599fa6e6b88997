"""The one exception type that the CLI turns into a single line and exit status 2."""


class ScarletError(ValueError):
    """Bad user input: the message says what was wrong and what is allowed."""

"""The one error type for bad user input (unknown names, bad YAML, missing data): the CLI exits 2 on it."""


class UserError(Exception):
    """Bad input from the user. The message names the input, the valid choices and the fix."""

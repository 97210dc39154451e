"""Typed errors: the library raises them, the CLI turns each into one line and a non-zero exit."""


class FlywheelError(Exception):
    """Base of every error Flywheel raises on purpose."""


class UserError(FlywheelError):
    """The caller's mistake (bad argument, config, project): the message says how to fix it."""


class ConfigError(UserError):
    """`flywheel.toml` or an environment variable is invalid."""


class ProjectNotFound(UserError):
    """No Flywheel project in the current directory or the one given."""


class DatabaseUnavailable(FlywheelError):
    """The database cannot be reached or opened (server down, wrong URL, no permission)."""

"""The project's own libvirt errors: a message for people and whether trying again may help."""


class GatewayError(Exception):
    def __init__(self, message: str, *, transient: bool = False, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code

    def __str__(self) -> str:
        return self.message


class HostUnreachable(GatewayError):
    """The connection to libvirtd could not be made or was lost; usually worth another try."""

    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message, transient=True, code=code)


class NetworkNotFound(GatewayError):
    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message, transient=False, code=code)


class UriRefused(GatewayError):
    """The host's URI is not one vnetweb connects to (networks.host_uri says why): the check
    the form made, made again before libvirt sees the URI, whatever wrote the Host row."""

    def __init__(self, message: str):
        super().__init__(f"Refused before connecting: {message}", transient=False)

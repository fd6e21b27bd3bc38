"""The wallet's HTTP exchanges over the standard library (urllib.request): the system's trust
store and the environment's proxies apply. Give an instance to `WalletHandle.open`,
`Verifier.fetch` and `VerifierDesk.open`/`register`.

The library calls `exchange` on its own worker threads. Failures before the request could leave
(name not resolved, connection refused, unreachable, TLS handshake) raise
`HttpTransportError.NotSent`: the library always retries them. Anything else (a timeout, a cut
connection) raises `HttpTransportError.MaybeSent`: retried only for calls safe to repeat. HTTP
error statuses are answers, returned with their body. Reasons name the exception's class only
(messages can hold the URL).
"""

import errno
import http.client
import socket
import ssl
import urllib.error
import urllib.request

from .eid_ffi import HttpResponse, HttpTransport, HttpTransportError

# Failures of connect() and the TLS handshake: nothing of the request was written yet.
_NOT_SENT = (
    ConnectionRefusedError,
    socket.gaierror,
    ssl.SSLError,
    ssl.CertificateError,
)
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other: the backend API does not redirect."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class UrllibTransport(HttpTransport):
    def __init__(self):
        self._opener = urllib.request.build_opener(_NoRedirect())

    def exchange(self, request):
        try:
            req = urllib.request.Request(
                request.url,
                data=None if request.body is None else bytes(request.body),
                headers=dict(request.headers),
                method=request.method,
            )
        except ValueError:
            raise HttpTransportError.NotSent("malformed URL") from None
        try:
            with self._opener.open(req, timeout=request.timeout_ms / 1000) as r:
                return HttpResponse(status=r.status, headers=_headers(r.headers), body=r.read())
        except urllib.error.HTTPError as e:  # an error status: an answer
            with e:
                return HttpResponse(status=e.code, headers=_headers(e.headers), body=e.read())
        except urllib.error.URLError as e:
            # Raised around connect and send; a refused connection, unknown host or failed
            # handshake never left, anything else might have.
            reason = e.reason
            if isinstance(reason, _NOT_SENT) or (
                isinstance(reason, OSError) and reason.errno in _UNREACHABLE
            ):
                raise HttpTransportError.NotSent(type(reason).__name__) from None
            raise HttpTransportError.MaybeSent(type(reason).__name__) from None
        except (OSError, http.client.HTTPException) as e:  # timeouts, cuts while reading the answer
            raise HttpTransportError.MaybeSent(type(e).__name__) from None


def _headers(message):
    return {name.lower(): value for name, value in message.items()}

"""Token answers through requests-oauthlib's ``access_token_response`` compliance hooks.

A hook takes the token endpoint's answer as a `requests.Response` and returns the answer to
read, possibly mended (a service that names its fields differently, say). The endpoint reads
its answers without a `requests.Response` of the user's (see `TokenEndpoint`), so the hooks
get one of their own, built from the status, headers and body, whose ``request`` is
``None``: the request held the credentials.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterable, Mapping

import requests
from requests.structures import CaseInsensitiveDict

AnswerHook = Callable[[requests.Response], requests.Response]


def run(
    hooks: Iterable[AnswerHook], status: int, headers: Mapping[str, str], content: bytes, url: str
) -> requests.Response | str:
    """Return the answer as the hooks leave it, or what went wrong in words.

    An exception a hook raises comes out of the call that needed the token, as it does
    with requests-oauthlib.
    """
    response = requests.Response()
    response.status_code = status
    response.reason = http.client.responses.get(status, "")
    response.headers = CaseInsensitiveDict(headers)
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.url = url
    response._content = content
    for hook in tuple(hooks):  # a copy: another thread may add a hook meanwhile
        answer: object = hook(response)
        if not isinstance(answer, requests.Response):
            name = getattr(hook, "__qualname__", type(hook).__name__)
            return (
                f"was answered, but the access_token_response hook {name} returned "
                f"{type(answer).__name__}, not the requests.Response to read"
            )
        response = answer
    return response

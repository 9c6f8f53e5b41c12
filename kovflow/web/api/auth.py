"""Token authentication: ``Authorization: Bearer <token>`` becomes the acting ``Actor``.

The token is an API token made by functioneel beheer (``kovflow users token USER``); the actor
it yields is the same ``Actor`` the CLI's ``--as USER`` builds, so every endpoint meets exactly the
same access policy in the services. Missing, unknown and revoked tokens all answer 401 with
``WWW-Authenticate: Bearer`` (RFC 6750) and the same text.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kovflow.actor import Actor
from kovflow.services import App
from kovflow.web.api.problems import ApiProblem

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="Een API-token van functioneel beheer (kovflow users token).")


def kapp_of(request: Request) -> App:
    """The kovflow ``App`` the API was built for."""
    kapp: App = request.app.state.kapp
    return kapp


def _unauthenticated(given: bool) -> ApiProblem:
    # RFC 6750: error="invalid_token" only when a token was sent; nothing about why it failed.
    challenge = 'Bearer realm="kovflow", error="invalid_token"' if given else 'Bearer realm="kovflow"'
    return ApiProblem(401, "unauthenticated", "Niet aangemeld",
                      "Stuur een geldig API-token mee: Authorization: Bearer <token>.",
                      headers={"WWW-Authenticate": challenge})


def current_actor(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                  ) -> Actor:
    """The actor of the request's bearer token; raises a 401 problem without a valid one."""
    if credentials is None or not credentials.credentials.strip():
        raise _unauthenticated(False)
    from kovflow.services.accounts import NotAuthenticated, token_actor

    try:
        return token_actor(kapp_of(request), credentials.credentials.strip())
    except NotAuthenticated:
        raise _unauthenticated(True) from None


ActorDep = Annotated[Actor, Depends(current_actor)]
KappDep = Annotated[App, Depends(kapp_of)]

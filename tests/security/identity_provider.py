"""A tiny OpenID Connect identity provider for the tests, on 127.0.0.1, with a key made here.

Authorization code flow only: /authorize answers at once for the user it is told to sign in
(no login page), /token gives an RS256-signed ID token with the nonce, /jwks the public key,
/userinfo the claims. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class IdentityProvider:
    client_id: str = "utfall-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    claims: dict[str, Any] = field(default_factory=dict)  # for the next sign-in
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def settings(self) -> dict[str, Any]:
        return {
            "UTFALL_OIDC": True,
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.url + "/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": self.url + "/token",
            "OIDC_OP_USER_ENDPOINT": self.url + "/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": self.url + "/jwks",
            "UTFALL_OIDC_ISSUER": self.url,
        }

    def id_token(self, nonce: str, claims: dict[str, Any], audience: str | None = None) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": audience or self.client_id, "iat": now, "exp": now + 300,
                "nonce": nonce, **claims}  # fmt: skip
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "test"})

    def start(self) -> IdentityProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/authorize":
                    code = secrets.token_urlsafe(8)
                    provider.codes[code] = {"nonce": query.get("nonce", ""), "claims": dict(provider.claims)}
                    target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                elif url.path == "/jwks":
                    public = jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key(), as_dict=True)
                    self._json({"keys": [{**public, "kid": "test", "alg": "RS256", "use": "sig"}]})
                elif url.path == "/userinfo":
                    self._json(provider.last_claims)
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = provider.codes.pop(form.get("code", ""), None)
                if (
                    self.path != "/token"
                    or grant is None
                    or form.get("client_id") != provider.client_id
                    or form.get("client_secret") != provider.client_secret
                ):
                    self._json({"error": "invalid_grant"}, 400)
                    return
                provider.last_claims = grant["claims"]
                token = provider.id_token(grant["nonce"], grant["claims"], grant["claims"].get("_aud"))
                self._json(
                    {"id_token": token, "access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
                )

        self.last_claims: dict[str, Any] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

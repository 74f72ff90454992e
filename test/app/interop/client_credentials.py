"""Client credentials with requests-oauthlib, then the token verified by PyJWT through the JWKS.

Run by test/app/oauth-interop.test.ts with Debian's /usr/bin/python3. Configured by the environment
(GATEHOUSE_TOKEN_URL, GATEHOUSE_JWKS_URL, GATEHOUSE_ISSUER, GATEHOUSE_AUDIENCE, CLIENT_ID,
CLIENT_SECRET, SCOPE); prints one JSON object: the token response (without the token), the verified
token's header and claims. Any failure raises, and the test sees a non-zero exit and the traceback.
"""

import json
import os
import sys

import jwt
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

env = os.environ
client_id = env["CLIENT_ID"]

session = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
# requests-oauthlib sends the id and secret in HTTP Basic (client_secret_basic, RFC 6749 §2.3.1).
token = session.fetch_token(
    token_url=env["GATEHOUSE_TOKEN_URL"],
    client_id=client_id,
    client_secret=env["CLIENT_SECRET"],
    scope=env["SCOPE"].split(" "),
)
access_token = token["access_token"]

signing_key = jwt.PyJWKClient(env["GATEHOUSE_JWKS_URL"]).get_signing_key_from_jwt(access_token)
claims = jwt.decode(
    access_token,
    signing_key.key,
    algorithms=["RS256"],
    audience=env["GATEHOUSE_AUDIENCE"],
    issuer=env["GATEHOUSE_ISSUER"],
    options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
)

json.dump(
    {
        "token_response": {key: value for key, value in token.items() if key != "access_token"},
        "header": jwt.get_unverified_header(access_token),
        "claims": claims,
    },
    sys.stdout,
)

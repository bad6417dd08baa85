"""Verifies an SD-JWT VC presentation with the Python reference `sd-jwt`.

stdin: {"presentation", "issuerJwk", "nonce"?, "aud"?}
stdout: {"verified", "claims"?, "error"?}

sd-jwt 0.10 takes the JWS algorithm from the token unless told; this
script pins EdDSA for both the issuer JWT and the KB-JWT, and checks the
`typ` the library leaves to the caller.
"""

import json
import sys

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

ALG = "EdDSA"


class PinnedVerifier(SDJWTVerifier):
    def _verify_sd_jwt(self, cb_get_issuer_key, sign_alg=None):
        super()._verify_sd_jwt(cb_get_issuer_key, sign_alg=ALG)

    def _verify_key_binding_jwt(self, expected_aud=None, expected_nonce=None, sign_alg=None):
        super()._verify_key_binding_jwt(expected_aud, expected_nonce, sign_alg=ALG)


def main():
    data = json.load(sys.stdin)
    issuer_key = JWK.from_json(json.dumps(data["issuerJwk"]))

    def get_issuer_key(issuer, header):
        if header.get("typ") != "dc+sd-jwt":
            raise ValueError(f"typ is {header.get('typ')!r}")
        if header.get("alg") != ALG:
            raise ValueError(f"alg is {header.get('alg')!r}")
        return issuer_key

    try:
        verifier = PinnedVerifier(
            data["presentation"],
            get_issuer_key,
            expected_aud=data.get("aud"),
            expected_nonce=data.get("nonce"),
        )
        claims = verifier.get_verified_payload()
        print(json.dumps({"verified": True, "claims": claims}))
    except Exception as e:  # any refusal, reported as data
        print(json.dumps({"verified": False, "error": f"{type(e).__name__}: {e}"}))


if __name__ == "__main__":
    main()

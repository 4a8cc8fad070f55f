"""Verifies a VC-JWT with a JWK, independently of Endorse (joserfc, PyPI).

    python verify.py TOKEN JWK_JSON

Prints {"header": ..., "claims": ...} and exits 0 when the EdDSA signature
holds; exits 1 with the reason otherwise.
"""
import json
import sys

from joserfc import jws
from joserfc.jwk import OKPKey


def main() -> int:
    token, jwk = sys.argv[1], json.loads(sys.argv[2])
    key = OKPKey.import_key(jwk)
    try:
        verified = jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    except Exception as error:  # noqa: BLE001 - any failure is "not verified"
        print(f"not verified: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"header": verified.headers(), "claims": json.loads(verified.payload)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

//! Reference links. A link's token is 32 bytes: HMAC-SHA256, under the
//! deployment's link key, of the request id and a random nonce stored with
//! the request. Only the token's SHA-256 is stored, so the database alone
//! opens no form; the key lets the outbox put the same link in a retried
//! mail or a reminder without keeping the token anywhere. A new link is a
//! new nonce, which kills the old token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Characters of an encoded token (32 bytes, base64url without padding).
pub const TOKEN_CHARS: usize = 43;

/// A fresh nonce: 122 random bits from the operating system.
pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The token of the link made from `nonce` for `request_id`.
pub fn token(key: &str, request_id: &str, nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"endorse/reference-link/v1\0");
    mac.update(request_id.as_bytes());
    mac.update(b"\0");
    mac.update(nonce.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// What is stored of a token: its SHA-256, hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `text` could be a token at all (checked before any lookup).
pub fn plausible(text: &str) -> bool {
    text.len() == TOKEN_CHARS && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key the rater page's form carries: only a page rendered for this
/// link has it (a second guard besides the same-origin check).
pub fn form_key(key: &str, link_token: &str) -> String {
    token(key, "rater-form", &digest(link_token))
}

/// Whether `given` is the form key of `link_token`, compared through
/// digests so the comparison takes the same time for every guess.
pub fn form_key_matches(key: &str, link_token: &str, given: &str) -> bool {
    Sha256::digest(form_key(key, link_token).as_bytes()) == Sha256::digest(given.as_bytes())
}

/// The page a token opens.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{public_url}/r/{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_bytes_bound_to_key_request_and_nonce() {
        let t = token("key-one", "req", "n1");
        assert_eq!(t.len(), TOKEN_CHARS);
        assert!(plausible(&t));
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), 32);
        assert_eq!(t, token("key-one", "req", "n1"), "derived again, the same link");
        assert_ne!(t, token("key-two", "req", "n1"));
        assert_ne!(t, token("key-one", "req2", "n1"));
        assert_ne!(t, token("key-one", "req", "n2"));
        assert_ne!(digest(&t), t);
        assert_eq!(digest(&t).len(), 64);
        assert_ne!(nonce(), nonce());
        assert!(form_key_matches("k", &t, &form_key("k", &t)));
        assert!(!form_key_matches("k", &t, &form_key("k", &token("k", "req", "n2"))));
        assert!(!form_key_matches("k", &t, ""));
    }

    #[test]
    fn only_token_shaped_text_is_looked_up() {
        assert!(!plausible(""));
        assert!(!plausible(&"a".repeat(44)));
        assert!(!plausible(&format!("{}$", "a".repeat(42))));
        assert!(!plausible(&format!("{}/", "a".repeat(42))));
    }
}

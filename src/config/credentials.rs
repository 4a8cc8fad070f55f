//! The keys that sign verifiable credentials (see [`crate::signing`]).

use std::path::PathBuf;

use clap::Args;

use super::Secret;
use super::parse::{Redacted, credential_keys};

#[derive(Debug, Clone, Args)]
pub struct CredentialConfig {
    /// Ed25519 keys that sign credentials, per association a JWK Set: `{"nys-aimh": {"keys": [{"kty":"OKP","crv":"Ed25519","kid":"2027","d":"..."}, ...]}}`. The first key with `d` signs; keys with only `x` are retired and still published. `endorse credential-key --kid K` makes one. In development an association without keys signs with a key derived from its code [default: none].
    #[arg(
        long = "credential-keys",
        env = "ENDORSE_CREDENTIAL_KEYS",
        value_name = "ENDORSE_CREDENTIAL_KEYS",
        value_parser = Redacted(credential_keys),
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub keys: Secret,

    /// A file holding the JSON of ENDORSE_CREDENTIAL_KEYS (not together with it) [default: none].
    #[arg(
        long = "credential-keys-file",
        env = "ENDORSE_CREDENTIAL_KEYS_FILE",
        value_name = "ENDORSE_CREDENTIAL_KEYS_FILE"
    )]
    pub keys_file: Option<PathBuf>,
}

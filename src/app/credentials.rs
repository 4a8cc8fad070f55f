//! Verifiable credentials of endorsements: the endorsee's Open Badges 3.0
//! `OpenBadgeCredential` signed as a VC-JWT with the association's Ed25519
//! key, the keys that verify it (JWK, at the URL its `kid` names), the
//! association's issuer profile, and the Bitstring Status Lists that tell a
//! verifier it was revoked or suspended since. See `domain::credential`.

use serde_json::Value;

use super::error::{AppError, AppResult};
use super::registry::{self, issuable};
use super::{Actor, Tenant};
use crate::domain::credential::{self, CredentialUrls, Issuer, StatusPurpose};
use crate::services::Services;
use crate::signing::SigningError;

/// The `typ` of a credential JWT (VC-JOSE-COSE) and of a status list.
pub const CREDENTIAL_TYP: &str = "vc+jwt";

/// Where an association's public credential parts live.
pub struct PublicUrls {
    base: String,
    association: String,
}

impl PublicUrls {
    pub fn new(services: &Services, tenant: &Tenant) -> Self {
        PublicUrls { base: services.config.public_url(), association: tenant.code().as_str().to_owned() }
    }

    pub fn issuer(&self) -> String {
        format!("{}/issuers/{}", self.base, self.association)
    }

    pub fn registry(&self) -> String {
        format!("{}/registry/{}", self.base, self.association)
    }

    pub fn verification(&self, number: &str) -> String {
        format!("{}/verify/{number}", self.base)
    }

    pub fn status_list(&self, purpose: StatusPurpose) -> String {
        format!("{}/status/{}/{}", self.base, self.association, purpose.as_str())
    }

    pub fn key(&self, kid: &str) -> String {
        format!("{}/keys/{}/{kid}", self.base, self.association)
    }

    pub fn keys(&self) -> String {
        format!("{}/keys/{}", self.base, self.association)
    }
}

fn signing_error(error: SigningError) -> AppError {
    match error {
        SigningError::NoKey(_) => AppError::FailedPrecondition {
            message: "This association cannot issue credentials yet: it has no signing key.".into(),
            missing: vec!["SIGNING_KEY".into()],
        },
        SigningError::Failed(message) => AppError::internal(message),
    }
}

/// A credential as issued.
pub struct IssuedCredential {
    /// The compact VC-JWT.
    pub jwt: String,
    /// The credential it carries (unsigned JSON, for display).
    pub credential: Value,
    pub status_list_index: u32,
}

/// Issues the endorsement `id` as a signed credential (the endorsee, or
/// staff for them); only a current endorsement is issued.
pub async fn issue(
    services: &Services,
    actor: &Actor,
    id: mongodb::bson::oid::ObjectId,
) -> AppResult<IssuedCredential> {
    let record = issuable(services, actor, id).await?;
    let tenant = &actor.tenant;
    // Refused before a place in the status list is given.
    if services.signing.jwks(tenant.code().as_str())["keys"].as_array().is_none_or(Vec::is_empty) {
        return Err(signing_error(SigningError::NoKey(tenant.code().to_string())));
    }
    let index = services.endorsements(tenant)?.status_index(record.id).await?;
    let urls = PublicUrls::new(services, tenant);
    let public = registry::public(&record);
    let parts = CredentialUrls {
        issuer: urls.issuer(),
        achievement: format!("{}#{}", urls.issuer(), public.code),
        verification: urls.verification(&public.number),
        revocation_list: urls.status_list(StatusPurpose::Revocation),
        suspension_list: urls.status_list(StatusPurpose::Suspension),
    };
    let now = chrono::Utc::now();
    let issuer = Issuer { name: &tenant.association.name, url: &urls.registry() };
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let vc = credential::open_badge(
        &public,
        &issuer,
        &parts,
        &id,
        index,
        &now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let unix = |day: chrono::NaiveDate, h, m, s| day.and_hms_opt(h, m, s).map(|t| t.and_utc().timestamp()).unwrap_or(0);
    let claims = credential::jwt_claims(
        &vc,
        now.timestamp(),
        unix(public.endorsed_on, 0, 0, 0),
        unix(public.current_through, 23, 59, 59),
    );
    let jwt = services
        .signing
        .sign(tenant.code().as_str(), CREDENTIAL_TYP, &claims, |kid| urls.key(kid))
        .map_err(signing_error)?;
    tracing::info!(association = %tenant.code(), endorsement = %record.number, status_list_index = index, "credential issued");
    Ok(IssuedCredential { jwt, credential: vc, status_list_index: index })
}

/// The association's status list for `purpose`, signed (a VC-JWT).
pub async fn status_list(services: &Services, tenant: &Tenant, purpose: StatusPurpose) -> AppResult<String> {
    let set = services.endorsements(tenant)?.status_list(purpose).await?;
    let urls = PublicUrls::new(services, tenant);
    let now = chrono::Utc::now();
    let list = credential::status_list(
        &urls.status_list(purpose),
        &urls.issuer(),
        purpose,
        &credential::encode_status_list(set),
        &now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let mut claims = list.clone();
    if let Value::Object(map) = &mut claims {
        map.insert("iss".into(), list["issuer"].clone());
        map.insert("jti".into(), list["id"].clone());
        map.insert("nbf".into(), now.timestamp().into());
        map.insert("iat".into(), now.timestamp().into());
    }
    services.signing.sign(tenant.code().as_str(), CREDENTIAL_TYP, &claims, |kid| urls.key(kid)).map_err(|error| {
        match error {
            // No key: nothing was ever issued, so there is no list.
            SigningError::NoKey(_) => AppError::not_found("Status list"),
            other => signing_error(other),
        }
    })
}

/// The association's issuer profile (Open Badges `Profile`).
pub fn issuer_profile(services: &Services, tenant: &Tenant) -> Value {
    let urls = PublicUrls::new(services, tenant);
    serde_json::json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": urls.issuer(),
        "type": ["Profile"],
        "name": tenant.association.name,
        "url": urls.registry(),
        "publicKey": urls.keys(),
    })
}

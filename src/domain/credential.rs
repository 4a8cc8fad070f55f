//! What a verifier may learn about an endorsement, and the signed forms it
//! takes: the Open Badges 3.0 `OpenBadgeCredential` (a W3C Verifiable
//! Credential 2.0) and the Bitstring Status Lists that revoke or suspend
//! it. Pure: the URLs come in, JSON comes out; signing is the caller's.
//!
//! Status (process.md, "Registry and verification"): REVOKED and WITHDRAWN
//! are final and set the credential's bit in the *revocation* list; LAPSED
//! and INACTIVE may end (renewal, reinstatement) and set its bit in the
//! *suspension* list. A CURRENT endorsement has neither bit set.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};

use super::model::{Category, EndorsementStatus, Language, Track};
use super::names;

/// Entries in one status list: the spec's minimum (16 KiB of bits), so a
/// list does not tell how many credentials an association has issued.
pub const STATUS_LIST_SIZE: usize = 131_072;

/// The two lists a credential is entered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    Revocation,
    Suspension,
}

impl StatusPurpose {
    pub const ALL: [StatusPurpose; 2] = [StatusPurpose::Revocation, StatusPurpose::Suspension];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Whether an endorsement in `status` has its bit set in this list.
    pub fn is_set_for(self, status: EndorsementStatus) -> bool {
        match self {
            StatusPurpose::Revocation => matches!(status, EndorsementStatus::Revoked | EndorsementStatus::Withdrawn),
            StatusPurpose::Suspension => matches!(status, EndorsementStatus::Lapsed | EndorsementStatus::Inactive),
        }
    }
}

/// All the public may know of an endorsement: what the registry lists and
/// the verification page says. No email, no subject, no portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicEndorsement {
    pub number: String,
    pub name: String,
    pub category: Category,
    pub track: Track,
    /// The published code, e.g. "IMHS".
    pub code: String,
    /// The category's name, e.g. "Infant Mental Health Specialist".
    pub title: String,
    pub endorsed_on: NaiveDate,
    pub current_through: NaiveDate,
    pub status: EndorsementStatus,
    /// The day the status took effect (the grant for CURRENT).
    pub status_since: NaiveDate,
    /// Only when the endorsee opted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
}

impl PublicEndorsement {
    pub fn is_current(&self) -> bool {
        self.status == EndorsementStatus::Current
    }

    /// One sentence for a verifier, e.g. "Current through 31 December 2027."
    pub fn verdict(&self) -> String {
        let since = self.status_since.format("%-d %B %Y");
        match self.status {
            EndorsementStatus::Current => format!("Current through {}.", self.current_through.format("%-d %B %Y")),
            EndorsementStatus::Lapsed => format!("Not current: lapsed on {since} (not renewed)."),
            EndorsementStatus::Inactive => format!("Not current: inactive at the endorsee's request since {since}."),
            EndorsementStatus::Revoked => format!("Not current: revoked on {since}."),
            EndorsementStatus::Withdrawn => format!("Not current: withdrawn on {since}."),
        }
    }
}

/// The title of a category on a track, as the credential names it.
pub fn title(category: Category, track: Track) -> String {
    let base = names::category(category, Language::En);
    // The published titles: "Infant Mental Health Mentor (Clinical)".
    let base = if base.starts_with("Mentor") { format!("Mental Health {base}") } else { base.to_owned() };
    match (category, track) {
        (Category::ReflectiveSupervisor, _) => base,
        (_, Track::Infant) => format!("Infant {base}"),
        (_, Track::EarlyChildhood) => format!("Early Childhood {base}"),
    }
}

/// Where the credential's parts live (all public URLs).
#[derive(Debug, Clone)]
pub struct CredentialUrls {
    /// The issuer's profile: its `id`.
    pub issuer: String,
    /// The achievement (the category and track) the credential is for.
    pub achievement: String,
    /// The verification page of the endorsement.
    pub verification: String,
    /// The status list credentials, by purpose.
    pub revocation_list: String,
    pub suspension_list: String,
}

/// The issuer: the association.
#[derive(Debug, Clone)]
pub struct Issuer<'a> {
    pub name: &'a str,
    pub url: &'a str,
}

/// The unsigned `OpenBadgeCredential` for `endorsement`, entered at
/// `status_index` in both status lists, issued at `issued_at` (RFC 3339).
/// The endorsee is named by an `IdentityObject` of type `name` (they have
/// no DID); the credential is valid from the day of the endorsement until
/// the end of its cycle.
pub fn open_badge(
    endorsement: &PublicEndorsement,
    issuer: &Issuer<'_>,
    urls: &CredentialUrls,
    credential_id: &str,
    status_index: u32,
    issued_at: &str,
) -> Value {
    let entry = |purpose: StatusPurpose, list: &str| {
        json!({
            "id": format!("{list}#{status_index}"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose.as_str(),
            "statusListIndex": status_index.to_string(),
            "statusListCredential": list,
        })
    };
    json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": format!("{} ({})", endorsement.title, endorsement.code),
        "issuer": {
            "id": urls.issuer,
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
        },
        "validFrom": format!("{}T00:00:00Z", endorsement.endorsed_on),
        "validUntil": format!("{}T23:59:59Z", endorsement.current_through),
        "issuedAt": issued_at,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": false,
                "identityHash": endorsement.name,
            }],
            "achievement": {
                "id": urls.achievement,
                "type": ["Achievement"],
                "achievementType": "License",
                "name": format!("Endorsement for Culturally Sensitive, Relationship-Focused Practice Promoting Infant & Early Childhood Mental Health: {}", endorsement.title),
                "description": format!("{} ({}), endorsement number {}.", endorsement.title, endorsement.code, endorsement.number),
                "criteria": { "narrative": "Met the association's published competency, education, work, training, reflective supervision/consultation, reference and examination requirements for this category; reviewed and endorsed by the association." },
                "humanCode": endorsement.code,
            },
            "source": { "id": urls.verification, "type": ["Profile"], "name": issuer.name },
        },
        "evidence": [{
            "id": urls.verification,
            "type": ["Evidence"],
            "name": format!("Verification of endorsement {}", endorsement.number),
        }],
        "credentialStatus": [
            entry(StatusPurpose::Revocation, &urls.revocation_list),
            entry(StatusPurpose::Suspension, &urls.suspension_list),
        ],
    })
}

/// The JWT claims of a VC-JWT (Open Badges 3.0, section 8.2): the
/// credential itself, with `iss`, `jti`, `nbf` and `exp` from its members
/// (and `iat`, the moment it was signed).
pub fn jwt_claims(credential: &Value, issued_at_unix: i64, valid_from_unix: i64, valid_until_unix: i64) -> Value {
    let mut claims = credential.clone();
    if let Value::Object(map) = &mut claims {
        map.insert("iss".into(), credential["issuer"]["id"].clone());
        map.insert("jti".into(), credential["id"].clone());
        map.insert("nbf".into(), json!(valid_from_unix));
        map.insert("exp".into(), json!(valid_until_unix));
        map.insert("iat".into(), json!(issued_at_unix));
    }
    claims
}

/// A status list's `encodedList`: the bits (index 0 is the most significant
/// bit of the first byte), GZIP-compressed, base64url without padding, with
/// the multibase prefix `u`.
pub fn encode_status_list(set: impl IntoIterator<Item = u32>) -> String {
    let mut bits = vec![0u8; STATUS_LIST_SIZE / 8];
    for index in set {
        if let Some(byte) = bits.get_mut(index as usize / 8) {
            *byte |= 0x80 >> (index % 8);
        }
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    gzip.write_all(&bits).expect("gzip into memory");
    let compressed = gzip.finish().expect("gzip into memory");
    format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
}

/// Reads an `encodedList` back: which indexes are set (tests, and anyone
/// checking a list by hand).
pub fn decode_status_list(encoded: &str) -> Option<Vec<u32>> {
    use std::io::Read;
    let compressed = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut bits).ok()?;
    let set = bits
        .iter()
        .enumerate()
        .flat_map(|(i, byte)| (0..8).filter(move |b| byte & (0x80 >> b) != 0).map(move |b| (i * 8 + b) as u32))
        .collect();
    Some(set)
}

/// The unsigned `BitstringStatusListCredential` at `list_url`.
pub fn status_list(list_url: &str, issuer_url: &str, purpose: StatusPurpose, encoded: &str, valid_from: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_url,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": format!("{list_url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.as_str(),
            "encodedList": encoded,
        },
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn endorsement(status: EndorsementStatus) -> PublicEndorsement {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        PublicEndorsement {
            number: "NYS-AIMH-IMHS-000042".into(),
            name: "Ada Lovelace".into(),
            category: Category::MentalHealthSpecialist,
            track: Track::Infant,
            code: "IMHS".into(),
            title: title(Category::MentalHealthSpecialist, Track::Infant),
            endorsed_on: day(2027, 3, 1),
            current_through: day(2027, 12, 31),
            status,
            status_since: day(2027, 6, 2),
            location: None,
            employer: None,
        }
    }

    #[test]
    fn statuses_map_to_one_list_each() {
        use EndorsementStatus::*;
        for (status, revoked, suspended) in [
            (Current, false, false),
            (Revoked, true, false),
            (Withdrawn, true, false),
            (Lapsed, false, true),
            (Inactive, false, true),
        ] {
            assert_eq!(StatusPurpose::Revocation.is_set_for(status), revoked, "{status:?}");
            assert_eq!(StatusPurpose::Suspension.is_set_for(status), suspended, "{status:?}");
        }
    }

    #[test]
    fn verdicts_say_since_when_and_why() {
        assert_eq!(endorsement(EndorsementStatus::Current).verdict(), "Current through 31 December 2027.");
        assert_eq!(endorsement(EndorsementStatus::Revoked).verdict(), "Not current: revoked on 2 June 2027.");
        assert!(endorsement(EndorsementStatus::Lapsed).verdict().contains("lapsed on 2 June 2027"));
    }

    #[test]
    fn the_credential_carries_the_status_entries_and_no_email() {
        let urls = CredentialUrls {
            issuer: "https://e.example/issuers/nys-aimh".into(),
            achievement: "https://e.example/achievements/nys-aimh/IMHS".into(),
            verification: "https://e.example/verify/NYS-AIMH-IMHS-000042".into(),
            revocation_list: "https://e.example/status/nys-aimh/revocation".into(),
            suspension_list: "https://e.example/status/nys-aimh/suspension".into(),
        };
        let issuer = Issuer { name: "NYS-AIMH", url: "https://e.example/registry/nys-aimh" };
        let vc = open_badge(
            &endorsement(EndorsementStatus::Current),
            &issuer,
            &urls,
            "urn:uuid:x",
            7,
            "2027-03-02T00:00:00Z",
        );
        assert_eq!(vc["type"][1], "OpenBadgeCredential");
        assert_eq!(vc["credentialStatus"][0]["statusListIndex"], "7");
        assert_eq!(vc["credentialStatus"][1]["statusPurpose"], "suspension");
        assert_eq!(vc["credentialSubject"]["achievement"]["humanCode"], "IMHS");
        assert!(!vc.to_string().to_lowercase().contains("email"));
        let claims = jwt_claims(&vc, 3, 1, 2);
        assert_eq!(claims["iss"], "https://e.example/issuers/nys-aimh");
        assert_eq!(claims["jti"], "urn:uuid:x");
    }

    #[test]
    fn a_status_list_is_the_spec_minimum_and_compresses() {
        let encoded = encode_status_list([]);
        assert!(encoded.starts_with('u'));
        assert!(encoded.len() < 400, "{} characters", encoded.len());
        assert_eq!(decode_status_list(&encoded), Some(vec![]));
    }

    proptest! {
        /// Whatever is set reads back set, and nothing else.
        #[test]
        fn status_lists_round_trip(mut set in proptest::collection::vec(0u32..STATUS_LIST_SIZE as u32, 0..50)) {
            let decoded = decode_status_list(&encode_status_list(set.iter().copied())).unwrap();
            set.sort_unstable();
            set.dedup();
            prop_assert_eq!(decoded, set);
        }
    }
}

//! The one place S3 keys are named, used by the evidence store and the
//! sweeper. An evidence file lives at
//! "evidence/<association>/<portfolio>/<evidence>/original", its image
//! previews beside it ("preview.jpg", "thumbnail.jpg"); a direct upload
//! lands at the same path under "staging/" until completion copies it. Keys
//! written before associations existed lack the association part; they
//! stay valid, because records store their key and everything else is
//! derived from it.

use mongodb::bson::oid::ObjectId;

use crate::domain::association::AssociationCode;

/// Final keys: only the server writes here.
pub const FINAL: &str = "evidence/";
/// Where presigned PUTs write; completion copies out of it.
pub const STAGING: &str = "staging/";

/// Where an evidence file's verified bytes live.
pub fn original(association: &AssociationCode, portfolio: ObjectId, evidence: ObjectId) -> String {
    format!("{FINAL}{association}/{}/{}/original", portfolio.to_hex(), evidence.to_hex())
}

/// A file stored beside `original_key` ("preview.jpg", "thumbnail.jpg").
pub fn beside(original_key: &str, name: &str) -> String {
    let directory = original_key.rsplit_once('/').map_or("", |(directory, _)| directory);
    format!("{directory}/{name}")
}

/// Where a presigned PUT for `original_key` writes: the same path under
/// [`STAGING`], which no URL can copy back over a verified file.
pub fn staging_of(original_key: &str) -> String {
    format!("{STAGING}{}", original_key.strip_prefix(FINAL).unwrap_or(original_key))
}

pub fn is_staging(key: &str) -> bool {
    key.starts_with(STAGING)
}

/// The evidence id a key belongs to: the directory holding the file, in
/// either layout.
pub fn evidence_id_of(key: &str) -> Option<ObjectId> {
    ObjectId::parse_str(key.rsplit('/').nth(1)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_association_portfolio_and_evidence() {
        let nys = AssociationCode::parse("nys-aimh").unwrap();
        let (p, e) = (ObjectId::new(), ObjectId::new());
        let key = original(&nys, p, e);
        assert_eq!(key, format!("evidence/nys-aimh/{}/{}/original", p.to_hex(), e.to_hex()));
        assert_eq!(beside(&key, "preview.jpg"), format!("evidence/nys-aimh/{}/{}/preview.jpg", p.to_hex(), e.to_hex()));
        assert_eq!(staging_of(&key), format!("staging/nys-aimh/{}/{}/original", p.to_hex(), e.to_hex()));
        assert_eq!(evidence_id_of(&key), Some(e));
        assert_eq!(evidence_id_of(&staging_of(&key)), Some(e));
        assert!(is_staging(&staging_of(&key)) && !is_staging(&key));
    }

    #[test]
    fn keys_of_the_layout_before_associations_still_resolve() {
        let (p, e) = (ObjectId::new(), ObjectId::new());
        let legacy = format!("evidence/{}/{}/original", p.to_hex(), e.to_hex());
        assert_eq!(evidence_id_of(&legacy), Some(e));
        assert_eq!(staging_of(&legacy), format!("staging/{}/{}/original", p.to_hex(), e.to_hex()));
        assert_eq!(evidence_id_of("evidence/p/not-an-id/original"), None);
    }
}

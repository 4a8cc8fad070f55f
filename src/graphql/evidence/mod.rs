//! Evidence files: records in MongoDB, bytes in S3, previews for images.

mod mutation;
pub mod object;

pub use mutation::EvidenceMutation;
pub use object::EvidenceObject;

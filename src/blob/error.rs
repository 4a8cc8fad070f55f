use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What can go wrong with object storage, in terms the API can act on.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The S3 server could not be reached or did not answer in time.
    #[error("object storage is unavailable: {0}")]
    Unavailable(String),
    /// The object or bucket does not exist.
    #[error("object not found")]
    NotFound,
    /// A streamed upload grew past the allowed size.
    #[error("the upload exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    /// The S3 server does not implement the operation (self-hosted servers
    /// implement subsets of the API).
    #[error("object storage does not support this: {0}")]
    Unsupported(String),
    /// The server answered with an error.
    #[error("object storage error: {0}")]
    Service(String),
}

impl BlobError {
    pub fn from_sdk<E>(error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &error {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => BlobError::Unavailable(format!("{error:?}")),
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("");
                let status = service.raw().status().as_u16();
                if matches!(code, "NoSuchKey" | "NoSuchBucket" | "NoSuchUpload" | "NotFound") || status == 404 {
                    BlobError::NotFound
                } else if code == "NotImplemented" || status == 501 {
                    BlobError::Unsupported(code.to_owned())
                } else {
                    BlobError::Service(format!("{code}: {}", service.err().message().unwrap_or("")))
                }
            }
            _ => BlobError::Service(format!("{error:?}")),
        }
    }
}

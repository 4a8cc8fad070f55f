//! GraphQL multipart requests (file uploads), received with the limits in
//! place before a byte of the body is read: the caller must be authenticated,
//! a slot among the uploads in flight must be free, the `operations` and `map`
//! parts are capped at the JSON body limit, batches are refused, and the one
//! file is spooled to a temporary file as it streams in, never held in memory.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};
use std::time::Duration;

use async_graphql::UploadValue;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;

use super::execute::Caller;
use super::params;
use super::response::{MediaType, rate_limited, refuse, request_error};
use crate::app::error::code;
use crate::auth::Identity;
use crate::http::AppState;

/// Files one request may carry (`uploadEvidence` takes one).
const MAX_FILES: usize = 1;

/// How long a client refused for want of an upload slot should wait.
const UPLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Headers that a browser can only send after a CORS preflight: a
/// multipart form from another site (a "simple" request) cannot carry them.
fn has_preflight_header(headers: &HeaderMap) -> bool {
    ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()))
}

/// The request with its upload, and the upload slot it holds until the
/// caller has finished executing it.
pub type Received = (async_graphql::Request, OwnedSemaphorePermit);

pub async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    media: MediaType,
    content_type: &str,
    body: Body,
) -> Result<Received, Response> {
    if !has_preflight_header(headers) {
        return Err(request_error(
            media,
            "Multipart requests must carry the `apollo-require-preflight: true` header (CSRF protection).",
        ));
    }
    // Who is uploading is known before the body is touched: an anonymous
    // or forged request never gets a byte spooled.
    match &caller.identity {
        Identity::Authenticated(_) => {}
        Identity::Anonymous => {
            return Err(unauthenticated(media, "Uploads need `Authorization: Bearer <token>`."));
        }
        Identity::Rejected(why) => return Err(unauthenticated(media, &why.to_string())),
    }
    let Ok(permit) = state.uploads.clone().try_acquire_owned() else {
        return Err(rate_limited(media, UPLOAD_RETRY_AFTER, "uploads in flight"));
    };
    let config = &state.services.config;
    let max_file = config.evidence.max_upload_bytes;
    let json_limit = config.limits.max_body_bytes as u64;
    // The file, the two JSON parts and the part headers.
    let max_body = max_file.saturating_add(2 * json_limit).saturating_add(64 * 1024);
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            &format!("The upload exceeds {max_file} bytes, or a JSON part exceeds {json_limit} bytes."),
            code::PAYLOAD_TOO_LARGE,
        )
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body) {
        return Err(too_large());
    }
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| request_error(media, "The multipart boundary is missing."))?;
    let limits = SizeLimit::new()
        .whole_stream(max_body)
        .per_field(max_file)
        .for_field("operations", json_limit)
        .for_field("map", json_limit);
    let mut parts =
        Multipart::with_constraints(body.into_data_stream(), boundary, Constraints::new().size_limit(limits));
    let failed = |error: multer::Error| match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => too_large(),
        other => request_error(media, &format!("Invalid multipart request: {other}")),
    };

    let operations = json_part(&mut parts, "operations").await.map_err(|e| e.respond(media, &failed))?;
    if operations.is_array() {
        return Err(request_error(media, "Batched requests are not supported; send one operation per request."));
    }
    let mut request = params::from_json(operations).map_err(|message| request_error(media, &message))?.into_request().0;
    let map: HashMap<String, Vec<String>> =
        serde_json::from_value(json_part(&mut parts, "map").await.map_err(|e| e.respond(media, &failed))?)
            .map_err(|_| request_error(media, "The `map` part must map file parts to lists of variable paths."))?;
    if map.len() > MAX_FILES {
        return Err(request_error(media, &format!("At most {MAX_FILES} file may be uploaded per request.")));
    }
    let mut expected = map;
    while let Some(mut field) = parts.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or("").to_owned();
        let Some(paths) = expected.remove(&name) else {
            return Err(request_error(media, &format!("The part `{name}` is not named in `map`.")));
        };
        let filename = field.file_name().unwrap_or("").to_owned();
        let content_type = field.content_type().map(ToString::to_string);
        let spool = spool_file(&mut field).await.map_err(|error| match error {
            SpoolError::Multipart(error) => failed(error),
            SpoolError::Disk(error) => {
                tracing::error!(error = %error, "cannot spool an upload to a temporary file");
                refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    media,
                    "The upload could not be received; try again.",
                    code::SERVICE_UNAVAILABLE,
                )
            }
        })?;
        for path in paths {
            let content = spool.try_clone().map_err(|_| request_error(media, "The upload could not be read."))?;
            request.set_upload(
                &path,
                UploadValue { filename: filename.clone(), content_type: content_type.clone(), content },
            );
        }
    }
    if let Some(missing) = expected.keys().next() {
        return Err(request_error(media, &format!("The file part `{missing}` named in `map` is missing.")));
    }
    Ok((request, permit))
}

fn unauthenticated(media: MediaType, message: &str) -> Response {
    let mut response = refuse(StatusCode::UNAUTHORIZED, media, message, code::UNAUTHENTICATED);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
    response
}

enum PartError {
    Missing(&'static str),
    NotJson(&'static str),
    Multipart(multer::Error),
}

impl PartError {
    fn respond(self, media: MediaType, failed: &impl Fn(multer::Error) -> Response) -> Response {
        match self {
            PartError::Missing(name) => {
                request_error(media, &format!("The `{name}` part must come next (GraphQL multipart request spec)."))
            }
            PartError::NotJson(name) => request_error(media, &format!("The `{name}` part is not valid JSON.")),
            PartError::Multipart(error) => failed(error),
        }
    }
}

/// The next part, which must be `name` and JSON (size-capped by the constraints).
async fn json_part(parts: &mut Multipart<'_>, name: &'static str) -> Result<Value, PartError> {
    let field = parts.next_field().await.map_err(PartError::Multipart)?.ok_or(PartError::Missing(name))?;
    if field.name() != Some(name) {
        return Err(PartError::Missing(name));
    }
    let text = field.text().await.map_err(PartError::Multipart)?;
    serde_json::from_str(&text).map_err(|_| PartError::NotJson(name))
}

enum SpoolError {
    Multipart(multer::Error),
    Disk(std::io::Error),
}

/// Streams a file part into an anonymous temporary file (removed by the OS
/// when the last handle closes), positioned at its start.
async fn spool_file(field: &mut multer::Field<'_>) -> Result<std::fs::File, SpoolError> {
    let mut spool = tempfile::tempfile().map_err(SpoolError::Disk)?;
    let mut writer = tokio::fs::File::from_std(spool.try_clone().map_err(SpoolError::Disk)?);
    while let Some(chunk) = field.chunk().await.map_err(SpoolError::Multipart)? {
        writer.write_all(&chunk).await.map_err(SpoolError::Disk)?;
    }
    writer.flush().await.map_err(SpoolError::Disk)?;
    drop(writer);
    spool.seek(SeekFrom::Start(0)).map_err(SpoolError::Disk)?;
    Ok(spool)
}

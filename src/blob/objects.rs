//! Object operations Endorse needs: presigned PUT/GET, streaming uploads with
//! a running SHA-256, verification reads, server-side copies, deletion, and
//! paged listings of objects and open multipart uploads (sweeper).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{BlobError, BlobStore};

/// How many leading bytes are kept for type sniffing.
pub const SNIFF_BYTES: usize = 8 * 1024;
/// Multipart part size (S3 needs >= 5 MiB except the last part); also the
/// most memory one streaming upload holds.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// A presigned request the client must send as given.
#[derive(Debug, Clone)]
pub struct Presigned {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
}

/// What was actually stored: size, SHA-256 (hex) and the first bytes.
#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
    pub head: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct ListedObject {
    pub key: String,
    pub last_modified: Option<std::time::SystemTime>,
}

/// One page of a listing, and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T, M> {
    pub items: Vec<T>,
    pub next: Option<M>,
}

/// A multipart upload that was started and neither completed nor aborted.
#[derive(Debug, Clone)]
pub struct OpenUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<std::time::SystemTime>,
}

/// SHA-256 of the bytes that flow through, plus the first bytes.
#[derive(Default)]
struct Fingerprint {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl Fingerprint {
    fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
    }

    fn finish(self) -> Stored {
        Stored { size: self.size, sha256: hex::encode(self.hasher.finalize()), head: self.head }
    }
}

fn presigning(expires: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(expires).map_err(|e| BlobError::Service(e.to_string()))
}

impl BlobStore {
    /// A PUT URL for exactly this object: the content type, length and
    /// SHA-256 checksum are part of the signature, so the S3 server refuses
    /// other bytes, sizes or types (and the server re-checks afterwards).
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        sha256_hex: &str,
        expires: Duration,
    ) -> Result<Presigned, BlobError> {
        let digest = hex::decode(sha256_hex).map_err(|_| BlobError::Service("bad sha256".into()))?;
        let checksum = base64::engine::general_purpose::STANDARD.encode(digest);
        let request = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length as i64)
            .checksum_sha256(&checksum)
            .presigned(presigning(expires)?)
            .await
            .map_err(BlobError::from_sdk)?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok(Presigned { url: request.uri().to_owned(), method: request.method().to_owned(), headers })
    }

    /// A GET URL that downloads as an attachment named `file_name`.
    pub async fn presign_get(&self, key: &str, file_name: &str, expires: Duration) -> Result<String, BlobError> {
        let request = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition(file_name))
            .presigned(presigning(expires)?)
            .await
            .map_err(BlobError::from_sdk)?;
        Ok(request.uri().to_owned())
    }

    /// Reads the object through, hashing it (verification of direct uploads).
    pub async fn fingerprint(&self, key: &str) -> Result<Stored, BlobError> {
        let object =
            self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(BlobError::from_sdk)?;
        let mut body = object.body;
        let mut print = Fingerprint::default();
        while let Some(chunk) = body.try_next().await.map_err(|e| BlobError::Unavailable(e.to_string()))? {
            print.update(&chunk);
        }
        Ok(print.finish())
    }

    /// Reads a whole (small, size-checked) object into memory.
    pub async fn read_all(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let object =
            self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(BlobError::from_sdk)?;
        let bytes = object.body.collect().await.map_err(|e| BlobError::Unavailable(e.to_string()))?;
        Ok(bytes.into_bytes().to_vec())
    }

    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(BlobError::from_sdk)?;
        Ok(())
    }

    /// Streams `reader` to `key`, hashing on the way, holding at most one
    /// part in memory; multipart above [`PART_SIZE`], aborted on failure.
    /// Stops with [`BlobError::TooLarge`] past `max_size` bytes.
    pub async fn upload_stream<R: AsyncRead + Unpin>(
        &self,
        key: &str,
        mut reader: R,
        content_type: &str,
        max_size: u64,
    ) -> Result<Stored, BlobError> {
        let mut print = Fingerprint::default();
        let first = read_part(&mut reader, &mut print, max_size).await?;
        if first.len() < PART_SIZE {
            self.put_bytes(key, first, content_type).await?;
            return Ok(print.finish());
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(BlobError::from_sdk)?;
        let upload_id = upload.upload_id().unwrap_or_default().to_owned();
        let result = async {
            let mut parts = Vec::new();
            let mut part = first;
            let mut number = 1;
            loop {
                let last = part.len() < PART_SIZE;
                let sent = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(part))
                    .send()
                    .await
                    .map_err(BlobError::from_sdk)?;
                parts.push(
                    CompletedPart::builder().part_number(number).set_e_tag(sent.e_tag().map(str::to_owned)).build(),
                );
                if last {
                    break;
                }
                part = read_part(&mut reader, &mut print, max_size).await?;
                if part.is_empty() {
                    break;
                }
                number += 1;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map_err(BlobError::from_sdk)?;
            Ok::<(), BlobError>(())
        }
        .await;
        if let Err(error) = result {
            // Best effort: the sweeper aborts what is left.
            let _ = self.abort_upload(key, &upload_id).await;
            return Err(error);
        }
        Ok(print.finish())
    }

    /// Copies `from` to `to` inside the bucket, without the bytes passing
    /// through this server.
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            .send()
            .await
            .map_err(BlobError::from_sdk)?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.client.delete_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(error) => match BlobError::from_sdk(error) {
                BlobError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Every object under `prefix` (all pages; small listings only).
    pub async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, BlobError> {
        let mut objects = Vec::new();
        let mut token = None;
        loop {
            let page = self.list_page(prefix, token, 1000).await?;
            objects.extend(page.items);
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(objects),
            }
        }
    }

    /// At most `max_keys` objects under `prefix`, from `token` on.
    pub async fn list_page(
        &self,
        prefix: &str,
        token: Option<String>,
        max_keys: i32,
    ) -> Result<Page<ListedObject, String>, BlobError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(max_keys)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(BlobError::from_sdk)?;
        let items = page
            .contents()
            .iter()
            .filter_map(|object| {
                let last_modified = object.last_modified().and_then(|t| std::time::SystemTime::try_from(*t).ok());
                Some(ListedObject { key: object.key()?.to_owned(), last_modified })
            })
            .collect();
        let next = match page.next_continuation_token() {
            Some(next) if page.is_truncated().unwrap_or(false) => Some(next.to_owned()),
            _ => None,
        };
        Ok(Page { items, next })
    }

    /// One page of the multipart uploads open under `prefix`, from the
    /// (key, upload id) marker on. [`BlobError::Unsupported`] where the
    /// server cannot list them.
    pub async fn list_open_uploads(
        &self,
        prefix: &str,
        marker: Option<(String, String)>,
    ) -> Result<Page<OpenUpload, (String, String)>, BlobError> {
        let (key_marker, upload_id_marker) = marker.unzip();
        let page = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_key_marker(key_marker)
            .set_upload_id_marker(upload_id_marker)
            .send()
            .await
            .map_err(BlobError::from_sdk)?;
        let items = page
            .uploads()
            .iter()
            .filter_map(|upload| {
                Some(OpenUpload {
                    key: upload.key()?.to_owned(),
                    upload_id: upload.upload_id()?.to_owned(),
                    initiated: upload.initiated().and_then(|t| std::time::SystemTime::try_from(*t).ok()),
                })
            })
            .collect();
        let next = match (page.next_key_marker(), page.next_upload_id_marker()) {
            (Some(key), Some(id)) if page.is_truncated().unwrap_or(false) => Some((key.to_owned(), id.to_owned())),
            _ => None,
        };
        Ok(Page { items, next })
    }

    /// Aborts a multipart upload, freeing its parts (gone already is fine).
    pub async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        let sent = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send().await;
        match sent.map_err(BlobError::from_sdk) {
            Ok(_) | Err(BlobError::NotFound) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

/// Reads up to one part, feeding the fingerprint; refuses growth past `max_size`.
async fn read_part<R: AsyncRead + Unpin>(
    reader: &mut R,
    print: &mut Fingerprint,
    max_size: u64,
) -> Result<Vec<u8>, BlobError> {
    let mut part = Vec::with_capacity(PART_SIZE.min(max_size as usize + 1));
    let mut buffer = vec![0u8; 64 * 1024];
    while part.len() < PART_SIZE {
        let want = (PART_SIZE - part.len()).min(buffer.len());
        let n = reader.read(&mut buffer[..want]).await.map_err(|e| BlobError::Unavailable(e.to_string()))?;
        if n == 0 {
            break;
        }
        print.update(&buffer[..n]);
        if print.size > max_size {
            return Err(BlobError::TooLarge { limit: max_size });
        }
        part.extend_from_slice(&buffer[..n]);
    }
    Ok(part)
}

/// `attachment; filename="..."` with an ASCII fallback and the UTF-8 name
/// (RFC 6266 / 5987), so browsers download instead of rendering.
pub fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_an_attachment_and_escapes_quotes() {
        assert_eq!(
            content_disposition("transcript \"final\".pdf"),
            "attachment; filename=\"transcript _final_.pdf\"; filename*=UTF-8''transcript%20%22final%22.pdf"
        );
        assert!(
            content_disposition("Zeugnis für Jürgen.pdf")
                .starts_with("attachment; filename=\"Zeugnis f_r J_rgen.pdf\"")
        );
    }

    #[test]
    fn fingerprints_keep_the_head_and_hash_everything() {
        let mut print = Fingerprint::default();
        print.update(&vec![1u8; SNIFF_BYTES + 10]);
        let stored = print.finish();
        assert_eq!(stored.size, SNIFF_BYTES as u64 + 10);
        assert_eq!(stored.head.len(), SNIFF_BYTES);
        assert_eq!(stored.sha256.len(), 64);
    }
}

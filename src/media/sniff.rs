/// The kinds of evidence file accepted. Anything else is refused at upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
    Webp,
    /// HEIC/HEIF, what iPhones save by default. Stored as is; no preview is made.
    Heic,
}

/// How many leading bytes [`sniff`] needs to see. More does no harm; fewer can miss an HEIC
/// whose `ftyp` box lists many compatible brands.
pub const SNIFF_LEN: usize = 256;

impl FileType {
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Webp => "image/webp",
            FileType::Heic => "image/heic",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
            FileType::Webp => "webp",
            FileType::Heic => "heic",
        }
    }
}

/// The type of a file judged from its first bytes alone (see [`SNIFF_LEN`]).
///
/// Returns `None` for anything that is not one of the accepted types, including HTML or script
/// renamed to `.pdf`: a browser would happily render those if served back.
pub fn sniff(head: &[u8]) -> Option<FileType> {
    let detected = infer::get(head);
    match detected.map(|kind| kind.mime_type()) {
        Some("application/pdf") => Some(FileType::Pdf),
        Some("image/jpeg") => Some(FileType::Jpeg),
        Some("image/png") => Some(FileType::Png),
        Some("image/webp") => Some(FileType::Webp),
        // infer 0.19 says image/heif for both HEIC and HEIF; accept either spelling in case a
        // later release splits them.
        Some("image/heif" | "image/heic") => Some(FileType::Heic),
        // infer only knows the `heic`/`heix` brands (or `mif1` listing `heic`); cameras also write
        // the HEVC sequence and multi-image brands, which are the same container for our purposes.
        None if has_hevc_brand(head) => Some(FileType::Heic),
        _ => None,
    }
}

/// Whether `head` starts with an ISO-BMFF `ftyp` box naming an HEVC-coded HEIF brand as major or
/// compatible brand. AVIF (AV1-coded HEIF) is deliberately not matched.
fn has_hevc_brand(head: &[u8]) -> bool {
    const HEVC_BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
    let Some(declared_len) = head.get(0..4).map(|len| u32::from_be_bytes([len[0], len[1], len[2], len[3]])) else {
        return false;
    };
    if head.get(4..8) != Some(b"ftyp") {
        return false;
    }
    // Major brand at 8..12, minor version at 12..16, then compatible brands to the box end.
    let box_end = usize::try_from(declared_len).unwrap_or(usize::MAX).min(head.len());
    let ftyp = &head[..box_end];
    let major = ftyp.get(8..12).into_iter();
    let compatible = ftyp.get(16..).unwrap_or_default().chunks_exact(4);
    major.chain(compatible).any(|brand| HEVC_BRANDS.iter().any(|hevc| brand == hevc.as_slice()))
}

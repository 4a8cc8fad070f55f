//! A decompression bomb: a valid PNG of a few hundred kilobytes that declares 400 megapixels.
//!
//! Built by hand because encoding it with `image` would first need the 400 MB of pixels. A
//! one-bit greyscale image of all zeros is 50 MB of zero bytes once unfiltered, which deflate
//! encodes as one literal and then back-references of maximal length, 13 bits per 258 bytes.

/// 20000 x 20000 black pixels in about 300 KB.
pub fn png_bomb() -> Vec<u8> {
    png_black(20_000, 20_000)
}

/// A valid 1-bit greyscale PNG of `width` x `height` black pixels.
pub fn png_black(width: u32, height: u32) -> Vec<u8> {
    let row_len = 1 + u64::from(width).div_ceil(8); // filter-type byte, then the packed bits
    let raw_len = row_len * u64::from(height);

    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, greyscale, deflate, adaptive filter, no interlace

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    push_chunk(&mut png, b"IHDR", &header);
    push_chunk(&mut png, b"IDAT", &zlib_of_zeros(raw_len));
    push_chunk(&mut png, b"IEND", &[]);
    png
}

fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("chunks here are far below 4 GiB");
    png.extend_from_slice(&length.to_be_bytes());
    let crc_start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[crc_start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream that inflates to `len` zero bytes, as one fixed-Huffman deflate block.
fn zlib_of_zeros(len: u64) -> Vec<u8> {
    const MAX_MATCH: u64 = 258;
    let mut bits = BitWriter::default();
    bits.push(1, 1); // final block
    bits.push(1, 2); // fixed Huffman codes
    if len > 0 {
        bits.push_code(0b0011_0000, 8); // literal 0
        let rest = len - 1;
        for _ in 0..rest / MAX_MATCH {
            bits.push_code(0b1100_0101, 8); // length symbol 285: 258 bytes, no extra bits
            bits.push_code(0b00000, 5); // distance symbol 0: one byte back
        }
        for _ in 0..rest % MAX_MATCH {
            bits.push_code(0b0011_0000, 8);
        }
    }
    bits.push_code(0b000_0000, 7); // end of block

    let mut zlib = vec![0x78, 0x01]; // deflate, 32 KiB window, no dictionary; header checksum holds
    zlib.extend_from_slice(&bits.finish());
    // Adler-32 of zeros: the running sum `a` stays 1, and `b` adds it once per byte.
    let adler = (len % 65_521) << 16 | 1;
    zlib.extend_from_slice(&u32::try_from(adler).unwrap_or_default().to_be_bytes());
    zlib
}

/// Deflate's bit order: values least significant bit first, Huffman codes most significant first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u8,
    used: u8,
}

impl BitWriter {
    fn push(&mut self, value: u32, count: u8) {
        for bit in 0..count {
            self.current |= u8::from(value >> bit & 1 == 1) << self.used;
            self.used += 1;
            if self.used == 8 {
                self.bytes.push(self.current);
                self.current = 0;
                self.used = 0;
            }
        }
    }

    fn push_code(&mut self, code: u32, length: u8) {
        let reversed = code.reverse_bits() >> (32 - u32::from(length));
        self.push(reversed, length);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.bytes.push(self.current);
        }
        self.bytes
    }
}

/// CRC-32 (IEEE), bit by bit: chunks here are small enough that a table is not worth its code.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { crc >> 1 ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

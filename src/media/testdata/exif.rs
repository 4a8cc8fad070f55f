//! A hand-built EXIF APP1 segment, the way phone cameras write one (minus the many tags that do
//! not matter here).

/// The GPSLatitude value written by [`exif_segment`], 40° 44' 54.96" as three big-endian
/// rationals, exactly as the bytes appear in the file. Tests search outputs for it.
pub const GPS_LATITUDE_RATIONALS: [u8; 24] = [
    0, 0, 0, 40, 0, 0, 0, 1, // degrees 40/1
    0, 0, 0, 44, 0, 0, 0, 1, // minutes 44/1
    0, 0, 0x15, 0x78, 0, 0, 0, 100, // seconds 5496/100
];

/// The GPSLongitude value, 73° 59' 8.50".
const GPS_LONGITUDE_RATIONALS: [u8; 24] = [
    0, 0, 0, 73, 0, 0, 0, 1, // degrees
    0, 0, 0, 59, 0, 0, 0, 1, // minutes
    0, 0, 0x03, 0x52, 0, 0, 0, 100, // seconds 850/100
];

const TAG_ORIENTATION: u16 = 0x0112;
const TAG_GPS_IFD_POINTER: u16 = 0x8825;
const TAG_GPS_VERSION: u16 = 0x0000;
const TAG_GPS_LATITUDE_REF: u16 = 0x0001;
const TAG_GPS_LATITUDE: u16 = 0x0002;
const TAG_GPS_LONGITUDE_REF: u16 = 0x0003;
const TAG_GPS_LONGITUDE: u16 = 0x0004;

const TYPE_BYTE: u16 = 1;
const TYPE_ASCII: u16 = 2;
const TYPE_SHORT: u16 = 3;
const TYPE_LONG: u16 = 4;
const TYPE_RATIONAL: u16 = 5;

const IFD_ENTRY_LEN: usize = 12;
const TIFF_HEADER_LEN: usize = 8;

/// One IFD entry; `value` is the value itself if it fits in four bytes (left-aligned), else the
/// offset of the value from the start of the TIFF header.
fn entry(tag: u16, value_type: u16, count: u32, value: [u8; 4]) -> [u8; IFD_ENTRY_LEN] {
    let mut bytes = [0; IFD_ENTRY_LEN];
    bytes[0..2].copy_from_slice(&tag.to_be_bytes());
    bytes[2..4].copy_from_slice(&value_type.to_be_bytes());
    bytes[4..8].copy_from_slice(&count.to_be_bytes());
    bytes[8..12].copy_from_slice(&value);
    bytes
}

fn ifd_len(entries: usize) -> usize {
    2 + entries * IFD_ENTRY_LEN + 4
}

fn offset_value(offset: usize) -> [u8; 4] {
    u32::try_from(offset).expect("the segment is a few hundred bytes").to_be_bytes()
}

/// Appends an IFD (entry count, entries in ascending tag order, no next IFD).
fn push_ifd(tiff: &mut Vec<u8>, entries: &[[u8; IFD_ENTRY_LEN]]) {
    let count = u16::try_from(entries.len()).expect("a handful of entries");
    tiff.extend_from_slice(&count.to_be_bytes());
    entries.iter().for_each(|entry| tiff.extend_from_slice(entry));
    tiff.extend_from_slice(&0_u32.to_be_bytes());
}

/// A complete APP1 segment (marker, length, `Exif\0\0`, big-endian TIFF) whose IFD0 holds the
/// Orientation tag and, if `gps`, a pointer to a GPS IFD with version, latitude and longitude.
pub fn exif_segment(orientation: u16, gps: bool) -> Vec<u8> {
    let [orientation_high, orientation_low] = orientation.to_be_bytes();
    let mut ifd0 = vec![entry(TAG_ORIENTATION, TYPE_SHORT, 1, [orientation_high, orientation_low, 0, 0])];
    let ifd0_offset = TIFF_HEADER_LEN;
    let gps_ifd_offset = ifd0_offset + ifd_len(if gps { 2 } else { 1 });
    if gps {
        ifd0.push(entry(TAG_GPS_IFD_POINTER, TYPE_LONG, 1, offset_value(gps_ifd_offset)));
    }

    let mut tiff = b"MM\0\x2A".to_vec();
    tiff.extend_from_slice(&offset_value(ifd0_offset));
    push_ifd(&mut tiff, &ifd0);
    if gps {
        let latitude_offset = gps_ifd_offset + ifd_len(5);
        let longitude_offset = latitude_offset + GPS_LATITUDE_RATIONALS.len();
        push_ifd(
            &mut tiff,
            &[
                entry(TAG_GPS_VERSION, TYPE_BYTE, 4, [2, 3, 0, 0]),
                entry(TAG_GPS_LATITUDE_REF, TYPE_ASCII, 2, *b"N\0\0\0"),
                entry(TAG_GPS_LATITUDE, TYPE_RATIONAL, 3, offset_value(latitude_offset)),
                entry(TAG_GPS_LONGITUDE_REF, TYPE_ASCII, 2, *b"W\0\0\0"),
                entry(TAG_GPS_LONGITUDE, TYPE_RATIONAL, 3, offset_value(longitude_offset)),
            ],
        );
        tiff.extend_from_slice(&GPS_LATITUDE_RATIONALS);
        tiff.extend_from_slice(&GPS_LONGITUDE_RATIONALS);
    }

    let payload = [b"Exif\0\0".as_slice(), &tiff].concat();
    let length = u16::try_from(payload.len() + 2).expect("the segment is a few hundred bytes");
    [[0xFF, 0xE1].as_slice(), &length.to_be_bytes(), &payload].concat()
}

//! Untrusted HdrHistogram V2 bytes, checked before the hdrhistogram crate sees
//! them: it allocates whatever a header declares before reading, so every
//! declared length is held against the bytes present, the layout and the
//! inflated size are capped, and the counts are scanned for values it cannot take.

use std::borrow::Cow;
use std::io::Read;

/// The V2 encoding's cookies (HdrHistogram's `V2EncodingCookieBase | 0x10`).
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
/// cookie, payload length, normalizing offset, digits, low, high, int-to-double ratio.
const HEADER: usize = 40;
/// The most counts a decoded histogram's layout may hold: 2^20 (8 MiB of
/// counters), 50 times loadgen's own layout (1 us to 5 min at 3 digits).
pub const MAX_COUNTS: u64 = 1 << 20;
/// A count is a LEB128-style varint of at most 9 bytes.
const MAX_VARINT: u64 = 9;

/// The plain V2 bytes of `bytes` (inflated when compressed), once checked:
/// what the crate's deserializer may be given without risk.
pub fn checked(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    match be_u32(bytes, 0) {
        Some(V2_COOKIE) => {
            check_plain(bytes)?;
            Ok(Cow::Borrowed(bytes))
        }
        Some(V2_DEFLATE_COOKIE) => inflate(bytes).map(Cow::Owned),
        Some(other) => Err(format!(
            "not an HdrHistogram V2 encoding (cookie {other:#010x})"
        )),
        None => Err(format!("{} bytes are too few for a histogram", bytes.len())),
    }
}

/// What a checked header declares.
struct Declared {
    /// Bytes of varint counts after the header.
    payload: usize,
    /// Counts in the histogram's layout.
    counts: u64,
}

/// The header's declarations, once its layout is checked.
fn header(bytes: &[u8]) -> Result<Declared, String> {
    let field = |at| be_u64(bytes, at).ok_or("the header is cut short");
    let payload = be_u32(bytes, 4).ok_or("the header is cut short")?;
    let (offset, digits) = (be_u32(bytes, 8), be_u32(bytes, 12));
    let (low, high, ratio) = (field(16)?, field(24)?, field(32)?);
    if offset != Some(0) || f64::from_bits(ratio) != 1.0 {
        return Err("an offset or ratio HdrHistogram V2 allows but loadgen never writes".into());
    }
    let digits = digits
        .filter(|d| *d <= 5)
        .ok_or("more than 5 significant digits")?;
    let counts = counts_len(low, high, digits)
        .ok_or_else(|| format!("an impossible layout (low {low}, high {high}, {digits} digits)"))?;
    if counts > MAX_COUNTS {
        return Err(format!(
            "a layout of {counts} counts, over the {MAX_COUNTS} limit"
        ));
    }
    if u64::from(payload) > counts * MAX_VARINT {
        return Err(format!(
            "a payload of {payload} bytes declared for {counts} counts"
        ));
    }
    Ok(Declared {
        payload: payload as usize,
        counts,
    })
}

/// Checks plain V2 bytes: the header, the declared length against what is
/// present, and every varint of the payload.
fn check_plain(bytes: &[u8]) -> Result<(), String> {
    let Declared { payload, counts } = header(bytes)?;
    let present = bytes.len() - HEADER;
    if payload > present {
        return Err(format!(
            "the header declares {payload} bytes of counts, {present} are present"
        ));
    }
    let mut payload = &bytes[HEADER..HEADER + payload];
    let mut slots: u64 = 0;
    while !payload.is_empty() {
        let (value, used) = varint(payload).ok_or("a count is cut short")?;
        payload = &payload[used..];
        // Zig-zag: odd values are runs of zeros, even ones a count.
        slots = slots.saturating_add(match value {
            u64::MAX => return Err("a count no histogram can hold".into()),
            v if v & 1 == 1 => (v >> 1) + 1,
            _ => 1,
        });
        if slots > counts {
            return Err(format!("more counts than the layout's {counts}"));
        }
    }
    Ok(())
}

/// Inflates the V2 deflate encoding, trusting no length it declares.
fn inflate(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let compressed = be_u32(bytes, 4).ok_or("the header is cut short")? as usize;
    let present = bytes.len() - 8;
    if compressed > present {
        return Err(format!(
            "the header declares {compressed} compressed bytes, {present} are present"
        ));
    }
    let mut z = flate2::read::ZlibDecoder::new(&bytes[8..8 + compressed]);
    let mut out = vec![0u8; HEADER];
    z.read_exact(&mut out)
        .map_err(|e| format!("the compressed histogram does not inflate: {e}"))?;
    if be_u32(&out, 0) != Some(V2_COOKIE) {
        return Err("the compressed histogram is not V2 inside".into());
    }
    let declared = header(&out)?.payload;
    // Grows with what inflates, never to what the header claims.
    z.take(declared as u64)
        .read_to_end(&mut out)
        .map_err(|e| format!("the compressed histogram does not inflate: {e}"))?;
    check_plain(&out)?;
    Ok(out)
}

/// How many counts the crate allocates for this layout (its `new_with_bounds`
/// arithmetic); `None` for a layout it refuses.
pub fn counts_len(low: u64, high: u64, digits: u32) -> Option<u64> {
    if !(1..=u64::MAX / 2).contains(&low) || high < 2 * low || digits > 5 {
        return None;
    }
    let largest = 2 * 10u64.pow(digits);
    let sub_magnitude = 64 - (largest - 1).leading_zeros();
    let unit_magnitude = 63 - low.leading_zeros();
    if unit_magnitude + sub_magnitude > 63 {
        return None;
    }
    let sub_count = 1u64 << sub_magnitude;
    let mut smallest_untrackable = sub_count << unit_magnitude;
    let mut buckets = 1;
    while smallest_untrackable <= high {
        if smallest_untrackable > u64::MAX / 2 {
            buckets += 1;
            break;
        }
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    Some((buckets + 1) * (sub_count / 2))
}

/// One varint as the crate reads it: 7 bits a byte, the 9th byte whole.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Some((value | (u64::from(b) << 56), 9));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::hdr;
    use hdrhistogram::serialization::{Serializer, V2Serializer};

    #[test]
    fn the_layout_arithmetic_matches_the_crate() {
        for (low, high, digits) in [
            (1, hdr::MAX_US, 3),
            (1, 3_600_000_000, 2),
            (1000, 1 << 40, 5),
        ] {
            let h =
                hdrhistogram::Histogram::<u64>::new_with_bounds(low, high, digits as u8).unwrap();
            assert_eq!(
                counts_len(low, high, digits),
                Some(h.distinct_values() as u64)
            );
        }
        assert_eq!(counts_len(0, 10, 3), None);
        assert_eq!(counts_len(1, 1, 3), None);
    }

    #[test]
    fn honest_encodings_pass_both_ways() {
        let mut h = hdr::new_histogram();
        for v in [1, 17, 4_000, hdr::MAX_US] {
            h.record_n(v, 3).unwrap();
        }
        let mut plain = Vec::new();
        V2Serializer::new().serialize(&h, &mut plain).unwrap();
        assert!(matches!(checked(&plain), Ok(Cow::Borrowed(_))));
        let compressed = hdr::to_v2_bytes(&h);
        let inflated = checked(&compressed).unwrap();
        assert_eq!(&inflated[..], &plain[..]);
    }

    #[test]
    fn declared_lengths_past_the_bytes_are_refused() {
        let mut h = hdr::new_histogram();
        h.record(5).unwrap();
        let mut plain = Vec::new();
        V2Serializer::new().serialize(&h, &mut plain).unwrap();
        plain[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        assert!(checked(&plain).unwrap_err().contains("declared"));
        let mut compressed = hdr::to_v2_bytes(&h);
        compressed[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(checked(&compressed).unwrap_err().contains("are present"));
    }
}

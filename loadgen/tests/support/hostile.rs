//! Hostile bytes for the decoders: HdrHistogram V2 encodings that lie about
//! their lengths, zlib streams built by hand, and seeded mutations.

#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::Rng;

/// HdrHistogram's V2 cookies: plain and deflate-compressed.
pub const V2: u32 = 0x1c84_9313;
pub const V2_DEFLATE: u32 = 0x1c84_9314;

/// A V2 header: cookie, payload length, normalizing offset, digits, low,
/// high, integer-to-double ratio (40 bytes).
pub fn v2_header(payload_len: u32, low: u64, high: u64, sigfig: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend(V2.to_be_bytes());
    out.extend(payload_len.to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend(sigfig.to_be_bytes());
    out.extend(low.to_be_bytes());
    out.extend(high.to_be_bytes());
    out.extend(1.0f64.to_be_bytes());
    out
}

/// A zlib stream of stored (uncompressed) deflate blocks holding `data`.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(*chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

/// `inner` (plain V2 bytes) wrapped as the V2 deflate encoding.
pub fn deflated(inner: &[u8]) -> Vec<u8> {
    let z = zlib_stored(inner);
    let mut out = V2_DEFLATE.to_be_bytes().to_vec();
    out.extend((z.len() as u32).to_be_bytes());
    out.extend(z);
    out
}

/// The adversarial histograms every decoder must refuse at once, by name.
pub fn lying_histograms() -> Vec<(&'static str, Vec<u8>)> {
    let ours = |len| v2_header(len, 1, 300_000_000, 3);
    let mut declared_4gib = ours(0xFFFF_FFF0);
    declared_4gib.extend([0u8; 80]);
    let mut bomb_inner = ours(20_000_000);
    bomb_inner.extend(vec![0u8; 200_000]);
    let mut min_varint = ours(9);
    min_varint.extend([0xFF; 9]);
    let mut too_many_counts = ours(200_000);
    too_many_counts.extend(vec![2u8; 200_000]);
    let mut wide = v2_header(4, 1, u64::MAX / 4, 5);
    wide.extend([2, 2, 2, 2]);
    let mut outer_lies = V2_DEFLATE.to_be_bytes().to_vec();
    outer_lies.extend(0xFFFF_FFF0u32.to_be_bytes());
    outer_lies.extend(zlib_stored(&ours(0)));
    vec![
        ("120 bytes declaring a 4 GiB payload", declared_4gib.clone()),
        (
            "deflated, the inner header declaring 4 GiB",
            deflated(&declared_4gib),
        ),
        (
            "deflated, declaring 20 MB of payload",
            deflated(&bomb_inner),
        ),
        ("deflated, the outer length past the end", outer_lies),
        ("a count of i64::MIN", min_varint),
        ("more counts than the layout holds", too_many_counts),
        ("a layout of millions of counts", wide),
    ]
}

/// `bytes` with a few random bytes changed, cut, or inserted.
pub fn mutate(rng: &mut StdRng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if out.is_empty() {
            out.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..5) {
            0 => out[at] = rng.random(),
            1 => out[at] ^= 1 << rng.random_range(0..8),
            2 => out.truncate(at),
            3 => out.insert(at, rng.random()),
            _ => out[at] = [0x00, 0xFF, 0x7F, 0x80][rng.random_range(0..4)],
        }
    }
    out
}

/// `len` random bytes.
pub fn noise(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random()).collect()
}

/// Standard base64 with padding, as summary.json and the protocol carry histograms.
pub fn b64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

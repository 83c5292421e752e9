//! Compressed answers (`Content-Encoding: gzip`, `deflate`, `br`) decoded for
//! the task's checks, never past the body limit (a small bomb stays small).

use std::io::Read;

/// The decoded body of `wire` as `encoding` says, at most `limit` bytes;
/// `Ok(None)` when the encoding is none this knows (the body is kept as it came).
pub fn decode(encoding: &str, wire: &[u8], limit: usize) -> Result<Option<Vec<u8>>, String> {
    let encoding = encoding.trim().to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(wire)),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(wire)),
        "br" => Box::new(brotli_decompressor::Decompressor::new(wire, 4096)),
        "" | "identity" => return Ok(None),
        _ => return Ok(None),
    };
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the {encoding} body does not decode: {e}"))?;
    if out.len() > limit {
        return Err(format!(
            "the {encoding} body decodes to over the {limit} byte limit"
        ));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_decodes_within_the_limit_and_a_bomb_does_not() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[b'a'; 10_000]).unwrap();
        let wire = gz.finish().unwrap();
        assert_eq!(
            decode("gzip", &wire, 20_000).unwrap().unwrap().len(),
            10_000
        );
        assert!(decode("gzip", &wire, 1_000).unwrap_err().contains("limit"));
        assert!(decode("gzip", b"not gzip", 1_000).is_err());
        assert_eq!(decode("zstd", b"x", 10).unwrap(), None);
    }
}

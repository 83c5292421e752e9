//! HDR histograms in microseconds: one constructor, clamping, V2 bytes and base64 text.

use super::v2;
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// The slowest latency kept as itself: 5 minutes. Slower values are recorded
/// as this value and counted as clamped, never dropped.
pub const MAX_US: u64 = 300_000_000;
/// Three significant digits: every recorded value is within 0.1% of the truth.
pub const SIGFIG: u8 = 3;

/// A new empty latency histogram (1 us to `MAX_US`).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, SIGFIG).expect("static HDR bounds are valid")
}

/// Records `us`, clamped to `MAX_US`; returns whether it was clamped.
pub fn record_clamped(hist: &mut Histogram<u64>, us: u64) -> bool {
    let clamped = us > MAX_US;
    // `saturating_record` cannot fail: the value is within the bounds.
    hist.saturating_record(us.min(MAX_US));
    clamped
}

/// The histogram as compressed V2 bytes (the HdrHistogram wire format).
pub fn to_v2_bytes(hist: &Histogram<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    V2DeflateSerializer::new()
        .serialize(hist, &mut out)
        .expect("serializing to a Vec cannot fail");
    out
}

/// Reads V2 bytes (compressed or not) back into a histogram with our bounds.
/// The bytes may come from anyone: `v2::checked` holds every length they
/// declare against what is there before the crate allocates for them.
pub fn from_v2_bytes(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    let plain = v2::checked(bytes).map_err(|e| format!("bad HDR histogram bytes: {e}"))?;
    let read: Histogram<u64> = Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(&plain[..]))
        .map_err(|e| format!("bad HDR histogram bytes: {e:?}"))?;
    if read.low() == 1 && read.high() == MAX_US && read.sigfig() == SIGFIG {
        // Already our layout (it came from us): no copy needed.
        return Ok(read);
    }
    let mut hist = new_histogram();
    hist.add(&read)
        .map_err(|e| format!("HDR histogram out of range: {e:?}"))?;
    Ok(hist)
}

pub fn to_base64(hist: &Histogram<u64>) -> String {
    base64::engine::general_purpose::STANDARD.encode(to_v2_bytes(hist))
}

pub fn from_base64(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("bad base64 in HDR histogram: {e}"))?;
    from_v2_bytes(&bytes)
}

/// The value at percentile `p` (0..=100), 0 for an empty histogram.
pub fn percentile(hist: &Histogram<u64>, p: f64) -> u64 {
    if hist.is_empty() {
        0
    } else {
        hist.value_at_percentile(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_round_trip_keeps_every_count() {
        let mut hist = new_histogram();
        for v in [1, 7, 250, 999, 1_000, 12_345, 2_000_000, MAX_US] {
            hist.record_n(v, v % 7 + 1).unwrap();
        }
        let back = from_base64(&to_base64(&hist)).unwrap();
        assert_eq!(back, hist);
        assert_eq!(back.len(), hist.len());
        assert_eq!(percentile(&back, 99.0), percentile(&hist, 99.0));
    }

    #[test]
    fn slow_values_are_clamped_not_dropped() {
        let mut hist = new_histogram();
        assert!(record_clamped(&mut hist, MAX_US * 10));
        assert!(!record_clamped(&mut hist, 5));
        assert_eq!(hist.len(), 2);
        assert_eq!(hist.max(), hist.highest_equivalent(MAX_US));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(from_base64("not base64!").is_err());
        assert!(from_v2_bytes(&[1, 2, 3, 4, 5, 6, 7, 8]).is_err());
    }
}

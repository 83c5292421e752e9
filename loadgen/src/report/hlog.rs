//! `latency.hlog`: an HdrHistogram interval log, one interval per second per
//! endpoint (tagged `METHOD_name`) plus an untagged total. Written while the run
//! goes, on a thread of its own, because the summary keeps no per-second histograms.

use super::Error;
use crate::engine::Tick;
use crate::metrics::{hdr, Aggregator, FinalSecond};
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

pub const FILE: &str = "latency.hlog";

/// One second's histograms: (tag, histogram) per endpoint, then the total.
struct Second {
    second: u64,
    endpoints: Vec<(String, Histogram<u64>)>,
    total: Histogram<u64>,
}

enum Msg {
    Second(Box<Second>),
    /// The run's cumulative histograms: what they hold beyond the seconds sent
    /// (the last, partial second, closed after the final tick) is written as one more.
    Finish(Option<Box<Second>>),
}

/// Owns the writing thread; `finish` (or drop) flushes the log and waits for it.
pub struct HlogWriter {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<io::Result<()>>>,
    path: PathBuf,
}

/// The run's side: cheap to call every second, never waits on the disk.
#[derive(Clone)]
pub struct HlogFeed {
    tx: mpsc::Sender<Msg>,
}

/// The tag of an endpoint: interval log tags may not hold spaces, commas or newlines.
pub fn tag_for(method: &str, name: &str) -> String {
    format!("{method} {name}")
        .chars()
        .map(|c| match c {
            ' ' | '\r' | '\n' | '\t' => '_',
            ',' => ';',
            c => c,
        })
        .collect()
}

impl HlogWriter {
    /// Creates `dir/latency.hlog`; `start` is the run's start (the log's StartTime).
    pub fn create(dir: &Path, start: SystemTime) -> Result<HlogWriter, Error> {
        let path = dir.join(FILE);
        let io_err = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let file = std::fs::File::create(&path).map_err(io_err)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("loadgen-hlog".into())
            .spawn(move || write_loop(BufWriter::new(file), start, rx))
            .map_err(io_err)?;
        Ok(HlogWriter {
            tx,
            thread: Some(thread),
            path,
        })
    }

    pub fn feed(&self) -> HlogFeed {
        HlogFeed {
            tx: self.tx.clone(),
        }
    }

    /// Writes what was fed and the rest of `aggregator` (the seconds closed after
    /// the last tick), closes the log and returns its path.
    pub fn finish(mut self, aggregator: &Aggregator) -> Result<PathBuf, Error> {
        let last = Second {
            second: aggregator.series.last().map_or(0, |p| p.second),
            endpoints: aggregator
                .endpoints
                .iter()
                .map(|(k, s)| (tag_for(&k.method, &k.name), s.hist.clone()))
                .collect(),
            total: aggregator.total.hist.clone(),
        };
        self.join(Some(Box::new(last)))?;
        Ok(self.path.clone())
    }

    fn join(&mut self, last: Option<Box<Second>>) -> Result<(), Error> {
        let _ = self.tx.send(Msg::Finish(last));
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(source))) => Err(Error::Io {
                path: self.path.clone(),
                source,
            }),
            Some(Err(_)) => Err(Error::Hlog {
                path: self.path.clone(),
                reason: "the writing thread panicked".into(),
            }),
            _ => Ok(()),
        }
    }
}

impl Drop for HlogWriter {
    fn drop(&mut self) {
        let _ = self.join(None);
    }
}

impl HlogFeed {
    /// Sends each finalized second's histograms to the writing thread.
    pub fn tick(&self, tick: &Tick) {
        for fin in tick.finalized {
            self.second(fin);
        }
    }

    /// Sends one finalized second.
    pub fn second(&self, fin: &FinalSecond) {
        let endpoints = fin
            .per_endpoint
            .iter()
            .filter(|(_, s)| s.requests > 0)
            .map(|(k, s)| (tag_for(&k.method, &k.name), s.hist.clone()))
            .collect();
        let second = Second {
            second: fin.point.second,
            endpoints,
            total: fin.total.hist.clone(),
        };
        // A closed log (finished early) is not the run's problem.
        let _ = self.tx.send(Msg::Second(Box::new(second)));
    }
}

fn write_loop(
    mut out: BufWriter<std::fs::File>,
    start: SystemTime,
    rx: mpsc::Receiver<Msg>,
) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment("loadgen latency log: values in microseconds, one interval per second")
        .add_comment("tags: METHOD_name per endpoint; the untagged interval is all endpoints")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut out, &mut serializer)?;
    let one = Duration::from_secs(1);
    let mut written: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut total = hdr::new_histogram();
    let mut next_second = 0;
    loop {
        let (s, is_last) = match rx.recv() {
            Ok(Msg::Second(s)) => (s, false),
            Ok(Msg::Finish(Some(mut rest))) if rest.second >= next_second => {
                for (tag, hist) in &mut rest.endpoints {
                    if let Some(sent) = written.get(tag) {
                        let _ = hist.subtract(sent);
                    }
                }
                rest.endpoints.retain(|(_, h)| !h.is_empty());
                let _ = rest.total.subtract(&total);
                (rest, true)
            }
            Ok(Msg::Finish(_)) | Err(_) => break,
        };
        let at = Duration::from_secs(s.second);
        for (tag, hist) in &s.endpoints {
            log.write_histogram(hist, at, one, Tag::new(tag))
                .map_err(|e| io::Error::other(e.to_string()))?;
            let sent = written
                .entry(tag.clone())
                .or_insert_with(hdr::new_histogram);
            let _ = sent.add(hist);
        }
        log.write_histogram(&s.total, at, one, None)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let _ = total.add(&s.total);
        next_second = s.second + 1;
        if is_last {
            break;
        }
    }
    drop(log);
    out.flush()
}

/// One interval read back from a log.
pub struct Interval {
    pub tag: Option<String>,
    /// Seconds since the log's base time.
    pub start_secs: u64,
    pub hist: Histogram<u64>,
}

/// Parses an interval log written by `HlogWriter` (or any V2 log in microseconds).
pub fn parse(bytes: &[u8]) -> Result<Vec<Interval>, String> {
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(bytes) {
        match entry.map_err(|e| format!("{e:?}"))? {
            LogEntry::Interval(i) => out.push(Interval {
                tag: i.tag().map(|t| t.as_str().to_string()),
                start_secs: i.start_timestamp().as_secs(),
                hist: hdr::from_base64(i.encoded_histogram())?,
            }),
            LogEntry::StartTime(_) | LogEntry::BaseTime(_) => {}
        }
    }
    Ok(out)
}

/// The intervals of `dir/latency.hlog`, or `None` when the folder has none.
pub fn read_dir(dir: &Path) -> Result<Option<Vec<Interval>>, Error> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    parse(&bytes)
        .map(Some)
        .map_err(|reason| Error::Hlog { path, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_safe() {
        assert_eq!(tag_for("GET", "/books/{id}"), "GET_/books/{id}");
        assert!(Tag::new(&tag_for("POST", "a b,c\nd")).is_some());
    }
}

//! Data for users: rows from a CSV file (its first line names the columns) or
//! a JSON-lines file (one object a line), handed out as users ask
//! (`vu.feed("accounts")`): in order, each row once (queue); at random; in
//! order, starting over (circular); or each row once in random order
//! (unique). Rows are read from the file as they are handed out (an index of
//! line offsets for the random orders), so memory does not grow with users.
//! In a distributed run the manager deals queue and unique rows to users as
//! they ask (`dealer`), so no row goes to two users and a lost worker keeps
//! none it did not use; random and circular feeders, whose rows repeat
//! anyway, give each worker its own stripe (row i to worker i mod workers).

use super::dealer::{Dealt, RowDealer};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How rows are handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// In file order, each row once.
    Queue,
    /// Each row once, in random order.
    Unique,
    /// A random row each time (rows repeat).
    Random,
    /// In file order, starting over at the end.
    Circular,
}

/// What a queue or unique feeder does when its rows run out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// Stop the run (gracefully), saying why.
    StopRun,
    /// Start again from the first row.
    Recycle,
    /// Fail the iteration that asked (a `task` failure), and go on.
    FailIteration,
}

/// One row: its columns by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    fields: Vec<(String, serde_json::Value)>,
    /// Its place in the file (0 = the first row of data).
    pub index: u64,
}

impl Row {
    /// A column's value as text (`None` when the row has no such column).
    pub fn get(&self, column: &str) -> Option<&str> {
        self.value(column).map(|v| v.as_str().unwrap_or(""))
    }

    /// A column's value as JSON (JSON-lines rows keep numbers and objects).
    pub fn value(&self, column: &str) -> Option<&serde_json::Value> {
        self.fields
            .iter()
            .find(|(n, _)| n == column)
            .map(|(_, v)| v)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

/// A file of rows, and how they are handed out.
#[derive(Clone, Debug)]
pub struct Feeder {
    path: PathBuf,
    format: Format,
    order: Order,
    exhausted: Exhausted,
}

impl Feeder {
    /// A CSV file; its first line names the columns (RFC 4180 quoting).
    pub fn csv(path: impl Into<PathBuf>) -> Feeder {
        Feeder {
            path: path.into(),
            format: Format::Csv,
            order: Order::Queue,
            exhausted: Exhausted::StopRun,
        }
    }

    /// A JSON-lines file: one JSON object a line.
    pub fn json_lines(path: impl Into<PathBuf>) -> Feeder {
        Feeder {
            format: Format::JsonLines,
            ..Feeder::csv(path)
        }
    }

    pub fn order(mut self, order: Order) -> Feeder {
        self.order = order;
        self
    }

    pub fn when_exhausted(mut self, exhausted: Exhausted) -> Feeder {
        self.exhausted = exhausted;
        self
    }

    /// Whether a distributed run's manager deals its rows (each row once).
    fn dealt_by_manager(&self) -> bool {
        matches!(self.order, Order::Queue | Order::Unique)
    }

    /// Opens it for a process that is worker `stripe.0` of `stripe.1`:
    /// checks the file and indexes its lines (an error names the file and line).
    /// With a dealer, queue and unique rows come from the manager: every row
    /// is indexed here, in file order, and read when dealt.
    fn open(&self, stripe: (u64, u64), dealer: Option<RowDealer>) -> Result<Open, String> {
        let dealer = dealer.filter(|_| self.dealt_by_manager());
        let stripe = if dealer.is_some() { (0, 1) } else { stripe };
        let name = self.path.display().to_string();
        let file = File::open(&self.path).map_err(|e| format!("feeder {name}: {e}"))?;
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut offset = 0u64;
        let mut columns = Vec::new();
        if self.format == Format::Csv {
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("feeder {name}: {e}"))?;
            columns = parse_csv_line(line.trim_end_matches(['\r', '\n']))
                .map_err(|e| format!("feeder {name}, line 1: {e}"))?;
            if columns.is_empty() || columns.iter().all(String::is_empty) {
                return Err(format!(
                    "feeder {name}: its first line must name the columns"
                ));
            }
            offset = n as u64;
        }
        let mut offsets = Vec::new();
        let mut row = 0u64;
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("feeder {name}: {e}"))?;
            if n == 0 {
                break;
            }
            if !line.trim().is_empty() {
                if row % stripe.1 == stripe.0 {
                    offsets.push((row, offset));
                }
                row += 1;
            }
            offset += n as u64;
        }
        if row == 0 {
            return Err(format!("feeder {name}: no rows"));
        }
        if offsets.is_empty() {
            return Err(format!(
                "feeder {name}: {row} rows, none for worker {} of {} (each takes every {}th)",
                stripe.0 + 1,
                stripe.1,
                stripe.1
            ));
        }
        if self.order == Order::Unique && dealer.is_none() {
            use rand::seq::SliceRandom;
            offsets.shuffle(&mut rand::rng());
        }
        Ok(Open {
            feeder: self.clone(),
            columns,
            offsets,
            reader: Mutex::new((reader, 0, false)),
            dealer,
        })
    }
}

/// An open feeder: its rows' places, and where the hand-out is.
struct Open {
    feeder: Feeder,
    columns: Vec<String>,
    /// (row index, byte offset) of the rows this process may hand out.
    offsets: Vec<(u64, u64)>,
    /// The file, the next place in `offsets` (rows handed out, when dealt),
    /// and whether it ran out.
    reader: Mutex<(BufReader<File>, usize, bool)>,
    /// The manager, when it deals this feeder's rows (a distributed run).
    dealer: Option<RowDealer>,
}

/// A row handed out, or why none was.
pub(crate) enum Fed {
    Row(Row),
    /// None left, and the feeder fails the iteration.
    Empty,
    /// None left, and the feeder stops the run.
    StopRun,
}

impl Open {
    async fn next(&self, name: &str) -> Result<Fed, String> {
        let Some(dealer) = &self.dealer else {
            return match self.pick()? {
                Ok(at) => self.read(at),
                Err(fed) => Ok(fed),
            };
        };
        let rows = self.offsets.len() as u64;
        let unique = self.feeder.order == Order::Unique;
        let recycle = self.feeder.exhausted == Exhausted::Recycle;
        let at = match dealer.ask(name, rows, unique, recycle).await {
            Dealt::Row(at) if at < rows => at as usize,
            Dealt::Row(at) => {
                return Err(format!("the manager dealt row {at} of a file of {rows}"))
            }
            Dealt::Out => return Ok(self.ran_out()),
            Dealt::Refused(why) => return Err(why),
        };
        self.reader.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
        self.read(at)
    }

    /// None left: notes it, and what the policy makes of it (never `Recycle`:
    /// the manager starts a recycling feeder over itself).
    fn ran_out(&self) -> Fed {
        self.reader.lock().unwrap_or_else(|p| p.into_inner()).2 = true;
        match self.feeder.exhausted {
            Exhausted::FailIteration => Fed::Empty,
            Exhausted::StopRun | Exhausted::Recycle => Fed::StopRun,
        }
    }

    /// The place in `offsets` of the next row this process hands out, or why none.
    fn pick(&self) -> Result<Result<usize, Fed>, String> {
        let mut guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let (_, next, ran_out) = &mut *guard;
        let at = match self.feeder.order {
            Order::Random => rand::random_range(0..self.offsets.len()),
            Order::Circular => {
                let at = *next % self.offsets.len();
                *next += 1;
                at
            }
            Order::Queue | Order::Unique => {
                if *next >= self.offsets.len() {
                    match self.feeder.exhausted {
                        Exhausted::Recycle => *next = 0,
                        Exhausted::FailIteration => {
                            *ran_out = true;
                            return Ok(Err(Fed::Empty));
                        }
                        Exhausted::StopRun => {
                            *ran_out = true;
                            return Ok(Err(Fed::StopRun));
                        }
                    }
                }
                *next += 1;
                *next - 1
            }
        };
        Ok(Ok(at))
    }

    /// Reads the row at place `at` of `offsets`.
    fn read(&self, at: usize) -> Result<Fed, String> {
        let mut guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let reader = &mut guard.0;
        let (index, offset) = self.offsets[at];
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end_matches(['\r', '\n']);
        let fields = match self.feeder.format {
            Format::Csv => {
                let values = parse_csv_line(line).map_err(|e| format!("row {index}: {e}"))?;
                self.columns
                    .iter()
                    .cloned()
                    .zip(values.into_iter().map(serde_json::Value::String))
                    .collect()
            }
            Format::JsonLines => match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
                Ok(_) => return Err(format!("row {index}: not a JSON object")),
                Err(e) => return Err(format!("row {index}: {e}")),
            },
        };
        Ok(Fed::Row(Row { fields, index }))
    }

    /// Rows handed out so far, and whether it ran out.
    fn progress(&self) -> (u64, bool) {
        let guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        (guard.1 as u64, guard.2)
    }
}

/// The run's feeders by name, opened for this process.
#[derive(Clone, Default)]
pub struct Feeders(Arc<BTreeMap<String, Open>>);

impl Feeders {
    /// Opens every feeder for worker `stripe.0` of `stripe.1` (`(0, 1)` for a
    /// local run); an error names the feeder and what is wrong with its file.
    pub fn open(feeders: &[(String, Feeder)], stripe: (u64, u64)) -> Result<Feeders, String> {
        Feeders::open_with(feeders, stripe, None)
    }

    /// Opens every feeder for a worker whose manager deals the queue and
    /// unique feeders' rows (random and circular ones take `stripe`).
    pub fn open_dealt(
        feeders: &[(String, Feeder)],
        stripe: (u64, u64),
        dealer: RowDealer,
    ) -> Result<Feeders, String> {
        Feeders::open_with(feeders, stripe, Some(dealer))
    }

    fn open_with(
        feeders: &[(String, Feeder)],
        stripe: (u64, u64),
        dealer: Option<RowDealer>,
    ) -> Result<Feeders, String> {
        let mut out = BTreeMap::new();
        for (name, f) in feeders {
            out.insert(
                name.clone(),
                f.open(stripe, dealer.clone())
                    .map_err(|e| format!("{e} (feeder '{name}')"))?,
            );
        }
        Ok(Feeders(Arc::new(out)))
    }

    pub(crate) async fn next(&self, name: &str) -> Result<Fed, String> {
        match self.0.get(name) {
            Some(open) => open
                .next(name)
                .await
                .map_err(|e| format!("feeder '{name}': {e}")),
            None => Err(format!(
                "no feeder named '{name}' (register it with App::feeder)"
            )),
        }
    }

    /// Each feeder: rows it may hand out here, handed out, and whether it ran out.
    pub fn report(&self) -> Vec<(String, u64, u64, bool)> {
        self.0
            .iter()
            .map(|(name, open)| {
                let (used, out) = open.progress();
                (name.clone(), open.offsets.len() as u64, used, out)
            })
            .collect()
    }
}

/// One CSV line's fields (RFC 4180: quoted fields, `""` for a quote; no
/// line breaks inside a field).
fn parse_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(c) => return Err(format!("'{c}' after a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("loadgen-feeder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The next row, waited for here.
    fn next(f: &Feeders, name: &str) -> Result<Fed, String> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f.next(name))
    }

    fn rows(f: &Feeders, name: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| match next(f, name).unwrap() {
                Fed::Row(r) => r.get("email").unwrap().to_string(),
                Fed::Empty => "EMPTY".into(),
                Fed::StopRun => "STOP".into(),
            })
            .collect()
    }

    #[test]
    fn csv_rows_come_in_order_once_then_the_policy_decides() {
        let path = file(
            "a.csv",
            "email,password\na@x,\"p,1\"\nb@x,p2\n\nc@x,\"say \"\"hi\"\"\"\n",
        );
        let q = Feeders::open(&[("q".into(), Feeder::csv(&path))], (0, 1)).unwrap();
        assert_eq!(rows(&q, "q", 4), ["a@x", "b@x", "c@x", "STOP"]);
        let c = Feeders::open(
            &[("c".into(), Feeder::csv(&path).order(Order::Circular))],
            (0, 1),
        )
        .unwrap();
        assert_eq!(rows(&c, "c", 4), ["a@x", "b@x", "c@x", "a@x"]);
        let f = Feeders::open(
            &[(
                "f".into(),
                Feeder::csv(&path).when_exhausted(Exhausted::FailIteration),
            )],
            (0, 1),
        )
        .unwrap();
        assert_eq!(rows(&f, "f", 4)[3], "EMPTY");
        let q = Feeders::open(&[("q".into(), Feeder::csv(&path))], (0, 1)).unwrap();
        let Fed::Row(r) = next(&q, "q").unwrap() else {
            panic!()
        };
        assert_eq!(r.get("password"), Some("p,1"));
        assert_eq!(
            parse_csv_line("x,\"say \"\"hi\"\"\"").unwrap(),
            ["x", "say \"hi\""]
        );
    }

    #[test]
    fn unique_rows_are_each_used_once_and_stripes_do_not_overlap() {
        let text: String = std::iter::once("email\n".to_string())
            .chain((0..100).map(|i| format!("u{i}@x\n")))
            .collect();
        let path = file("b.csv", &text);
        let mut all = Vec::new();
        for worker in 0..3 {
            let f = Feeders::open(
                &[("u".into(), Feeder::csv(&path).order(Order::Unique))],
                (worker, 3),
            )
            .unwrap();
            let mine: Vec<String> = rows(&f, "u", 40)
                .into_iter()
                .filter(|r| r != "STOP")
                .collect();
            all.extend(mine);
        }
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!((before, all.len()), (100, 100));
    }

    #[test]
    fn bad_files_are_named() {
        let e = Feeders::open(&[("x".into(), Feeder::csv("/nonexistent.csv"))], (0, 1))
            .err()
            .unwrap();
        assert!(e.contains("/nonexistent.csv") && e.contains("'x'"), "{e}");
        let path = file("c.jsonl", "{\"email\": \"a@x\", \"n\": 3}\n[1]\n");
        let j = Feeders::open(&[("j".into(), Feeder::json_lines(&path))], (0, 1)).unwrap();
        let Fed::Row(r) = next(&j, "j").unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.get("email"), r.value("n")),
            (Some("a@x"), Some(&serde_json::json!(3)))
        );
        assert!(next(&j, "j").err().unwrap().contains("not a JSON object"));
    }
}

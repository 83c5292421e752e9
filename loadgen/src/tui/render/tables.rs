//! The table screens: endpoints (Locust's columns), errors, workers.

use super::super::model::{EndpointLine, Model};
use super::super::view::SortKey;
use super::ms;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

/// Locust's endpoint columns; the narrow set fits 80 columns.
const WIDE: [(&str, u16); 13] = [
    ("Type", 6),
    ("Name", 0),
    ("# Requests", 10),
    ("# Fails", 8),
    ("Median", 7),
    ("95%ile", 7),
    ("99%ile", 7),
    ("Average", 7),
    ("Min", 7),
    ("Max", 7),
    ("Avg size", 8),
    ("RPS", 8),
    ("Failures/s", 10),
];
const NARROW: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 11, 12];

fn cells(e: &EndpointLine) -> [String; 13] {
    [
        e.method.clone(),
        e.name.clone(),
        e.requests.to_string(),
        e.failures.to_string(),
        ms(e.p50_us as f64),
        ms(e.p95_us as f64),
        ms(e.p99_us as f64),
        ms(e.mean_us),
        ms(e.min_us as f64),
        ms(e.max_us as f64),
        format!("{:.0}", e.avg_bytes),
        format!("{:.1}", e.rps),
        format!("{:.2}", e.failures_per_sec),
    ]
}

fn sorted(model: &Model, key: SortKey) -> Vec<&EndpointLine> {
    let mut rows: Vec<&EndpointLine> = model.latest.endpoints.iter().collect();
    let desc = |f: fn(&EndpointLine) -> f64| {
        move |a: &&EndpointLine, b: &&EndpointLine| f(b).total_cmp(&f(a))
    };
    match key {
        SortKey::Name => rows.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method))),
        SortKey::Requests => rows.sort_by(desc(|e| e.requests as f64)),
        SortKey::Failures => rows.sort_by(desc(|e| e.failures as f64)),
        SortKey::Median => rows.sort_by(desc(|e| e.p50_us as f64)),
        SortKey::P95 => rows.sort_by(desc(|e| e.p95_us as f64)),
        SortKey::P99 => rows.sort_by(desc(|e| e.p99_us as f64)),
        SortKey::Rps => rows.sort_by(desc(|e| e.rps)),
    }
    rows
}

pub fn endpoints(model: &Model, sort: SortKey, frame: &mut Frame, area: Rect) {
    let columns: Vec<usize> = if area.width >= 130 {
        (0..WIDE.len()).collect()
    } else {
        NARROW.to_vec()
    };
    let pick =
        |all: [String; 13]| -> Vec<String> { columns.iter().map(|&i| all[i].clone()).collect() };
    let mut rows: Vec<Row> = sorted(model, sort)
        .into_iter()
        .map(|e| Row::new(pick(cells(e))))
        .collect();
    rows.push(Row::new(pick(cells(&model.latest.total))).bold());
    let widths = columns.iter().map(|&i| match WIDE[i].1 {
        0 => Constraint::Fill(1),
        w => Constraint::Length(w),
    });
    let header = Row::new(columns.iter().map(|&i| WIDE[i].0))
        .bold()
        .underlined();
    let title = format!(
        " Endpoints ({}; times in ms; sorted by {}) ",
        model.latest.endpoints.len(),
        sort.label()
    );
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(table, area);
}

pub fn errors(model: &Model, frame: &mut Frame, area: Rect) {
    let errors = &model.latest.errors;
    let total: u64 = errors.iter().map(|e| e.count).sum();
    let block = Block::default().borders(Borders::ALL).title(format!(
        " Errors ({} distinct, {total} in all) ",
        errors.len()
    ));
    if errors.is_empty() {
        frame.render_widget(Paragraph::new("No errors so far.").block(block), area);
        return;
    }
    let rows = errors.iter().map(|e| {
        Row::new(vec![
            e.count.to_string(),
            e.kind.clone(),
            e.endpoint.clone(),
            e.message.clone(),
        ])
    });
    let widths = [
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Percentage(30),
        Constraint::Fill(1),
    ];
    let header = Row::new(["Count", "Kind", "Endpoint", "Message"])
        .bold()
        .underlined();
    let table = Table::new(rows, widths).header(header).block(block);
    frame.render_widget(table, area);
}

pub fn workers(model: &Model, frame: &mut Frame, area: Rect) {
    let workers = &model.latest.workers;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" Workers ({}) ", workers.len()));
    if workers.is_empty() {
        let text = "local run: all users run in this process (no workers).";
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let rows = workers.iter().map(|w| {
        let row = Row::new(vec![
            w.name.clone(),
            w.state.label().to_string(),
            w.users.to_string(),
            format!("{:.1}", w.rps),
            w.errors.to_string(),
        ]);
        if w.state.is_lost() {
            row.style(Style::new().fg(Color::Red).bold())
        } else {
            row
        }
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(8),
    ];
    let header = Row::new(["Worker", "State", "Users", "RPS", "Errors"])
        .bold()
        .underlined();
    let table = Table::new(rows, widths).header(header).block(block);
    frame.render_widget(table, area);
}

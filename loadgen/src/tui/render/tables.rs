//! The table screens: endpoints (Locust's columns), errors, workers.

use super::super::model::{EndpointLine, Model};
use super::super::view::SortKey;
use crate::report::console::{locust_cells, LOCUST_COLUMNS};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

/// Width of each of Locust's columns (`LOCUST_COLUMNS`); 0 fills the rest.
const WIDTHS: [u16; 13] = [6, 0, 10, 12, 7, 7, 7, 7, 7, 7, 8, 9, 10];
/// The columns that fit 80 columns.
const NARROW: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 11];

fn cells(e: &EndpointLine) -> [String; 13] {
    locust_cells(&e.method, &e.name, &e.figures)
}

fn sorted(model: &Model, key: SortKey) -> Vec<&EndpointLine> {
    let mut rows: Vec<&EndpointLine> = model.latest.endpoints.iter().collect();
    let desc = |f: fn(&EndpointLine) -> f64| {
        move |a: &&EndpointLine, b: &&EndpointLine| f(b).total_cmp(&f(a))
    };
    match key {
        SortKey::Name => rows.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method))),
        SortKey::Requests => rows.sort_by(desc(|e| e.figures.requests as f64)),
        SortKey::Failures => rows.sort_by(desc(|e| e.figures.failures as f64)),
        SortKey::Median => rows.sort_by(desc(|e| e.figures.p50_us as f64)),
        SortKey::P95 => rows.sort_by(desc(|e| e.figures.p95_us as f64)),
        SortKey::P99 => rows.sort_by(desc(|e| e.figures.p99_us as f64)),
        SortKey::Rps => rows.sort_by(desc(|e| e.figures.rps)),
    }
    rows
}

pub fn endpoints(model: &Model, sort: SortKey, frame: &mut Frame, area: Rect) {
    let columns: Vec<usize> = if area.width >= 130 {
        (0..WIDTHS.len()).collect()
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
    let widths = columns.iter().map(|&i| match WIDTHS[i] {
        0 => Constraint::Fill(1),
        w => Constraint::Length(w),
    });
    let header = Row::new(columns.iter().map(|&i| LOCUST_COLUMNS[i]))
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
            e.kind.to_string(),
            format!("{} {}", e.method, e.name),
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

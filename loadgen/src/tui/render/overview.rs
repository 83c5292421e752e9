//! The overview screen: throughput, latency and users over time, the
//! target's own series when scraped, and the thresholds.

use super::super::model::Model;
use crate::units::{fmt_secs, fmt_us};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Row, Table};
use ratatui::Frame;

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [rps, latency] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    let [users, rules] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let x_end = (model.elapsed_secs().max(10)) as f64;
    let series = |f: &dyn Fn(&super::super::model::Point) -> f64| -> Vec<(f64, f64)> {
        model
            .history
            .iter()
            .map(|p| (p.second as f64, f(p)))
            .collect()
    };

    let req = series(&|p| p.requests as f64);
    let fail = series(&|p| p.failures as f64);
    let top = |sets: &[&[(f64, f64)]]| {
        sets.iter()
            .flat_map(|d| d.iter().map(|p| p.1))
            .fold(1.0_f64, f64::max)
    };
    let marks = fault_marks(model, top(&[&req, &fail]));
    chart(
        frame,
        rps,
        "Requests/s",
        (0.0, x_end),
        &with_faults(
            &[("RPS", Color::Green, &req), ("fail/s", Color::Red, &fail)],
            &marks,
        ),
        |v| format!("{v:.0}"),
    );

    let p50 = series(&|p| p.p50_us as f64);
    let p95 = series(&|p| p.p95_us as f64);
    let p99 = series(&|p| p.p99_us as f64);
    let marks = fault_marks(model, top(&[&p99]));
    chart(
        frame,
        latency,
        "Latency",
        (0.0, x_end),
        &with_faults(
            &[
                ("P50", Color::Green, &p50),
                ("P95", Color::Yellow, &p95),
                ("P99", Color::Red, &p99),
            ],
            &marks,
        ),
        |v| fmt_us(v as u64),
    );

    let active = series(&|p| p.users as f64);
    let height = top(&[&active, &model.plan]);
    let changes: Vec<Mark> = model
        .latest
        .controls
        .iter()
        .enumerate()
        .map(|(i, (second, _))| {
            let word = if i == 0 { "change " } else { "" };
            let name = format!("{word}{}@{}", i + 1, fmt_secs(*second));
            (name, vec![(*second as f64, 0.0), (*second as f64, height)])
        })
        .collect();
    let mut sets: Vec<Series> = vec![
        ("plan", Color::DarkGray, &model.plan),
        ("active", Color::Cyan, &active),
    ];
    sets.extend(
        changes
            .iter()
            .map(|(name, line)| (name.as_str(), Color::Blue, line.as_slice())),
    );
    chart(
        frame,
        users,
        if model.latest.paused {
            "Users (PAUSED)"
        } else {
            "Users"
        },
        (0.0, model.total_secs.max(1) as f64),
        &sets,
        |v| format!("{v:.0}"),
    );

    if model.latest.server.is_empty() {
        thresholds(model, frame, rules);
    } else {
        let [server_area, rules] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rules);
        server(model, frame, server_area, x_end);
        thresholds(model, frame, rules);
    }
}

/// The target's own series (`--scrape`) on the latency chart's time axis.
fn server(model: &Model, frame: &mut Frame, area: Rect, x_end: f64) {
    const COLORS: [Color; 3] = [Color::Cyan, Color::Red, Color::Yellow];
    let lines: Vec<(String, Vec<(f64, f64)>)> = model
        .latest
        .server
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                l.points.iter().map(|(s, v)| (*s as f64, *v)).collect(),
            )
        })
        .collect();
    let height = lines
        .iter()
        .flat_map(|(_, d)| d.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max);
    let marks = fault_marks(model, height);
    let sets: Vec<Series> = lines
        .iter()
        .zip(COLORS.iter().cycle())
        .map(|((name, data), color)| (name.as_str(), *color, data.as_slice()))
        .collect();
    chart(
        frame,
        area,
        "Server",
        (0.0, x_end),
        &with_faults(&sets, &marks),
        |v| format!("{v:.0}"),
    );
}

type Series<'a> = (&'a str, Color, &'a [(f64, f64)]);

/// A fault mark (`--at`): its legend name and its vertical line.
type Mark = (String, Vec<(f64, f64)>);

/// A vertical line at each fault's second, as tall as the chart's data, named
/// by its number and second ("fault 1@1m15s", then "2@1m35s"): the same number
/// the footer's line for that action starts with, which names its command.
fn fault_marks(model: &Model, height: f64) -> Vec<Mark> {
    model
        .latest
        .faults
        .iter()
        .enumerate()
        .map(|(i, (second, number))| {
            let word = if i == 0 { "fault " } else { "" };
            let name = format!("{word}{number}@{}", fmt_secs(*second));
            (name, vec![(*second as f64, 0.0), (*second as f64, height)])
        })
        .collect()
}

/// The chart's series and, in magenta, its fault marks.
fn with_faults<'a>(sets: &[Series<'a>], marks: &'a [Mark]) -> Vec<Series<'a>> {
    let mut all = sets.to_vec();
    all.extend(
        marks
            .iter()
            .map(|(name, line)| (name.as_str(), Color::Magenta, line.as_slice())),
    );
    all
}

fn chart(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    x: (f64, f64),
    sets: &[Series<'_>],
    y_label: impl Fn(f64) -> String,
) {
    let y_max = sets
        .iter()
        .flat_map(|(_, _, d)| d.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let datasets = sets
        .iter()
        .map(|(_, color, data)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(*color))
                .data(data)
        })
        .collect();
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(legend(title, sets)),
        )
        .x_axis(
            Axis::default()
                .bounds([x.0, x.1])
                .labels([fmt_secs(x.0 as u64), fmt_secs(x.1 as u64)]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(["0".to_string(), y_label(y_max)]),
        );
    frame.render_widget(chart, area);
}

/// The title names each line in its colour (a legend that never hides the data).
fn legend(title: &str, sets: &[Series<'_>]) -> Line<'static> {
    let mut spans = vec![Span::raw(format!(" {title}: "))];
    for (i, (name, color, _)) in sets.iter().filter(|s| !s.0.is_empty()).enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            name.to_string(),
            Style::new().fg(*color).bold(),
        ));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

fn thresholds(model: &Model, frame: &mut Frame, area: Rect) {
    let failed = model.failed_rules();
    let title = match (model.latest.rules.len(), failed) {
        (0, _) => " Thresholds: none ".to_string(),
        (n, 0) => format!(" Thresholds: {n} rules, none failing "),
        (n, f) => format!(" Thresholds: {f} of {n} FAILING "),
    };
    let rows = model.latest.rules.iter().map(|r| {
        let (result, style) = match r.passed {
            Some(true) => ("pass", Style::new().fg(Color::Green)),
            Some(false) => ("FAIL", Style::new().fg(Color::Red).bold()),
            None => ("wait", Style::new().fg(Color::DarkGray)),
        };
        Row::new(vec![
            Cell::from(r.rule.clone()),
            Cell::from(if r.passed.is_some() {
                r.observed.as_str()
            } else {
                "-"
            }),
            Cell::from(r.limit.clone()),
            Cell::from(Span::styled(result, style)),
        ])
    });
    let block_style = if failed > 0 {
        Style::new().fg(Color::Red)
    } else {
        Style::new()
    };
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(4),
        ],
    )
    .header(Row::new(["Rule", "Observed", "Limit", ""]).bold())
    .block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(block_style)
            .title(title),
    );
    frame.render_widget(table, area);
}

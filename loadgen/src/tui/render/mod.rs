//! Draws the model: a pure function of (model, view) onto a ratatui frame.

mod overview;
mod tables;
#[cfg(test)]
mod tests;

use super::model::Model;
use super::view::{Screen, ViewState};
use crate::units::fmt_secs;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn render(model: &Model, view: &ViewState, frame: &mut Frame) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_header(model, view, frame, header);
    match view.screen {
        Screen::Overview => overview::render(model, frame, body),
        Screen::Endpoints => tables::endpoints(model, view.sort, frame, body),
        Screen::Errors => tables::errors(model, frame, body),
        Screen::Workers => tables::workers(model, frame, body),
    }
    frame.render_widget(Paragraph::new(footer_line(model, view)), footer);
    if view.help {
        render_help(frame, body);
    }
}

fn tabs(view: &ViewState) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, s) in Screen::ALL.iter().enumerate() {
        let text = format!("{} {}", i + 1, s.title());
        spans.push(if *s == view.screen {
            Span::styled(
                text,
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            )
        } else {
            Span::raw(text)
        });
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

fn render_header(model: &Model, view: &ViewState, frame: &mut Frame, area: Rect) {
    let elapsed = model.elapsed_secs();
    let left = model.total_secs.saturating_sub(elapsed);
    let stage = model.stage().map_or_else(String::new, |(n, s)| {
        format!("stage {n}/{}: {}", model.stages.len(), s.text)
    });
    let workers = match model.latest.workers.len() {
        0 => "local run".to_string(),
        n => {
            let lost = model
                .latest
                .workers
                .iter()
                .filter(|w| w.state.is_lost())
                .count();
            if lost > 0 {
                format!("{n} workers ({lost} lost)")
            } else {
                format!("{n} workers")
            }
        }
    };
    let (rps, fails) = model.current_rates();
    let t = &model.latest.total;
    let behind = match &model.latest.generator_behind {
        Some(why) => Span::styled(
            format!(" | GENERATOR BEHIND ({why}): figures understate latency"),
            Style::new().fg(Color::Red).bold(),
        ),
        None => Span::raw(""),
    };
    let line1 = Line::from(vec![
        Span::styled(format!("{} ", model.shape_name), Style::new().bold()),
        Span::raw(format!(
            "| {stage} | {} / {} ({} left)",
            fmt_secs(elapsed),
            fmt_secs(model.total_secs),
            fmt_secs(left)
        )),
        behind,
    ]);
    let status = if model.latest.paused {
        Span::styled(
            " | PAUSED (p resumes)",
            Style::new().fg(Color::Yellow).bold(),
        )
    } else if let Some(why) = &model.latest.stopping {
        Span::styled(
            format!(" | stopping: {why}"),
            Style::new().fg(Color::Yellow),
        )
    } else if view.quitting {
        Span::styled(
            " | stopping: writing results...",
            Style::new().fg(Color::Yellow),
        )
    } else {
        Span::raw("")
    };
    let conns = model
        .latest
        .connections
        .map_or_else(String::new, |n| format!(" | conns {n}"));
    let load = if model.open {
        format!(
            "rate {}/s | users {} | dropped {} | p99 from send {}",
            model.target_users(),
            model.current_users(),
            model.latest.dropped.unwrap_or(0),
            model
                .latest
                .service_p99_us
                .map_or_else(|| "-".to_string(), crate::units::fmt_us)
        )
    } else {
        format!("users {}/{}", model.current_users(), model.target_users())
    };
    let line2 = Line::from(vec![
        Span::raw(format!(
            "{load}{conns} | {workers} | {rps} rps | {fails} fails/s | {} reqs, {} fails",
            t.figures.requests, t.figures.failures
        )),
        status,
    ]);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(tabs(view))
        .title(Line::from(" loadgen ").right_aligned());
    frame.render_widget(Paragraph::new(vec![line1, line2]).block(block), area);
}

fn footer_line(model: &Model, view: &ViewState) -> Line<'static> {
    let key = |k: &'static str| Span::styled(k, Style::new().fg(Color::Cyan).bold());
    if let Some(text) = &view.prompt {
        let unit = if model.open { "iterations/s" } else { "users" };
        let mut spans = vec![
            Span::styled(
                format!(" set {unit} (LEVEL [RAMP], e.g. 500 30s): "),
                Style::new().bold(),
            ),
            Span::raw(format!("{text}_")),
            Span::raw("   "),
            key("Enter"),
            Span::raw(" apply  "),
            key("Esc"),
            Span::raw(" cancel"),
        ];
        if let Some(notice) = &view.notice {
            spans.push(Span::styled(
                format!("   {notice}"),
                Style::new().fg(Color::Yellow),
            ));
        }
        return Line::from(spans);
    }
    let mut spans = vec![
        key(" q"),
        Span::raw("/"),
        key("Ctrl-C"),
        Span::raw(" stop  "),
        key("Tab"),
        Span::raw("/"),
        key("1-4"),
        Span::raw(" screens  "),
        key("s"),
        Span::raw(" sort  "),
        key("?"),
        Span::raw(" help"),
    ];
    if view.steerable {
        spans.extend([
            Span::raw("  "),
            key("+/-"),
            Span::raw(" "),
            key("u"),
            Span::raw(" "),
            key("p"),
            Span::raw(" "),
            key("n"),
            Span::raw(" steer"),
        ]);
    }
    if view.screen == Screen::Endpoints {
        spans.push(Span::raw(format!("   sorted by {}", view.sort.label())));
    }
    if let Some(notice) = &view.notice {
        spans.push(Span::styled(
            format!("   {notice}"),
            Style::new().fg(Color::Yellow),
        ));
    }
    // What the process printed meanwhile (kept off the screen, shown after the run).
    if let Some(line) = model.output.last() {
        spans.push(Span::styled(
            format!("   output: {line}"),
            Style::new().fg(Color::DarkGray),
        ));
    }
    Line::from(spans)
}

fn render_help(frame: &mut Frame, body: Rect) {
    let lines = vec![
        Line::from("q, Ctrl-C   stop the run gracefully: users stop,"),
        Line::from("            results and reports are still written"),
        Line::from("Tab, 1-4    switch screens (Shift-Tab goes back)"),
        Line::from("s           sort the endpoints table"),
        Line::from("?           show or hide this help"),
        Line::from("Steering (a run with a dashboard or --control):"),
        Line::from("+ / -       a tenth more / fewer users (or rate), at once"),
        Line::from("u           type users (or rate) and a ramp: 500 30s"),
        Line::from("p           pause (users keep their connections) / resume"),
        Line::from("n           end the stage in progress, go on to the next"),
        Line::from("            each change is marked on the Users chart"),
    ];
    let w = 60.min(body.width);
    let h = (lines.len() as u16 + 2).min(body.height);
    let area = Rect {
        x: body.x + (body.width - w) / 2,
        y: body.y + (body.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(" Help ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

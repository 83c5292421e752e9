//! Line charts as inline SVG, drawn in Rust: the page needs no script or network to show them.

use super::escape;
use std::fmt::Write;

const W: f64 = 860.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;
/// More points than this are thinned (keeping each bucket's highest value).
const MAX_POINTS: usize = 1_200;

pub struct Line {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

pub struct Chart {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// Labels for chosen x positions; default: evenly spaced numbers.
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// Events drawn as vertical lines at their x, each with its label.
    pub markers: Vec<(f64, String)>,
}

/// A round step so that about `n` ticks cover `0..=max`.
fn nice_step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    mag * if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    }
}

fn label(v: f64) -> String {
    if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let per = points.len().div_ceil(MAX_POINTS);
    points
        .chunks(per)
        .map(|c| {
            let y = c.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            (c[0].0, y)
        })
        .collect()
}

/// The chart as an `<svg>` inside a `div.chart` (the page's script marks it rendered).
pub fn line_chart(c: &Chart) -> String {
    let all = c.lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0f64);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let step = nice_step(if y1 > 0.0 { y1 } else { 1.0 }, 5.0);
    let y_top = (y1 / step).ceil().max(1.0) * step;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - y / y_top * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<div class="chart" id="{id}"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><text x="{LEFT}" y="18" class="title">{t}</text>"#,
        id = escape(&c.id),
        t = escape(&c.title)
    );
    let mut y = 0.0;
    while y <= y_top + step / 2.0 {
        let py = sy(y);
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            label(y)
        );
        y += step;
    }
    let ticks = c.x_ticks.clone().unwrap_or_else(|| {
        let st = nice_step(x1 - x0, 8.0);
        let mut v = Vec::new();
        let mut x = (x0 / st).ceil() * st;
        while x <= x1 + st / 1e6 {
            v.push((x, label(x)));
            x += st;
        }
        v
    });
    for (x, text) in ticks.iter().filter(|(x, _)| *x >= x0 && *x <= x1) {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
            sx(*x),
            H - BOTTOM + 16.0,
            escape(text)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text><text x="14" y="{:.1}" class="axis" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        H - 6.0,
        escape(&c.x_label),
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        escape(&c.y_label)
    );
    for (i, (x, text)) in c.markers.iter().enumerate() {
        let px = sx(x.clamp(x0, x1));
        let _ = write!(
            s,
            r##"<g class="marker"><line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{:.1}" stroke="#c000c0" stroke-width="1.2" stroke-dasharray="3 3"/><text x="{:.1}" y="{:.1}" class="tick" fill="#c000c0">{}</text><title>{}</title></g>"##,
            TOP + ph,
            px + 3.0,
            TOP + ph - 4.0 - 12.0 * (i % 3) as f64,
            i + 1,
            escape(text)
        );
    }
    for (i, line) in c.lines.iter().enumerate() {
        let pts: Vec<String> = thin(&line.points)
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let dash = if line.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<polyline class="series" fill="none" stroke="{c}" stroke-width="1.8"{dash} points="{p}"><title>{n}</title></polyline>"#,
            c = line.color,
            p = pts.join(" "),
            n = escape(&line.name)
        );
        let lx = LEFT + 10.0 + 190.0 * (i % 4) as f64;
        let ly = TOP + 2.0 + 13.0 * (i / 4) as f64;
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{ly:.1}" width="12" height="3" fill="{c}"/><text x="{:.1}" y="{:.1}" class="legend">{n}</text>"#,
            lx + 16.0,
            ly + 5.0,
            c = line.color,
            n = escape(&line.name)
        );
    }
    s.push_str("</svg></div>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(nice_step(0.3, 5.0), 0.1);
    }

    #[test]
    fn empty_chart_still_renders() {
        let svg = line_chart(&Chart {
            id: "x".into(),
            title: "<t>".into(),
            x_label: "s".into(),
            y_label: "n".into(),
            lines: vec![],
            x_ticks: None,
            markers: vec![(5.0, "1: kill <api>".into())],
        });
        assert!(svg.contains("<svg") && svg.contains("&lt;t&gt;"));
        assert!(
            svg.contains(r#"<g class="marker">"#)
                && svg.contains("<title>1: kill &lt;api&gt;</title>")
        );
    }
}

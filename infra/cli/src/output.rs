//! How the CLI prints: JSON for scripts (`--json`), else aligned tables and one-line
//! summaries, coloured only on a terminal (and never with `NO_COLOR`).

use serde_json::Value;
use std::io::IsTerminal;

/// `--json`: the API's answer as it came, pretty; else what `human` prints.
pub fn emit(json: bool, value: &Value, human: impl FnOnce(&Value)) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        human(value);
    }
}

/// A table: headers, then rows, columns as wide as their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// One row per element of the array `v[key]`.
pub fn rows(v: &Value, key: &str, row: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    v[key].as_array().into_iter().flatten().map(row).collect()
}

/// A string field, or `-`.
pub fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn colour_on() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A status word in its colour: green for good ends, red for bad, yellow for waiting.
pub fn status(word: &str) -> String {
    if !colour_on() {
        return word.to_owned();
    }
    let code = match word {
        "success" | "completed" | "approved" | "healthy" | "action:completed" | "workflow:completed" => "32",
        "failed" | "rejected" | "expired" | "rollback_failed" | "down" | "action:failed" | "workflow:failed" => "31",
        "retrying" | "pending_approval" | "pending" | "degraded" | "rolling_back" | "action:retrying" => "33",
        "executing" | "queued" | "running" | "action:executing" | "action:queued" => "36",
        _ => return word.to_owned(),
    };
    format!("\x1b[{code}m{word}\x1b[0m")
}

/// `5 ms`, `1.2 s`.
pub fn millis(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(ms) if ms < 1000.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{:.1} s", ms / 1000.0),
    }
}

pub fn rate(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |r| format!("{:.1} %", r * 100.0))
}

//! Tables and summaries for people reading a terminal.

use std::path::Path;

use ledgerhook_shared::config::Config;
use serde_json::Value;

/// A JSON value as plain text: strings without quotes, null as `-`.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) if s.is_empty() => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (UTC), which is what a table has room for.
fn time(v: &Value) -> String {
    match v.as_str() {
        Some(s) if s.len() >= 19 => format!("{} {}", &s[..10], &s[11..19]),
        _ => text(v),
    }
}

fn clip(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut clipped: String = s.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn items(v: &Value) -> &[Value] {
    list(&v["items"])
}

/// A JSON array's elements; nothing for anything else.
fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

pub fn dead_letter_list(answer: &Value) -> String {
    let rows: Vec<Vec<String>> = items(answer)
        .iter()
        .map(|d| {
            vec![
                text(&d["id"]),
                time(&d["created_at"]),
                text(&d["status"]),
                text(&d["destination"]),
                text(&d["tenant"]),
                text(&d["type"]),
                text(&d["invoice_number"]),
                text(&d["subject"]),
                text(&d["attempts"]),
                clip(text(&d["reason"]), 60),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no dead letters match\n".to_owned();
    }
    let mut out = table(
        &[
            "ID",
            "CREATED (UTC)",
            "STATUS",
            "DESTINATION",
            "TENANT",
            "TYPE",
            "INVOICE",
            "SUBJECT",
            "ATTEMPTS",
            "REASON",
        ],
        &rows,
    );
    if let Some(cursor) = answer["next_cursor"].as_str() {
        out.push_str(&format!("more: --cursor {cursor}\n"));
    }
    out
}

pub fn dead_letter(d: &Value) -> String {
    let mut out = String::new();
    let fields = [
        ("id", text(&d["id"])),
        ("status", text(&d["status"])),
        ("destination", text(&d["destination"])),
        ("tenant", text(&d["tenant"])),
        ("source", text(&d["source"])),
        ("type", text(&d["type"])),
        ("event id", text(&d["event_id"])),
        ("idempotency key", text(&d["idempotency_key"])),
        ("subject", text(&d["subject"])),
        ("invoice number", text(&d["invoice_number"])),
        (
            "reason",
            format!("{} ({})", text(&d["reason"]), text(&d["reason_class"])),
        ),
        ("created", time(&d["created_at"])),
        ("updated", time(&d["updated_at"])),
        ("replays", text(&d["replay_count"])),
        ("closed by", text(&d["closed_by"])),
        ("closed reason", text(&d["closed_reason"])),
    ];
    for (name, value) in fields {
        out.push_str(&format!("{:<17}{value}\n", format!("{name}:")));
    }
    let attempts: Vec<Vec<String>> = list(&d["attempts"])
        .iter()
        .map(|a| {
            vec![
                text(&a["attempt"]),
                time(&a["at"]),
                text(&a["class"]),
                text(&a["http_status"]),
                clip(text(&a["message"]), 100),
            ]
        })
        .collect();
    out.push_str("\nattempts:\n");
    if attempts.is_empty() {
        out.push_str("none recorded\n");
    } else {
        out.push_str(&table(
            &["#", "AT (UTC)", "CLASS", "HTTP", "MESSAGE"],
            &attempts,
        ));
    }
    let actions: Vec<Vec<String>> = list(&d["actions"])
        .iter()
        .map(|a| {
            vec![
                time(&a["at"]),
                text(&a["action"]),
                text(&a["actor"]),
                text(&a["reason"]),
            ]
        })
        .collect();
    out.push_str("\nactions:\n");
    if actions.is_empty() {
        out.push_str("none\n");
    } else {
        out.push_str(&table(&["AT (UTC)", "ACTION", "BY", "REASON"], &actions));
    }
    out.push_str("\nevent:\n");
    out.push_str(&serde_json::to_string_pretty(&d["event"]).unwrap_or_default());
    out.push('\n');
    out
}

pub fn event_histories(answer: &Value) -> String {
    let events = items(answer);
    if events.is_empty() {
        return "no events match\n".to_owned();
    }
    let mut out = String::new();
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "event {}  {}  {} {}  subject {}  invoice {}  received {}\n",
            text(&e["event_id"]),
            text(&e["type"]),
            text(&e["tenant"]),
            text(&e["source"]),
            text(&e["subject"]),
            text(&e["invoice_number"]),
            time(&e["received_at"]),
        ));
        let steps: Vec<Vec<String>> = list(&e["steps"])
            .iter()
            .map(|s| {
                vec![
                    time(&s["at"]),
                    text(&s["destination"]),
                    text(&s["step"]),
                    text(&s["target_id"]),
                    clip(text(&s["detail"]), 80),
                ]
            })
            .collect();
        if steps.is_empty() {
            out.push_str("  no journal steps\n");
        } else {
            for line in table(
                &["AT (UTC)", "DESTINATION", "STEP", "TARGET ID", "DETAIL"],
                &steps,
            )
            .lines()
            {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}

pub fn config_summary(path: &Path, config: &Config) -> String {
    let mut out = format!("OK: {} is valid\n", path.display());
    out.push_str(&format!(
        "router: webhooks on {}, admin on {}\n",
        config.router.listen, config.router.admin_listen
    ));
    out.push_str(&format!("broker: prefix {}\n", config.broker.prefix));
    let names: Vec<&str> = config
        .admin
        .tokens
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    out.push_str(&format!(
        "admin tokens: {}\n",
        if names.is_empty() {
            "none (the support API refuses every request)".to_owned()
        } else {
            names.join(", ")
        }
    ));
    out.push_str(&format!("tenants: {}\n", config.tenants.len()));
    for t in &config.tenants {
        let sources: Vec<String> = t
            .sources
            .iter()
            .map(|s| format!("{} ({})", s.id, s.provider.as_str()))
            .collect();
        out.push_str(&format!(
            "  {}: sources {}; accounting {}; crm {}\n",
            t.id,
            if sources.is_empty() {
                "none".to_owned()
            } else {
                sources.join(", ")
            },
            t.accounting.as_ref().map_or("none", |a| a.system.as_str()),
            t.crm.as_ref().map_or("none", |c| c.system.as_str()),
        ));
    }
    out
}

//! One function per command: call the API, then print tables or, with `--json`, the answer.

use std::path::Path;

use ledgerhook_shared::config;
use serde_json::{json, Value};

use crate::{
    api::{Answer, Api, Failure},
    output, DeadLetters, Filters,
};

fn filter_query(f: &Filters) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("tenant", f.tenant.clone()),
        ("source", f.source.clone()),
        ("type", f.event_type.clone()),
        ("destination", f.destination.clone()),
        ("status", f.status.clone()),
        ("q", f.q.clone()),
    ]
}

fn filter_body(f: &Filters) -> Value {
    let mut body = serde_json::Map::new();
    for (key, value) in filter_query(f) {
        if let Some(v) = value {
            body.insert(key.to_owned(), Value::String(v));
        }
    }
    Value::Object(body)
}

fn emit(answer: &Answer, json: bool, human: impl FnOnce(&Value) -> String) {
    if json {
        println!("{}", answer.text.trim_end());
    } else {
        print!("{}", human(&answer.json));
    }
}

pub async fn dead_letters(api: &Api, command: DeadLetters, json: bool) -> Result<(), Failure> {
    match command {
        DeadLetters::List(args) => {
            let mut query = filter_query(&args.filters);
            query.push(("limit", args.limit.map(|l| l.to_string())));
            query.push(("cursor", args.cursor));
            let answer = api.get(&["dead-letters"], &query).await?;
            emit(&answer, json, output::dead_letter_list);
        }
        DeadLetters::Show { id } => {
            let answer = api.get(&["dead-letters", &id], &[]).await?;
            emit(&answer, json, output::dead_letter);
        }
        DeadLetters::Replay(args) => match (args.id, args.all) {
            (Some(id), false) => {
                if filter_query(&args.filters).iter().any(|(_, v)| v.is_some()) {
                    return Err(Failure::Usage(
                        "filters select dead letters for --all; with an ID, leave them out"
                            .to_owned(),
                    ));
                }
                let answer = api
                    .post(&["dead-letters", &id, "replay"], json!({}))
                    .await?;
                emit(&answer, json, |a| {
                    format!(
                        "{} is {}\n",
                        output::text(&a["id"]),
                        output::text(&a["status"])
                    )
                });
            }
            _ => {
                let answer = api
                    .post(&["dead-letters", "replay"], filter_body(&args.filters))
                    .await?;
                emit(&answer, json, |a| {
                    format!(
                        "{} dead letters marked for replay; they are published in the background\n",
                        output::text(&a["count"])
                    )
                });
            }
        },
        DeadLetters::Discard { id, reason } => {
            let answer = api
                .post(
                    &["dead-letters", &id, "discard"],
                    json!({ "reason": reason }),
                )
                .await?;
            emit(&answer, json, |a| {
                format!(
                    "{} is {}\n",
                    output::text(&a["id"]),
                    output::text(&a["status"])
                )
            });
        }
    }
    Ok(())
}

pub async fn events_search(
    api: &Api,
    q: &str,
    tenant: Option<String>,
    limit: Option<u32>,
    json: bool,
) -> Result<(), Failure> {
    let answer = api
        .get(
            &["events"],
            &[
                ("q", Some(q.to_owned())),
                ("tenant", tenant),
                ("limit", limit.map(|l| l.to_string())),
            ],
        )
        .await?;
    emit(&answer, json, output::event_histories);
    Ok(())
}

/// Loads the config as the binaries do (same path rules, same `${VAR}` expansion from the
/// environment, same validation) and prints a summary that holds no secret.
pub fn config_check(path: Option<&Path>, json: bool) -> Result<(), Failure> {
    let path = config::config_path(path).map_err(|e| Failure::Usage(e.to_string()))?;
    let loaded = config::load_file(&path, &config::env_vars());
    let config = match loaded {
        Ok(config) => config,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    json!({ "valid": false, "path": path, "key": e.key(), "error": e.to_string() })
                );
            }
            return Err(Failure::Config(e.to_string()));
        }
    };
    if json {
        let tenants: Vec<Value> = config
            .tenants
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "sources": t.sources.iter().map(|s| &s.id).collect::<Vec<_>>(),
                    "accounting": t.accounting.as_ref().map(|a| &a.system),
                    "crm": t.crm.as_ref().map(|c| &c.system),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "valid": true,
                "path": path,
                "broker_prefix": config.broker.prefix,
                "admin_tokens": config.admin.tokens.iter().map(|t| &t.name).collect::<Vec<_>>(),
                "tenants": tenants,
            })
        );
    } else {
        print!("{}", output::config_summary(&path, &config));
    }
    Ok(())
}

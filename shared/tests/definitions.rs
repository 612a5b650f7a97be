//! The files under deploy/ agree with the code: `deploy/rabbitmq/definitions.json` holds exactly
//! the topology `Topology::declare` declares for the prefix `ledgerhook` (so a broker loaded from
//! it accepts every binary's declarations unchanged), and the compose and Kubernetes configs load
//! and build that same topology.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::PathBuf,
};

use ledgerhook_shared::{
    broker::{Destination, Topology},
    config,
};
use serde_json::{json, Value};

const PREFIX: &str = "ledgerhook";
const VHOST: &str = "/";

fn deploy(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

fn read(path: &str) -> String {
    let path = deploy(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn definitions() -> Value {
    serde_json::from_str(&read("rabbitmq/definitions.json")).expect("definitions.json is JSON")
}

fn section<'a>(defs: &'a Value, name: &str) -> &'a Vec<Value> {
    defs[name]
        .as_array()
        .unwrap_or_else(|| panic!("definitions.json has a `{name}` array"))
}

fn str_field<'a>(item: &'a Value, field: &str) -> &'a str {
    item[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is a string in {item}"))
}

#[test]
fn queues_are_the_declared_ones_with_the_declared_arguments() {
    let topology = Topology::new(PREFIX);
    let defs = definitions();
    let mut found = BTreeMap::new();
    for queue in section(&defs, "queues") {
        let name = str_field(queue, "name");
        assert_eq!(str_field(queue, "vhost"), VHOST, "{name}");
        assert_eq!(queue["durable"], json!(true), "{name} is durable");
        assert_eq!(
            queue["auto_delete"],
            json!(false),
            "{name} is not auto-delete"
        );
        let arguments: BTreeMap<String, Value> =
            serde_json::from_value(queue["arguments"].clone()).expect("arguments is an object");
        assert!(
            found.insert(name.to_owned(), arguments).is_none(),
            "{name} is listed twice"
        );
    }
    let declared: BTreeMap<String, BTreeMap<String, Value>> =
        topology.queue_arguments().into_iter().collect();
    assert_eq!(found, declared);
    let names: BTreeSet<String> = topology.queue_names().into_iter().collect();
    assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), names);
}

#[test]
fn queue_arguments_hold_the_default_ladder_and_delivery_limit() {
    let topology = Topology::new(PREFIX);
    let declared: BTreeMap<String, BTreeMap<String, Value>> =
        topology.queue_arguments().into_iter().collect();
    for destination in Destination::ALL {
        let queue = &declared[&topology.queue(destination)];
        assert_eq!(
            queue["x-delivery-limit"],
            json!(topology.delivery_limit()),
            "{destination:?}"
        );
        assert_eq!(queue["x-queue-type"], json!("quorum"));
        assert_eq!(queue["x-dead-letter-exchange"], json!(""));
        assert_eq!(
            queue["x-dead-letter-routing-key"],
            json!(topology.dead_queue(destination))
        );
        assert_eq!(queue["x-dead-letter-strategy"], json!("at-least-once"));
        assert_eq!(queue["x-overflow"], json!("reject-publish"));
        assert_eq!(
            declared[&topology.dead_queue(destination)],
            BTreeMap::from([("x-queue-type".to_owned(), json!("quorum"))])
        );
    }
    let ttls: Vec<Value> = topology
        .retry_delays()
        .iter()
        .map(|d| declared[&topology.retry_queue(*d)]["x-message-ttl"].clone())
        .collect();
    assert_eq!(
        ttls,
        [5_000, 30_000, 120_000, 600_000, 3_600_000].map(|ms| json!(ms))
    );
    for delay in topology.retry_delays() {
        assert!(
            !declared[&topology.retry_queue(*delay)].contains_key("x-dead-letter-routing-key"),
            "a delay queue dead-letters under the copy's own routing key"
        );
    }
}

#[test]
fn exchanges_are_the_declared_ones() {
    let topology = Topology::new(PREFIX);
    let defs = definitions();
    let mut found = BTreeMap::new();
    for exchange in section(&defs, "exchanges") {
        let name = str_field(exchange, "name").to_owned();
        assert_eq!(str_field(exchange, "vhost"), VHOST, "{name}");
        assert_eq!(exchange["durable"], json!(true), "{name} is durable");
        assert_eq!(exchange["auto_delete"], json!(false), "{name}");
        assert_eq!(exchange["internal"], json!(false), "{name}");
        assert_eq!(exchange["arguments"], json!({}), "{name}");
        let kind = str_field(exchange, "type").to_owned();
        assert!(
            found.insert(name, kind).is_none(),
            "an exchange is listed twice"
        );
    }
    let mut declared = BTreeMap::new();
    declared.insert(topology.events_exchange(), "topic".to_owned());
    for delay in topology.retry_delays() {
        declared.insert(topology.retry_queue(*delay), "fanout".to_owned());
    }
    assert_eq!(found, declared);
    let names: BTreeSet<String> = topology.exchange_names().into_iter().collect();
    assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), names);
}

#[test]
fn bindings_are_the_declared_ones() {
    let topology = Topology::new(PREFIX);
    let defs = definitions();
    let mut found = BTreeSet::new();
    for binding in section(&defs, "bindings") {
        assert_eq!(str_field(binding, "vhost"), VHOST);
        assert_eq!(str_field(binding, "destination_type"), "queue");
        assert_eq!(binding["arguments"], json!({}));
        let triple = (
            str_field(binding, "source").to_owned(),
            str_field(binding, "destination").to_owned(),
            str_field(binding, "routing_key").to_owned(),
        );
        assert!(found.insert(triple), "a binding is listed twice");
    }
    let mut declared = BTreeSet::new();
    for destination in Destination::ALL {
        for key in destination.binding_keys() {
            declared.insert((
                topology.events_exchange(),
                topology.queue(destination),
                key.to_owned(),
            ));
        }
    }
    for delay in topology.retry_delays() {
        let name = topology.retry_queue(*delay);
        declared.insert((name.clone(), name, String::new()));
    }
    assert_eq!(found, declared);
}

#[test]
fn the_user_may_use_exactly_the_ledgerhook_names_and_no_guest_is_defined() {
    let defs = definitions();
    let users = section(&defs, "users");
    assert_eq!(users.len(), 1, "one user: {users:?}");
    assert_eq!(str_field(&users[0], "name"), "ledgerhook");
    assert_eq!(
        str_field(&users[0], "hashing_algorithm"),
        "rabbit_password_hashing_sha256"
    );
    assert!(!str_field(&users[0], "password_hash").is_empty());
    assert_eq!(section(&defs, "vhosts")[0]["name"], json!(VHOST));
    let permissions = section(&defs, "permissions");
    assert_eq!(permissions.len(), 1);
    assert_eq!(str_field(&permissions[0], "user"), "ledgerhook");
    assert_eq!(str_field(&permissions[0], "vhost"), VHOST);
    // Every name the binaries declare, publish to or consume from matches the patterns; the
    // default exchange (the quarantine, replays) is written to as `amq.default`.
    let topology = Topology::new(PREFIX);
    let names: Vec<String> = topology
        .queue_names()
        .into_iter()
        .chain(topology.exchange_names())
        .collect();
    for name in &names {
        for field in ["configure", "write", "read"] {
            let pattern = str_field(&permissions[0], field);
            assert!(
                matches_permission(pattern, name),
                "{field} `{pattern}` does not cover {name}"
            );
        }
    }
    assert!(matches_permission(
        str_field(&permissions[0], "write"),
        "amq.default"
    ));
}

/// The permission patterns of definitions.json, as RabbitMQ applies them (an unanchored regex
/// match), for the two shapes used there: `^prefix\.` and `^(prefix\..*|amq\.default)$`.
fn matches_permission(pattern: &str, name: &str) -> bool {
    let literal = |s: &str| s.replace("\\.", ".");
    if let Some(inner) = pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
    {
        return inner.split('|').any(|alt| match alt.strip_suffix(".*") {
            Some(prefix) => name.starts_with(&literal(prefix)),
            None => name == literal(alt),
        });
    }
    match pattern.strip_prefix('^') {
        Some(prefix) if !prefix.contains(['(', '|', '*', '$']) => {
            name.starts_with(&literal(prefix))
        }
        _ => panic!("unexpected permission pattern `{pattern}`"),
    }
}

/// The `${VAR}` names a config document uses.
fn variables(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let end = rest.find('}').expect("a closing brace");
        let name = rest[..end].split(":-").next().unwrap_or_default();
        names.insert(name.to_owned());
        rest = &rest[end..];
    }
    names
}

/// The block scalar `key: |` of a YAML manifest, unindented.
fn yaml_block(text: &str, key: &str) -> String {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}: |"));
    let header = lines.next().expect("the block's key");
    let indent = header.len() - header.trim_start().len() + 2;
    let mut block = String::new();
    for line in lines {
        if !line.trim().is_empty() && line.len() - line.trim_start().len() < indent {
            break;
        }
        block.push_str(line.get(indent..).unwrap_or(""));
        block.push('\n');
    }
    block
}

/// `stringData` keys of the Secret manifest.
fn secret_keys(text: &str) -> BTreeSet<String> {
    text.lines()
        .skip_while(|l| l.trim() != "stringData:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_owned()))
        .collect()
}

fn assert_topology(config: &config::Config, file: &str) {
    let topology = config.broker.topology();
    let expected = Topology::new(PREFIX);
    assert_eq!(topology.prefix(), PREFIX, "{file}");
    assert_eq!(topology.retry_delays(), expected.retry_delays(), "{file}");
    assert_eq!(
        topology.delivery_limit(),
        expected.delivery_limit(),
        "{file}"
    );
    assert_eq!(
        topology.queue_arguments(),
        expected.queue_arguments(),
        "{file}"
    );
}

#[test]
fn the_compose_config_loads_with_its_defaults_and_matches_the_definitions() {
    let config = config::load(&read("compose.toml"), &HashMap::new())
        .unwrap_or_else(|e| panic!("deploy/compose.toml: {e}"));
    assert_topology(&config, "deploy/compose.toml");
    for destination in Destination::ALL {
        let (listen, key) = config.workers.listen(destination);
        assert_eq!(
            listen.map(|a| a.to_string()).as_deref(),
            Some("0.0.0.0:9091"),
            "{key}"
        );
    }
    for tenant in &config.tenants {
        for target in tenant.accounting.iter().chain(&tenant.crm) {
            assert_eq!(
                target.base_url.host_str(),
                Some("sandbox"),
                "{} points at the compose sandbox",
                tenant.id
            );
        }
    }
}

#[test]
fn the_kubernetes_config_loads_with_the_secret_s_keys() {
    let manifest = read("k8s/base/configmap.yaml");
    let text = yaml_block(&manifest, "ledgerhook.toml");
    let needed = variables(&text);
    let provided = secret_keys(&read("k8s/base/secret.yaml"));
    let missing: Vec<_> = needed.difference(&provided).collect();
    assert!(
        missing.is_empty(),
        "the ConfigMap uses variables the Secret lacks: {missing:?}"
    );
    let vars: HashMap<String, String> = provided
        .iter()
        .map(|k| {
            let value = match k.as_str() {
                "AMQP_URL" => "amqp://ledgerhook:pw@rabbitmq:5672/%2f".to_owned(),
                "DATABASE_URL" => "postgres://ledgerhook:pw@postgres:5432/ledgerhook".to_owned(),
                _ => format!("placeholder-value-for-{k}"),
            };
            (k.clone(), value)
        })
        .collect();
    let config = config::load(&text, &vars)
        .unwrap_or_else(|e| panic!("the ConfigMap's ledgerhook.toml: {e}"));
    assert_topology(&config, "deploy/k8s/base/configmap.yaml");
    assert_eq!(config.router.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(config.router.admin_listen.to_string(), "0.0.0.0:9090");
    for destination in Destination::ALL {
        let (listen, key) = config.workers.listen(destination);
        assert_eq!(
            listen.map(|a| a.to_string()).as_deref(),
            Some("0.0.0.0:9091"),
            "{key}"
        );
    }
}

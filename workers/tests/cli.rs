//! The worker binaries as an operator meets them: a bad config stops them at once with a
//! message that says what is wrong, before any work starts.

use std::process::Command;

fn run(binary: &str, args: &[&str]) -> (i32, String) {
    let output = Command::new(binary)
        .args(args)
        .env_remove("LEDGERHOOK_CONFIG")
        .env("RUST_LOG", "error")
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const BINARIES: [&str; 2] = [
    env!("CARGO_BIN_EXE_ledgerhook-accounting-worker"),
    env!("CARGO_BIN_EXE_ledgerhook-crm-worker"),
];

#[test]
fn a_missing_config_file_is_named() {
    for binary in BINARIES {
        let (code, stderr) = run(binary, &["--config", "/nonexistent/ledgerhook.toml"]);
        assert_ne!(code, 0);
        assert!(stderr.contains("/nonexistent/ledgerhook.toml"), "{stderr}");
    }
}

#[test]
fn no_config_at_all_says_how_to_give_one() {
    for binary in BINARIES {
        let (code, stderr) = run(binary, &[]);
        assert_ne!(code, 0);
        assert!(stderr.contains("LEDGERHOOK_CONFIG"), "{stderr}");
    }
}

#[test]
fn an_unknown_key_is_named() {
    let dir = std::env::temp_dir().join(format!("ledgerhook-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1"

[broker]
url = "amqp://guest:guest@127.0.0.1:5672/%2f"
prefetch = 10

[store]
url = "postgres://postgres@127.0.0.1:5432/ledgerhook"
"#,
    )
    .expect("write config");
    for binary in BINARIES {
        let (code, stderr) = run(binary, &["--config", path.to_str().expect("utf-8 path")]);
        assert_ne!(code, 0);
        assert!(stderr.contains("broker.prefetch"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

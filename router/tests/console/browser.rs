//! Headless Chromium through chromedriver (WebDriver), and a page helper that reads what the
//! user sees: rendered text, visible elements, table cells.

use std::{
    collections::HashMap,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver process of this test's own, on a free port; it and the Chromium it started
/// are killed when dropped.
pub struct Browser {
    port: u16,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium runs in chromedriver's process group; a failed test must not leave it behind.
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

impl Browser {
    pub async fn start() -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: install Debian's chromium and chromium-driver \
                 (deploy/services.sh does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http
                .get(format!("http://127.0.0.1:{port}/status"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not answer on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Browser { port, driver }
    }

    /// A new headless Chromium session showing `url` in a 1280x800 viewport.
    pub async fn open(&self, url: &str) -> Page {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,800", "--force-device-scale-factor=1", "--hide-scrollbars",
                    "--lang=en-US", "--disable-crash-reporter",
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session through chromedriver");
        // The window includes the browser's frame; size it so the page itself is 1280x800.
        let frame = client
            .execute("return window.outerHeight - window.innerHeight;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0);
        client
            .set_window_size(1280, 800 + frame)
            .await
            .expect("resize the window");
        client.goto(url).await.expect("the page loads");
        Page { client }
    }
}

/// One browser tab, addressed by the console's element ids.
pub struct Page {
    client: Client,
}

impl Page {
    async fn by_id(&self, id: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} is on the page: {e}"))
    }

    pub async fn click(&self, id: &str) {
        self.by_id(id)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click #{id}: {e}"));
    }

    /// Replaces the text of an input, as typing would.
    pub async fn fill(&self, id: &str, value: &str) {
        let input = self.by_id(id).await;
        input.clear().await.expect("clear the input");
        if !value.is_empty() {
            input.send_keys(value).await.expect("type into the input");
        }
    }

    pub async fn select(&self, id: &str, value: &str) {
        self.by_id(id)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in #{id}: {e}"));
    }

    pub async fn sign_in(&self, token: &str) {
        self.fill("token-input", token).await;
        self.click("sign-in").await;
    }

    /// The rendered text of `#id` (empty while it is hidden).
    pub async fn text(&self, id: &str) -> String {
        self.by_id(id).await.text().await.expect("element text")
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} is on the page: {e}"))
            .text()
            .await
            .expect("element text")
    }

    pub async fn is_visible(&self, id: &str) -> bool {
        self.by_id(id)
            .await
            .is_displayed()
            .await
            .expect("displayed")
    }

    pub async fn is_enabled(&self, id: &str) -> bool {
        self.by_id(id).await.is_enabled().await.expect("enabled")
    }

    pub async fn wait_visible(&self, id: &str, what: &str) {
        self.wait(what, || async { self.is_visible(id).await.then_some(()) })
            .await;
    }

    /// Waits until the rendered text of `#id` satisfies `check`; returns it.
    pub async fn wait_text(&self, id: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait(what, || async {
            let text = self.text(id).await;
            check(&text).then_some(text)
        })
        .await
    }

    /// The dead-letter rows as shown: column name to rendered cell text.
    pub async fn rows(&self) -> Vec<HashMap<String, String>> {
        let rows = self
            .client
            .execute(
                "return [...document.querySelectorAll('[data-testid=dead-letter-row]')].map(
                   (r) => Object.fromEntries([...r.cells].map((c) => [c.dataset.col, c.innerText.trim()])));",
                vec![],
            )
            .await
            .expect("read the rows");
        serde_json::from_value(rows).expect("rows of text")
    }

    pub async fn wait_rows(
        &self,
        what: &str,
        check: impl Fn(&[HashMap<String, String>]) -> bool,
    ) -> Vec<HashMap<String, String>> {
        self.wait(what, || async {
            let rows = self.rows().await;
            check(&rows).then_some(rows)
        })
        .await
    }

    /// Opens the dead letter whose row shows invoice `number`.
    pub async fn open_row(&self, number: &str) {
        let xpath = format!(
            "//tr[@data-testid='dead-letter-row'][td[@data-col='invoice_number' and \
             normalize-space()='{number}']]//button[@data-testid='open-dead-letter']"
        );
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("a row for {number}: {e}"))
            .click()
            .await
            .expect("open the dead letter");
    }

    /// The body rows of table `#id`, cell texts as shown.
    pub async fn table(&self, id: &str) -> Vec<Vec<String>> {
        let rows = self
            .client
            .execute(
                "return [...document.getElementById(arguments[0]).tBodies[0].rows].map(
                   (r) => [...r.cells].map((c) => c.innerText.trim()));",
                vec![json!(id)],
            )
            .await
            .expect("read the table");
        serde_json::from_value(rows).expect("cells of text")
    }

    /// Saves a PNG of the window under the workspace's `target/console/`.
    pub async fn save_screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console");
        std::fs::create_dir_all(&dir).expect("create target/console");
        let png = self.client.screenshot().await.expect("screenshot");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    pub async fn close(self) {
        self.client.close().await.expect("end the browser session");
    }

    /// Polls `probe` until it yields a value; on timeout fails with what the page shows.
    async fn wait<T, F, Fut>(&self, what: &str, probe: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            if tokio::time::Instant::now() > deadline {
                let shown = self
                    .client
                    .execute("return document.body.innerText;", vec![])
                    .await
                    .unwrap_or(Value::Null);
                panic!(
                    "timed out waiting for {what}; the page shows:\n{}",
                    shown.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

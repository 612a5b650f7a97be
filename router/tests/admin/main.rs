//! Black-box tests of the support API on the admin listener, against the real RabbitMQ and
//! PostgreSQL: who may call it, what it lists and shows, what a replay puts on the queue, and
//! what the journal search finds.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod dead_letters;
mod events;
mod replay;

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{seed, TestRouter, ADMIN_TOKEN};

/// A support API call with the tests' token.
pub async fn call(
    router: &TestRouter,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = router
        .client
        .request(method, router.admin_url(path))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

pub async fn get_json(router: &TestRouter, path: &str) -> (StatusCode, Value) {
    let response = call(router, Method::GET, path, None).await;
    let status = response.status();
    (status, response.json().await.expect("json answer"))
}

/// Every item of every page of `query` (a query string), following `next_cursor`.
pub async fn all_pages(router: &TestRouter, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/dead-letters?limit=500&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = get_json(router, &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

pub fn ids(items: &[Value]) -> HashSet<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

pub async fn queue_depth_of(router: &TestRouter, destination: &str) -> u32 {
    seed::queue_depth(&format!("{}.{destination}", router.prefix)).await
}

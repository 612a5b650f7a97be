//! The support console in headless Chromium, against a real router, RabbitMQ and PostgreSQL:
//! sign in, filter, open a dead letter, replay it, discard one, replay all matching, search the
//! journal, sign out. Saves `list.png`, `detail.png` and `journal.png` under `target/console/`.

mod browser;
mod fixture;
#[path = "../support/mod.rs"]
mod support;

use browser::Browser;
use fixture::{Fixture, SEEDS, TOKEN, TOKEN_NAME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_person_finds_replays_and_discards_dead_letters_in_the_console() {
    let browser = Browser::start().await;
    let fixture = Fixture::start().await;
    let page = browser
        .open(&format!("{}/console", fixture.admin_url))
        .await;

    // A wrong token is refused, with the API's message, and the data stays hidden.
    page.wait_visible("login", "the token prompt").await;
    page.sign_in("not-the-admin-token").await;
    let refused = page
        .wait_text("login-error", "the refusal", |t| !t.is_empty())
        .await;
    assert!(
        refused.starts_with("The admin API refused the token"),
        "{refused}"
    );
    assert!(
        !page.is_visible("app").await,
        "nothing shown without a valid token"
    );

    // The right token shows every dead letter, newest first.
    page.sign_in(TOKEN).await;
    let rows = page
        .wait_rows("all six dead letters", |r| r.len() == SEEDS.len())
        .await;
    let numbers: Vec<&str> = rows.iter().map(|r| r["invoice_number"].as_str()).collect();
    assert_eq!(
        numbers,
        ["INV-1042", "INV-1043", "INV-1043", "INV-2001", "INV-2002", "INV-1040"]
    );
    assert_eq!(rows[0]["tenant"], "acme");
    assert_eq!(rows[0]["destination"], "accounting");
    assert_eq!(rows[0]["type"], "invoice.created");
    assert_eq!(rows[0]["reason_class"], "permanent");
    assert!(
        rows[0]["reason"].starts_with("Xero refused the invoice"),
        "{:?}",
        rows[0]
    );
    assert_eq!(rows[1]["attempts"], "6");
    assert!(rows.iter().all(|r| r["status"] == "open"));
    assert_eq!(
        page.text("list-summary").await,
        "6 dead letters shown, newest first."
    );
    page.save_screenshot("list.png").await;

    // Filtering by tenant and destination.
    page.fill("filter-tenant", "acme").await;
    page.select("filter-destination", "accounting").await;
    page.click("apply-filters").await;
    let rows = page
        .wait_rows("acme's accounting dead letters", |r| r.len() == 2)
        .await;
    assert!(rows
        .iter()
        .all(|r| r["tenant"] == "acme" && r["destination"] == "accounting"));

    // The detail of INV-1042: why, every attempt, the event.
    page.open_row("INV-1042").await;
    page.wait_text("detail-status", "the detail", |t| t == "open")
        .await;
    let reason = page.text("detail-reason").await;
    assert!(
        reason.contains("Account code '4000' is not a valid code"),
        "{reason}"
    );
    let attempts = page.table("detail-attempts").await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0][2], "permanent");
    assert_eq!(attempts[0][3], "400");
    let event = page.text("detail-event").await;
    assert!(
        event.contains("\"number\": \"INV-1042\""),
        "pretty JSON: {event}"
    );
    page.save_screenshot("detail.png").await;

    // Replay: queued to the accounting queue with the replay marker, shown as replaying.
    let id = fixture.ids[&("INV-1042", "accounting")];
    page.click("replay-one").await;
    page.wait_text("detail-status", "replaying", |t| t == "replaying")
        .await;
    assert!(page
        .text("notice")
        .await
        .starts_with("Queued for replay to accounting"));
    let actions = page.table("detail-actions").await;
    assert_eq!(
        (actions[0][1].as_str(), actions[0][2].as_str()),
        ("replay", TOKEN_NAME)
    );
    let queued = fixture.take_queued("accounting").await;
    assert_eq!(queued.len(), 1, "one message re-queued: {queued:?}");
    assert_eq!(queued[0].0.as_deref(), Some(id.to_string().as_str()));

    // The worker applies it; after a refresh the console shows it replayed.
    fixture.worker_reports_replayed(id).await;
    page.click("refresh-detail").await;
    page.wait_text("detail-status", "replayed", |t| t == "replayed")
        .await;
    let actions = page.table("detail-actions").await;
    assert!(
        actions
            .iter()
            .any(|a| a[1] == "replayed" && a[2] == "worker"),
        "{actions:?}"
    );
    assert!(
        !page.is_enabled("discard-one").await,
        "only open ones can be discarded"
    );
    page.click("back-to-list").await;
    let rows = page.wait_rows("the list again", |r| r.len() == 2).await;
    assert_eq!(rows[0]["status"], "replayed");

    // Discarding needs a reason.
    page.click("clear-filters").await;
    page.wait_rows("the whole list", |r| r.len() == SEEDS.len())
        .await;
    page.fill("filter-q", "INV-2001").await;
    page.click("apply-filters").await;
    page.wait_rows("INV-2001 only", |r| r.len() == 1).await;
    page.open_row("INV-2001").await;
    page.wait_text("detail-status", "the detail", |t| t == "open")
        .await;
    page.click("discard-one").await;
    page.wait_visible("discard-dialog", "the discard dialog")
        .await;
    page.click("discard-confirm").await;
    let refused = page
        .wait_text("discard-error", "a reason", |t| !t.is_empty())
        .await;
    assert!(refused.starts_with("A reason is required"), "{refused}");
    page.fill(
        "discard-reason",
        "Test currency XTS; the invoice was re-issued as INV-2003",
    )
    .await;
    page.click("discard-confirm").await;
    page.wait_text("detail-status", "discarded", |t| t == "discarded")
        .await;
    let closed = page.text_of("[data-field='closed_because']").await;
    assert_eq!(
        closed,
        "Test currency XTS; the invoice was re-issued as INV-2003"
    );
    assert!(
        !page.is_enabled("replay-one").await,
        "a discarded one cannot be replayed"
    );

    // Replay all of acme's open dead letters: the dialog shows the filter, then the count.
    page.click("back-to-list").await;
    page.fill("filter-q", "").await;
    page.fill("filter-tenant", "acme").await;
    page.select("filter-status", "open").await;
    page.click("apply-filters").await;
    let rows = page.wait_rows("acme's open ones", |r| r.len() == 3).await;
    assert!(rows
        .iter()
        .all(|r| r["tenant"] == "acme" && r["status"] == "open"));
    page.click("replay-all").await;
    page.wait_visible("replay-all-dialog", "the confirmation")
        .await;
    let filter = page.text("replay-all-filter").await;
    assert!(
        filter.contains("tenant\nacme") && filter.contains("status\nopen"),
        "{filter}"
    );
    page.click("replay-all-confirm").await;
    let notice = page
        .wait_text("notice", "the count", |t| !t.is_empty())
        .await;
    assert_eq!(notice, "3 dead letters queued for replay.");
    page.wait_text("list-summary", "no open ones left", |t| {
        t == "No dead letters match this filter."
    })
    .await;
    assert!(page.rows().await.is_empty());
    page.select("filter-status", "replaying").await;
    page.click("apply-filters").await;
    let rows = page.wait_rows("three replaying", |r| r.len() == 3).await;
    assert!(rows.iter().all(|r| r["status"] == "replaying"));

    // The journal: what happened to INV-1042.
    page.click("tab-journal").await;
    page.fill("journal-q", "INV-1042").await;
    page.click("journal-search").await;
    let summary = page
        .wait_text("journal-summary", "journal results", |t| !t.is_empty())
        .await;
    assert!(summary.starts_with("1 event about"), "{summary}");
    let timeline = page.text("journal-results").await;
    assert!(
        timeline.contains("invoice.created · invoice INV-1042"),
        "{timeline}"
    );
    assert!(timeline.contains("dead_lettered"), "{timeline}");
    assert!(timeline.contains("Account code '4000'"), "{timeline}");
    page.save_screenshot("journal.png").await;
    page.fill("journal-q", "INV-9999").await;
    page.click("journal-search").await;
    page.wait_text("journal-summary", "no results", |t| {
        t == "No events found for “INV-9999”."
    })
    .await;

    // Signing out forgets the token, also across a reload.
    page.click("sign-out").await;
    page.wait_visible("login", "the token prompt").await;
    page.reload().await;
    page.wait_visible("login", "the token prompt after a reload")
        .await;
    assert!(!page.is_visible("app").await);

    page.close().await;
    fixture.finish().await;
}

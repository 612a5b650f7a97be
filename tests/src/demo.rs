//! The quickstart's demo (`ledgerhook-loadgen demo`): one change through every sync flow of a
//! tenant whose books are in QuickBooks Online and whose CRM is HubSpot, made through the
//! sandbox's own provider APIs as a user of each system would make it. The sandbox announces
//! each change with the provider's signed webhook to the router; the demo polls the sandbox's
//! state until the change shows in the other systems and prints what it found there.
//!
//! - `prepare`, before the binaries start: declares the config's RabbitMQ topology exactly as
//!   they do (a queue left by an older ledgerhook with other arguments is reported with what to
//!   do about it) and empties its queues of messages an earlier run left.
//! - `run`: HubSpot invoice -> QuickBooks; Stripe payment -> QuickBooks payment and HubSpot
//!   paid; Stripe refund -> QuickBooks refund receipt and HubSpot's refunded amount; QuickBooks
//!   invoices -> HubSpot; QuickBooks payment and void -> HubSpot paid and voided. Each flow
//!   must complete within the timeout; afterwards the tenant must have no open dead letters.

use std::{
    fmt::Write as _,
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use lapin::{options::QueuePurgeOptions, Connection, ConnectionProperties};
use ledgerhook_shared::config::{Config, Credentials, ProviderKind, Target, Tenant};
use reqwest::Method;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

fn say(line: impl AsRef<str>) {
    println!("[demo] {}", line.as_ref());
}

/// Declares `config`'s broker topology as the router and the workers do, then purges its
/// queues. Fails, after printing what to do, when RabbitMQ holds queues of that prefix with
/// other arguments.
pub async fn prepare(config: &Config) -> anyhow::Result<()> {
    let topology = config.broker.topology();
    let prefix = topology.prefix().to_owned();
    let conn = Connection::connect(
        config.broker.url.expose_secret(),
        ConnectionProperties::default(),
    )
    .await
    .context("connecting to RabbitMQ (broker.url)")?;
    let channel = conn.create_channel().await?;
    if let Err(e) = topology.declare(&channel).await {
        let text = e.to_string();
        let _ = conn.close(200, "done".into()).await;
        if text.contains("PRECONDITION_FAILED") || text.contains("PRECONDITIONFAILED") {
            eprintln!("[demo] RabbitMQ refused ledgerhook's topology: {text}");
            eprintln!(
                "[demo] Queues named `{prefix}.*` exist with other arguments, made by an older ledgerhook or another config."
            );
            eprintln!(
                "[demo] Nothing was deleted. If their messages can go, delete them (as root) and start again:"
            );
            eprintln!(
                "[demo]   rabbitmqctl -q list_queues name | grep '^{prefix}\\.' | xargs -rn1 rabbitmqctl delete_queue"
            );
            bail!("the broker topology of prefix `{prefix}` does not match this ledgerhook");
        }
        return Err(e).context("declaring the broker topology");
    }
    let mut purged = 0u64;
    for queue in topology.queue_names() {
        purged += u64::from(
            channel
                .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
                .await
                .with_context(|| format!("purging {queue}"))?,
        );
    }
    let _ = conn.close(200, "done".into()).await;
    if purged > 0 {
        say(format!(
            "RabbitMQ: topology `{prefix}.*` declared; dropped {purged} messages an earlier run left"
        ));
    } else {
        say(format!(
            "RabbitMQ: topology `{prefix}.*` declared, its queues are empty"
        ));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The sandbox's base URL, e.g. `http://127.0.0.1:8900`.
    pub sandbox_url: String,
    /// The tenant to run through; defaults to the first one with QuickBooks, HubSpot and a
    /// Stripe source.
    pub tenant: Option<String>,
    /// How long each flow may take.
    pub timeout: Duration,
}

/// The demo's invoice from HubSpot: two lines, 1,234.50 USD.
const HUBSPOT_LINES: [(&str, &str, &str); 2] = [
    ("Implementation", "1", "1000.00"),
    ("Support hours", "2", "117.25"),
];
/// The part of it Stripe refunds, in cents.
const REFUND_CENTS: i64 = 23_450;

/// Runs every flow; fails on the first that does not complete within the timeout.
pub async fn run(config: &Config, options: &DemoOptions) -> anyhow::Result<()> {
    let demo = Demo::new(config, options)?;
    let started = Instant::now();
    say(format!(
        "tenant `{}`: QuickBooks Online realm {} and HubSpot in the sandbox at {}",
        demo.tenant, demo.realm, demo.sandbox
    ));
    let before = demo.state().await?;
    say(format!("sandbox before: {}", demo.counts(&before)));

    let number = demo.hubspot_to_quickbooks().await?;
    let payment_intent = demo.stripe_payment(&number).await?;
    demo.stripe_refund(&number, &payment_intent).await?;
    let (paid, voided) = demo.quickbooks_to_hubspot().await?;
    demo.quickbooks_payment_and_void(&paid, &voided).await?;

    let after = demo.state().await?;
    say(format!("sandbox after:  {}", demo.counts(&after)));
    demo.journal(&number).await?;
    demo.no_dead_letters().await?;
    say(format!(
        "all 5 flows synced in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

struct Demo {
    http: reqwest::Client,
    sandbox: String,
    tenant: String,
    realm: String,
    quickbooks_token: String,
    hubspot_token: String,
    stripe_key: String,
    admin_url: String,
    admin_token: Option<String>,
    timeout: Duration,
}

/// A QuickBooks invoice the demo made: its id and `DocNumber`.
struct QboInvoice {
    id: String,
    number: String,
    customer: String,
    total: Decimal,
}

fn static_token(target: &Target, what: &str) -> anyhow::Result<String> {
    match &target.credentials {
        Credentials::Static { access_token } => Ok(access_token.expose_secret().to_owned()),
        Credentials::OAuth { .. } => bail!(
            "the demo calls the sandbox's {what} with the tenant's static access_token; this tenant uses OAuth"
        ),
    }
}

fn suitable(tenant: &Tenant) -> bool {
    let system = |t: &Option<Target>| t.as_ref().map(|t| t.system.clone());
    system(&tenant.accounting).as_deref() == Some("quickbooks")
        && system(&tenant.crm).as_deref() == Some("hubspot")
        && [
            ProviderKind::Stripe,
            ProviderKind::Hubspot,
            ProviderKind::Quickbooks,
        ]
        .iter()
        .all(|p| tenant.sources.iter().any(|s| s.provider == *p))
}

impl Demo {
    fn new(config: &Config, options: &DemoOptions) -> anyhow::Result<Demo> {
        let tenant = match &options.tenant {
            Some(id) => config
                .tenant(id)
                .with_context(|| format!("no tenant `{id}` in the config"))?,
            None => config.tenants.iter().find(|t| suitable(t)).context(
                "no tenant with QuickBooks (accounting), HubSpot (crm) and stripe, hubspot and quickbooks sources",
            )?,
        };
        if !suitable(tenant) {
            bail!(
                "tenant `{}` needs QuickBooks as accounting, HubSpot as crm, and stripe, hubspot and quickbooks sources",
                tenant.id
            );
        }
        let accounting = tenant.accounting.as_ref().context("accounting")?;
        let crm = tenant.crm.as_ref().context("crm")?;
        let sandbox = options.sandbox_url.trim_end_matches('/').to_owned();
        for (target, path) in [(accounting, "quickbooks"), (crm, "hubspot")] {
            let want = format!("{sandbox}/{path}");
            if target.base_url.as_str().trim_end_matches('/') != want {
                bail!(
                    "tenant `{}` sends its {path} calls to {}, not to the sandbox at {want}",
                    tenant.id,
                    target.base_url
                );
            }
        }
        let mut admin = config.router.admin_listen;
        if admin.ip().is_unspecified() {
            admin.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Ok(Demo {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()?,
            sandbox,
            tenant: tenant.id.clone(),
            realm: accounting
                .account_id
                .clone()
                .context("the QuickBooks realm_id")?,
            quickbooks_token: static_token(accounting, "QuickBooks")?,
            hubspot_token: static_token(crm, "HubSpot")?,
            stripe_key: format!("sk_test_{}", tenant.id),
            admin_url: format!("http://{admin}"),
            admin_token: config
                .admin
                .tokens
                .first()
                .map(|t| t.token.expose_secret().to_owned()),
            timeout: options.timeout,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let answer = request
            .send()
            .await
            .with_context(|| format!("{what}: the sandbox does not answer"))?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{what}: {status} {body}");
        }
        Ok(body)
    }

    async fn hubspot(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let request = self
            .http
            .request(method, format!("{}/hubspot{path}", self.sandbox))
            .bearer_auth(&self.hubspot_token)
            .json(&body);
        self.send(request, &format!("HubSpot {path}")).await
    }

    async fn quickbooks(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(
                method,
                format!(
                    "{}/quickbooks/v3/company/{}/{path}",
                    self.sandbox, self.realm
                ),
            )
            .bearer_auth(&self.quickbooks_token)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request, &format!("QuickBooks {path}")).await
    }

    async fn stripe(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(format!("{}/stripe/v1/{path}", self.sandbox))
            .bearer_auth(&self.stripe_key)
            .form(form);
        self.send(request, &format!("Stripe {path}")).await
    }

    async fn state(&self) -> anyhow::Result<Value> {
        let request = self.http.get(format!("{}/_sandbox/state", self.sandbox));
        self.send(request, "the sandbox state").await
    }

    /// Polls the sandbox state until `check` finds what it looks for.
    async fn wait_for<T>(
        &self,
        what: &str,
        check: impl Fn(&Value) -> Option<T>,
    ) -> anyhow::Result<(T, Duration)> {
        let started = Instant::now();
        loop {
            let state = self.state().await?;
            if let Some(found) = check(&state) {
                return Ok((found, started.elapsed()));
            }
            if started.elapsed() > self.timeout {
                bail!(
                    "{what}: not there after {} s (the services' logs and the console's dead letters say why)",
                    self.timeout.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn company<'a>(&self, state: &'a Value) -> Option<&'a Value> {
        state["quickbooks"]
            .as_object()?
            .values()
            .find(|c| c["tenant"] == self.tenant.as_str())
    }

    fn qbo<'a>(&self, state: &'a Value, collection: &str) -> Vec<&'a Value> {
        self.company(state)
            .and_then(|c| c[collection].as_array())
            .map(|all| all.iter().collect())
            .unwrap_or_default()
    }

    fn qbo_invoice<'a>(&self, state: &'a Value, number: &str) -> Option<&'a Value> {
        self.qbo(state, "invoices")
            .into_iter()
            .find(|i| i["DocNumber"] == number)
    }

    fn hubspot_objects<'a>(&self, state: &'a Value, kind: &str) -> Vec<&'a Value> {
        state["hubspot"][self.tenant.as_str()]["objects"][kind]
            .as_array()
            .map(|all| all.iter().collect())
            .unwrap_or_default()
    }

    fn hubspot_invoice<'a>(&self, state: &'a Value, number: &str) -> Option<&'a Value> {
        self.hubspot_objects(state, "invoices")
            .into_iter()
            .find(|i| i["properties"]["hs_number"] == number)
    }

    fn counts(&self, state: &Value) -> String {
        let stripe = state["stripe"][self.tenant.as_str()]["invoices"]
            .as_array()
            .map_or(0, Vec::len);
        format!(
            "QuickBooks {}, {}, {}; HubSpot {}, {}; Stripe {}",
            count(self.qbo(state, "invoices").len(), "invoice"),
            count(self.qbo(state, "payments").len(), "payment"),
            count(self.qbo(state, "refund_receipts").len(), "refund receipt"),
            count(self.hubspot_objects(state, "invoices").len(), "invoice"),
            count(self.hubspot_objects(state, "contacts").len(), "contact"),
            count(stripe, "invoice"),
        )
    }

    /// Flow 1. Returns the invoice number, which Stripe gives the payment's invoice as well.
    async fn hubspot_to_quickbooks(&self) -> anyhow::Result<String> {
        say("1. HubSpot invoice -> QuickBooks");
        let state = self.state().await?;
        // Stripe numbers a customer's invoices <prefix>-0001, ...: a prefix not yet used here.
        let prefix = (0..100)
            .map(|i| {
                if i == 0 {
                    "INV".to_owned()
                } else {
                    format!("INV{i}")
                }
            })
            .find(|p| {
                let number = format!("{p}-0001");
                self.hubspot_invoice(&state, &number).is_none()
                    && self.qbo_invoice(&state, &number).is_none()
            })
            .context("no unused invoice prefix")?;
        let number = format!("{prefix}-0001");
        let contact = self
            .hubspot(
                Method::POST,
                "/crm/v3/objects/contacts/batch/upsert",
                json!({ "inputs": [{ "id": "jenny.rosen@example.com", "idProperty": "email",
                    "properties": { "email": "jenny.rosen@example.com", "firstname": "Jenny",
                                    "lastname": "Rosen" } }] }),
            )
            .await?;
        let contact_id = contact["results"][0]["id"]
            .as_str()
            .context("HubSpot contact id")?
            .to_owned();
        let assoc = |id: &str, type_id: u32| {
            json!({ "to": { "id": id }, "types": [{ "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": type_id }] })
        };
        let mut associations = vec![assoc(&contact_id, 177)];
        let mut total = Decimal::ZERO;
        for (name, quantity, price) in HUBSPOT_LINES {
            let line = self
                .hubspot(
                    Method::POST,
                    "/crm/v3/objects/line_items",
                    json!({ "properties": { "name": name, "quantity": quantity, "price": price } }),
                )
                .await?;
            associations.push(assoc(
                line["id"].as_str().context("HubSpot line item id")?,
                409,
            ));
            total += Decimal::from_str(quantity)? * Decimal::from_str(price)?;
        }
        let today = chrono::Utc::now().date_naive();
        let invoice = self
            .hubspot(
                Method::POST,
                "/crm/v3/objects/invoices",
                json!({
                    "properties": {
                        "hs_currency": "USD", "hs_number": number, "hs_invoice_status": "open",
                        "hs_invoice_date": today.to_string(),
                        "hs_due_date": (today + chrono::Days::new(30)).to_string()
                    },
                    "associations": associations,
                }),
            )
            .await?;
        let hubspot_id = invoice["id"].as_str().context("HubSpot invoice id")?;
        say(format!(
            "   HubSpot: invoice {hubspot_id} {number} for Jenny Rosen, {} lines, {} USD; HubSpot's signed webhook goes to /webhooks/{}/hubspot",
            HUBSPOT_LINES.len(),
            money(total),
            self.tenant
        ));
        let (found, took) = self
            .wait_for(&format!("QuickBooks invoice {number}"), |s| {
                let invoice = self.qbo_invoice(s, &number)?;
                let customer = invoice["CustomerRef"]["name"]
                    .as_str()
                    .or_else(|| invoice["CustomerRef"]["value"].as_str())
                    .unwrap_or("?")
                    .to_owned();
                Some((
                    invoice["Id"].as_str()?.to_owned(),
                    dec(&invoice["TotalAmt"])?,
                    dec(&invoice["Balance"])?,
                    customer,
                ))
            })
            .await?;
        let (id, amount, balance, customer) = found;
        if amount != total {
            bail!("QuickBooks invoice {id} {number}: TotalAmt {amount}, expected {total}");
        }
        say(format!(
            "   QuickBooks: Invoice {id}, DocNumber {number}, TotalAmt {amount:.2}, Balance {balance:.2}, customer {customer} ({})",
            secs(took)
        ));
        say(format!(
            "OK HubSpot invoice {number} ({} USD) -> QuickBooks Invoice {id}",
            money(total)
        ));
        Ok(number)
    }

    /// Flow 2: the same invoice issued and paid by card in Stripe. Returns the payment intent.
    async fn stripe_payment(&self, number: &str) -> anyhow::Result<String> {
        say("2. Stripe payment -> QuickBooks payment, HubSpot paid");
        let prefix = number.trim_end_matches("-0001");
        let customer = self
            .stripe(
                "customers",
                &[
                    ("name", "Jenny Rosen"),
                    ("email", "jenny.rosen@example.com"),
                    ("invoice_prefix", prefix),
                ],
            )
            .await?;
        let customer = customer["id"].as_str().context("Stripe customer id")?;
        let invoice = self
            .stripe("invoices", &[("customer", customer), ("currency", "usd")])
            .await?;
        let invoice = invoice["id"]
            .as_str()
            .context("Stripe invoice id")?
            .to_owned();
        for (name, quantity, price) in HUBSPOT_LINES {
            let cents = (Decimal::from_str(price)? * Decimal::ONE_HUNDRED)
                .trunc()
                .to_string();
            self.stripe(
                "invoiceitems",
                &[
                    ("customer", customer),
                    ("invoice", &invoice),
                    ("description", name),
                    ("quantity", quantity),
                    ("unit_amount", &cents),
                    ("currency", "usd"),
                ],
            )
            .await?;
        }
        let open = self
            .stripe(&format!("invoices/{invoice}/finalize"), &[])
            .await?;
        if open["number"] != number {
            bail!(
                "Stripe numbered the invoice {}, not {number}",
                open["number"]
            );
        }
        let paid = self
            .stripe(
                &format!("invoices/{invoice}/pay"),
                &[("payment_method", "pm_card_visa")],
            )
            .await?;
        let cents = paid["amount_paid"].as_i64().context("amount_paid")?;
        let total = Decimal::new(cents, 2);
        let intent = paid["payment_intent"]
            .as_str()
            .context("Stripe payment intent")?
            .to_owned();
        say(format!(
            "   Stripe: invoice {invoice} {number} paid by card, {} USD (charge {}, payment intent {intent}); signed invoice.paid and payment_intent.succeeded go to /webhooks/{}/stripe",
            money(total),
            paid["charge"].as_str().unwrap_or("?"),
            self.tenant
        ));
        let (found, took) = self
            .wait_for(
                &format!("the QuickBooks payment of {number} and HubSpot paid"),
                |s| {
                    let invoice = self.qbo_invoice(s, number)?;
                    let id = invoice["Id"].as_str()?;
                    let payment = self
                        .qbo(s, "payments")
                        .into_iter()
                        .find(|p| links_to(p, id))?;
                    let hubspot = self.hubspot_invoice(s, number)?;
                    let status = hubspot["properties"]["hs_invoice_status"].as_str()?;
                    (status == "paid" && dec(&invoice["Balance"])?.is_zero()).then(|| {
                        (
                            id.to_owned(),
                            payment["Id"].as_str().unwrap_or("?").to_owned(),
                            dec(&payment["TotalAmt"]).unwrap_or_default(),
                            hubspot["id"].as_str().unwrap_or("?").to_owned(),
                            text(&hubspot["properties"]["hs_balance_due"]),
                        )
                    })
                },
            )
            .await?;
        let (invoice_id, payment_id, amount, hubspot_id, balance_due) = found;
        say(format!(
            "   QuickBooks: Payment {payment_id}, TotalAmt {amount:.2}, linked to Invoice {invoice_id}, whose Balance is now 0 ({})",
            secs(took)
        ));
        say(format!(
            "   HubSpot: invoice {hubspot_id} {number} hs_invoice_status paid, hs_balance_due {balance_due}"
        ));
        say(format!(
            "OK Stripe invoice.paid {number} -> QuickBooks Payment {payment_id} linked to Invoice {invoice_id}; HubSpot {number} paid"
        ));
        Ok(intent)
    }

    /// Flow 3: part of the payment refunded in Stripe.
    async fn stripe_refund(&self, number: &str, payment_intent: &str) -> anyhow::Result<()> {
        say("3. Stripe refund -> QuickBooks refund receipt, HubSpot refunded amount");
        let amount = REFUND_CENTS.to_string();
        let refund = self
            .stripe(
                "refunds",
                &[("payment_intent", payment_intent), ("amount", &amount)],
            )
            .await?;
        let refund_id = refund["id"]
            .as_str()
            .context("Stripe refund id")?
            .to_owned();
        let refunded = Decimal::new(REFUND_CENTS, 2);
        say(format!(
            "   Stripe: refund {refund_id} of {} USD on {payment_intent}; signed refund.created and charge.refunded go to the router",
            money(refunded)
        ));
        let (found, took) = self
            .wait_for(
                &format!("the refund of {number} in QuickBooks and HubSpot"),
                |s| {
                    let receipt = self.qbo(s, "refund_receipts").into_iter().find(|r| {
                        r["PrivateNote"]
                            .as_str()
                            .is_some_and(|n| n.contains(&format!("invoice {number}")))
                    })?;
                    let hubspot = self.hubspot_invoice(s, number)?;
                    let shown = dec(&hubspot["properties"]["ledgerhook_amount_refunded"])?;
                    (shown == refunded).then(|| {
                        (
                            receipt["Id"].as_str().unwrap_or("?").to_owned(),
                            dec(&receipt["TotalAmt"]).unwrap_or_default(),
                            text(&receipt["PrivateNote"]),
                            text(&hubspot["properties"]["hs_invoice_status"]),
                            text(&hubspot["properties"]["ledgerhook_refund_status"]),
                        )
                    })
                },
            )
            .await?;
        let (receipt, total, note, status, refund_status) = found;
        say(format!(
            "   QuickBooks: RefundReceipt {receipt}, TotalAmt {total:.2}, PrivateNote \"{note}\" ({})",
            secs(took)
        ));
        say(format!(
            "   HubSpot: {number} hs_invoice_status {status}, ledgerhook_amount_refunded {refunded:.2}, ledgerhook_refund_status {refund_status}"
        ));
        say(format!(
            "OK Stripe refund {refund_id} -> QuickBooks RefundReceipt {receipt}; HubSpot {number} refunded {refunded:.2}"
        ));
        Ok(())
    }

    /// A customer and an invoice made in QuickBooks, numbered by QuickBooks.
    async fn qbo_invoice_made(
        &self,
        customer: &str,
        lines: &[(&str, u32, &str)],
    ) -> anyhow::Result<QboInvoice> {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(description, qty, unit)| {
                let unit = Decimal::from_str(unit).unwrap_or_default();
                json!({ "DetailType": "SalesItemLineDetail", "Description": description,
                        "Amount": num(unit * Decimal::from(*qty)),
                        "SalesItemLineDetail": { "Qty": qty, "UnitPrice": num(unit),
                                                 "ItemRef": { "value": "1" } } })
            })
            .collect();
        let today = chrono::Utc::now().date_naive();
        let invoice = self
            .quickbooks(
                Method::POST,
                "invoice?minorversion=75",
                Some(json!({
                    "CustomerRef": { "value": customer }, "TxnDate": today.to_string(),
                    "DueDate": (today + chrono::Days::new(30)).to_string(),
                    "CurrencyRef": { "value": "USD" },
                    "BillEmail": { "Address": "ap@initech.example" }, "Line": lines
                })),
            )
            .await?;
        let invoice = &invoice["Invoice"];
        Ok(QboInvoice {
            id: invoice["Id"]
                .as_str()
                .context("QuickBooks invoice id")?
                .to_owned(),
            number: invoice["DocNumber"]
                .as_str()
                .context("QuickBooks DocNumber")?
                .to_owned(),
            customer: customer.to_owned(),
            total: dec(&invoice["TotalAmt"]).context("QuickBooks TotalAmt")?,
        })
    }

    /// The QuickBooks customer named `name`, made when missing: its id and name.
    async fn qbo_customer(&self, name: &str) -> anyhow::Result<(String, String)> {
        let query = format!("select * from Customer where DisplayName = '{name}'");
        let found = self
            .quickbooks(
                Method::GET,
                &format!(
                    "query?query={}&minorversion=75",
                    url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
                ),
                None,
            )
            .await?;
        let customer = match found["QueryResponse"]["Customer"].get(0) {
            Some(customer) => customer.clone(),
            None => self
                .quickbooks(
                    Method::POST,
                    "customer?minorversion=75",
                    Some(json!({ "DisplayName": name, "CompanyName": name,
                                 "PrimaryEmailAddr": { "Address": "ap@initech.example" } })),
                )
                .await?["Customer"]
                .clone(),
        };
        Ok((
            customer["Id"]
                .as_str()
                .context("QuickBooks customer id")?
                .to_owned(),
            text(&customer["DisplayName"]),
        ))
    }

    /// Flow 4: two invoices made in QuickBooks. Returns them: the one to pay, the one to void.
    async fn quickbooks_to_hubspot(&self) -> anyhow::Result<(QboInvoice, QboInvoice)> {
        say("4. QuickBooks invoices -> HubSpot");
        let (customer_id, name) = self.qbo_customer("Initech Ltd").await?;

        let paid = self
            .qbo_invoice_made(
                &customer_id,
                &[("Support plan", 3, "150.00"), ("Travel", 1, "89.99")],
            )
            .await?;
        let voided = self
            .qbo_invoice_made(&customer_id, &[("Setup", 2, "12.50")])
            .await?;
        for invoice in [&paid, &voided] {
            say(format!(
                "   QuickBooks: Invoice {}, DocNumber {}, {} USD for {name}; Intuit's signed notification goes to /webhooks/{}/quickbooks",
                invoice.id,
                invoice.number,
                money(invoice.total),
                self.tenant
            ));
        }
        let (found, took) = self
            .wait_for("both QuickBooks invoices open in HubSpot", |s| {
                let mut seen = Vec::new();
                for invoice in [&paid, &voided] {
                    let hubspot = self.hubspot_invoice(s, &invoice.number)?;
                    let billed = dec(&hubspot["properties"]["hs_amount_billed"])?;
                    if hubspot["properties"]["hs_invoice_status"] != "open"
                        || billed != invoice.total
                    {
                        return None;
                    }
                    let lines = hubspot["associations"]["line_items"]["results"]
                        .as_array()
                        .map_or(0, Vec::len);
                    seen.push((
                        hubspot["id"].as_str().unwrap_or("?").to_owned(),
                        billed,
                        lines,
                    ));
                }
                Some(seen)
            })
            .await?;
        for ((id, billed, lines), invoice) in found.iter().zip([&paid, &voided]) {
            say(format!(
                "   HubSpot: invoice {id} {} open, hs_amount_billed {billed:.2}, {} ({})",
                invoice.number,
                count(*lines, "line item"),
                secs(took)
            ));
        }
        say(format!(
            "OK QuickBooks invoices {} and {} -> HubSpot invoices {} and {}",
            paid.number, voided.number, found[0].0, found[1].0
        ));
        Ok((paid, voided))
    }

    /// Flow 5: one of them paid in QuickBooks, the other voided.
    async fn quickbooks_payment_and_void(
        &self,
        paid: &QboInvoice,
        voided: &QboInvoice,
    ) -> anyhow::Result<()> {
        say("5. QuickBooks payment and void -> HubSpot paid and voided");
        let payment = self
            .quickbooks(
                Method::POST,
                "payment?minorversion=75",
                Some(json!({
                    "CustomerRef": { "value": paid.customer }, "TotalAmt": num(paid.total),
                    "TxnDate": chrono::Utc::now().date_naive().to_string(),
                    "Line": [{ "Amount": num(paid.total),
                               "LinkedTxn": [{ "TxnId": paid.id, "TxnType": "Invoice" }] }]
                })),
            )
            .await?;
        let payment_id = payment["Payment"]["Id"]
            .as_str()
            .context("QuickBooks payment id")?
            .to_owned();
        let current = self
            .quickbooks(Method::GET, &format!("invoice/{}", voided.id), None)
            .await?;
        self.quickbooks(
            Method::POST,
            "invoice?operation=void",
            Some(json!({ "Id": voided.id, "SyncToken": current["Invoice"]["SyncToken"] })),
        )
        .await?;
        say(format!(
            "   QuickBooks: Payment {payment_id} of {:.2} linked to Invoice {} ({}); Invoice {} ({}) voided",
            paid.total, paid.id, paid.number, voided.id, voided.number
        ));
        let (found, took) = self
            .wait_for("HubSpot paid and voided", |s| {
                let a = self.hubspot_invoice(s, &paid.number)?;
                let b = self.hubspot_invoice(s, &voided.number)?;
                (a["properties"]["hs_invoice_status"] == "paid"
                    && b["properties"]["hs_invoice_status"] == "voided")
                    .then(|| {
                        (
                            text(&a["id"]),
                            text(&a["properties"]["hs_balance_due"]),
                            text(&b["id"]),
                        )
                    })
            })
            .await?;
        let (a, balance, b) = found;
        say(format!(
            "   HubSpot: invoice {a} {} hs_invoice_status paid, hs_balance_due {balance}; invoice {b} {} voided ({})",
            paid.number,
            voided.number,
            secs(took)
        ));
        say(format!(
            "OK QuickBooks Payment {payment_id} -> HubSpot {} paid; QuickBooks void -> HubSpot {} voided",
            paid.number, voided.number
        ));
        Ok(())
    }

    async fn admin_get(&self, path: &str) -> anyhow::Result<Value> {
        let mut request = self.http.get(format!("{}{path}", self.admin_url));
        if let Some(token) = &self.admin_token {
            request = request.bearer_auth(token);
        }
        let answer = request
            .send()
            .await
            .with_context(|| format!("the admin API at {} does not answer", self.admin_url))?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("admin API {path}: {status} {body}");
        }
        Ok(body)
    }

    /// What the event journal holds for the invoice number: each event and where it went.
    async fn journal(&self, number: &str) -> anyhow::Result<()> {
        let journal = self
            .admin_get(&format!(
                "/api/v1/events?tenant={}&q={number}&limit=20",
                self.tenant
            ))
            .await?;
        let mut items = journal["items"].as_array().cloned().unwrap_or_default();
        items.reverse();
        say(format!(
            "journal of {number} (GET /api/v1/events?q={number}): {} events",
            items.len()
        ));
        for item in &items {
            let mut line = format!(
                "   {} {}",
                item["source"].as_str().unwrap_or("?"),
                item["type"].as_str().unwrap_or("?")
            );
            for step in item["steps"].as_array().into_iter().flatten() {
                let _ = write!(
                    line,
                    "; {} {}",
                    step["destination"].as_str().unwrap_or("?"),
                    step["step"].as_str().unwrap_or("?")
                );
                if let Some(target) = step["target_id"].as_str() {
                    let _ = write!(line, " {target}");
                }
            }
            say(line);
        }
        Ok(())
    }

    async fn no_dead_letters(&self) -> anyhow::Result<()> {
        let list = self
            .admin_get(&format!(
                "/api/v1/dead-letters?tenant={}&status=open&limit=500",
                self.tenant
            ))
            .await?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        say(format!(
            "open dead letters of tenant {}: {}",
            self.tenant,
            items.len()
        ));
        if let Some(first) = items.first() {
            bail!(
                "{} events became dead letters, e.g. {} {}: {}",
                items.len(),
                first["type"].as_str().unwrap_or("?"),
                first["subject"].as_str().unwrap_or("?"),
                first["reason"].as_str().unwrap_or("?")
            );
        }
        Ok(())
    }
}

/// Whether a QuickBooks payment applies to the invoice `id`.
fn links_to(payment: &Value, id: &str) -> bool {
    payment["Line"].as_array().is_some_and(|lines| {
        lines.iter().any(|l| {
            l["LinkedTxn"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["TxnId"] == id))
        })
    })
}

/// An amount as a JSON number, written with its exact digits.
fn num(amount: Decimal) -> Value {
    Value::from_str(&amount.to_string()).unwrap_or(Value::Null)
}

/// A JSON number or numeric string as an exact decimal.
fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s).ok(),
        Value::Number(_) => Decimal::from_str(&v.to_string()).ok(),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// `1 invoice`, `2 invoices`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn secs(d: Duration) -> String {
    format!("after {:.1} s", d.as_secs_f64())
}

/// `1234.5` as `1,234.50`.
fn money(amount: Decimal) -> String {
    let fixed = format!("{:.2}", amount.round_dp(2));
    let (sign, digits) = fixed
        .strip_prefix('-')
        .map_or(("", fixed.as_str()), |d| ("-", d));
    let (whole, cents) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{cents}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_with_two_decimals() {
        assert_eq!(money(Decimal::new(123_450, 2)), "1,234.50");
        assert_eq!(money(Decimal::new(2_345, 1)), "234.50");
        assert_eq!(money(Decimal::new(-100_000_000, 2)), "-1,000,000.00");
        assert_eq!(money(Decimal::ZERO), "0.00");
    }

    #[test]
    fn a_number_or_a_string_is_an_exact_decimal() {
        assert_eq!(dec(&json!(1234.5)), Some(Decimal::new(12_345, 1)));
        assert_eq!(dec(&json!("89.99")), Some(Decimal::new(8_999, 2)));
        assert_eq!(dec(&Value::Null), None);
    }
}

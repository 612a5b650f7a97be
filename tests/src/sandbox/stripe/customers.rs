//! `POST /v1/customers` and `GET /v1/customers/{id}` (docs.stripe.com/api/customers).
//!
//! Create takes `name`, `email`, `phone`, `description`, `address[...]`, `metadata[...]`,
//! `invoice_prefix` (3 to 12 uppercase letters or digits; else eight random ones, as Stripe
//! picks), `payment_method` and `invoice_settings[default_payment_method]` (one of Stripe's test
//! payment methods, e.g. `pm_card_visa`, which invoice payments then use). Other parameters are
//! accepted and not modelled. Each customer numbers its own invoices `<prefix>-0001`, ...,
//! Stripe's default customer-level numbering.

use chrono::Utc;

use super::{
    form::{leaf, Form},
    model::{invoice_prefix, new_id, test_card, Account, Address, Customer},
    output,
    reply::{self, ApiError, Reply},
};

pub(crate) fn create(account: &mut Account, form: &Form) -> Result<Reply, ApiError> {
    let prefix = match form.str("invoice_prefix") {
        Some(p) => {
            let valid = (3..=12).contains(&p.len())
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !valid {
                return Err(reply::invalid(
                    "Invoice prefix must be between 3 and 12 characters long, and can only contain uppercase letters and numbers.",
                    "invoice_prefix",
                    None,
                ));
            }
            p.to_owned()
        }
        None => invoice_prefix(),
    };
    let settings = form.hash("invoice_settings");
    let default_pm = settings
        .and_then(|s| leaf(s.get("default_payment_method")))
        .map(|pm| (pm, "invoice_settings[default_payment_method]"))
        .or_else(|| form.str("payment_method").map(|pm| (pm, "payment_method")));
    if let Some((pm, param)) = default_pm {
        if test_card(pm).is_none() {
            return Err(reply::no_such_param("PaymentMethod", pm, param));
        }
    }
    let address = form.hash("address").map(|a| Address {
        city: leaf(a.get("city")).map(str::to_owned),
        country: leaf(a.get("country")).map(str::to_owned),
        line1: leaf(a.get("line1")).map(str::to_owned),
        line2: leaf(a.get("line2")).map(str::to_owned),
        postal_code: leaf(a.get("postal_code")).map(str::to_owned),
        state: leaf(a.get("state")).map(str::to_owned),
    });
    let customer = Customer {
        id: new_id("cus_"),
        created: Utc::now().timestamp(),
        name: form.str("name").map(str::to_owned),
        email: form.str("email").map(str::to_owned),
        phone: form.str("phone").map(str::to_owned),
        description: form.str("description").map(str::to_owned),
        address: address.filter(|a| a != &Address::default()),
        metadata: form.metadata()?,
        invoice_prefix: prefix,
        next_invoice_sequence: 1,
        default_payment_method: default_pm.map(|(pm, _)| pm.to_owned()),
    };
    let body = output::customer(&customer);
    account.customers.push(customer);
    Ok(Reply::ok(body.clone()).event("customer.created", body))
}

pub(crate) fn get(account: &Account, id: &str) -> Result<Reply, ApiError> {
    let customer = account
        .customer(id)
        .ok_or_else(|| reply::no_such("customer", id))?;
    Ok(Reply::ok(output::customer(customer)))
}

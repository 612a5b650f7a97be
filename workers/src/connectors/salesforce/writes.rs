//! The Salesforce client's record writes: creates, Contacts under an Account, and the invoice
//! upsert by external id with its fallbacks.

use ledgerhook_shared::model::Customer;
use reqwest::Method;

use super::{
    http::{parse, soql_string},
    map::{self, Kind},
    wire::{self, Fields, SaveResult, Value},
    SalesforceClient,
};
use crate::connectors::{ApplyError, RemoteCustomer};

impl SalesforceClient {
    pub(super) async fn create(&self, object: &str, fields: &Fields) -> Result<String, ApplyError> {
        let bytes = self
            .write(Method::POST, &["sobjects", object], fields)
            .await?;
        let saved: SaveResult = parse(&bytes)?;
        if saved.id.is_empty() {
            return Err(ApplyError::permanent(format!(
                "Salesforce did not create the {object}: {}",
                wire::SfError::describe_all(&saved.errors)
            )));
        }
        Ok(saved.id)
    }

    pub(super) async fn create_contact(
        &self,
        customer: &Customer,
        email: &str,
        account_id: &str,
    ) -> Result<RemoteCustomer, ApplyError> {
        let name = customer.name.as_deref().filter(|n| !n.trim().is_empty());
        let (first, last) = map::contact_names(name.unwrap_or(email));
        let mut fields = Fields::from([
            ("LastName".to_owned(), Value::Text(last.to_owned())),
            ("Email".to_owned(), Value::Text(email.to_owned())),
            ("AccountId".to_owned(), Value::Text(account_id.to_owned())),
        ]);
        if let Some(first) = first {
            fields.insert("FirstName".to_owned(), Value::Text(first.to_owned()));
        }
        if let Some(phone) = &customer.phone {
            fields.insert("Phone".to_owned(), Value::Text(phone.clone()));
        }
        let id = self.create("Contact", &fields).await?;
        Ok(RemoteCustomer {
            id: Kind::Contact.prefixed(&id),
            name: Some(name.unwrap_or(email).trim().to_owned()),
            email: Some(email.to_owned()),
        })
    }

    /// Upserts by external id and returns the record's Id.
    pub(super) async fn upsert_by_external_id(
        &self,
        value: &str,
        fields: &Fields,
    ) -> Result<String, ApplyError> {
        let object = self.options.invoice_object.as_str();
        let external = self.options.invoice_fields.external_id.as_str();
        // The value is a path segment. How Salesforce treats an encoded `/` there is not
        // documented, so such values are matched with SOQL and written by Id instead.
        let found = if value.contains('/') {
            let soql = format!(
                "SELECT Id FROM {object} WHERE {external} = {}",
                soql_string(value)
            );
            Some(self.first(soql).await?.map(|r| r.id()))
        } else {
            None
        };
        let bytes = match found {
            Some(Some(id)) => {
                self.write(Method::PATCH, &["sobjects", object, &id], fields)
                    .await?;
                return Ok(id);
            }
            Some(None) => {
                let mut with_key = fields.clone();
                with_key.insert(external.to_owned(), Value::Text(value.to_owned()));
                return self.create(object, &with_key).await;
            }
            None => {
                let path = ["sobjects", object, external, value];
                self.write(Method::PATCH, &path, fields).await?
            }
        };
        // API 46.0 and later answer 200/201 with the id; older versions answer an update 204.
        let id = if bytes.is_empty() {
            String::new()
        } else {
            parse::<SaveResult>(&bytes)?.id
        };
        if !id.is_empty() {
            return Ok(id);
        }
        let soql = format!(
            "SELECT Id FROM {object} WHERE {external} = {}",
            soql_string(value)
        );
        self.first(soql)
            .await?
            .map(|r| r.id())
            .ok_or_else(|| ApplyError::transient("Salesforce upserted an invoice it cannot find"))
    }
}

//! What a click does (the `link-redirect` function's use case): count it (and its visitor,
//! once a link and day) for the code's send context, and when the visitor is a known
//! customer publish `CustomerInteracted`. The count (two small writes, one after the other)
//! and the publication go out at once, so the redirect waits for the slower of the two, not
//! their sum.
use super::model::{LinkCode, Visitor};
use super::ports::LinkStore;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher, LinkClick};
use chrono::{DateTime, Utc};

/// What recording a click did. A failure is reported, never raised: the visitor is sent
/// on to the target whatever happens to the figures.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The customer the click was recorded against, if identified.
    pub customer: Option<String>,
    /// Whether it was the visitor's first click of the link that day.
    pub new_visitor: bool,
    /// Why counting failed, if it did.
    pub count_error: Option<String>,
    /// Why publishing failed, if it did.
    pub publish_error: Option<String>,
}

/// The customer a click is recorded against: the verified token's (of the code's tenant),
/// else the one customer the code was sent to (a welcome message), else nobody.
pub fn identify(code: &LinkCode, token_customer: Option<(&str, &str)>) -> Option<String> {
    token_customer
        .filter(|(tenant, _)| *tenant == code.tenant)
        .map(|(_, customer)| customer.to_string())
        .or_else(|| code.context.customer.clone())
}

/// The event of a customer's click (`click_id` unique per click: a ULID).
pub fn click_event(
    code: &LinkCode,
    customer: &str,
    click_id: &str,
    at: DateTime<Utc>,
) -> EventEnvelope {
    EventEnvelope::new(
        format!("lc:{click_id}"),
        code.tenant.clone(),
        at,
        DomainEvent::CustomerInteracted {
            external_userid: customer.to_string(),
            interaction: "link_click".into(),
            userid: code.context.staff.clone(),
            link: Some(LinkClick {
                link_id: code.link_id.clone(),
                code: code.code.as_str().to_string(),
                title: code.title.clone(),
                url: code.url.clone(),
                via: code.context.via.as_str().to_string(),
                plan: code.context.plan.clone(),
                channel: code.context.channel.clone(),
            }),
        },
    )
}

/// Who a click is counted for among the link's visitors: the customer when identified,
/// else the browser's visitor cookie.
pub fn visitor_of(customer: Option<&str>, anonymous_id: &str) -> Visitor {
    match customer {
        Some(c) => Visitor::Customer(c.to_string()),
        None => Visitor::Anonymous(anonymous_id.to_string()),
    }
}

/// Counts a click of `code` (on the tenant's local day) by `visitor` and, for an
/// identified customer, publishes its event, both at once.
pub async fn record<S: LinkStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    code: &LinkCode,
    customer: Option<String>,
    visitor: &Visitor,
    click_id: &str,
    at: DateTime<Utc>,
) -> Recorded {
    let date = at.with_timezone(&code.tz()).date_naive();
    let count = store.count_click(code, date, customer.is_some(), visitor);
    let publish = async {
        match &customer {
            Some(c) => publisher
                .publish(&[click_event(code, c, click_id, at)])
                .await
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    };
    let (counted, published) = futures::join!(count, publish);
    Recorded {
        customer,
        new_visitor: counted.as_ref().is_ok_and(|new| *new),
        count_error: counted.err().map(|e| e.to_string()),
        publish_error: published.err(),
    }
}

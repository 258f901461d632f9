//! A customer's smart forms: a published form with their answers, and a submit (an
//! `Idempotency-Key` is required; one submission per customer and form, a later submit
//! replaces it). Rules in [`scrm_core::forms::submit`].
use crate::{Api, Caller};
use axum::extract::State;
use scrm_adapters::dynamo::DynamoGrowth;
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::forms::model::RawAnswers;
use scrm_core::forms::submit::{customer_form, submit as submit_answers};
use scrm_core::points::IdempotencyKey;
use serde::Deserialize;

/// What the forms routes use.
pub struct Forms {
    /// Forms and submissions (the tasks table).
    pub store: DynamoGrowth,
    /// Where `FormSubmitted` goes (`growth-on-event` puts the tags and remark on).
    pub publisher: AnyPublisher,
}

impl Forms {
    /// Forms over `db` whose submissions publish nowhere (benchmarks and the tests of
    /// other routes, which never submit).
    pub fn unpublished(db: &scrm_adapters::dynamo::Db) -> Self {
        Forms {
            store: DynamoGrowth::new(db.clone()),
            publisher: AnyPublisher::Discard,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    answers: RawAnswers,
}

pub(crate) async fn form(State(api): Api, c: Caller, head: Head) -> Reply {
    let out = customer_form(&api.forms.store, &c.account, head.param(0)).await?;
    Ok(json(200, &out))
}

pub(crate) async fn submit(
    State(api): Api,
    c: Caller,
    head: Head,
    RawBody(body): RawBody,
) -> Reply {
    let key = head
        .header("idempotency-key")
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                "an Idempotency-Key header is required",
            )
        })
        .and_then(|k| IdempotencyKey::parse(k).map_err(|e| ApiError::validation(e.to_string())))?;
    let body: SubmitBody = json_body(&body, MAX_JSON_BODY)?;
    let out = submit_answers(
        &api.forms.store,
        &api.points,
        &api.forms.publisher,
        &c.account,
        head.param(0),
        key.as_str(),
        &body.answers,
        c.when,
    )
    .await?;
    Ok(json(if out.replayed { 200 } else { 201 }, &out))
}

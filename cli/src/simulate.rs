//! `scrm simulate <event>`: send a customer-contact callback to a callback URL exactly as
//! WeCom would (plaintext XML, encrypted, signed, POSTed with msg_signature, timestamp and
//! nonce), or run WeCom's GET URL verification.
//!
//! Defaults are derived from the arguments, not random, so running the same command with
//! the same `--create-time` produces the same event (and the same dedupe key): that is how
//! a WeCom re-delivery looks. `--repeat` sends it several times in a row.
use crate::wecom::{crypto_failure, now_timestamp, random_nonce, CallbackSecrets, CRYPTO_FAILURE};
use anyhow::Context;
use clap::{Args, ValueEnum};
use rand::Rng;
use scrm_core::wecom::crypto::CallbackCrypto;
use scrm_core::wecom::events::{
    CallbackEvent, ChatChange, ChatUpdate, ContactChange, DeleteSource, EventHeader, TagChange,
    TagType, TransferFailReason, UpdateDetail,
};
use sha2::{Digest, Sha256};
use std::process::ExitCode;
use std::time::Duration;

/// The callbacks `scrm simulate` can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimEvent {
    /// change_external_contact / add_external_contact.
    AddContact,
    /// change_external_contact / add_half_external_contact.
    AddHalfContact,
    /// change_external_contact / edit_external_contact.
    EditContact,
    /// change_external_contact / del_external_contact (the member deleted the customer).
    DelContact,
    /// change_external_contact / del_follow_user (the customer deleted the member).
    DelFollowUser,
    /// change_external_contact / transfer_fail.
    TransferFail,
    /// change_external_chat / create.
    ChatCreate,
    /// change_external_chat / update / add_member.
    ChatAddMember,
    /// change_external_chat / update / del_member.
    ChatDelMember,
    /// change_external_chat / update / change_owner.
    ChatChangeOwner,
    /// change_external_chat / update / change_name.
    ChatChangeName,
    /// change_external_chat / update / change_notice.
    ChatChangeNotice,
    /// change_external_chat / dismiss.
    ChatDismiss,
    /// change_external_tag / create.
    TagCreate,
    /// change_external_tag / update.
    TagUpdate,
    /// change_external_tag / delete.
    TagDelete,
    /// change_external_tag / shuffle.
    TagShuffle,
    /// GET URL verification with an encrypted echostr; checks the answer.
    Verify,
}

/// Arguments of `scrm simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The callback to send.
    #[arg(value_enum)]
    event: SimEvent,
    /// The callback URL, e.g. http://127.0.0.1:9000/callback/{corp_id} (`{corp_id}` is
    /// replaced by --corp-id).
    #[arg(long, required_unless_present = "dry_run")]
    url: Option<String>,
    #[command(flatten)]
    secrets: CallbackSecrets,
    /// UserID: the staff member (the new owner for chat-change-owner).
    #[arg(long, default_value = "zhangsan")]
    user_id: String,
    /// ExternalUserID: the customer.
    #[arg(long, default_value = "wmSimulatedCustomer0001")]
    external_user_id: String,
    /// ChatId: the customer group.
    #[arg(long, default_value = "wrSimulatedGroup0001")]
    chat_id: String,
    /// State: the channel of a 「联系我」 code (add-contact, add-half-contact, edit-contact).
    #[arg(long)]
    state: Option<String>,
    /// WelcomeCode (add-contact, add-half-contact); default derived from the event.
    #[arg(long)]
    welcome_code: Option<String>,
    /// Send no WelcomeCode (as when an admin welcome message is configured).
    #[arg(long, conflicts_with = "welcome_code")]
    no_welcome_code: bool,
    /// Source of del-contact, e.g. DELETE_BY_TRANSFER.
    #[arg(long)]
    source: Option<String>,
    /// FailReason of transfer-fail.
    #[arg(long, default_value = "customer_refused")]
    fail_reason: String,
    /// MemChangeList items of chat-add-member / chat-del-member (repeatable); default: the
    /// --external-user-id.
    #[arg(long = "member-id")]
    member_ids: Vec<String>,
    /// JoinScene of chat-add-member (0 invited by a member, 3 scanned the QR code).
    #[arg(long, default_value_t = 3)]
    join_scene: i64,
    /// QuitScene of chat-del-member (0 left, 1 removed by the owner).
    #[arg(long, default_value_t = 0)]
    quit_scene: i64,
    /// Id of the tag (or tag group) of tag-* events; tag-shuffle accepts an empty one.
    #[arg(long, default_value = "etSimulatedTag0001")]
    tag_id: String,
    /// TagType of tag-* events: tag or tag_group.
    #[arg(long, default_value = "tag")]
    tag_type: String,
    /// StrategyId (rule group) of tag-* events.
    #[arg(long)]
    strategy_id: Option<String>,
    /// CreateTime of the event (default: now).
    #[arg(long)]
    create_time: Option<i64>,
    /// Put an AgentID element in the envelope.
    #[arg(long)]
    agent_id: Option<String>,
    /// Send the same event this many times, as WeCom's retries do.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
    /// Print the plaintext, the envelope and the query instead of sending.
    #[arg(long)]
    dry_run: bool,
    /// HTTP timeout in seconds (WeCom gives up after 5).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

/// Runs `scrm simulate …`. Exit code 2 when the endpoint answers with a non-2xx status or
/// fails URL verification.
pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let crypto = match args.secrets.crypto() {
        Ok(c) => c,
        Err(e) => return Ok(crypto_failure("simulate", &e)),
    };
    let url = args
        .url
        .as_deref()
        .map(|u| u.replace("{corp_id}", &args.secrets.corp_id));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .context("building the HTTP client")?;
    let create_time = args
        .create_time
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    let Some(event) = build_event(&args, create_time) else {
        return verify(&args, &crypto, &http, url.as_deref()).await;
    };
    let plaintext = event.to_xml();
    let mut failed = false;
    for attempt in 1..=args.repeat {
        let timestamp = now_timestamp();
        let nonce = random_nonce();
        let msg = crypto.encrypt_message(plaintext.as_bytes(), &timestamp, &nonce);
        let body = msg.callback_xml(args.agent_id.as_deref());
        let Some(url) = url.as_deref().filter(|_| !args.dry_run) else {
            println!("{plaintext}\n");
            println!("{body}\n");
            println!("{}", msg.query());
            eprintln!(
                "event {}/{} dedupe_key {}",
                event.event_name(),
                event.change_type(),
                event.dedupe_key()
            );
            return Ok(ExitCode::SUCCESS);
        };
        eprintln!(
            "[{attempt}/{}] POST {url} event {}/{} dedupe_key {}",
            args.repeat,
            event.event_name(),
            event.change_type(),
            event.dedupe_key()
        );
        let resp = http
            .post(url)
            .query(&[
                ("msg_signature", msg.msg_signature.as_str()),
                ("timestamp", msg.timestamp.as_str()),
                ("nonce", msg.nonce.as_str()),
            ])
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        let text = resp.text().await.context("reading the response body")?;
        println!("{status}");
        println!("{text}");
        failed |= !status.is_success();
    }
    Ok(if failed {
        ExitCode::from(CRYPTO_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

/// GET URL verification: an encrypted random number as echostr; the endpoint must answer
/// 200 with exactly that number.
async fn verify(
    args: &SimulateArgs,
    crypto: &CallbackCrypto,
    http: &reqwest::Client,
    url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let expected = rand::rng()
        .random_range(1_000_000_000_000_000_000u64..u64::MAX)
        .to_string();
    let timestamp = now_timestamp();
    let nonce = random_nonce();
    let msg = crypto.encrypt_message(expected.as_bytes(), &timestamp, &nonce);
    let Some(url) = url.filter(|_| !args.dry_run) else {
        println!("{expected}\n");
        println!("{}", msg.verify_query());
        return Ok(ExitCode::SUCCESS);
    };
    eprintln!("GET {url} (URL verification, expecting {expected})");
    let resp = http
        .get(url)
        .query(&[
            ("msg_signature", msg.msg_signature.as_str()),
            ("timestamp", msg.timestamp.as_str()),
            ("nonce", msg.nonce.as_str()),
            ("echostr", msg.encrypt.as_str()),
        ])
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let text = resp.text().await.context("reading the response body")?;
    println!("{status}");
    println!("{text}");
    if status.is_success() && text == expected {
        eprintln!("URL verification OK");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "URL verification FAILED: expected HTTP 200 with body {expected:?} (no quotes, no newline)"
        );
        Ok(ExitCode::from(CRYPTO_FAILURE))
    }
}

/// Builds the event the arguments describe (`None` for `verify`, which sends no event).
fn build_event(args: &SimulateArgs, create_time: i64) -> Option<CallbackEvent> {
    let corp = args.secrets.corp_id.as_str();
    let header = EventHeader::system(corp, create_time);
    let contact = |change: ContactChange| CallbackEvent::ExternalContact {
        header: header.clone(),
        user_id: args.user_id.clone(),
        external_user_id: args.external_user_id.clone(),
        change,
    };
    let welcome_code = || {
        if args.no_welcome_code {
            None
        } else {
            Some(args.welcome_code.clone().unwrap_or_else(|| {
                let seed = derive(&[
                    corp,
                    &args.user_id,
                    &args.external_user_id,
                    &create_time.to_string(),
                ]);
                format!("WC{}", &seed[..30])
            }))
        }
    };
    let chat = |change: ChatChange| CallbackEvent::ExternalChat {
        header: header.clone(),
        chat_id: args.chat_id.clone(),
        change,
    };
    let update = |detail: UpdateDetail| {
        let members: Vec<String> = match detail {
            UpdateDetail::AddMember | UpdateDetail::DelMember if args.member_ids.is_empty() => {
                vec![args.external_user_id.clone()]
            }
            UpdateDetail::AddMember | UpdateDetail::DelMember => args.member_ids.clone(),
            _ => Vec::new(),
        };
        let mut seed: Vec<&str> = vec![corp, &args.chat_id, detail.as_str()];
        let time = create_time.to_string();
        seed.push(&time);
        seed.extend(members.iter().map(String::as_str));
        let versions = derive(&seed);
        let mut u = ChatUpdate::new(detail.clone());
        match detail {
            UpdateDetail::AddMember => u.join_scene = Some(args.join_scene),
            UpdateDetail::DelMember => u.quit_scene = Some(args.quit_scene),
            _ => {}
        }
        if !members.is_empty() {
            u.mem_change_cnt = i64::try_from(members.len()).ok();
        }
        u.mem_change_list = members;
        u.last_mem_ver = Some(versions[..32].to_string());
        u.cur_mem_ver = Some(versions[32..].to_string());
        chat(ChatChange::Update(u))
    };
    let tag = |change: TagChange| CallbackEvent::ExternalTag {
        header: header.clone(),
        id: args.tag_id.clone(),
        tag_type: match change {
            TagChange::Shuffle => None,
            _ => Some(TagType::parse(&args.tag_type)),
        },
        strategy_id: args.strategy_id.clone(),
        change,
    };
    let event = match args.event {
        SimEvent::AddContact => contact(ContactChange::Add {
            state: args.state.clone(),
            welcome_code: welcome_code(),
        }),
        SimEvent::AddHalfContact => contact(ContactChange::AddHalf {
            state: args.state.clone(),
            welcome_code: welcome_code(),
        }),
        SimEvent::EditContact => contact(ContactChange::Edit {
            state: args.state.clone(),
        }),
        SimEvent::DelContact => contact(ContactChange::Delete {
            source: args.source.as_deref().map(DeleteSource::parse),
        }),
        SimEvent::DelFollowUser => contact(ContactChange::DeleteFollowUser),
        SimEvent::TransferFail => contact(ContactChange::TransferFail {
            fail_reason: Some(TransferFailReason::parse(&args.fail_reason)),
        }),
        SimEvent::ChatCreate => chat(ChatChange::Create),
        SimEvent::ChatAddMember => update(UpdateDetail::AddMember),
        SimEvent::ChatDelMember => update(UpdateDetail::DelMember),
        SimEvent::ChatChangeOwner => update(UpdateDetail::ChangeOwner),
        SimEvent::ChatChangeName => update(UpdateDetail::ChangeName),
        SimEvent::ChatChangeNotice => update(UpdateDetail::ChangeNotice),
        SimEvent::ChatDismiss => chat(ChatChange::Dismiss),
        SimEvent::TagCreate => tag(TagChange::Create),
        SimEvent::TagUpdate => tag(TagChange::Update),
        SimEvent::TagDelete => tag(TagChange::Delete),
        SimEvent::TagShuffle => tag(TagChange::Shuffle),
        SimEvent::Verify => return None,
    };
    Some(event)
}

/// 64 hex characters derived from the parts: stable stand-ins for WeCom-generated values
/// (welcome codes, member-list versions).
fn derive(parts: &[&str]) -> String {
    let mut sha = Sha256::new();
    for part in parts {
        sha.update((part.len() as u64).to_be_bytes());
        sha.update(part.as_bytes());
    }
    hex::encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn args(extra: &[&str]) -> SimulateArgs {
        let mut argv = vec![
            "scrm",
            "--dry-run",
            "--token",
            "QDG6eK",
            "--aes-key",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "--corp-id",
            "wwcorp",
        ];
        argv.extend_from_slice(extra);
        match Wrapper::try_parse_from(argv) {
            Ok(w) => w.args,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_event_builds_and_parses_back() {
        for event in SimEvent::value_variants() {
            if *event == SimEvent::Verify {
                continue;
            }
            let name = event.to_possible_value().map(|v| v.get_name().to_string());
            let name = name.unwrap_or_default();
            let a = args(&[&name, "--member-id", "wmA", "--member-id", "wmB"]);
            let ev = build_event(&a, 1_700_000_000).expect("an event");
            let back = CallbackEvent::parse(&ev.to_xml()).expect("parses");
            assert_eq!(back, ev, "{name}");
            assert!(!matches!(back, CallbackEvent::Unknown { .. }), "{name}");
        }
    }

    #[test]
    fn same_arguments_give_the_same_event() {
        let key = |extra: &[&str]| {
            build_event(&args(extra), 1_700_000_000)
                .expect("an event")
                .dedupe_key()
        };
        assert_eq!(key(&["chat-add-member"]), key(&["chat-add-member"]));
        assert_ne!(
            key(&["chat-add-member"]),
            key(&["chat-add-member", "--member-id", "wmX"])
        );
        assert_ne!(
            key(&["add-contact"]),
            key(&["add-contact", "--external-user-id", "wmOther"])
        );
        assert!(build_event(&args(&["verify"]), 1).is_none());
    }
}

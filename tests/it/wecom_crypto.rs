//! WeCom callback crypto against an independent implementation: Python's wechatpy
//! (`tests/python/wechatpy_crypto.py`). Rust encrypts and wechatpy decrypts, wechatpy
//! encrypts and Rust decrypts, and with the same random prefix both produce the same bytes.
//!
//! These tests need `python3` with wechatpy and cryptography (`requirements-dev.txt`,
//! installed by `scripts/test.sh`). Without them they fail, loudly: an interop test that
//! silently skips proves nothing.
use scrm_core::wecom::crypto::{CallbackCrypto, CryptoError};
use scrm_core::wecom::events::{CallbackEvent, ChatChange, ChatUpdate, EventHeader, UpdateDetail};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// WeCom's official test key: its last character carries non-zero discarded bits.
const OFFICIAL_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// wechatpy's test key (trailing bits `01`).
const WECHATPY_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
/// A key with zero trailing bits (its last character is `A`-aligned).
const PLAIN_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFA";

const KEYS: [&str; 3] = [OFFICIAL_KEY, WECHATPY_KEY, PLAIN_KEY];

/// Runs the wechatpy helper on a batch of cases and returns its results, in order.
fn wechatpy(cases: Vec<Value>) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/wechatpy_crypto.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "could not run python3 ({e}): the WeCom crypto interop tests need python3 \
                 with wechatpy and cryptography (pip install -r requirements-dev.txt)"
            )
        });
    let count = cases.len();
    let input = json!({ "cases": cases }).to_string();
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write cases to python3");
    let out = child.wait_with_output().expect("wait for python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "wechatpy is not importable by python3, so WeCom crypto cannot be checked against \
             it. {stderr}"
        ),
        other => panic!("{script} failed with {other:?}: {stderr}"),
    }
    let parsed: Value = serde_json::from_slice(&out.stdout).expect("helper prints JSON");
    let results = parsed["results"].as_array().expect("results array").clone();
    assert_eq!(results.len(), count, "one result per case");
    results
}

fn ok_str<'a>(result: &'a Value, field: &str) -> &'a str {
    assert_eq!(result["ok"], json!(true), "wechatpy refused: {result}");
    result[field].as_str().expect("string field")
}

/// Messages that exercise every pad value (1..=32) and non-ASCII text.
fn messages() -> Vec<String> {
    let mut out: Vec<String> = (0..40).map(|n| "x".repeat(n)).collect();
    out.push("<xml><Content><![CDATA[你好，世界！客户已添加 🌏]]></Content></xml>".into());
    out.push("中文".repeat(700));
    out.push("1616140317555161061".into());
    let event = CallbackEvent::ExternalChat {
        header: EventHeader::system("wwcorp", 1_700_000_000),
        chat_id: "wr群聊".into(),
        change: ChatChange::Update(ChatUpdate {
            mem_change_cnt: Some(2),
            mem_change_list: vec!["张三".into(), "wmB".into()],
            join_scene: Some(3),
            ..ChatUpdate::new(UpdateDetail::AddMember)
        }),
    };
    out.push(event.to_xml());
    out
}

#[test]
fn rust_encrypts_wechatpy_decrypts() {
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (k, key) in KEYS.iter().enumerate() {
        let corp = format!("wwcorp{k}");
        let crypto = CallbackCrypto::from_parts("TokenA1", key, &corp).expect("crypto");
        for (i, msg) in messages().iter().enumerate() {
            let timestamp = format!("{}", 1_700_000_000 + i);
            let nonce = format!("{}", 900_000 + i);
            let enc = crypto.encrypt_message(msg.as_bytes(), &timestamp, &nonce);
            cases.push(json!({
                "op": "decrypt", "token": "TokenA1", "aes_key": key, "corp_id": corp,
                "xml": enc.callback_xml(Some("1000002")),
                "msg_signature": enc.msg_signature, "timestamp": timestamp, "nonce": nonce,
            }));
            expected.push(msg.clone());
        }
        // URL verification: an encrypted echostr.
        let enc = crypto.encrypt_message(b"5927782489442352469", "1411443780", "437374425");
        cases.push(json!({
            "op": "check_signature", "token": "TokenA1", "aes_key": key, "corp_id": corp,
            "msg_signature": enc.msg_signature, "timestamp": "1411443780", "nonce": "437374425",
            "echostr": enc.encrypt,
        }));
        expected.push("5927782489442352469".into());
    }
    let results = wechatpy(cases);
    for (result, msg) in results.iter().zip(&expected) {
        assert_eq!(ok_str(result, "msg"), msg);
    }
}

#[test]
fn wechatpy_encrypts_rust_decrypts() {
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for key in KEYS {
        for (i, msg) in messages().iter().enumerate() {
            cases.push(json!({
                "op": "encrypt", "token": "TokenB2", "aes_key": key, "corp_id": "wx5823bf96d3bd56c7",
                "msg": msg, "nonce": format!("{}", 100 + i), "timestamp": format!("{}", 1_409_659_813 + i),
            }));
            expected.push((
                key,
                msg.clone(),
                format!("{}", 100 + i),
                format!("{}", 1_409_659_813 + i),
            ));
        }
    }
    let results = wechatpy(cases);
    for (result, (key, msg, nonce, timestamp)) in results.iter().zip(&expected) {
        let crypto =
            CallbackCrypto::from_parts("TokenB2", key, "wx5823bf96d3bd56c7").expect("crypto");
        // wechatpy's output is the passive-reply shape; any envelope with Encrypt is read.
        let xml = ok_str(result, "xml");
        let signature = ok_str(result, "msg_signature");
        let plain = crypto
            .decrypt_message(signature, timestamp, nonce, xml.as_bytes())
            .unwrap_or_else(|e| panic!("{key}: {} for {msg:?}", e.code()));
        assert_eq!(&plain, msg);
        // The same ciphertext as a GET echostr.
        let encrypt = ok_str(result, "encrypt");
        assert_eq!(
            crypto
                .verify_url(signature, timestamp, nonce, encrypt)
                .as_ref(),
            Ok(msg)
        );
    }
}

#[test]
fn same_prefix_gives_identical_ciphertext_and_signature() {
    let prefix = "abcdefghijklmnop";
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for key in KEYS {
        let crypto =
            CallbackCrypto::from_parts("QDG6eK", key, "wx5823bf96d3bd56c7").expect("crypto");
        for msg in messages() {
            cases.push(json!({
                "op": "encrypt", "token": "QDG6eK", "aes_key": key, "corp_id": "wx5823bf96d3bd56c7",
                "msg": msg, "nonce": "263014780", "timestamp": "1409659589", "prefix": prefix,
            }));
            let mut fixed = [0u8; 16];
            fixed.copy_from_slice(prefix.as_bytes());
            ours.push(crypto.encrypt_message_with_prefix(
                msg.as_bytes(),
                "1409659589",
                "263014780",
                fixed,
            ));
        }
    }
    let results = wechatpy(cases);
    for (result, mine) in results.iter().zip(&ours) {
        assert_eq!(ok_str(result, "encrypt"), mine.encrypt);
        assert_eq!(ok_str(result, "msg_signature"), mine.msg_signature);
        assert_eq!(ok_str(result, "xml"), mine.reply_xml());
    }
}

#[test]
fn refusals_agree() {
    // wechatpy encrypts for one corp; Rust configured for another refuses it.
    let results = wechatpy(vec![json!({
        "op": "encrypt", "token": "QDG6eK", "aes_key": OFFICIAL_KEY, "corp_id": "wwSomeoneElse",
        "msg": "<xml/>", "nonce": "1", "timestamp": "2",
    })]);
    let crypto =
        CallbackCrypto::from_parts("QDG6eK", OFFICIAL_KEY, "wx5823bf96d3bd56c7").expect("crypto");
    let xml = ok_str(&results[0], "xml");
    let sig = ok_str(&results[0], "msg_signature");
    assert_eq!(
        crypto.decrypt_message(sig, "2", "1", xml.as_bytes()),
        Err(CryptoError::WrongReceiveId)
    );
    assert_eq!(
        crypto.decrypt_message(sig, "2", "3", xml.as_bytes()),
        Err(CryptoError::BadSignature)
    );

    // Rust signs with one token; wechatpy with another refuses the signature, and with the
    // right token but another corp refuses the receive id.
    let enc = crypto.encrypt_message(b"<xml/>", "2", "1");
    let body = enc.callback_xml(None);
    let results = wechatpy(vec![
        json!({
            "op": "decrypt", "token": "OtherToken", "aes_key": OFFICIAL_KEY, "corp_id": "wx5823bf96d3bd56c7",
            "xml": body, "msg_signature": enc.msg_signature, "timestamp": "2", "nonce": "1",
        }),
        json!({
            "op": "decrypt", "token": "QDG6eK", "aes_key": OFFICIAL_KEY, "corp_id": "wwSomeoneElse",
            "xml": body, "msg_signature": enc.msg_signature, "timestamp": "2", "nonce": "1",
        }),
        json!({
            "op": "decrypt", "token": "QDG6eK", "aes_key": OFFICIAL_KEY, "corp_id": "wx5823bf96d3bd56c7",
            "xml": body, "msg_signature": enc.msg_signature, "timestamp": "2", "nonce": "1",
        }),
    ]);
    assert_eq!(results[0]["ok"], json!(false));
    assert_eq!(results[0]["error"], json!("InvalidSignatureException"));
    assert_eq!(results[1]["ok"], json!(false));
    assert_eq!(results[1]["error"], json!("InvalidCorpIdException"));
    assert_eq!(ok_str(&results[2], "msg"), "<xml/>");
}

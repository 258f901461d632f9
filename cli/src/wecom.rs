//! `scrm wecom decrypt|encrypt`: WeCom callback crypto by hand, to check a tenant's
//! configuration against a captured callback or to craft one.
use anyhow::Context;
use clap::{ArgGroup, Args, Subcommand};
use scrm_core::wecom::crypto::{CallbackCrypto, CryptoError};
use scrm_core::wecom::events::CallbackEvent;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code of a crypto failure (bad signature, wrong key, wrong corp, …), so that scripts
/// can tell it from a usage or I/O error (1).
pub const CRYPTO_FAILURE: u8 = 2;

/// `scrm wecom …`
#[derive(Debug, Subcommand)]
pub enum WecomCommand {
    /// Verify and decrypt a callback: a POST body or a GET echostr. Prints the plaintext,
    /// or the reason it fails (exit code 2).
    Decrypt(DecryptArgs),
    /// Encrypt and sign a plaintext as WeCom does. Prints the envelope XML and the query
    /// string (msg_signature, timestamp, nonce).
    Encrypt(EncryptArgs),
}

/// The tenant's callback configuration. Secrets may come from the environment so that they
/// stay out of shell history.
#[derive(Args, Clone)]
pub struct CallbackSecrets {
    /// The callback Token configured in WeCom.
    #[arg(long, env = "SCRM_CALLBACK_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The callback EncodingAESKey configured in WeCom (43 characters).
    #[arg(
        long = "aes-key",
        env = "SCRM_ENCODING_AES_KEY",
        hide_env_values = true
    )]
    pub aes_key: String,
    /// The corp id (企业ID), the receive id of every message.
    #[arg(long, env = "SCRM_CORP_ID")]
    pub corp_id: String,
}

impl fmt::Debug for CallbackSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSecrets")
            .field("token", &"***")
            .field("aes_key", &"***")
            .field("corp_id", &self.corp_id)
            .finish()
    }
}

impl CallbackSecrets {
    /// Validates the three values into a crypto.
    pub fn crypto(&self) -> Result<CallbackCrypto, CryptoError> {
        CallbackCrypto::from_parts(&self.token, &self.aes_key, &self.corp_id)
    }
}

/// Arguments of `scrm wecom decrypt`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["body_file", "body", "echostr"])))]
pub struct DecryptArgs {
    #[command(flatten)]
    secrets: CallbackSecrets,
    /// The msg_signature query parameter.
    #[arg(long)]
    msg_signature: String,
    /// The timestamp query parameter.
    #[arg(long)]
    timestamp: String,
    /// The nonce query parameter.
    #[arg(long)]
    nonce: String,
    /// A file holding the POST body (`-` for standard input).
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// The POST body itself.
    #[arg(long)]
    body: Option<String>,
    /// The echostr of a GET URL verification (percent-encoded or already decoded).
    #[arg(long)]
    echostr: Option<String>,
    /// Also parse the plaintext as a callback event and print its kind and dedupe key to
    /// standard error.
    #[arg(long)]
    show_event: bool,
}

/// Arguments of `scrm wecom encrypt`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["xml_file", "xml"])))]
pub struct EncryptArgs {
    #[command(flatten)]
    secrets: CallbackSecrets,
    /// The timestamp to sign (default: now).
    #[arg(long)]
    timestamp: Option<String>,
    /// The nonce to sign (default: random digits).
    #[arg(long)]
    nonce: Option<String>,
    /// Put an AgentID element in the envelope.
    #[arg(long)]
    agent_id: Option<String>,
    /// A file holding the plaintext (`-` for standard input).
    #[arg(long)]
    xml_file: Option<PathBuf>,
    /// The plaintext itself (an event XML, or a URL-verification echostr such as a number).
    #[arg(long)]
    xml: Option<String>,
    /// Treat the plaintext as a URL-verification echostr: print the GET query string with
    /// `echostr` instead of a POST envelope.
    #[arg(long)]
    as_echostr: bool,
}

/// Runs `scrm wecom …`.
pub fn run(cmd: WecomCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WecomCommand::Decrypt(args) => decrypt(args),
        WecomCommand::Encrypt(args) => encrypt(args),
    }
}

/// Prints a crypto failure as one line (code and explanation) and gives exit code 2.
pub fn crypto_failure(what: &str, err: &CryptoError) -> ExitCode {
    eprintln!("{what} failed: {}: {err}", err.code());
    ExitCode::from(CRYPTO_FAILURE)
}

fn decrypt(args: DecryptArgs) -> anyhow::Result<ExitCode> {
    let crypto = match args.secrets.crypto() {
        Ok(c) => c,
        Err(e) => return Ok(crypto_failure("decrypt", &e)),
    };
    let result = if let Some(echostr) = &args.echostr {
        let echostr = url_decode_once(echostr)?;
        crypto.verify_url(&args.msg_signature, &args.timestamp, &args.nonce, &echostr)
    } else {
        let body = match (&args.body, &args.body_file) {
            (Some(body), _) => body.clone().into_bytes(),
            (None, Some(path)) => read_input(path)?,
            (None, None) => anyhow::bail!("one of --body, --body-file or --echostr is required"),
        };
        crypto.decrypt_message(&args.msg_signature, &args.timestamp, &args.nonce, &body)
    };
    match result {
        Ok(plain) => {
            println!("{plain}");
            if args.show_event {
                match CallbackEvent::parse(&plain) {
                    Ok(ev) => eprintln!(
                        "event {}/{} dedupe_key {}",
                        ev.event_name(),
                        ev.change_type(),
                        ev.dedupe_key()
                    ),
                    Err(e) => eprintln!("not a callback event: {}: {e}", e.code()),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(crypto_failure("decrypt", &e)),
    }
}

fn encrypt(args: EncryptArgs) -> anyhow::Result<ExitCode> {
    let crypto = match args.secrets.crypto() {
        Ok(c) => c,
        Err(e) => return Ok(crypto_failure("encrypt", &e)),
    };
    let plaintext = match (&args.xml, &args.xml_file) {
        (Some(xml), _) => xml.clone().into_bytes(),
        (None, Some(path)) => read_input(path)?,
        (None, None) => anyhow::bail!("one of --xml or --xml-file is required"),
    };
    let timestamp = args.timestamp.unwrap_or_else(now_timestamp);
    let nonce = args.nonce.unwrap_or_else(random_nonce);
    let msg = crypto.encrypt_message(&plaintext, &timestamp, &nonce);
    if args.as_echostr {
        println!("{}", msg.verify_query());
    } else {
        println!("{}", msg.callback_xml(args.agent_id.as_deref()));
        println!("{}", msg.query());
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// An echostr copied from a URL is still percent-encoded (`%2B`, `%2F`, `%3D`); Base64
/// never contains `%`, so decode exactly once when one is present. A raw `+` is kept: it
/// is Base64, not a form-encoded space.
fn url_decode_once(echostr: &str) -> anyhow::Result<String> {
    if echostr.contains('%') {
        Ok(percent_encoding::percent_decode_str(echostr)
            .decode_utf8()
            .context("--echostr is not valid percent-encoded UTF-8")?
            .into_owned())
    } else {
        Ok(echostr.to_string())
    }
}

/// Seconds since the epoch, as WeCom sends `timestamp`.
pub fn now_timestamp() -> String {
    chrono::Utc::now().timestamp().to_string()
}

/// A nonce like WeCom's: up to ten random digits.
pub fn random_nonce() -> String {
    use rand::Rng;
    rand::rng()
        .random_range(100_000_000u64..10_000_000_000)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echostr_is_decoded_once_and_plus_is_kept() {
        assert_eq!(
            url_decode_once("a%2Bb%2F%3D").ok().as_deref(),
            Some("a+b/=")
        );
        assert_eq!(url_decode_once("a+b/=").ok().as_deref(), Some("a+b/="));
        assert_eq!(url_decode_once("%252B").ok().as_deref(), Some("%2B"));
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let s = CallbackSecrets {
            token: "TOKEN123".into(),
            aes_key: "KEY456".into(),
            corp_id: "wwcorp".into(),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("TOKEN123") && !shown.contains("KEY456"));
        assert!(shown.contains("wwcorp"));
    }
}

//! WeCom callback crypto (回调加解密): the `msg_signature`, AES-256-CBC with WeCom's
//! 32-byte PKCS#7 padding, and the `rand(16) || len || msg || receive_id` plaintext layout.
//!
//! Three traps decide the shape of this module (see WeCom's 加解密方案 and the SDKs that
//! implement it):
//! - The EncodingAESKey is 43 Base64 characters whose last character usually carries
//!   non-zero discarded bits; a strict decoder rejects real keys, so a lenient engine is used.
//! - Padding is PKCS#7 to a multiple of **32** bytes, so a pad byte may be 17..=32, which
//!   16-byte unpadders reject; the cipher runs without padding and unpads here.
//! - The 16-byte random prefix is arbitrary binary in real traffic: only the message and the
//!   receive id are ever read, as bytes.
//!
//! Every failure is one [`CryptoError`] variant with a stable [`CryptoError::code`], so the
//! callback function can answer with a precise error body without leaking secrets.
use super::flat_xml::FlatXml;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit, KeyIvInit};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use rand::RngCore;
use sha1::{Digest, Sha1};
use std::fmt;
use subtle::ConstantTimeEq;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256Dec>;

/// The largest callback body accepted. WeCom's customer-contact callbacks are well under
/// 2 KiB; anything near this limit is not WeCom, and refusing it early bounds the work an
/// unauthenticated request can cause.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// WeCom pads to a multiple of 32 bytes (not AES's 16).
const PAD_BLOCK: usize = 32;
/// Length of the random prefix of every plaintext.
const PREFIX_LEN: usize = 16;
/// The longest callback Token WeCom's console accepts.
const MAX_TOKEN_LEN: usize = 32;
/// A generous bound on a corp id / suite id.
const MAX_RECEIVE_ID_LEN: usize = 128;

/// Decodes the EncodingAESKey: standard alphabet, discarded bits allowed to be non-zero,
/// the trailing `=` optional (WeCom's console shows the key without it).
const LENIENT_KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes ciphertexts: standard alphabet; padding optional so that a sender that strips
/// `=` still interoperates, but trailing bits must be zero (every encoder emits them so).
const CIPHERTEXT_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Everything that can go wrong verifying, decrypting or configuring callback crypto.
///
/// The variants are stable: [`CryptoError::code`] is written into HTTP error bodies and logs,
/// and operators search for it. Messages never contain the token, the key or the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The `msg_signature` does not match SHA1(sort(token, timestamp, nonce, encrypt)).
    #[error("msg_signature does not match the token, timestamp, nonce and ciphertext")]
    BadSignature,
    /// The ciphertext (Encrypt element or echostr) is not standard Base64.
    #[error("ciphertext is not valid Base64 (was echostr URL-decoded exactly once?)")]
    BadBase64,
    /// The decrypted buffer does not end in a PKCS#7 pad of 1..=32 equal bytes.
    #[error("decrypted data has invalid PKCS#7 padding (wrong EncodingAESKey?)")]
    BadPadding,
    /// The ciphertext is not whole AES blocks, or the plaintext is too short for its
    /// declared message length.
    #[error("ciphertext or plaintext has an impossible length (truncated or wrong key?)")]
    BadLength,
    /// The receive id at the end of the plaintext is not this tenant's corp id.
    #[error("message was encrypted for a different corp id (receive id mismatch)")]
    WrongReceiveId,
    /// The body is not an XML envelope with an `Encrypt` element.
    #[error("body is not a WeCom envelope: XML with an Encrypt element is required")]
    BadEnvelope,
    /// The body exceeds [`MAX_BODY_BYTES`].
    #[error("body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    /// The decrypted message is not UTF-8 (WeCom always sends UTF-8 XML or a numeric echostr).
    #[error("decrypted message is not UTF-8")]
    NotUtf8,
    /// The EncodingAESKey is not 43 characters of [A-Za-z0-9] decoding to 32 bytes.
    #[error("EncodingAESKey must be 43 characters of A-Z, a-z, 0-9 decoding to 32 bytes")]
    InvalidKey,
    /// The Token is empty, longer than 32 characters, or not printable ASCII.
    #[error("callback Token must be 1 to 32 printable ASCII characters")]
    InvalidToken,
    /// The receive id (corp id) is too long or contains control characters or whitespace.
    #[error("receive id (corp id) must be at most 128 printable ASCII characters")]
    InvalidReceiveId,
}

impl CryptoError {
    /// A stable snake_case code for HTTP error bodies, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadSignature => "bad_signature",
            Self::BadBase64 => "bad_base64",
            Self::BadPadding => "bad_padding",
            Self::BadLength => "bad_length",
            Self::WrongReceiveId => "wrong_receive_id",
            Self::BadEnvelope => "bad_envelope",
            Self::BodyTooLarge => "body_too_large",
            Self::NotUtf8 => "not_utf8",
            Self::InvalidKey => "invalid_key",
            Self::InvalidToken => "invalid_token",
            Self::InvalidReceiveId => "invalid_receive_id",
        }
    }
}

/// The callback Token: only used inside the signature, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Validates a Token as WeCom's console accepts it (1..=32 printable ASCII characters).
    pub fn parse(raw: &str) -> Result<Self, CryptoError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_TOKEN_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(CryptoError::InvalidToken)
        }
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The 32-byte AES key derived from the 43-character EncodingAESKey.
///
/// Parsing validates the text form once, so that a tenant with a mistyped key is refused
/// when it is registered rather than on its first callback.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodingAesKey([u8; 32]);

impl EncodingAesKey {
    /// Parses the EncodingAESKey exactly as WeCom shows it: 43 characters of [A-Za-z0-9].
    /// The last character's two discarded bits may be non-zero (real keys have them so).
    pub fn parse(raw: &str) -> Result<Self, CryptoError> {
        if raw.len() != 43 || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CryptoError::InvalidKey);
        }
        let bytes = LENIENT_KEY_ENGINE
            .decode(raw)
            .map_err(|_| CryptoError::InvalidKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self(key))
    }

    /// The IV is the first 16 bytes of the key (WeCom's scheme, not a choice of ours).
    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }
}

impl fmt::Debug for EncodingAesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncodingAesKey(***)")
    }
}

/// The id appended to every plaintext: the corp id for self-built apps and customer-contact
/// callbacks (the suite id for third-party suites, empty for personal-subject apps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveId(String);

impl ReceiveId {
    /// Validates a receive id: at most 128 printable ASCII characters (may be empty).
    pub fn parse(raw: &str) -> Result<Self, CryptoError> {
        if raw.len() <= MAX_RECEIVE_ID_LEN && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_string()))
        } else {
            Err(CryptoError::InvalidReceiveId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The outer XML of a callback POST (or of a passive reply), any element order, CDATA or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `ToUserName`: the corp id (absent in the passive-reply shape).
    pub to_user_name: Option<String>,
    /// `AgentID`: the receiving app, kept as text (CDATA-wrapped or empty in the wild).
    pub agent_id: Option<String>,
    /// `Encrypt`: the Base64 ciphertext, the value signed by `msg_signature`.
    pub encrypt: String,
}

impl Envelope {
    /// Parses an envelope body, refusing bodies over [`MAX_BODY_BYTES`].
    pub fn parse(body: &[u8]) -> Result<Self, CryptoError> {
        let fields = envelope_fields(body)?;
        Ok(Self {
            to_user_name: fields.text("ToUserName").map(str::to_string),
            agent_id: fields.text("AgentID").map(str::to_string),
            encrypt: envelope_encrypt(&fields)?.to_string(),
        })
    }
}

/// The envelope's elements, borrowed from the body (see [`Envelope::parse`]).
fn envelope_fields(body: &[u8]) -> Result<FlatXml<'_>, CryptoError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(CryptoError::BodyTooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| CryptoError::BadEnvelope)?;
    FlatXml::parse(text).map_err(|_| CryptoError::BadEnvelope)
}

/// The envelope's `Encrypt` text, trimmed; it must not be empty.
fn envelope_encrypt<'f>(fields: &'f FlatXml<'_>) -> Result<&'f str, CryptoError> {
    fields
        .text("Encrypt")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(CryptoError::BadEnvelope)
}

/// A message encrypted and signed as WeCom would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedMessage {
    /// Base64 ciphertext: the `Encrypt` element, or the `echostr` of a URL verification.
    pub encrypt: String,
    /// `msg_signature` over (token, timestamp, nonce, encrypt).
    pub msg_signature: String,
    /// The timestamp that was signed.
    pub timestamp: String,
    /// The nonce that was signed.
    pub nonce: String,
    receive_id: String,
}

impl EncryptedMessage {
    /// The POST body WeCom sends to a callback URL: `<xml><ToUserName/><Encrypt/>…</xml>`,
    /// with `AgentID` when given.
    pub fn callback_xml(&self, agent_id: Option<&str>) -> String {
        let mut xml = String::with_capacity(self.encrypt.len() + 160);
        xml.push_str("<xml><ToUserName>");
        push_cdata(&mut xml, &self.receive_id);
        xml.push_str("</ToUserName>");
        if let Some(agent) = agent_id {
            xml.push_str("<AgentID>");
            push_cdata(&mut xml, agent);
            xml.push_str("</AgentID>");
        }
        xml.push_str("<Encrypt>");
        push_cdata(&mut xml, &self.encrypt);
        xml.push_str("</Encrypt></xml>");
        xml
    }

    /// The passive-reply shape (`Encrypt`, `MsgSignature`, `TimeStamp`, `Nonce`), the one
    /// WeCom expects back from app-message callbacks and SDKs such as wechatpy produce.
    pub fn reply_xml(&self) -> String {
        let mut xml = String::with_capacity(self.encrypt.len() + 200);
        xml.push_str("<xml>\n<Encrypt>");
        push_cdata(&mut xml, &self.encrypt);
        xml.push_str("</Encrypt>\n<MsgSignature>");
        push_cdata(&mut xml, &self.msg_signature);
        xml.push_str("</MsgSignature>\n<TimeStamp>");
        xml.push_str(&escape_text(&self.timestamp));
        xml.push_str("</TimeStamp>\n<Nonce>");
        push_cdata(&mut xml, &self.nonce);
        xml.push_str("</Nonce>\n</xml>");
        xml
    }

    /// The query string of the callback request, percent-encoded:
    /// `msg_signature=…&timestamp=…&nonce=…`.
    pub fn query(&self) -> String {
        format!(
            "msg_signature={}&timestamp={}&nonce={}",
            query_escape(&self.msg_signature),
            query_escape(&self.timestamp),
            query_escape(&self.nonce)
        )
    }

    /// The URL-verification query: [`Self::query`] plus `echostr` (this ciphertext).
    pub fn verify_query(&self) -> String {
        format!("{}&echostr={}", self.query(), query_escape(&self.encrypt))
    }
}

/// Verifies, decrypts and encrypts one tenant's callbacks.
///
/// Built once per tenant from its stored secrets (the AES key schedule is expanded here, not
/// per message); cheap to clone. `Debug` shows only the receive id.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: Token,
    key: EncodingAesKey,
    receive_id: ReceiveId,
    decryption: aes::Aes256Dec,
}

impl fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("token", &self.token)
            .field("key", &self.key)
            .field("receive_id", &self.receive_id)
            .finish()
    }
}

impl CallbackCrypto {
    /// Builds the crypto from validated parts.
    pub fn new(token: Token, key: EncodingAesKey, receive_id: ReceiveId) -> Self {
        let decryption = aes::Aes256Dec::new(&key.0.into());
        Self {
            token,
            key,
            receive_id,
            decryption,
        }
    }

    /// Builds the crypto from the three configuration strings (Token, EncodingAESKey,
    /// corp id), validating each.
    pub fn from_parts(
        token: &str,
        encoding_aes_key: &str,
        receive_id: &str,
    ) -> Result<Self, CryptoError> {
        Ok(Self::new(
            Token::parse(token)?,
            EncodingAesKey::parse(encoding_aes_key)?,
            ReceiveId::parse(receive_id)?,
        ))
    }

    /// The receive id (corp id) this crypto checks and appends.
    pub fn receive_id(&self) -> &ReceiveId {
        &self.receive_id
    }

    /// `msg_signature` = lowercase hex SHA1 of the byte-wise sorted, concatenated
    /// (token, timestamp, nonce, encrypt).
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let hex = self.signature_hex(timestamp, nonce, encrypt);
        String::from_utf8_lossy(&hex).into_owned()
    }

    /// [`Self::signature`] on the stack.
    fn signature_hex(&self, timestamp: &str, nonce: &str, encrypt: &str) -> [u8; 40] {
        let mut parts = [self.token.expose(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for part in parts {
            sha.update(part.as_bytes());
        }
        let mut hex = [0u8; 40];
        // 20 bytes always fit 40 hex digits.
        let _ = hex::encode_to_slice(sha.finalize(), &mut hex);
        hex
    }

    /// Checks a `msg_signature` in constant time (hex compared case-insensitively).
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptoError> {
        let expected = self.signature_hex(timestamp, nonce, encrypt);
        // A signature of another length can never match; the comparison itself is constant
        // time over the 40 digits.
        let given = msg_signature.trim().as_bytes();
        let mut lower = [0u8; 40];
        if given.len() != lower.len() {
            return Err(CryptoError::BadSignature);
        }
        for (l, g) in lower.iter_mut().zip(given) {
            *l = g.to_ascii_lowercase();
        }
        if bool::from(expected.ct_eq(&lower)) {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// GET URL verification: `echostr` must already be URL-decoded exactly once. Returns the
    /// plaintext to answer with (a numeric string, sent bare: no quotes, no newline).
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, CryptoError> {
        if echostr.len() > MAX_BODY_BYTES {
            return Err(CryptoError::BodyTooLarge);
        }
        self.verify_signature(msg_signature, timestamp, nonce, echostr)?;
        let msg = self.decrypt(echostr)?;
        String::from_utf8(msg).map_err(|_| CryptoError::NotUtf8)
    }

    /// POST callback: parses the envelope, verifies the signature over its `Encrypt`,
    /// decrypts, checks the receive id, and returns the plaintext XML.
    pub fn decrypt_message(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body_xml: &[u8],
    ) -> Result<String, CryptoError> {
        let fields = envelope_fields(body_xml)?;
        let encrypt = envelope_encrypt(&fields)?;
        self.verify_signature(msg_signature, timestamp, nonce, encrypt)?;
        let msg = self.decrypt(encrypt)?;
        String::from_utf8(msg).map_err(|_| CryptoError::NotUtf8)
    }

    /// Decrypts a Base64 ciphertext without looking at any signature, returning the message
    /// bytes after checking padding, length and receive id. Callers must have verified the
    /// signature first; this is public for tools that already did.
    pub fn decrypt(&self, encrypt: &str) -> Result<Vec<u8>, CryptoError> {
        let mut buf = decode_ciphertext(encrypt.trim())?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::BadLength);
        }
        let len = Aes256CbcDec::inner_iv_init(self.decryption.clone(), &self.key.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::BadLength)?
            .len();
        let unpadded = unpad(&buf[..len])?;
        if unpadded.len() < PREFIX_LEN + 4 {
            return Err(CryptoError::BadLength);
        }
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(&unpadded[PREFIX_LEN..PREFIX_LEN + 4]);
        let msg_len = u32::from_be_bytes(len_bytes) as usize;
        let rest = &unpadded[PREFIX_LEN + 4..];
        if msg_len > rest.len() {
            return Err(CryptoError::BadLength);
        }
        let (_, receive_id) = rest.split_at(msg_len);
        if receive_id != self.receive_id.0.as_bytes() {
            return Err(CryptoError::WrongReceiveId);
        }
        // The message, moved to the front of the buffer it was decrypted in.
        buf.truncate(PREFIX_LEN + 4 + msg_len);
        buf.drain(..PREFIX_LEN + 4);
        Ok(buf)
    }

    /// Encrypts and signs a message as WeCom does, with a fresh random prefix.
    pub fn encrypt_message(
        &self,
        plaintext: &[u8],
        timestamp: &str,
        nonce: &str,
    ) -> EncryptedMessage {
        let mut prefix = [0u8; PREFIX_LEN];
        rand::rng().fill_bytes(&mut prefix);
        self.encrypt_message_with_prefix(plaintext, timestamp, nonce, prefix)
    }

    /// Encrypts and signs with a given 16-byte prefix, for reproducible test vectors.
    pub fn encrypt_message_with_prefix(
        &self,
        plaintext: &[u8],
        timestamp: &str,
        nonce: &str,
        prefix: [u8; PREFIX_LEN],
    ) -> EncryptedMessage {
        let encrypt = self.encrypt(plaintext, prefix);
        let msg_signature = self.signature(timestamp, nonce, &encrypt);
        EncryptedMessage {
            encrypt,
            msg_signature,
            timestamp: timestamp.to_string(),
            nonce: nonce.to_string(),
            receive_id: self.receive_id.0.clone(),
        }
    }

    fn encrypt(&self, plaintext: &[u8], prefix: [u8; PREFIX_LEN]) -> String {
        let receive_id = self.receive_id.0.as_bytes();
        let body_len = PREFIX_LEN + 4 + plaintext.len() + receive_id.len();
        let pad = PAD_BLOCK - body_len % PAD_BLOCK;
        let mut buf = Vec::with_capacity(body_len + pad);
        buf.extend_from_slice(&prefix);
        // A callback message longer than 4 GiB cannot exist; saturate rather than wrap.
        let len = u32::try_from(plaintext.len()).unwrap_or(u32::MAX);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(plaintext);
        buf.extend_from_slice(receive_id);
        // pad is in 1..=32, so it fits a byte.
        buf.resize(body_len + pad, pad as u8);
        let total = buf.len();
        let ciphertext = Aes256CbcEnc::new(&self.key.0.into(), &self.key.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, total)
            .map(|c| c.to_vec())
            // Cannot fail: the buffer was padded to a multiple of the block size above.
            .unwrap_or_default();
        STANDARD.encode(ciphertext)
    }
}

/// Decodes a ciphertext with [`CIPHERTEXT_ENGINE`]'s rules. Canonical padded Base64 (what
/// WeCom sends) goes through a vectorised decoder first, several times faster on a
/// callback-sized ciphertext; anything it refuses, and every other length, is decided by the
/// general engine, so what is accepted and how is that engine's alone.
fn decode_ciphertext(text: &str) -> Result<Vec<u8>, CryptoError> {
    if text.len().is_multiple_of(4) {
        if let Ok(bytes) = base64_simd::STANDARD.decode_to_vec(text) {
            return Ok(bytes);
        }
    }
    CIPHERTEXT_ENGINE
        .decode(text)
        .map_err(|_| CryptoError::BadBase64)
}

/// Strips WeCom's PKCS#7 padding (block 32): the last byte `p` must be 1..=32 and the last
/// `p` bytes must all equal `p`.
fn unpad(buf: &[u8]) -> Result<&[u8], CryptoError> {
    let &last = buf.last().ok_or(CryptoError::BadPadding)?;
    let pad = last as usize;
    if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
        return Err(CryptoError::BadPadding);
    }
    let (body, tail) = buf.split_at(buf.len() - pad);
    if tail.iter().any(|&b| b != last) {
        return Err(CryptoError::BadPadding);
    }
    Ok(body)
}

/// Appends `value` as CDATA, splitting any `]]>` so the section cannot be closed early.
pub(crate) fn push_cdata(out: &mut String, value: &str) {
    out.push_str("<![CDATA[");
    out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

/// Escapes text content for a plain (non-CDATA) element.
pub(crate) fn escape_text(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn query_escape(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OFFICIAL_CORP: &str = "wx5823bf96d3bd56c7";
    const OFFICIAL_TOKEN: &str = "QDG6eK";
    const OFFICIAL_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    const WP_TOKEN: &str = "123456";
    const WP_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const WP_CORP: &str = "wx49f0ab532d5d035a";

    const OFFICIAL_POST_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
    const OFFICIAL_POST_PLAINTEXT: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";

    const WP_DECRYPT_ENCRYPT: &str = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";

    fn official() -> CallbackCrypto {
        CallbackCrypto::from_parts(OFFICIAL_TOKEN, OFFICIAL_KEY, OFFICIAL_CORP).expect("official")
    }

    fn wechatpy() -> CallbackCrypto {
        CallbackCrypto::from_parts(WP_TOKEN, WP_KEY, WP_CORP).expect("wechatpy")
    }

    /// Builds a ciphertext from a raw (already padded or deliberately broken) plaintext.
    fn raw_encrypt(key: &str, plain: &[u8]) -> String {
        let key = EncodingAesKey::parse(key).expect("key");
        let mut buf = plain.to_vec();
        let n = buf.len();
        let c = Aes256CbcEnc::new(&key.0.into(), &key.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, n)
            .expect("block multiple")
            .to_vec();
        STANDARD.encode(c)
    }

    #[test]
    fn official_key_with_trailing_bits_parses_leniently() {
        assert!(base64::engine::general_purpose::STANDARD
            .decode(format!("{OFFICIAL_KEY}="))
            .is_err());
        assert!(EncodingAesKey::parse(OFFICIAL_KEY).is_ok());
        assert!(EncodingAesKey::parse(WP_KEY).is_ok());
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "short",
            &OFFICIAL_KEY[..42],
            &format!("{OFFICIAL_KEY}="),
            &format!("{OFFICIAL_KEY}A"),
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2+",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2 ",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2中",
        ] {
            assert_eq!(
                EncodingAesKey::parse(bad),
                Err(CryptoError::InvalidKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn tokens_and_receive_ids_are_validated() {
        assert_eq!(Token::parse(""), Err(CryptoError::InvalidToken));
        assert_eq!(Token::parse("has space"), Err(CryptoError::InvalidToken));
        assert_eq!(
            Token::parse(&"a".repeat(33)),
            Err(CryptoError::InvalidToken)
        );
        assert!(Token::parse(&"a".repeat(32)).is_ok());
        assert!(ReceiveId::parse("").is_ok());
        assert_eq!(
            ReceiveId::parse("ww\n1"),
            Err(CryptoError::InvalidReceiveId)
        );
        assert_eq!(
            ReceiveId::parse(&"w".repeat(129)),
            Err(CryptoError::InvalidReceiveId)
        );
    }

    #[test]
    fn official_get_vector_verifies() {
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        let plain = official()
            .verify_url(
                "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
                "1409659589",
                "263014780",
                echostr,
            )
            .expect("verify");
        assert_eq!(plain, "1616140317555161061");
    }

    #[test]
    fn official_post_vector_decrypts_byte_exact() {
        let crypto = official();
        assert_eq!(
            crypto.signature("1409659813", "1372623149", OFFICIAL_POST_ENCRYPT),
            "477715d11cdb4164915debcba66cb864d751f3e6"
        );
        // The official sample's element order: ToUserName, Encrypt, AgentID (CDATA).
        let body = format!(
            "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n\
             <Encrypt><![CDATA[{OFFICIAL_POST_ENCRYPT}]]></Encrypt>\n\
             <AgentID><![CDATA[218]]></AgentID>\n</xml>"
        );
        let plain = crypto
            .decrypt_message(
                "477715d11cdb4164915debcba66cb864d751f3e6",
                "1409659813",
                "1372623149",
                body.as_bytes(),
            )
            .expect("decrypt");
        assert_eq!(plain.len(), 284);
        assert_eq!(plain, OFFICIAL_POST_PLAINTEXT);
    }

    #[test]
    fn envelope_without_cdata_and_in_any_order() {
        let crypto = official();
        let body = format!(
            "<?xml version=\"1.0\"?>\n<xml><AgentID>218</AgentID><Encrypt>{OFFICIAL_POST_ENCRYPT}</Encrypt>\
             <ToUserName>wx5823bf96d3bd56c7</ToUserName><Unknown>x</Unknown></xml>"
        );
        let plain = crypto
            .decrypt_message(
                "477715d11cdb4164915debcba66cb864d751f3e6",
                "1409659813",
                "1372623149",
                body.as_bytes(),
            )
            .expect("decrypt");
        assert_eq!(plain, OFFICIAL_POST_PLAINTEXT);
        let env = Envelope::parse(body.as_bytes()).expect("envelope");
        assert_eq!(env.agent_id.as_deref(), Some("218"));
        assert_eq!(env.to_user_name.as_deref(), Some(OFFICIAL_CORP));
    }

    #[test]
    fn wechatpy_check_signature_vector() {
        let echo = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
        let crypto = wechatpy();
        let plain = crypto
            .verify_url(
                "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
                "1411443780",
                "437374425",
                echo,
            )
            .expect("verify");
        assert_eq!(plain, "5927782489442352469");
        // Changing the nonce must fail.
        assert_eq!(
            crypto.verify_url(
                "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
                "1411443780",
                "437374424",
                echo
            ),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn wechatpy_decrypt_vector() {
        let body = format!(
            "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n\
             <Encrypt><![CDATA[{WP_DECRYPT_ENCRYPT}]]></Encrypt>\n\
             <AgentID><![CDATA[1]]></AgentID>\n</xml>"
        );
        let plain = wechatpy()
            .decrypt_message(
                "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
                "1411525903",
                "461056294",
                body.as_bytes(),
            )
            .expect("decrypt");
        assert!(
            plain.contains("<Content><![CDATA[test]]></Content>"),
            "{plain}"
        );
        assert!(
            plain.contains("<FromUserName><![CDATA[messense]]></FromUserName>"),
            "{plain}"
        );
    }

    #[test]
    fn wechatpy_encrypt_vector_reproduced() {
        let reply = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n\
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n\
<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
        let expected = "<xml>\n<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>\n\
<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>\n<TimeStamp>1411525903</TimeStamp>\n\
<Nonce><![CDATA[461056294]]></Nonce>\n</xml>";
        let msg = wechatpy().encrypt_message_with_prefix(
            reply.as_bytes(),
            "1411525903",
            "461056294",
            *b"1234567890123456",
        );
        assert_eq!(
            msg.msg_signature,
            "407518b7649e86ef23978113f92d27afa9296533"
        );
        assert_eq!(msg.reply_xml(), expected);
    }

    #[test]
    fn wrong_nonce_timestamp_or_token_fails() {
        let crypto = official();
        let msg = crypto.encrypt_message(b"<xml/>", "1700000000", "123");
        let body = msg.callback_xml(None);
        assert!(crypto
            .decrypt_message(&msg.msg_signature, "1700000000", "123", body.as_bytes())
            .is_ok());
        assert_eq!(
            crypto.decrypt_message(&msg.msg_signature, "1700000000", "124", body.as_bytes()),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            crypto.decrypt_message(&msg.msg_signature, "1700000001", "123", body.as_bytes()),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            crypto.decrypt_message("", "1700000000", "123", body.as_bytes()),
            Err(CryptoError::BadSignature)
        );
        let other = CallbackCrypto::from_parts("other", OFFICIAL_KEY, OFFICIAL_CORP).expect("c");
        assert_eq!(
            other.decrypt_message(&msg.msg_signature, "1700000000", "123", body.as_bytes()),
            Err(CryptoError::BadSignature)
        );
        // Upper-case hex is the same signature.
        assert!(crypto
            .decrypt_message(
                &msg.msg_signature.to_uppercase(),
                "1700000000",
                "123",
                body.as_bytes()
            )
            .is_ok());
    }

    #[test]
    fn wrong_corp_is_refused() {
        let sender =
            CallbackCrypto::from_parts(OFFICIAL_TOKEN, OFFICIAL_KEY, "wwOTHERCORP").expect("c");
        let msg = sender.encrypt_message(b"1234", "1", "2");
        assert_eq!(
            official().verify_url(&msg.msg_signature, "1", "2", &msg.encrypt),
            Err(CryptoError::WrongReceiveId)
        );
    }

    #[test]
    fn bad_padding_is_refused() {
        let mut plain = Vec::new();
        plain.extend_from_slice(b"1234567890123456");
        plain.extend_from_slice(&4u32.to_be_bytes());
        plain.extend_from_slice(b"abcd");
        plain.extend_from_slice(OFFICIAL_CORP.as_bytes());
        // 42 bytes so far; pad to 64 with a wrong pad (a 0 byte, then inconsistent bytes).
        let mut zero = plain.clone();
        zero.resize(64, 0);
        let mut mixed = plain.clone();
        mixed.resize(63, 22);
        mixed.push(21);
        let mut too_big = plain.clone();
        too_big.resize(64, 33);
        let mut good = plain.clone();
        good.resize(64, 22);
        let crypto = official();
        for (case, expected) in [
            (zero, Err(CryptoError::BadPadding)),
            (mixed, Err(CryptoError::BadPadding)),
            (too_big, Err(CryptoError::BadPadding)),
            (good, Ok(b"abcd".to_vec())),
        ] {
            let enc = raw_encrypt(OFFICIAL_KEY, &case);
            assert_eq!(crypto.decrypt(&enc), expected);
        }
    }

    #[test]
    fn pad_above_sixteen_is_accepted() {
        // The official POST vector pads with 30; a 16-byte unpadder would refuse it.
        let crypto = official();
        let msg = crypto.encrypt_message_with_prefix(b"x", "1", "2", [7; 16]);
        assert_eq!(crypto.decrypt(&msg.encrypt), Ok(b"x".to_vec()));
        // 16 + 4 + 1 + 18 = 39 bytes: pad is 25.
        let raw = STANDARD.decode(&msg.encrypt).expect("b64");
        assert_eq!(raw.len(), 64);
    }

    #[test]
    fn truncated_or_garbled_ciphertext_is_refused() {
        let crypto = official();
        let msg = crypto.encrypt_message(OFFICIAL_POST_PLAINTEXT.as_bytes(), "1", "2");
        let raw = STANDARD.decode(&msg.encrypt).expect("b64");
        // Not whole AES blocks.
        let short = STANDARD.encode(&raw[..raw.len() - 5]);
        assert_eq!(crypto.decrypt(&short), Err(CryptoError::BadLength));
        // Whole blocks but the tail is gone: the declared length no longer fits, or the
        // pad byte is garbage.
        let cut = STANDARD.encode(&raw[..raw.len() - 32]);
        let err = crypto.decrypt(&cut).expect_err("truncated");
        assert!(
            matches!(err, CryptoError::BadLength | CryptoError::BadPadding),
            "{err:?}"
        );
        assert_eq!(crypto.decrypt(""), Err(CryptoError::BadLength));
        assert_eq!(crypto.decrypt("not base64!"), Err(CryptoError::BadBase64));
        // A plaintext too short for the prefix and length.
        let mut tiny = vec![0u8; 16];
        tiny.resize(32, 16);
        assert_eq!(
            crypto.decrypt(&raw_encrypt(OFFICIAL_KEY, &tiny)),
            Err(CryptoError::BadLength)
        );
        // A declared length beyond the plaintext.
        let mut long = vec![b'r'; 16];
        long.extend_from_slice(&1000u32.to_be_bytes());
        long.extend_from_slice(b"abc");
        long.resize(32, 9);
        assert_eq!(
            crypto.decrypt(&raw_encrypt(OFFICIAL_KEY, &long)),
            Err(CryptoError::BadLength)
        );
    }

    #[test]
    fn binary_random_prefix_is_never_decoded() {
        let crypto = official();
        let msg = crypto.encrypt_message_with_prefix(b"<xml/>", "1", "2", [0xff; 16]);
        assert_eq!(
            crypto.verify_url(&msg.msg_signature, "1", "2", &msg.encrypt),
            Ok("<xml/>".into())
        );
    }

    #[test]
    fn bad_envelopes_and_oversized_bodies() {
        let crypto = official();
        for body in [
            &b"not xml at all"[..],
            b"<xml><ToUserName>a</ToUserName></xml>",
            b"<xml><Encrypt></Encrypt></xml>",
            b"<xml><Encrypt>abc</Encrypt>",
            b"<xml><Encrypt>abc</Wrong></xml>",
            b"",
            b"\xff\xfe",
        ] {
            assert_eq!(
                crypto.decrypt_message("x", "1", "2", body),
                Err(CryptoError::BadEnvelope),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let big = format!(
            "<xml><Encrypt>{}</Encrypt></xml>",
            "A".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(
            crypto.decrypt_message("x", "1", "2", big.as_bytes()),
            Err(CryptoError::BodyTooLarge)
        );
    }

    #[test]
    fn error_codes_are_stable_and_distinct() {
        let all = [
            CryptoError::BadSignature,
            CryptoError::BadBase64,
            CryptoError::BadPadding,
            CryptoError::BadLength,
            CryptoError::WrongReceiveId,
            CryptoError::BadEnvelope,
            CryptoError::BodyTooLarge,
            CryptoError::NotUtf8,
            CryptoError::InvalidKey,
            CryptoError::InvalidToken,
            CryptoError::InvalidReceiveId,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(CryptoError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(CryptoError::BadSignature.code(), "bad_signature");
        assert_eq!(CryptoError::WrongReceiveId.code(), "wrong_receive_id");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let crypto = official();
        let shown = format!("{crypto:?}");
        assert!(!shown.contains(OFFICIAL_TOKEN), "{shown}");
        assert!(!shown.contains(OFFICIAL_KEY), "{shown}");
        assert!(!shown.contains(&format!(
            "{:?}",
            EncodingAesKey::parse(OFFICIAL_KEY).map(|k| k.0)
        )));
        assert!(shown.contains(OFFICIAL_CORP), "{shown}");
    }

    #[test]
    fn query_strings_are_percent_encoded() {
        let crypto = official();
        let msg = crypto.encrypt_message_with_prefix(
            b"1616140317555161061",
            "1409659589",
            "263014780",
            [1; 16],
        );
        let q = msg.verify_query();
        assert!(q.starts_with(&format!(
            "msg_signature={}&timestamp=1409659589&nonce=263014780&echostr=",
            msg.msg_signature
        )));
        let echo = q.split("&echostr=").nth(1).expect("echostr");
        assert!(!echo.contains(['+', '/', '=']), "{echo}");
        let decoded = percent_encoding::percent_decode_str(echo)
            .decode_utf8()
            .expect("utf8");
        assert_eq!(decoded, msg.encrypt);
    }

    fn alnum_key() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".to_vec(),
            ),
            43,
        )
        .prop_map(|b| String::from_utf8(b).unwrap_or_default())
    }

    #[test]
    fn ciphertexts_decode_as_the_general_engine_decodes_them() {
        for text in [
            "",
            "QQ==",
            "QQ=",
            "QQ",
            "QR==",
            "QUI=",
            "QUJD",
            "QUJ",
            "Q",
            "Q===",
            "====",
            "QU=D",
            "QUJD\n",
            " QUJD",
            "QUJD====",
            "-_-_",
            "QUJDRA==QUJD",
            "QUJDRA",
        ] {
            assert_eq!(
                decode_ciphertext(text),
                CIPHERTEXT_ENGINE
                    .decode(text)
                    .map_err(|_| CryptoError::BadBase64),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_ciphertext_text_decodes_as_the_general_engine_decodes_it(
            text in "[A-Za-z0-9+/=_ -]{0,80}",
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let general = |t: &str| CIPHERTEXT_ENGINE.decode(t).map_err(|_| CryptoError::BadBase64);
            prop_assert_eq!(decode_ciphertext(&text), general(&text));
            let encoded = STANDARD.encode(&bytes);
            prop_assert_eq!(decode_ciphertext(&encoded), Ok(bytes.clone()));
            let unpadded = encoded.trim_end_matches('=');
            prop_assert_eq!(decode_ciphertext(unpadded), general(unpadded));
        }

        #[test]
        fn encrypt_then_decrypt_round_trips(
            key in alnum_key(),
            token in "[A-Za-z0-9]{1,32}",
            corp in "[a-z0-9]{0,30}",
            plaintext in proptest::collection::vec(any::<u8>(), 0..600),
            prefix in any::<[u8; 16]>(),
            timestamp in "[0-9]{1,10}",
            nonce in "[0-9a-z]{1,12}",
        ) {
            let crypto = CallbackCrypto::from_parts(&token, &key, &corp).expect("valid parts");
            let msg = crypto.encrypt_message_with_prefix(&plaintext, &timestamp, &nonce, prefix);
            prop_assert_eq!(STANDARD.decode(&msg.encrypt).expect("b64").len() % 32, 0);
            crypto.verify_signature(&msg.msg_signature, &timestamp, &nonce, &msg.encrypt).expect("sig");
            prop_assert_eq!(crypto.decrypt(&msg.encrypt).expect("decrypt"), plaintext);
        }

        #[test]
        fn text_round_trips_through_the_envelope(
            key in alnum_key(),
            text in "\\PC{0,200}",
        ) {
            let crypto = CallbackCrypto::from_parts("tok", &key, "wwcorp").expect("valid parts");
            let msg = crypto.encrypt_message(text.as_bytes(), "1700000000", "42");
            let body = msg.callback_xml(Some("1000002"));
            let plain = crypto.decrypt_message(&msg.msg_signature, "1700000000", "42", body.as_bytes());
            prop_assert_eq!(plain, Ok(text.clone()));
            let reply = msg.reply_xml();
            let plain = crypto.decrypt_message(&msg.msg_signature, "1700000000", "42", reply.as_bytes());
            prop_assert_eq!(plain, Ok(text));
        }
    }
}

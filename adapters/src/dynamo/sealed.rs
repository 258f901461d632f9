//! Sealed attributes: a secret stored as two binary attributes, the AES-256-GCM ciphertext
//! and the wrapped data key that opens it (`scrm_core::secrets`). Without the key service
//! both are opaque bytes.
use crate::dynamo::item::AttrMap;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use scrm_core::ports::StoreError;
use scrm_core::secrets::{self, KeyService, SealContext, SealError, Sealed};

/// The names of a sealed value's two attributes.
#[derive(Debug, Clone, Copy)]
pub struct SealedAttrs {
    /// `nonce ‖ ciphertext ‖ tag`.
    pub ciphertext: &'static str,
    /// The wrapped data key.
    pub wrapped_key: &'static str,
}

impl SealedAttrs {
    /// Seals `plaintext` and sets both attributes on `item`.
    pub async fn seal_into(
        &self,
        keys: &dyn KeyService,
        context: &SealContext,
        plaintext: &[u8],
        item: &mut AttrMap,
    ) -> Result<(), StoreError> {
        let sealed = secrets::seal(keys, context, plaintext)
            .await
            .map_err(seal_error)?;
        item.insert(
            self.ciphertext.into(),
            AttributeValue::B(Blob::new(sealed.ciphertext)),
        );
        item.insert(
            self.wrapped_key.into(),
            AttributeValue::B(Blob::new(sealed.wrapped_key)),
        );
        Ok(())
    }

    /// The sealed value on `item`, if both attributes are there.
    pub fn read(&self, item: &AttrMap) -> Option<Sealed> {
        let bytes = |name: &str| match item.get(name) {
            Some(AttributeValue::B(b)) => Some(b.as_ref().to_vec()),
            _ => None,
        };
        Some(Sealed {
            ciphertext: bytes(self.ciphertext)?,
            wrapped_key: bytes(self.wrapped_key)?,
        })
    }

    /// Opens the sealed value on `item`: `Ok(None)` if there is none.
    pub async fn open_from(
        &self,
        keys: &dyn KeyService,
        context: &SealContext,
        item: &AttrMap,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(sealed) = self.read(item) else {
            return Ok(None);
        };
        secrets::open(keys, context, &sealed)
            .await
            .map(Some)
            .map_err(seal_error)
    }
}

/// A sealing failure as a store failure: a value that does not open is a corrupt item; a
/// key service that failed is a backend failure.
pub fn seal_error(err: SealError) -> StoreError {
    match err {
        SealError::Corrupt(what) => StoreError::Corrupt(format!("sealed attribute: {what}")),
        SealError::KeyService(_) => StoreError::Backend(Box::new(err)),
    }
}

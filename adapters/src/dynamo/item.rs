//! Reading and writing item attributes without repeating `AttributeValue` matching
//! everywhere. A missing or mistyped attribute is a [`StoreError::Corrupt`] naming it.
use aws_sdk_dynamodb::types::AttributeValue;
use scrm_core::ports::StoreError;
use std::collections::HashMap;

/// A DynamoDB item.
pub type AttrMap = HashMap<String, AttributeValue>;

/// Typed getters on an item.
pub trait ItemExt {
    /// A required string attribute.
    fn s(&self, name: &str) -> Result<&str, StoreError>;
    /// An optional string attribute.
    fn s_opt(&self, name: &str) -> Option<&str>;
    /// A required integer attribute.
    fn n(&self, name: &str) -> Result<i64, StoreError>;
    /// An optional integer attribute.
    fn n_opt(&self, name: &str) -> Result<Option<i64>, StoreError>;
    /// An optional boolean attribute.
    fn bool_opt(&self, name: &str) -> Option<bool>;
    /// An optional string-set or string-list attribute, as a vector.
    fn strings(&self, name: &str) -> Vec<String>;
    /// A required attribute holding JSON text, deserialised.
    fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, StoreError>;
}

impl ItemExt for AttrMap {
    fn s(&self, name: &str) -> Result<&str, StoreError> {
        self.s_opt(name)
            .ok_or_else(|| StoreError::Corrupt(format!("missing string attribute `{name}`")))
    }

    fn s_opt(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(AttributeValue::S(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.n_opt(name)?
            .ok_or_else(|| StoreError::Corrupt(format!("missing number attribute `{name}`")))
    }

    fn n_opt(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.get(name) {
            Some(AttributeValue::N(n)) => n
                .parse::<i64>()
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("attribute `{name}` is not an integer"))),
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(_) => Err(StoreError::Corrupt(format!(
                "attribute `{name}` is not a number"
            ))),
        }
    }

    fn bool_opt(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(AttributeValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(AttributeValue::Ss(v)) => v.clone(),
            Some(AttributeValue::L(v)) => v.iter().filter_map(|a| a.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let text = self.s(name)?;
        serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("attribute `{name}` is not valid JSON: {e}")))
    }
}

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A JSON-text attribute value.
pub fn json<T: serde::Serialize>(v: &T) -> AttributeValue {
    AttributeValue::S(serde_json::to_string(v).unwrap_or_else(|_| "null".to_string()))
}

/// Builds an item from `(name, value)` pairs.
pub fn item<const N: usize>(pairs: [(&str, AttributeValue); N]) -> AttrMap {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

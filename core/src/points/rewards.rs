//! The rewards catalogue: what points buy, with a stock that redemptions decrement in the
//! same transaction as the spend, so that a reward never oversells.
use super::model::MAX_POINTS;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A reward as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    /// Id (a ULID).
    pub reward_id: String,
    /// Name shown to customers.
    pub name: String,
    /// Description shown to customers.
    pub description: Option<String>,
    /// Points it costs.
    pub cost: i64,
    /// Units left.
    pub stock: i64,
    /// Units redeemed so far.
    pub redeemed: i64,
    /// Whether customers can redeem it.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReward {
    /// Name (1 to 100 characters).
    pub name: String,
    /// Description (up to 1000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// Points it costs (≥ 1).
    pub cost: i64,
    /// Initial stock (≥ 0).
    pub stock: i64,
    /// Offered now (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A change to a reward. Stock is changed by a delta (`add_stock`, may be negative) so
/// that a restock never overwrites redemptions made meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RewardPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New cost.
    pub cost: Option<i64>,
    /// Units to add (negative: remove; never below 0).
    pub add_stock: Option<i64>,
    /// Offer or withdraw.
    pub active: Option<bool>,
}

/// A redemption: what the merchant fulfils.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    /// The reward.
    pub reward_id: String,
    /// Its name at the time.
    pub reward_name: String,
    /// The customer.
    pub external_userid: String,
    /// Points spent.
    pub cost: i64,
    /// The ledger entry of the spend.
    pub seq: i64,
    /// When.
    pub redeemed_at: DateTime<Utc>,
}

/// What a free grant of a reward found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantWrite {
    /// Granted now: one unit of stock taken.
    Granted(Redemption),
    /// Granted before under the key (a retry): nothing taken.
    Already(Redemption),
    /// No stock left: nothing taken.
    OutOfStock,
    /// No such reward.
    NoSuchReward,
}

/// Grants `reward_id` to `external_userid` at no cost, once per `key` (a fission tier's
/// reward): the catalogue's stock decremented conditionally with the redemption record,
/// as a redemption does, without touching the customer's points.
pub async fn grant<S: super::ports::RewardStore>(
    store: &S,
    tenant: &crate::tenants::TenantId,
    reward_id: &str,
    external_userid: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<GrantWrite, crate::ports::StoreError> {
    let Some(reward) = store.reward(tenant, reward_id).await? else {
        return Ok(GrantWrite::NoSuchReward);
    };
    let redemption = Redemption {
        reward_id: reward_id.to_string(),
        reward_name: reward.name,
        external_userid: external_userid.to_string(),
        cost: 0,
        seq: 0,
        redeemed_at: now,
    };
    store.grant_reward(tenant, key, &redemption).await
}

fn check_name(name: &str) -> Result<(), String> {
    let n = name.trim().chars().count();
    if (1..=100).contains(&n) {
        Ok(())
    } else {
        Err("name: 1 to 100 characters".into())
    }
}

fn check_description(d: &Option<String>) -> Result<(), String> {
    match d {
        Some(d) if d.chars().count() > 1000 => Err("description: at most 1000 characters".into()),
        _ => Ok(()),
    }
}

fn check_cost(cost: i64) -> Result<(), String> {
    if (1..=MAX_POINTS).contains(&cost) {
        Ok(())
    } else {
        Err(format!("cost: a whole number from 1 to {MAX_POINTS}"))
    }
}

impl NewReward {
    /// Checks the fields.
    pub fn validate(&self) -> Result<(), String> {
        check_name(&self.name)?;
        check_description(&self.description)?;
        check_cost(self.cost)?;
        if !(0..=10_000_000).contains(&self.stock) {
            return Err("stock: a whole number from 0 to 10000000".into());
        }
        Ok(())
    }
}

impl RewardPatch {
    /// Checks the fields given.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(n) = &self.name {
            check_name(n)?;
        }
        check_description(&self.description)?;
        if let Some(c) = self.cost {
            check_cost(c)?;
        }
        if let Some(s) = self.add_stock {
            if s.abs() > 10_000_000 {
                return Err("add_stock: at most 10000000 either way".into());
            }
        }
        if self.name.is_none()
            && self.description.is_none()
            && self.cost.is_none()
            && self.add_stock.is_none()
            && self.active.is_none()
        {
            return Err("nothing to change".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_are_validated() {
        let ok = NewReward {
            name: "Mug".into(),
            description: None,
            cost: 1000,
            stock: 10,
            active: true,
        };
        assert!(ok.validate().is_ok());
        assert!(NewReward {
            cost: 0,
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(NewReward {
            stock: -1,
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(NewReward {
            name: " ".into(),
            ..ok
        }
        .validate()
        .is_err());
        assert!(RewardPatch::default().validate().is_err());
        assert!(RewardPatch {
            add_stock: Some(-3),
            ..Default::default()
        }
        .validate()
        .is_ok());
    }
}

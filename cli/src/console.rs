//! `scrm console …`: operators give and remove web console roles directly in the tables
//! (a new tenant's first admin, or an admin locked out). Changes are attributed to `cli`.
use crate::ops::plain_db;
use anyhow::{bail, Context};
use chrono::Utc;
use clap::Subcommand;
use scrm_adapters::dynamo::{DynamoConsole, DynamoTenants};
use scrm_core::tenants::console::{member_role, valid_userid, ConsoleStore};
use scrm_core::tenants::{TenantId, TenantLookup};

/// `scrm console …`
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Give a member a console role (viewer, operator or admin); another role than the
    /// member had ends their sessions.
    Grant {
        /// The corp id.
        #[arg(long)]
        corp_id: String,
        /// The member's WeCom userid.
        #[arg(long)]
        userid: String,
        /// viewer, operator or admin.
        #[arg(long)]
        role: String,
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
    /// Remove a member's console access and end their sessions.
    Revoke {
        /// The corp id.
        #[arg(long)]
        corp_id: String,
        /// The member's WeCom userid.
        #[arg(long)]
        userid: String,
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
    /// List the members with a console role.
    List {
        /// The corp id.
        #[arg(long)]
        corp_id: String,
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
}

async fn tenant(corp_id: &str, prefix: &str) -> anyhow::Result<(TenantId, DynamoConsole)> {
    let id = TenantId::parse(corp_id).context("--corp-id")?;
    let db = plain_db(prefix).await;
    if DynamoTenants::new(db.clone()).tenant(&id).await?.is_none() {
        bail!("tenant {id} is not registered");
    }
    Ok((id, DynamoConsole::new(&db)))
}

/// Runs `scrm console …`.
pub async fn run(cmd: ConsoleCommand) -> anyhow::Result<()> {
    match cmd {
        ConsoleCommand::Grant {
            corp_id,
            userid,
            role,
            prefix,
        } => {
            let userid = valid_userid(&userid).map_err(|e| anyhow::anyhow!("--userid: {e}"))?;
            let role = member_role(&role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let (id, store) = tenant(&corp_id, &prefix).await?;
            let change = store
                .put_grant(&id, userid, role, None, "cli", Utc::now())
                .await?;
            let ended = if change.changed {
                store.delete_member_sessions(&id, userid).await?
            } else {
                0
            };
            eprintln!(
                "{userid} is {} in {id}{}",
                role.as_str(),
                if change.changed {
                    format!(" ({ended} session(s) ended)")
                } else {
                    " (unchanged)".to_string()
                }
            );
            Ok(())
        }
        ConsoleCommand::Revoke {
            corp_id,
            userid,
            prefix,
        } => {
            let userid = valid_userid(&userid).map_err(|e| anyhow::anyhow!("--userid: {e}"))?;
            let (id, store) = tenant(&corp_id, &prefix).await?;
            let removed = store.delete_grant(&id, userid).await?;
            let ended = store.delete_member_sessions(&id, userid).await?;
            eprintln!(
                "{userid}: {} ({ended} session(s) ended)",
                if removed {
                    "console access removed"
                } else {
                    "had no console role"
                }
            );
            Ok(())
        }
        ConsoleCommand::List { corp_id, prefix } => {
            let (id, store) = tenant(&corp_id, &prefix).await?;
            for g in store.grants(&id).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    g.userid,
                    g.role.as_str(),
                    g.name.unwrap_or_default(),
                    g.granted_by
                );
            }
            Ok(())
        }
    }
}

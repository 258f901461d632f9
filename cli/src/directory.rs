//! `scrm directory …`: maintenance of the directory table. `backfill-customers` (alias
//! `backfill-names`) moves customers written before the listing by id (gsi4) existed from
//! the old listing (gsi1 `{corp}#CUSTOMERS`) to it, giving each its name index entry (gsi3)
//! on the way; it prints its progress after every batch with the position to resume from,
//! and can be stopped and run again at any time (customers already moved are not read).
use crate::ops::plain_db;
use anyhow::Context;
use clap::Subcommand;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_core::tenants::TenantId;

/// `scrm directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Index every customer of a tenant by id and by name (after the indexes were added to
    /// an existing table); resumable with `--after`.
    #[command(alias = "backfill-names")]
    BackfillCustomers {
        /// The corp id.
        #[arg(long)]
        corp_id: String,
        /// Resume after this external_userid (the `last` a previous run printed).
        #[arg(long)]
        after: Option<String>,
        /// Customers read per batch (one progress line each).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
}

/// Runs `scrm directory …`.
pub async fn run(cmd: DirectoryCommand) -> anyhow::Result<()> {
    match cmd {
        DirectoryCommand::BackfillCustomers {
            corp_id,
            after,
            batch,
            prefix,
        } => {
            let tenant = TenantId::parse(&corp_id).context("--corp-id")?;
            let directory = DynamoDirectory::new(plain_db(&prefix).await);
            let (mut read, mut written) = (0u64, 0u64);
            let mut last = after;
            loop {
                let (done, finished) = directory
                    .backfill_customer_index(&tenant, last.as_deref(), batch.max(1))
                    .await
                    .with_context(|| {
                        format!(
                            "backfill stopped; resume with --after {}",
                            last.as_deref().unwrap_or("(none: start again)")
                        )
                    })?;
                read += done.read;
                written += done.written;
                if done.last.is_some() {
                    last = done.last;
                }
                println!(
                    "read {read}\twritten {written}\tlast {}",
                    last.as_deref().unwrap_or("-")
                );
                if finished {
                    println!("done");
                    return Ok(());
                }
            }
        }
    }
}

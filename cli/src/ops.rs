//! Operator commands: create the tables, register tenants and issue API keys, run the fake
//! WeCom server for the local stack.
use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Args, Subcommand};
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::dynamo::{schema, Db};
use scrm_core::config::{Secret, TableNames};
use scrm_core::tenants::ports::issue_key;
use scrm_core::tenants::{Role, Tenant, TenantId, TenantLookup, TenantSettings, TenantWrite};
use scrm_core::wecom::crypto::EncodingAesKey;

/// `scrm tables …`
#[derive(Debug, Subcommand)]
pub enum TablesCommand {
    /// Create every table that does not exist yet (DynamoDB Local via AWS_ENDPOINT_URL_DYNAMODB).
    Create {
        /// Table name prefix (tables are `<prefix>-tenants`, `<prefix>-directory`, ...).
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
}

/// `scrm tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Register a tenant (a WeCom corp) and print its first admin API key.
    Add(TenantAdd),
    /// Issue another API key for a tenant.
    Key {
        /// The corp id.
        #[arg(long)]
        corp_id: String,
        /// viewer, operator, admin or session_issuer (only `POST /v1/customer-sessions` for
        /// WeChat users: the key for the merchant's internet-facing H5 backend).
        #[arg(long, default_value = "admin")]
        role: String,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
    /// List registered tenants (ids only).
    List {
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
    /// Seal the secrets of tenants registered before secrets were encrypted at rest (their
    /// plain attributes are removed). Safe to run again: sealed tenants are left alone.
    SealSecrets {
        /// Table name prefix.
        #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
        prefix: String,
    },
}

/// Arguments of `scrm tenant add`. Secrets may come from the environment so that they do
/// not end up in shell history.
#[derive(Debug, Args)]
pub struct TenantAdd {
    /// The corp id (企业ID).
    #[arg(long)]
    pub corp_id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// The callback Token configured in WeCom.
    #[arg(long, env = "SCRM_CALLBACK_TOKEN", hide_env_values = true)]
    pub callback_token: String,
    /// The callback EncodingAESKey configured in WeCom (43 characters).
    #[arg(long, env = "SCRM_ENCODING_AES_KEY", hide_env_values = true)]
    pub encoding_aes_key: String,
    /// The customer-contact (客户联系) secret.
    #[arg(long, env = "SCRM_CONTACT_SECRET", hide_env_values = true)]
    pub contact_secret: String,
    /// The reminder app's secret.
    #[arg(long, env = "SCRM_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// The reminder app's agent id.
    #[arg(long)]
    pub agent_id: Option<i64>,
    /// IANA timezone that decides what a day is.
    #[arg(long, default_value = "Asia/Shanghai")]
    pub timezone: String,
    /// Succeed without changes if the tenant already exists.
    #[arg(long)]
    pub if_missing: bool,
    /// Table name prefix.
    #[arg(long, env = "TABLE_PREFIX", default_value = "scrm")]
    pub prefix: String,
}

/// The tables with the operator's credentials, without the key service (for commands
/// that never read tenant secrets).
pub(crate) async fn plain_db(prefix: &str) -> Db {
    db(prefix).await
}

async fn db(prefix: &str) -> Db {
    // Operators run the CLI with profiles, SSO or roles: the full credential chain, which
    // the deployed functions do without (they read Lambda's environment).
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let mut tables = TableNames::from_env();
    if std::env::var("TENANTS_TABLE").is_err() {
        tables = TableNames::with_prefix(prefix);
    }
    Db::from_sdk_config(&sdk, tables)
}

/// [`db`] with the key service that seals tenant secrets: the stack's KMS key
/// (`SECRETS_KMS_KEY_ID`, with the operator's credentials) or, locally, `SECRETS_LOCAL_KEY`.
async fn db_with_secret_keys(prefix: &str) -> anyhow::Result<Db> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let keys = scrm_adapters::crypto::key_service_from_env(&sdk)?.with_context(|| {
        format!(
            "tenant secrets are sealed: set {} (the stack's KMS key) or {} (local runs)",
            scrm_adapters::crypto::KMS_KEY_ENV,
            scrm_adapters::crypto::LOCAL_KEY_ENV
        )
    })?;
    Ok(db(prefix).await.with_secret_keys(keys))
}

/// Runs `scrm tables …`.
pub async fn tables(cmd: TablesCommand) -> anyhow::Result<()> {
    match cmd {
        TablesCommand::Create { prefix } => {
            let db = db(&prefix).await;
            let created = schema::create_tables(&db.client, &db.tables)
                .await
                .context("creating tables")?;
            for def in schema::ALL {
                let name = def.name_in(&db.tables);
                let state = if created.iter().any(|c| c == name) {
                    "created"
                } else {
                    "exists"
                };
                println!("{name}\t{state}");
            }
            Ok(())
        }
    }
}

/// Runs `scrm tenant …`.
pub async fn tenant(cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Add(add) => {
            let id = TenantId::parse(&add.corp_id).context("--corp-id")?;
            EncodingAesKey::parse(&add.encoding_aes_key)
                .map_err(|e| anyhow::anyhow!("--encoding-aes-key: {e}"))?;
            if add.callback_token.is_empty() || add.callback_token.len() > 32 {
                bail!("--callback-token must be 1 to 32 characters");
            }
            if add.timezone.parse::<chrono_tz::Tz>().is_err() {
                bail!("--timezone: unknown timezone {}", add.timezone);
            }
            if add.app_secret.is_some() != add.agent_id.is_some() {
                bail!("--app-secret and --agent-id go together");
            }
            let store = DynamoTenants::new(db_with_secret_keys(&add.prefix).await?);
            let tenant = Tenant {
                id: id.clone(),
                name: add.name,
                callback_token: Secret::new(add.callback_token),
                encoding_aes_key: Secret::new(add.encoding_aes_key),
                contact_secret: Secret::new(add.contact_secret),
                app_agent_id: add.agent_id,
                app_secret: add.app_secret.map(Secret::new),
                settings: TenantSettings {
                    timezone: add.timezone,
                    ..TenantSettings::default()
                },
                created_at: Utc::now(),
            };
            if !store.create_tenant(&tenant).await? {
                if add.if_missing {
                    eprintln!("tenant {id} already exists; nothing changed");
                    return Ok(());
                }
                bail!("tenant {id} already exists");
            }
            let (key, record) =
                issue_key(&store, &id, "initial admin", Role::Admin, Utc::now()).await?;
            eprintln!(
                "tenant {id} registered; admin key {} (shown once):",
                record.key_id
            );
            println!("{}", key.reveal());
            Ok(())
        }
        TenantCommand::Key {
            corp_id,
            role,
            name,
            prefix,
        } => {
            let id = TenantId::parse(&corp_id).context("--corp-id")?;
            let role = Role::parse(&role)
                .context("--role must be viewer, operator, admin or session_issuer")?;
            let store = DynamoTenants::new(db(&prefix).await);
            if store.tenant(&id).await?.is_none() {
                bail!("tenant {id} is not registered");
            }
            let (key, record) = issue_key(&store, &id, &name, role, Utc::now()).await?;
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "{} key {} with scopes {} (shown once):",
                role.as_str(),
                record.key_id,
                scopes.join(", ")
            );
            println!("{}", key.reveal());
            Ok(())
        }
        TenantCommand::List { prefix } => {
            let store = DynamoTenants::new(db(&prefix).await);
            for id in store.tenant_ids().await? {
                println!("{id}");
            }
            Ok(())
        }
        TenantCommand::SealSecrets { prefix } => {
            let store = DynamoTenants::new(db_with_secret_keys(&prefix).await?);
            let sealed = store.seal_plaintext_secrets().await?;
            for id in &sealed {
                println!("{id}\tsealed");
            }
            eprintln!("{} tenant(s) sealed", sealed.len());
            Ok(())
        }
    }
}

/// Runs the fake WeCom server with the demo corp until interrupted.
pub async fn fake_wecom(port: u16) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    println!(
        "fake WeCom on http://{addr}/cgi-bin (demo corp {})",
        scrm_adapters::wecom::fake::DEMO_CORP_ID
    );
    scrm_adapters::wecom::fake::serve(addr).await?;
    Ok(())
}

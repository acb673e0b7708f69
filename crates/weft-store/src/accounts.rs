//! Users, login sessions with rotating refresh tokens, and single-use email tokens.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use weft_domain::{Actor, AuditAction, EmailAddress, PasswordHash, SessionId, Slug, UserId};

use crate::audit::{Origin, Record, append};
use crate::workspaces::{insert_workspace, with_free_slug};
use crate::{Page, PageRequest, Result, Store, StoreError, Workspace, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub email_verified_at: Option<i64>,
    pub is_operator: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub name: &'a str,
    pub password_hash: &'a PasswordHash,
    pub is_operator: bool,
}

pub struct NewSession<'a> {
    pub user_id: &'a UserId,
    pub refresh_token_hash: &'a str,
    pub lifetime_ms: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now spent and the new one belongs to this session.
    Rotated { session: SessionId, user: UserId },
    /// The token had already been rotated: someone replayed it, so its session is now revoked.
    Reused,
    /// Unknown token, or its session is revoked or past its absolute lifetime.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl EmailTokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            EmailTokenPurpose::VerifyEmail => "verify_email",
            EmailTokenPurpose::ResetPassword => "reset_password",
        }
    }
}

pub struct NewEmailToken<'a> {
    pub user_id: &'a UserId,
    pub purpose: EmailTokenPurpose,
    pub email: &'a str,
    pub token_hash: &'a str,
    pub lifetime_ms: i64,
}

const USER_COLUMNS: &str = "id, email, name, email_verified_at, is_operator, created_at, updated_at";

pub(crate) fn parse_id<T: std::str::FromStr>(row: &AnyRow, column: &str) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    parse_stored_id(&row.try_get::<String, _>(column)?, column)
}

/// A stored id that does not parse is corrupt data, reported as a decode error.
pub(crate) fn parse_stored_id<T: std::str::FromStr>(raw: &str, column: &str) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    raw.parse().map_err(|e| StoreError::Db(sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) }))
}

fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: parse_id(row, "id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        email_verified_at: row.try_get("email_verified_at")?,
        is_operator: row.try_get::<i64, _>("is_operator")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<Session> {
    Ok(Session {
        id: parse_id(row, "id")?,
        user_id: parse_id(row, "user_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

/// Appends an account event (no workspace) for `user`.
async fn append_account(conn: &mut AnyConnection, origin: &Origin, user: &UserId, action: AuditAction) -> Result<()> {
    let actor = Actor::User(user.clone());
    append(conn, origin, Record::new(None, &actor, action).target("user", user.as_str())).await
}

impl Store {
    /// Creates an account and its personal workspace (named after the person, owned by them).
    /// A taken email is `Conflict`, decided by the unique index.
    pub async fn create_user(&self, new: NewUser<'_>, origin: &Origin) -> Result<(User, Workspace)> {
        with_free_slug(new.name, None, |slug| self.insert_user(&new, origin, slug)).await
    }

    async fn insert_user(&self, new: &NewUser<'_>, origin: &Origin, slug: Slug) -> Result<(User, Workspace)> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, is_operator, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             RETURNING id, email, name, email_verified_at, is_operator, created_at, updated_at",
        )
        .bind(UserId::generate().as_str())
        .bind(new.email.as_str())
        .bind(new.name)
        .bind(new.password_hash.as_str())
        .bind(i64::from(new.is_operator))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let user = user_from_row(&row)?;
        append_account(&mut tx, origin, &user.id, AuditAction::UserRegistered).await?;
        let workspace = insert_workspace(&mut tx, origin, &user.id, new.name, &slug, true).await?;
        tx.commit().await?;
        Ok((user, workspace))
    }

    pub async fn user(&self, id: &UserId) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    pub async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The account and its password hash, for login.
    pub async fn user_credentials(&self, email: &EmailAddress) -> Result<Option<(User, PasswordHash)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((user_from_row(&row)?, PasswordHash::from_stored(row.try_get("password_hash")?)))).transpose()
    }

    pub async fn password_hash(&self, id: &UserId) -> Result<PasswordHash> {
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(PasswordHash::from_stored(hash))
    }

    pub async fn rename_user(&self, id: &UserId, name: &str, origin: &Origin) -> Result<User> {
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query(&format!("UPDATE users SET name = $1, updated_at = $2 WHERE id = $3 RETURNING {USER_COLUMNS}"))
                .bind(name)
                .bind(now_ms())
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        append_account(&mut tx, origin, id, AuditAction::UserUpdated).await?;
        tx.commit().await?;
        user_from_row(&row)
    }

    /// Sets a new password and revokes every session but `keep`, in one transaction.
    pub async fn change_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        keep: &SessionId,
        origin: &Origin,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash.as_str())
            .bind(now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.as_str())
            .bind(keep.as_str())
            .execute(&mut *tx)
            .await?;
        append_account(&mut tx, origin, id, AuditAction::PasswordChanged).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens a session with its first refresh token.
    pub async fn create_session(&self, new: NewSession<'_>) -> Result<Session> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $3, $5, $6) \
             RETURNING id, user_id, created_at, expires_at, last_seen_at, ip, user_agent",
        )
        .bind(SessionId::generate().as_str())
        .bind(new.user_id.as_str())
        .bind(now)
        .bind(now.saturating_add(new.lifetime_ms))
        .bind(new.ip)
        .bind(new.user_agent)
        .fetch_one(&mut *tx)
        .await?;
        let session = session_from_row(&row)?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)")
            .bind(new.refresh_token_hash)
            .bind(session.id.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let origin = Origin { ip: new.ip.map(str::to_owned), user_agent: new.user_agent.map(str::to_owned) };
        append_account(&mut tx, &origin, new.user_id, AuditAction::LoginSucceeded).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The user behind a live session (not revoked, not expired): one indexed lookup per request.
    pub async fn session_user(&self, session: &SessionId) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.email_verified_at, u.is_operator, u.created_at, u.updated_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(session.as_str())
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Spends a refresh token and records its successor. Presenting a spent token again revokes
    /// the whole session (reuse detection). The spend is the transaction's first statement, so
    /// two concurrent presentations cannot both succeed on either backend.
    pub async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        new_hash: &str,
        origin: &Origin,
    ) -> Result<RefreshOutcome> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let spent: Option<String> = sqlx::query_scalar(
            "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL RETURNING session_id",
        )
        .bind(now)
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await?;

        let Some(session_id) = spent else {
            let replayed: Option<String> =
                sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
                    .bind(presented_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(session_id) = replayed else {
                return Ok(RefreshOutcome::Invalid);
            };
            let user_id: String = sqlx::query_scalar(
                "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING user_id",
            )
            .bind(now)
            .bind(&session_id)
            .fetch_one(&mut *tx)
            .await?;
            let user_id = parse_stored_id(&user_id, "user_id")?;
            append_account(&mut tx, origin, &user_id, AuditAction::RefreshTokenReused).await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused);
        };

        let live: Option<String> = sqlx::query_scalar(
            "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1 \
             RETURNING user_id",
        )
        .bind(now)
        .bind(&session_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = live else {
            return Ok(RefreshOutcome::Invalid);
        };
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)")
            .bind(new_hash)
            .bind(&session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated {
            session: parse_stored_id(&session_id, "session_id")?,
            user: parse_stored_id(&user_id, "user_id")?,
        })
    }

    /// Revokes one of the user's sessions (`action` says why: logout or revocation); false when
    /// it is not theirs or already revoked.
    pub async fn revoke_session(
        &self,
        user: &UserId,
        session: &SessionId,
        origin: &Origin,
        action: AuditAction,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let revoked =
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(now_ms())
                .bind(session.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if revoked == 0 {
            return Ok(false);
        }
        let actor = Actor::User(user.clone());
        append(&mut tx, origin, Record::new(None, &actor, action).target("session", session.as_str())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The user's live sessions, newest first (ids sort by creation).
    pub async fn active_sessions(&self, user: &UserId, page: PageRequest<'_>) -> Result<Page<Session>> {
        let rows = sqlx::query(
            "SELECT id, user_id, created_at, expires_at, last_seen_at, ip, user_agent FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND ($3 = '' OR id < $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(user.as_str())
        .bind(now_ms())
        .bind(page.after_or_start())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let sessions = rows.iter().map(session_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(sessions, page.limit, |s| s.id.to_string()))
    }

    pub async fn create_email_token(&self, new: NewEmailToken<'_>) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.token_hash)
        .bind(new.user_id.as_str())
        .bind(new.purpose.as_str())
        .bind(new.email)
        .bind(now)
        .bind(now.saturating_add(new.lifetime_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends a verification token and marks the address it was sent to as verified, if it is
    /// still the account's address. `None` for an unknown, used or expired token.
    pub async fn verify_email(&self, token_hash: &str, origin: &Origin) -> Result<Option<User>> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let Some((user_id, email)) =
            spend_email_token(&mut tx, token_hash, EmailTokenPurpose::VerifyEmail, now).await?
        else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 \
             WHERE id = $2 AND email = $3 RETURNING {USER_COLUMNS}"
        ))
        .bind(now)
        .bind(&user_id)
        .bind(&email)
        .fetch_optional(&mut *tx)
        .await?;
        let user = row.as_ref().map(user_from_row).transpose()?;
        if let Some(user) = &user {
            append_account(&mut tx, origin, &user.id, AuditAction::EmailVerified).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Spends a reset token, sets the new password and revokes every session, in one
    /// transaction. `None` for an unknown, used or expired token.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        hash: &PasswordHash,
        origin: &Origin,
    ) -> Result<Option<UserId>> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let Some((user_id, _email)) =
            spend_email_token(&mut tx, token_hash, EmailTokenPurpose::ResetPassword, now).await?
        else {
            return Ok(None);
        };
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash.as_str())
            .bind(now)
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        let user_id = parse_stored_id(&user_id, "user_id")?;
        append_account(&mut tx, origin, &user_id, AuditAction::PasswordReset).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

/// Marks a live token of the given purpose used; returns its user and email. Written as the
/// transaction's first statement so SQLite takes the write lock at once.
async fn spend_email_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    token_hash: &str,
    purpose: EmailTokenPurpose,
    now: i64,
) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, email",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| Ok((row.try_get("user_id")?, row.try_get("email")?))).transpose()
}

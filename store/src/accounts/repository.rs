//! Reading and writing accounts in the `users` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use megabox_database::DbConnection;
use megabox_domain::UserId;

use super::{DisplayName, Email, Role};
use crate::schema::users;

/// An account as the rest of the store sees it (no password hash).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub agent_active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    display_name: String,
    role: String,
    agent_active: bool,
    created_at: NaiveDateTime,
}

impl UserRow {
    fn into_account(self) -> Result<(Account, String), DieselError> {
        let id = self.id.parse().map_err(|_| corrupt("users.id"))?;
        let role = Role::parse(&self.role).ok_or_else(|| corrupt("users.role"))?;
        let account = Account {
            id,
            email: self.email,
            display_name: self.display_name,
            role,
            agent_active: self.agent_active,
            created_at: self.created_at,
        };
        Ok((account, self.password_hash))
    }
}

fn corrupt(column: &str) -> DieselError {
    DieselError::DeserializationError(format!("invalid value in {column}").into())
}

#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

pub fn create_account(
    connection: &mut DbConnection,
    email: &Email,
    password_hash: &str,
    display_name: &DisplayName,
    role: Role,
) -> Result<Account, CreateAccountError> {
    let id = UserId::generate();
    let created_at = chrono::Utc::now().naive_utc();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(id.to_string()),
            users::email.eq(email.as_str()),
            users::password_hash.eq(password_hash),
            users::display_name.eq(display_name.as_str()),
            users::role.eq(role.as_str()),
            users::agent_active.eq(false),
            users::created_at.eq(created_at),
        ))
        .execute(connection);
    match inserted {
        Ok(_) => Ok(Account {
            id,
            email: email.as_str().to_owned(),
            display_name: display_name.as_str().to_owned(),
            role,
            agent_active: false,
            created_at,
        }),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(CreateAccountError::EmailTaken)
        }
        Err(error) => Err(error.into()),
    }
}

/// The account and its password hash, for login.
pub fn find_by_email(
    connection: &mut DbConnection,
    email: &Email,
) -> Result<Option<(Account, String)>, DieselError> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(connection)
        .optional()?
        .map(UserRow::into_account)
        .transpose()
}

pub fn find_by_id(
    connection: &mut DbConnection,
    id: UserId,
) -> Result<Option<Account>, DieselError> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(connection)
        .optional()?
        .map(|row| row.into_account().map(|(account, _)| account))
        .transpose()
}

/// Sets the free-tier flag; returns false when the account does not exist.
pub fn set_agent_active(
    connection: &mut DbConnection,
    id: UserId,
    active: bool,
) -> Result<bool, DieselError> {
    let updated = diesel::update(users::table.find(id.to_string()))
        .set(users::agent_active.eq(active))
        .execute(connection)?;
    Ok(updated == 1)
}

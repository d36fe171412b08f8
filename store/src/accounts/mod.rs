//! Accounts: who a user is, what role they have, and the parsed inputs that create one.
//! Inputs are parsed into domain types at the edge ([`Email`], [`Password`], [`DisplayName`])
//! and trusted after.

mod inputs;
mod repository;

pub use inputs::{DisplayName, Email, InputError, Password};
pub use repository::{
    Account, CreateAccountError, create_account, find_by_email, find_by_id, set_agent_active,
};

use serde::{Deserialize, Serialize};

/// What an account may do. Admins are only made by the operator CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Listener,
    Artist,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Listener => "listener",
            Role::Artist => "artist",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "listener" => Some(Role::Listener),
            "artist" => Some(Role::Artist),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

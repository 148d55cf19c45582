//! Where bans live: a DynamoDB table (`BANS_TABLE`, partition key `id`, the
//! SHA-256 of the identity; TTL attribute `expiresAt`), read strongly
//! consistent, or memory in local mode.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;

use crate::bans::Ban;

/// The most bans local mode holds in memory.
pub(crate) const MEMORY_MAX: usize = 10_000;

/// A failure of the bans table.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BanStoreError {
    #[error("bans store failed: {0}")]
    Failed(String),
    #[error("bans store did not answer before the request's deadline")]
    OutOfTime,
    #[error("the memory store holds its most bans")]
    Full,
}

/// Where bans live. `Debug` names no identity.
pub enum BanStore {
    Dynamo { client: DynamoClient, table: String },
    Memory(Mutex<HashMap<String, Ban>>),
}

impl fmt::Debug for BanStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dynamo { table, .. } => f
                .debug_struct("Dynamo")
                .field("table", table)
                .finish_non_exhaustive(),
            Self::Memory(memory) => f
                .debug_struct("Memory")
                .field("bans", &lock(memory).len())
                .finish(),
        }
    }
}

impl BanStore {
    /// The table's partition key: the SHA-256 (hex) of the identity.
    pub const KEY: &str = "id";

    pub fn dynamo(client: DynamoClient, table: impl Into<String>) -> Self {
        Self::Dynamo {
            client,
            table: table.into(),
        }
    }

    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Ban>, BanStoreError> {
        match self {
            Self::Memory(memory) => Ok(lock(memory).get(key).cloned()),
            Self::Dynamo { client, table } => {
                let output = client
                    .get_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(key.to_owned()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| BanStoreError::Failed(DisplayErrorContext(&e).to_string()))?;
                Ok(output.item().map(from_attributes))
            }
        }
    }

    pub(super) async fn put(&self, key: &str, ban: &Ban) -> Result<(), BanStoreError> {
        match self {
            Self::Memory(memory) => {
                let mut memory = lock(memory);
                if memory.len() >= MEMORY_MAX && !memory.contains_key(key) {
                    let now = Timestamp::now().as_second();
                    memory.retain(|_, ban| ban.expires_at.is_none_or(|expires| expires > now));
                    if memory.len() >= MEMORY_MAX {
                        return Err(BanStoreError::Full);
                    }
                }
                memory.insert(key.to_owned(), ban.clone());
                Ok(())
            }
            Self::Dynamo { client, table } => {
                let mut item = HashMap::from([
                    (Self::KEY.to_owned(), AttributeValue::S(key.to_owned())),
                    (
                        "createdAt".to_owned(),
                        AttributeValue::N(Timestamp::now().as_second().to_string()),
                    ),
                ]);
                if let Some(rooms) = &ban.rooms {
                    item.insert(
                        "rooms".to_owned(),
                        AttributeValue::L(rooms.iter().cloned().map(AttributeValue::S).collect()),
                    );
                }
                if let Some(expires) = ban.expires_at {
                    item.insert("expiresAt".to_owned(), AttributeValue::N(expires.to_string()));
                }
                if let Some(reason) = &ban.reason {
                    item.insert("reason".to_owned(), AttributeValue::S(reason.clone()));
                }
                client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| BanStoreError::Failed(DisplayErrorContext(&e).to_string()))
            }
        }
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), BanStoreError> {
        match self {
            Self::Memory(memory) => {
                lock(memory).remove(key);
                Ok(())
            }
            Self::Dynamo { client, table } => client
                .delete_item()
                .table_name(table)
                .key(Self::KEY, AttributeValue::S(key.to_owned()))
                .send()
                .await
                .map(drop)
                .map_err(|e| BanStoreError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }
}

/// A ban read back. An attribute of the wrong type reads as absent, except
/// `rooms`: a list that cannot be read covers every room (a ban fails
/// towards refusing).
fn from_attributes(item: &HashMap<String, AttributeValue>) -> Ban {
    let rooms = item.get("rooms").and_then(|rooms| {
        let list = rooms.as_l().ok()?;
        list.iter()
            .map(|room| room.as_s().ok().cloned())
            .collect::<Option<Vec<_>>>()
    });
    Ban {
        rooms,
        expires_at: item
            .get("expiresAt")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok()),
        reason: item.get("reason").and_then(|v| v.as_s().ok()).cloned(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

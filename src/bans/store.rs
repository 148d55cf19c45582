//! Where bans live: a DynamoDB table (`BANS_TABLE`, partition key `id`, the
//! SHA-256 of the identity; TTL attribute `expiresAt`), read strongly
//! consistent (GetItem) and written with UpdateItem alone, or memory in
//! local mode.

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
                // UpdateItem, the one write the rooms and quotas already
                // link (PutItem and DeleteItem would add their SDK code to
                // the zip): the whole ban is set, what it lacks removed.
                let mut set = vec!["#created = :now"];
                let mut remove = Vec::new();
                let mut request = client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(key.to_owned()))
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(Timestamp::now().as_second().to_string()),
                    );
                match &ban.rooms {
                    Some(rooms) => {
                        set.push("#rooms = :rooms");
                        request = request.expression_attribute_values(
                            ":rooms",
                            AttributeValue::L(rooms.iter().cloned().map(AttributeValue::S).collect()),
                        );
                    }
                    None => remove.push("#rooms"),
                }
                match ban.expires_at {
                    Some(expires) => {
                        set.push("#exp = :exp");
                        request = request
                            .expression_attribute_values(":exp", AttributeValue::N(expires.to_string()));
                    }
                    None => remove.push("#exp"),
                }
                match &ban.reason {
                    Some(reason) => {
                        set.push("#reason = :reason");
                        request =
                            request.expression_attribute_values(":reason", AttributeValue::S(reason.clone()));
                    }
                    None => remove.push("#reason"),
                }
                let mut update = format!("SET {}", set.join(", "));
                if !remove.is_empty() {
                    update.push_str(&format!(" REMOVE {}", remove.join(", ")));
                }
                // Names as placeholders: none can meet a reserved word.
                request
                    .update_expression(update)
                    .expression_attribute_names("#created", "createdAt")
                    .expression_attribute_names("#rooms", "rooms")
                    .expression_attribute_names("#exp", "expiresAt")
                    .expression_attribute_names("#reason", "reason")
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
            // Lifted by ending it now (UpdateItem, as `put`): an ended ban
            // covers nothing and reads as none; DynamoDB's TTL deletes the
            // item. Only if it exists: no item is made for a DELETE.
            Self::Dynamo { client, table } => {
                let lifted = client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(key.to_owned()))
                    .update_expression("SET expiresAt = :now")
                    .condition_expression("attribute_exists(#id)")
                    .expression_attribute_names("#id", Self::KEY)
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(Timestamp::now().as_second().to_string()),
                    )
                    .send()
                    .await;
                match lifted {
                    Ok(_) => Ok(()),
                    Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                        if matches!(
                            e.err(),
                            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_)
                        ) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(BanStoreError::Failed(DisplayErrorContext(&e).to_string())),
                }
            }
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

//! Where the counts live: one conditional atomic update in DynamoDB
//! (`QUOTA_TABLE`), or memory in local mode.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

/// A failure of the quota table.
#[derive(Debug, thiserror::Error)]
pub(super) enum QuotaStoreError {
    #[error("quota store failed: {0}")]
    Failed(String),
    #[error("quota store did not answer before the request's deadline")]
    OutOfTime,
}

/// Where the counts live. `Debug` names no caller.
pub enum QuotaStore {
    Dynamo { client: DynamoClient, table: String },
    Memory(Mutex<MemoryCounts>),
}

/// Local mode's counts: one entry per caller, `(window start, count)`.
/// Counts of ended windows are forgotten once per window (when the first
/// count of a new window comes), not on every new caller: each entry is
/// removed at most once, so forgetting costs O(1) amortized per count.
#[derive(Debug, Default)]
pub struct MemoryCounts {
    counts: HashMap<String, (u64, u32)>,
    /// The window whose start last forgot the older ones.
    swept: u64,
}

impl fmt::Debug for QuotaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dynamo { table, .. } => f
                .debug_struct("Dynamo")
                .field("table", table)
                .finish_non_exhaustive(),
            Self::Memory(memory) => f
                .debug_struct("Memory")
                .field(
                    "callers",
                    &memory
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .counts
                        .len(),
                )
                .finish(),
        }
    }
}

/// The most give-backs one caller's window records in DynamoDB.
const MAX_REFUNDS: u32 = 100;

impl QuotaStore {
    /// The table's partition key: the caller and the window (`key#start`).
    pub(crate) const KEY: &str = "pk";

    pub fn dynamo(client: DynamoClient, table: impl Into<String>) -> Self {
        Self::Dynamo {
            client,
            table: table.into(),
        }
    }

    pub fn memory() -> Self {
        Self::Memory(Mutex::new(MemoryCounts::default()))
    }

    /// Counts one token for `key` if fewer than `limit` were counted:
    /// `Some(count after)` when taken, `None` when the limit was reached.
    /// DynamoDB: one conditional atomic update, never a read then a write.
    /// `id` (unique per request) makes the SDK's retry of a write whose
    /// reply was lost recognise itself instead of counting again.
    pub(super) async fn take(
        &self,
        key: &str,
        id: &str,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> Result<Option<u32>, QuotaStoreError> {
        match self {
            Self::Memory(memory) => {
                let mut memory = memory.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if window_start > memory.swept {
                    // A new window: forget the counts of those that have
                    // ended, as the table's TTL would.
                    memory.counts.retain(|_, (start, _)| *start >= window_start);
                    memory.swept = window_start;
                }
                let map = &mut memory.counts;
                // One entry per caller: a new window replaces the old one (and
                // a request that read the clock before the boundary but came
                // after a newer window's counts into the newer window).
                let entry = map.entry(key.to_owned()).or_insert((window_start, 0));
                if entry.0 < window_start {
                    *entry = (window_start, 0);
                }
                if entry.1 >= limit {
                    return Ok(None);
                }
                entry.1 += 1;
                Ok(Some(entry.1))
            }
            Self::Dynamo { client, table } => {
                let result = client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(format!("{key}#{window_start}")))
                    .update_expression("SET expiresAt = :exp, lastId = :id ADD #count :one")
                    .condition_expression(
                        "(attribute_not_exists(#count) OR #count < :limit) AND \
                         (attribute_not_exists(lastId) OR lastId <> :id)",
                    )
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .expression_attribute_names("#count", "count")
                    .expression_attribute_values(":id", AttributeValue::S(id.to_owned()))
                    .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
                    .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
                    .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
                    .return_values(ReturnValue::UpdatedNew)
                    .send()
                    .await;
                match result {
                    Ok(output) => {
                        let count = output
                            .attributes()
                            .and_then(|a| a.get("count"))
                            .and_then(|v| v.as_n().ok())
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(limit);
                        Ok(Some(count))
                    }
                    Err(SdkError::ServiceError(e)) => match e.err() {
                        UpdateItemError::ConditionalCheckFailedException(failed) => {
                            // Our own earlier attempt went through; only its
                            // reply was lost: the token is ours.
                            let old = failed.item();
                            let ours = old
                                .and_then(|item| item.get("lastId"))
                                .and_then(|v| v.as_s().ok())
                                .is_some_and(|last| last == id);
                            let count = old
                                .and_then(|item| item.get("count"))
                                .and_then(|v| v.as_n().ok())
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(limit);
                            Ok(ours.then_some(count))
                        }
                        other => Err(QuotaStoreError::Failed(DisplayErrorContext(other).to_string())),
                    },
                    Err(e) => Err(QuotaStoreError::Failed(DisplayErrorContext(&e).to_string())),
                }
            }
        }
    }

    /// Gives back the unit request `id` took in the window that starts at
    /// `window_start`: its token was not issued. Never below zero, and at
    /// most once per id: DynamoDB keeps the id in `refunded`, so the SDK's
    /// retry of a give-back whose reply was lost does not give twice. `true`
    /// when given back.
    pub(super) async fn give_back(
        &self,
        key: &str,
        id: &str,
        window_start: u64,
    ) -> Result<bool, QuotaStoreError> {
        match self {
            Self::Memory(memory) => {
                let mut memory = memory.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match memory
                    .counts
                    .get_mut(key)
                    .filter(|entry| entry.0 == window_start && entry.1 > 0)
                {
                    Some(entry) => {
                        entry.1 -= 1;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            Self::Dynamo { client, table } => {
                let result = client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(format!("{key}#{window_start}")))
                    .update_expression("ADD #count :minus_one, refunded :ids")
                    // At most MAX_REFUNDS ids a window: the item stays small
                    // (every 429 reads it back), and past that the unit stays spent.
                    .condition_expression(
                        "#count > :zero AND NOT contains(refunded, :id) AND \
                         (attribute_not_exists(refunded) OR size(refunded) < :max)",
                    )
                    .expression_attribute_values(":max", AttributeValue::N(MAX_REFUNDS.to_string()))
                    .expression_attribute_names("#count", "count")
                    .expression_attribute_values(":minus_one", AttributeValue::N("-1".to_owned()))
                    .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
                    .expression_attribute_values(":ids", AttributeValue::Ss(vec![id.to_owned()]))
                    .expression_attribute_values(":id", AttributeValue::S(id.to_owned()))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(true),
                    Err(SdkError::ServiceError(e))
                        if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
                    {
                        // Given back already (a retry whose reply was lost), or nothing to give.
                        Ok(false)
                    }
                    Err(e) => Err(QuotaStoreError::Failed(DisplayErrorContext(&e).to_string())),
                }
            }
        }
    }
}

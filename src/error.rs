//! The one error type of the HTTP layer and its mapping to a status and a
//! stable error code. The client sees only the code and a fixed message; the
//! log gets the whole `source()` chain.

use std::error::Error as StdError;

use http::StatusCode;

use crate::providers::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// The body is over its limit (64 KiB decoded, under Lambda and locally).
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("no such route")]
    NotFound,
    /// With the route's methods, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    #[error("provider not configured")]
    NotEnabled,
    #[error("rooms not configured")]
    RoomsNotEnabled,
    /// Under Lambda without `BANS_TABLE`.
    #[error("bans not configured")]
    BansNotEnabled,
    #[error("stream not allowed by policy")]
    StreamNotAllowed,
    #[error("right not allowed by policy")]
    RightNotAllowed,
    #[error("room not allowed by policy")]
    RoomNotAllowed,
    #[error("participant identity not the caller's")]
    IdentityNotAllowed,
    #[error("room configuration not allowed by policy")]
    RoomConfigNotAllowed,
    #[error("channel not allowed by policy")]
    ChannelNotAllowed,
    #[error("role not allowed by policy")]
    RoleNotAllowed,
    #[error("connection data not allowed by policy")]
    DataNotAllowed,
    #[error("token provider failed")]
    Upstream(#[from] UpstreamError),
    #[error("room not found")]
    RoomNotFound,
    /// `DELETE /admin/rooms/{name}` ended the room: its name is closed
    /// until `ROOM_TTL_S` has passed.
    #[error("room ended")]
    RoomEnded,
    /// A ban holds for the identity the token would be for (and its room).
    #[error("identity banned")]
    Banned,
    /// The bans table could not be read in time and `BANS_FAIL=closed`.
    #[error("bans unavailable")]
    BansUnavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// An admin route asked by a caller that is not an admin.
    #[error("admin required")]
    AdminRequired,
    /// The caller's quota is used up; the window ends in this many seconds.
    #[error("quota exceeded")]
    QuotaExceeded { retry_after: u64 },
    /// A table (the rooms') could not be read or written in time.
    #[error("store unavailable")]
    Store(#[source] Box<dyn StdError + Send + Sync>),
    /// Local mode's memory holds its most rooms (`ROOMS_MEMORY_MAX`).
    #[error("rooms full")]
    RoomsFull,
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

/// Every code [`ApiError::code`] can answer (openapi.yaml lists the same).
pub const ERROR_CODES: [&str; 27] = [
    "bad_request",
    "origin_not_allowed",
    "payload_too_large",
    "not_found",
    "method_not_allowed",
    "not_enabled",
    "room_not_found",
    "room_ended",
    "banned",
    "bans_unavailable",
    "admin_required",
    "quota_exceeded",
    "store_unavailable",
    "rooms_full",
    "stream_not_allowed",
    "right_not_allowed",
    "room_not_allowed",
    "identity_not_allowed",
    "room_config_not_allowed",
    "channel_not_allowed",
    "role_not_allowed",
    "data_not_allowed",
    "credentials_unavailable",
    "upstream_auth_failed",
    "upstream_timeout",
    "upstream_error",
    "internal",
];

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotEnabled | Self::RoomsNotEnabled | Self::BansNotEnabled => StatusCode::NOT_IMPLEMENTED,
            Self::RoomNotFound => StatusCode::NOT_FOUND,
            Self::RoomEnded => StatusCode::GONE,
            Self::Banned | Self::AdminRequired => StatusCode::FORBIDDEN,
            Self::BansUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Store(_) | Self::RoomsFull => StatusCode::SERVICE_UNAVAILABLE,
            Self::StreamNotAllowed
            | Self::RightNotAllowed
            | Self::RoomNotAllowed
            | Self::IdentityNotAllowed
            | Self::RoomConfigNotAllowed
            | Self::ChannelNotAllowed
            | Self::RoleNotAllowed
            | Self::DataNotAllowed => StatusCode::FORBIDDEN,
            Self::Upstream(UpstreamError::Credentials(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(UpstreamError::Timeout) => StatusCode::GATEWAY_TIMEOUT,
            Self::Upstream(UpstreamError::Unsigned(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::NotEnabled | Self::RoomsNotEnabled | Self::BansNotEnabled => "not_enabled",
            Self::RoomNotFound => "room_not_found",
            Self::RoomEnded => "room_ended",
            Self::Banned => "banned",
            Self::BansUnavailable(_) => "bans_unavailable",
            Self::AdminRequired => "admin_required",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::Store(_) => "store_unavailable",
            Self::RoomsFull => "rooms_full",
            Self::StreamNotAllowed => "stream_not_allowed",
            Self::RightNotAllowed => "right_not_allowed",
            Self::RoomNotAllowed => "room_not_allowed",
            Self::IdentityNotAllowed => "identity_not_allowed",
            Self::RoomConfigNotAllowed => "room_config_not_allowed",
            Self::ChannelNotAllowed => "channel_not_allowed",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::DataNotAllowed => "data_not_allowed",
            Self::Upstream(UpstreamError::Credentials(_)) => "credentials_unavailable",
            Self::Upstream(UpstreamError::AuthRejected(_)) => "upstream_auth_failed",
            Self::Upstream(UpstreamError::Timeout) => "upstream_timeout",
            Self::Upstream(UpstreamError::Unsigned(_)) => "internal",
            Self::Upstream(_) => "upstream_error",
            Self::Internal(_) => "internal",
        }
    }

    /// The human text for the client: fixed per case, never an internal
    /// error's or the upstream's own text.
    pub fn message(&self) -> &'static str {
        match self {
            Self::BadRequest(reason) => reason,
            Self::OriginNotAllowed => "This origin is not allowed to request tokens.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::NotFound => "No such route.",
            Self::MethodNotAllowed(_) => "Method not allowed on this route.",
            Self::NotEnabled => {
                "This provider is not configured on this deployment: set its URL (CAS_URL for /token, AIPIX_URL for /streams, LIVEKIT_URL for /livekit/token), or its app or account (AGORA_APP_ID for /agora/token, TWILIO_ACCOUNT_SID for /twilio/token, VONAGE_APPLICATION_ID for /vonage/token), and its credentials."
            }
            Self::RoomsNotEnabled => {
                "Rooms are not enabled on this deployment: set CAS_URL and ROOMS_TABLE (a DynamoDB table with partition key `room`)."
            }
            Self::BansNotEnabled => {
                "Bans are not enabled on this deployment: set BANS_TABLE (a DynamoDB table with partition key `id`)."
            }
            Self::RoomNotFound => "No such room, or its token has expired.",
            Self::RoomEnded => {
                "This room was ended by the operator; its name cannot be joined or used again for now."
            }
            Self::Banned => "This identity may not be given a token here (banned by the operator).",
            Self::BansUnavailable(_) => {
                "The bans table is not available right now, so no token is issued; try again shortly."
            }
            Self::AdminRequired => "This route is for the operator's admin principals only.",
            Self::QuotaExceeded { .. } => {
                "This caller has been given its quota of tokens for now; try again after Retry-After seconds."
            }
            Self::Store(_) => {
                "A table this service needs (rooms or quotas) is not available right now; try again shortly."
            }
            Self::RoomsFull => {
                "This service holds as many rooms as it may (ROOMS_MEMORY_MAX); rooms already made are still served, and a new one can be made once others expire."
            }
            Self::StreamNotAllowed => "This stream is not available through this service.",
            Self::RightNotAllowed => "A requested right (live, dvr, copy) is not allowed by this service.",
            Self::RoomNotAllowed => "This room is not available through this service.",
            Self::IdentityNotAllowed => {
                "This identity (participant_identity, uid, user_identity) may not be asked for here: the identity is the signed-in caller's, or one this service makes, and never Agora's uid 0."
            }
            Self::RoomConfigNotAllowed => "room_config may not be set through this service.",
            Self::ChannelNotAllowed => "This channel is not available through this service.",
            Self::RoleNotAllowed => "This role is not allowed by this service.",
            Self::DataNotAllowed => "data (connection data) may not be set through this service.",
            Self::Upstream(UpstreamError::Credentials(_)) => {
                "The token service credentials are not available right now; try again shortly."
            }
            Self::Upstream(UpstreamError::AuthRejected(_)) => {
                "The token service rejected the vendor's credentials."
            }
            Self::Upstream(UpstreamError::Timeout) => "The token service did not answer in time.",
            Self::Upstream(UpstreamError::Unsigned(_)) => "Internal error.",
            Self::Upstream(_) => "The token service failed to issue a token.",
            Self::Internal(_) => "Internal error.",
        }
    }

    /// Whether this is the vendor's or its upstream's fault (logged louder).
    pub fn is_server_side(&self) -> bool {
        self.status().is_server_error()
    }

    /// Whether the provider's credentials are unusable: the secret cannot
    /// be read or lacks a field, or the provider refused the keys even after
    /// a re-read (what a broken rotation looks like; the metric alarms on it).
    pub fn credentials_unusable(&self) -> bool {
        matches!(
            self,
            Self::Upstream(UpstreamError::Credentials(_) | UpstreamError::AuthRejected(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::chain;
    use crate::secrets::{SecretError, SecretFormatError};

    #[test]
    fn every_error_maps_to_its_documented_status_and_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::BadRequest("body is not JSON"), 400, "bad_request"),
            (ApiError::OriginNotAllowed, 403, "origin_not_allowed"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed("GET"), 405, "method_not_allowed"),
            (ApiError::NotEnabled, 501, "not_enabled"),
            (ApiError::RoomsNotEnabled, 501, "not_enabled"),
            (ApiError::BansNotEnabled, 501, "not_enabled"),
            (ApiError::RoomNotFound, 404, "room_not_found"),
            (ApiError::RoomEnded, 410, "room_ended"),
            (ApiError::Banned, 403, "banned"),
            (
                ApiError::BansUnavailable("table gone".into()),
                503,
                "bans_unavailable",
            ),
            (ApiError::AdminRequired, 403, "admin_required"),
            (ApiError::QuotaExceeded { retry_after: 5 }, 429, "quota_exceeded"),
            (ApiError::StreamNotAllowed, 403, "stream_not_allowed"),
            (ApiError::RightNotAllowed, 403, "right_not_allowed"),
            (ApiError::RoomNotAllowed, 403, "room_not_allowed"),
            (ApiError::IdentityNotAllowed, 403, "identity_not_allowed"),
            (ApiError::RoomConfigNotAllowed, 403, "room_config_not_allowed"),
            (ApiError::ChannelNotAllowed, 403, "channel_not_allowed"),
            (ApiError::RoleNotAllowed, 403, "role_not_allowed"),
            (ApiError::DataNotAllowed, 403, "data_not_allowed"),
            (UpstreamError::Rpc(Some(-32601)).into(), 502, "upstream_error"),
            (
                UpstreamError::AuthRejected(401).into(),
                502,
                "upstream_auth_failed",
            ),
            (UpstreamError::Status(500).into(), 502, "upstream_error"),
            (UpstreamError::Malformed.into(), 502, "upstream_error"),
            (UpstreamError::Unsigned("no random bytes").into(), 500, "internal"),
            (UpstreamError::TooLarge.into(), 502, "upstream_error"),
            (UpstreamError::Timeout.into(), 504, "upstream_timeout"),
            (
                UpstreamError::Credentials(SecretError::NotFound).into(),
                503,
                "credentials_unavailable",
            ),
            (ApiError::Internal("boom".into()), 500, "internal"),
            (ApiError::Store("table gone".into()), 503, "store_unavailable"),
            (ApiError::RoomsFull, 503, "rooms_full"),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
            assert!(ERROR_CODES.contains(&code), "{code} missing from ERROR_CODES");
            seen.insert(code);
        }
        let listed: std::collections::BTreeSet<_> = ERROR_CODES.into_iter().collect();
        assert_eq!(seen, listed, "ERROR_CODES lists exactly the codes answered");
    }

    #[test]
    fn the_client_message_never_carries_the_internal_text() {
        let error = ApiError::Internal("db password is hunter2".into());
        assert!(!error.message().contains("hunter2"));
        let error: ApiError =
            UpstreamError::Credentials(SecretFormatError::Missing("API_SECRET").into()).into();
        assert!(!error.message().contains("API_SECRET"));
    }

    #[test]
    fn the_log_chain_names_the_cause() {
        let error: ApiError =
            UpstreamError::Credentials(SecretFormatError::Missing("API_SECRET").into()).into();
        assert_eq!(
            chain(&error),
            "token provider failed: credentials unavailable: secret unusable: API_SECRET missing"
        );
    }
}

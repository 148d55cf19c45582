//! The runtime adapters: the Lambda runtime loop and the local server.

pub(crate) mod lambda;
pub(crate) mod local;

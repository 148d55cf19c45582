//! The runtime adapters: the Lambda runtime loop and the local server.

pub mod lambda;
pub mod local;

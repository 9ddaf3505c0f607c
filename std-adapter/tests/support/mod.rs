//! Helpers shared by the integration tests.
pub mod http;
pub mod redis_server;
pub mod tcp_proxy;

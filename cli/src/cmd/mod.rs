//! One module per subcommand.

pub mod dashboards;
pub mod demo;
pub mod generated;
pub mod query;
pub mod render;
pub mod rules;
pub mod sim;
pub mod top;
pub mod webhook;

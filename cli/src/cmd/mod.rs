//! One module per subcommand.

pub mod dashboards;
pub mod query;
pub mod rules;
pub mod sim;

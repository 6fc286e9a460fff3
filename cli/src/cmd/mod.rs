//! One module per subcommand.

pub mod dashboards;
pub mod rules;
pub mod sim;

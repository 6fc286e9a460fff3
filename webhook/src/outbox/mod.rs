//! The durable outbox: notifications and their per-receiver deliveries in SQLite ([`store`]), written by one
//! group-committing thread ([`writer`]), drained by the delivery [`worker`] with the retry policy in [`retry`].

pub mod order;
pub mod retry;
pub mod store;
pub mod worker;
pub mod writer;

pub use store::StoreError;
pub use writer::{AcceptRequest, Accepted, Writer, WriterConfig};

//! Per-(receiver, group) delivery order, kept without a random-access index.
//!
//! Destinations must see the notifications of one Alertmanager group in the order they were sent, so a delivery may
//! only be attempted once the previous pending delivery of the same receiver and group has finished. Each delivery
//! row names that predecessor in `after_id`, chosen when the row is created; the worker's due query then checks one
//! row by primary key.
//!
//! Finding the predecessor used to take an index on (receiver, group hash) over the pending rows. Groups arrive in
//! no particular order, so every fan-out dirtied one random leaf page of that index per notification: with a large
//! backlog (a destination down, or the accept benchmark, which delivers nothing) that was ~4 KB of WAL per
//! notification, and a third of the writer's time under load. The writer, the only thread that creates deliveries,
//! now keeps the last pending delivery of each (receiver, group hash) in memory ([`GroupHeads`]), loaded from the
//! database at start; the delivery rows are appended in id order and no index entry lands at random.
//!
//! An entry leaves the map when its delivery finishes (delivered or dead: the writer records both outcomes), so the
//! map holds one entry per (receiver, group) with a pending delivery, like the index it replaces. A 64-bit hash
//! collision between two groups of one receiver would only make one wait for the other's delivery.

use std::collections::HashMap;

use rusqlite::Connection;

/// (receiver, group hash), the key of a delivery sequence.
pub type GroupRef = (String, i64);

/// The last delivery of each (receiver, group hash) that is still pending.
#[derive(Debug, Default)]
pub struct GroupHeads {
    /// Receiver names, interned (receivers are few; keys then need no allocation).
    receivers: HashMap<String, u32>,
    /// (receiver, group hash) → the last delivery created for it.
    last: HashMap<(u32, i64), i64>,
    /// The same entries by delivery id, to drop an entry when its delivery finishes.
    by_delivery: HashMap<i64, (u32, i64)>,
}

impl GroupHeads {
    /// The last pending delivery of every (receiver, group hash) in the database.
    pub fn load(c: &Connection) -> rusqlite::Result<GroupHeads> {
        let rows: Vec<(GroupRef, i64)> = c
            .prepare(
                "SELECT receiver, group_hash, max(id) FROM deliveries WHERE state = 0
                 GROUP BY receiver, group_hash",
            )?
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut heads = GroupHeads::default();
        heads.extend(rows);
        Ok(heads)
    }

    /// The delivery a new delivery of this receiver and group must wait for, if one is pending.
    pub fn last(&self, receiver: &str, group_hash: i64) -> Option<i64> {
        let r = *self.receivers.get(receiver)?;
        self.last.get(&(r, group_hash)).copied()
    }

    /// Records deliveries a committed fan-out created (the last one per group wins).
    pub fn extend(&mut self, created: impl IntoIterator<Item = (GroupRef, i64)>) {
        for ((receiver, hash), id) in created {
            let next = self.receivers.len() as u32;
            let r = *self.receivers.entry(receiver).or_insert(next);
            if let Some(previous) = self.last.insert((r, hash), id) {
                self.by_delivery.remove(&previous);
            }
            self.by_delivery.insert(id, (r, hash));
        }
    }

    /// A delivery was delivered or given up (committed): if it was the last of its group, the group has none
    /// pending any more.
    pub fn finished(&mut self, delivery: i64) {
        if let Some(key) = self.by_delivery.remove(&delivery) {
            self.last.remove(&key);
        }
    }

    /// Number of (receiver, group) entries held.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_delivery_of_a_group_wins_and_is_counted_once() {
        let mut h = GroupHeads::default();
        h.extend([(("a".to_string(), 1), 10), (("b".to_string(), 1), 11)]);
        h.extend([(("a".to_string(), 1), 12)]);
        assert_eq!(
            (h.last("a", 1), h.last("b", 1), h.last("a", 2)),
            (Some(12), Some(11), None)
        );
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn a_finished_delivery_clears_its_group_only_if_it_was_the_last() {
        let mut h = GroupHeads::default();
        h.extend([(("a".to_string(), 1), 10)]);
        h.extend([(("a".to_string(), 1), 12), (("a".to_string(), 2), 13)]);
        h.finished(10); // an earlier delivery of group 1: 12 is still its last
        assert_eq!(h.last("a", 1), Some(12));
        h.finished(12);
        assert_eq!(
            (h.last("a", 1), h.last("a", 2), h.len()),
            (None, Some(13), 1)
        );
        h.finished(99); // unknown ids are ignored
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn loading_keeps_the_last_pending_delivery_of_each_group() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE deliveries(id INTEGER PRIMARY KEY, receiver TEXT, group_hash INTEGER, state INTEGER);
             INSERT INTO deliveries VALUES (1, 'a', 1, 1), (2, 'a', 1, 0), (3, 'a', 1, 0), (4, 'a', 2, 1),
                                           (5, 'b', 1, 0);",
        )
        .unwrap();
        let h = GroupHeads::load(&c).unwrap();
        assert_eq!(
            (h.len(), h.last("a", 1), h.last("a", 2), h.last("b", 1)),
            (2, Some(3), None, Some(5))
        );
    }
}

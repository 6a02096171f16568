//! One side's filtered listing as the merge (`plan.rs`) reads it: batch by batch,
//! checking that its keys come in order, noticing a name listed twice, and remembering
//! the folders whose entries on the other side are suppressed.

use super::Side;
use super::filter_stage::{Filtered, ListMessage};
use crate::endpoint::ListOrder;

/// One side's listing, read batch by batch.
pub(crate) struct Stream<I> {
    side: Side,
    messages: I,
    batch: std::vec::IntoIter<Filtered>,
    peeked: Option<Filtered>,
    done: bool,
    failed: bool,
    last_key: Option<String>,
    /// Folder prefixes (ending in `/`) this side excluded, skipped or could not read: the
    /// other side's entries below them are suppressed.
    suppressing: Vec<String>,
}

impl<I: Iterator<Item = ListMessage>> Stream<I> {
    /// `side`'s listing, read from `messages`.
    pub(crate) fn new(side: Side, messages: I) -> Self {
        Stream {
            side,
            messages,
            batch: Vec::new().into_iter(),
            peeked: None,
            done: false,
            failed: false,
            last_key: None,
            suppressing: Vec::new(),
        }
    }

    /// The next entry, without taking it; reads the next batch when this one is done.
    pub(crate) fn peek(&mut self) -> Option<&Filtered> {
        while self.peeked.is_none() && !self.done {
            if let Some(next) = self.batch.next() {
                self.peeked = Some(next);
                break;
            }
            match self.messages.next() {
                Some(ListMessage::Batch(b)) => self.batch = b.into_iter(),
                Some(ListMessage::Done) => self.done = true,
                Some(ListMessage::Failed) | None => {
                    self.done = true;
                    self.failed = true;
                }
            }
        }
        self.peeked.as_ref()
    }

    /// Takes the entry [`Stream::peek`] returned.
    pub(crate) fn take(&mut self) -> Option<Filtered> {
        self.peeked.take()
    }

    /// Records the key just taken; false if it is out of order (or the same as the last:
    /// see [`Stream::repeats`]).
    pub(crate) fn in_order(&mut self, order: ListOrder, key: &str) -> bool {
        let ok = match &self.last_key {
            Some(last) => order.less(last, key),
            None => true,
        };
        if ok {
            match &mut self.last_key {
                Some(last) => {
                    last.clear();
                    last.push_str(key);
                }
                None => self.last_key = Some(key.to_string()),
            }
        }
        ok
    }

    /// The next entry, if it is a file with the key taken last: two listed names for one
    /// path (a name another tool stored raw, `file.`, beside the encoded `file．`).
    pub(crate) fn take_repeated(&mut self) -> Option<Filtered> {
        self.peek()?;
        let repeated = matches!(
            (&self.peeked, &self.last_key),
            (Some(Filtered::Item(item)), Some(last)) if item.path == *last
        );
        if repeated { self.take() } else { None }
    }

    /// True if `key` lies below a folder this side suppressed; drops prefixes the order
    /// has moved past.
    pub(crate) fn suppresses(&mut self, order: ListOrder, key: &str) -> bool {
        while let Some(top) = self.suppressing.last() {
            if key.starts_with(top.as_str()) {
                return true;
            }
            if order.less(top, key) {
                self.suppressing.pop();
            } else {
                return false;
            }
        }
        false
    }
}

impl<I> Stream<I> {
    /// The side this listing is of.
    pub(crate) fn side(&self) -> Side {
        self.side
    }

    /// True if the listing ended before it completed.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// Suppresses the other side's entries below the folder `prefix` (ending in `/`).
    pub(crate) fn suppress(&mut self, prefix: String) {
        self.suppressing.push(prefix);
    }
}

//! The three-way merge: the state of the last run and both sides' listings, each sorted
//! in the listing order, merged path by path. A stream out of order ends the merge with
//! an error (nothing may be deleted after it).

use std::iter::Peekable;

use super::facts::Known;
use crate::endpoint::{Item, ListOrder};

/// One path, as the state and each side have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triple {
    pub path: String,
    pub known: Option<Known>,
    pub one: Option<Item>,
    pub two: Option<Item>,
}

/// A stream that was not in the listing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrder {
    /// `state`, `path1` or `path2`.
    pub stream: &'static str,
    /// The path before.
    pub before: String,
    /// The path that came after it, but sorts before (or equal to) it.
    pub after: String,
}

impl std::fmt::Display for OutOfOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} listing was out of order: {:?} came after {:?}",
            self.stream, self.after, self.before
        )
    }
}

/// Merges three sorted streams.
pub struct Merge3<S: Iterator, A: Iterator, B: Iterator> {
    order: ListOrder,
    state: Peekable<S>,
    one: Peekable<A>,
    two: Peekable<B>,
    /// The last path taken from each stream.
    last: [Option<String>; 3],
    failed: bool,
}

/// Merges `state`, `one` and `two`, each sorted in `order`.
pub fn merge3<S, A, B>(
    order: ListOrder,
    state: S,
    one: A,
    two: B,
) -> Merge3<S::IntoIter, A::IntoIter, B::IntoIter>
where
    S: IntoIterator<Item = Known>,
    A: IntoIterator<Item = Item>,
    B: IntoIterator<Item = Item>,
{
    Merge3 {
        order,
        state: state.into_iter().peekable(),
        one: one.into_iter().peekable(),
        two: two.into_iter().peekable(),
        last: Default::default(),
        failed: false,
    }
}

impl<S, A, B> Merge3<S, A, B>
where
    S: Iterator<Item = Known>,
    A: Iterator<Item = Item>,
    B: Iterator<Item = Item>,
{
    /// The smallest path at the head of any stream.
    fn smallest(&mut self) -> Option<String> {
        let heads = [
            self.state.peek().map(|k| k.path.as_str()),
            self.one.peek().map(|i| i.path.as_str()),
            self.two.peek().map(|i| i.path.as_str()),
        ];
        heads
            .into_iter()
            .flatten()
            .min_by(|a, b| self.order.cmp(a, b))
            .map(str::to_string)
    }

    /// Records `path` as taken from stream `at`, or says it is out of order.
    fn taken(&mut self, at: usize, path: &str) -> Result<(), OutOfOrder> {
        if let Some(before) = &self.last[at]
            && !self.order.less(before, path)
        {
            return Err(OutOfOrder {
                stream: ["state", "path1", "path2"][at],
                before: before.clone(),
                after: path.to_string(),
            });
        }
        self.last[at] = Some(path.to_string());
        Ok(())
    }

    fn next_triple(&mut self, path: String) -> Result<Triple, OutOfOrder> {
        let order = self.order;
        let here = |p: &str| order.cmp(p, &path).is_eq();
        let known = self.state.next_if(|k| here(&k.path));
        let one = self.one.next_if(|i| here(&i.path));
        let two = self.two.next_if(|i| here(&i.path));
        for (at, taken) in [
            known.as_ref().map(|k| &k.path),
            one.as_ref().map(|i| &i.path),
            two.as_ref().map(|i| &i.path),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(p) = taken {
                self.taken(at, p)?;
            }
        }
        Ok(Triple {
            path,
            known,
            one,
            two,
        })
    }
}

impl<S, A, B> Iterator for Merge3<S, A, B>
where
    S: Iterator<Item = Known>,
    A: Iterator<Item = Item>,
    B: Iterator<Item = Item>,
{
    type Item = Result<Triple, OutOfOrder>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let path = self.smallest()?;
        let triple = self.next_triple(path);
        self.failed = triple.is_err();
        Some(triple)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bisync::facts::Facts;

    fn known(path: &str) -> Known {
        Known {
            path: path.into(),
            path1: Facts::default(),
            path2: Facts::default(),
        }
    }

    fn items(paths: &[&str]) -> Vec<Item> {
        paths.iter().map(|p| Item::new(*p, 1, 1)).collect()
    }

    fn shape(t: &Triple) -> String {
        format!(
            "{}:{}{}{}",
            t.path,
            if t.known.is_some() { "s" } else { "-" },
            if t.one.is_some() { "1" } else { "-" },
            if t.two.is_some() { "2" } else { "-" }
        )
    }

    #[test]
    fn paths_meet_in_the_listing_order() {
        let merged: Vec<String> = merge3(
            ListOrder::PATH_COMPONENTS,
            vec![known("a/x"), known("b")],
            items(&["a/x", "a-b", "c"]),
            items(&["a/x", "b", "c"]),
        )
        .map(|t| shape(&t.unwrap()))
        .collect();
        assert_eq!(merged, ["a/x:s12", "a-b:-1-", "b:s-2", "c:-12"]);
    }

    #[test]
    fn a_stream_out_of_order_ends_the_merge() {
        let merged: Vec<Result<Triple, OutOfOrder>> = merge3(
            ListOrder::BYTES,
            vec![],
            items(&["a", "c", "b"]),
            items(&["a", "b", "c"]),
        )
        .collect();
        assert_eq!(merged.len(), 4, "{merged:?}");
        let error = merged[3].clone().unwrap_err();
        assert_eq!(error.stream, "path1");
        assert!(error.to_string().contains("out of order"), "{error}");
    }
}

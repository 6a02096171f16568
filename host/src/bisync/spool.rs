//! [`Spool`]: a round of planned copies that keeps a few thousand in memory and writes
//! the rest to an unnamed temporary file, read back in chunks as the round runs — a first
//! run of 200,000 new files does not hold 200,000 planned copies in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Entries kept in memory before the rest go to the file.
const IN_MEMORY: usize = 4096;

/// A list kept partly in memory, partly in a temporary file (one JSON line per entry).
/// Entries [`Spool::hold`] is given always stay in memory, where the planner can still
/// change them.
#[derive(Debug)]
pub struct Spool<T> {
    held: Vec<T>,
    file: Option<BufWriter<File>>,
    /// Entries written whole to the file.
    spilled: usize,
    /// The file could not be made or written: everything stays in memory.
    failed: bool,
}

impl<T> Default for Spool<T> {
    fn default() -> Self {
        Spool {
            held: Vec::new(),
            file: None,
            spilled: 0,
            failed: false,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Spool<T> {
    /// Adds an entry, to the file once enough are in memory.
    pub fn push(&mut self, entry: T) {
        if self.held.len() < IN_MEMORY || self.failed {
            self.held.push(entry);
            return;
        }
        if let Err(e) = self.spill(&entry) {
            tracing::warn!(
                "cannot write planned copies to a temporary file ({e}); keeping them in memory"
            );
            self.failed = true;
            self.held.push(entry);
        }
    }

    fn spill(&mut self, entry: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        if self.file.is_none() {
            self.file = Some(BufWriter::new(tempfile::tempfile()?));
        }
        if let Some(file) = &mut self.file {
            file.write_all(&line)?;
        }
        self.spilled += 1;
        Ok(())
    }

    /// Adds an entry that stays in memory.
    pub fn hold(&mut self, entry: T) {
        self.held.push(entry);
    }

    /// The entries in memory (every entry [`Spool::hold`] was given among them).
    pub fn held(&self) -> &[T] {
        &self.held
    }

    /// The entries in memory, to change.
    pub fn held_mut(&mut self) -> &mut Vec<T> {
        &mut self.held
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.held.len() + self.spilled
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with every entry: those in memory, then those in the file.
    pub fn for_each(&mut self, mut f: impl FnMut(&T)) -> Result<(), String> {
        self.held.iter().for_each(&mut f);
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let failed = |e: std::io::Error| format!("cannot read planned copies back: {e}");
        file.flush().map_err(failed)?;
        // The clone shares the file's offset: it is put back at the end afterwards.
        let mut lines =
            Lines::from_start(file.get_ref().try_clone().map_err(failed)?, self.spilled)?;
        let read = loop {
            match lines.next_chunk::<T>(IN_MEMORY) {
                Ok(chunk) if chunk.is_empty() => break Ok(()),
                Ok(chunk) => chunk.iter().for_each(&mut f),
                Err(e) => break Err(e),
            }
        };
        file.get_mut().seek(SeekFrom::End(0)).map_err(failed)?;
        read
    }

    /// Every entry, in chunks of up to `size`: those in memory, then those in the file.
    /// A chunk that cannot be read back is an error (and the last item).
    pub fn into_chunks(self, size: usize) -> impl Iterator<Item = Result<Vec<T>, String>> {
        let Spool {
            mut held,
            file,
            spilled,
            ..
        } = self;
        let size = size.max(1);
        let mut lines = file.map(|f| Lines::open(f, spilled));
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            if !held.is_empty() {
                let rest = held.split_off(held.len().min(size));
                return Some(Ok(std::mem::replace(&mut held, rest)));
            }
            let chunk = match lines.as_mut()? {
                Err(e) => Err(e.clone()),
                Ok(lines) => lines.next_chunk(size),
            };
            match chunk {
                Ok(chunk) if chunk.is_empty() => None,
                Ok(chunk) => Some(Ok(chunk)),
                Err(e) => {
                    failed = true;
                    Some(Err(e))
                }
            }
        })
    }
}

/// The file's entries, read back from its start.
struct Lines {
    reader: BufReader<File>,
    left: usize,
}

impl Lines {
    fn open(file: BufWriter<File>, count: usize) -> Result<Lines, String> {
        let file = file
            .into_inner()
            .map_err(|e| format!("cannot read planned copies back: {}", e.error()))?;
        Lines::from_start(file, count)
    }

    fn from_start(mut file: File, count: usize) -> Result<Lines, String> {
        file.seek(SeekFrom::Start(0))
            .map_err(|e| format!("cannot read planned copies back: {e}"))?;
        Ok(Lines {
            reader: BufReader::new(file),
            left: count,
        })
    }

    fn next_chunk<T: DeserializeOwned>(&mut self, size: usize) -> Result<Vec<T>, String> {
        let mut chunk = Vec::new();
        let mut line = String::new();
        while chunk.len() < size && self.left > 0 {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| format!("cannot read planned copies back: {e}"))?;
            let entry = serde_json::from_str(&line)
                .map_err(|e| format!("cannot read planned copies back: {e}"))?;
            chunk.push(entry);
            self.left -= 1;
        }
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order_from_memory_then_the_file() {
        let mut spool = Spool::default();
        let n = IN_MEMORY + 10_000;
        for i in 0..n {
            spool.push(i as u64);
        }
        spool.hold(u64::MAX);
        assert_eq!(spool.len(), n + 1);
        assert_eq!(spool.held().len(), IN_MEMORY + 1);
        let mut seen = 0;
        spool.for_each(|_| seen += 1).unwrap();
        assert_eq!(seen, n + 1);
        // Read twice: for_each leaves it whole, and more can be added.
        spool.push(7);
        let all: Vec<u64> = spool
            .into_chunks(1000)
            .map(|c| c.unwrap())
            .inspect(|c| assert!(c.len() <= 1000))
            .flatten()
            .collect();
        assert_eq!(all.len(), n + 2);
        let mut expected: Vec<u64> = (0..IN_MEMORY as u64).collect();
        expected.push(u64::MAX);
        expected.extend(IN_MEMORY as u64..n as u64);
        expected.push(7);
        assert_eq!(all, expected);
    }
}
